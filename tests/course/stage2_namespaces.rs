//! Chapter 2 — namespaces. Run with `cargo test --features stage2` (with
//! the frame's tests and the earlier chapters'), or this file's alone:
//! `cargo test --features stage2 stage2_namespaces`.
//!
//! Every test here starts a container, so every one of them fails until
//! `chapters/02-namespaces/namespaces.rs` is done.

use std::process::Command;

use crate::support::{self, assert_success, describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(2);

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `run -d … sleep 1000`; returns the container id.
pub(crate) fn start_sleeper(env: &TestEnv, image: &str, extra: &[&str]) -> String {
    let mut args = vec!["-d"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[image, "sleep", "1000"]);
    let id = run_ok(env, &args).trim().to_string();
    assert!(
        id.starts_with("ps_"),
        "`run -d` should print the container id, printed {id:?}"
    );
    id
}

#[test]
fn the_command_is_pid_1() {
    let _idea = idea("with CLONE_NEWPID the container's command is pid 1 of a new PID namespace");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &[&image, "echo $$"]);
    assert_eq!(out, "1\n", "`echo $$` in the container: the shell should be pid 1 of a new PID namespace.\nDid clone_flags include CLONE_NEWPID?");
    env.assert_no_leaks();
}

#[test]
fn the_hostname_is_the_containers_and_the_hosts_is_untouched() {
    let _idea = idea("in its own UTS namespace the child sets the hostname (--hostname, or the container's id) and the host's hostname stays as it was");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let host_before = nix::unistd::gethostname().unwrap();
    let named = run_ok(&env, &["--hostname", "box", &image, "hostname"]);
    assert_eq!(
        named, "box\n",
        "--hostname box: did the child call sethostname after clone with CLONE_NEWUTS?"
    );
    let default = run_ok(&env, &[&image, "hostname"]);
    let id = env
        .container_ids()
        .into_iter()
        .find(|id| default.trim() == id);
    assert!(
        id.is_some(),
        "the default hostname should be the container id, was {default:?}"
    );
    let host_after = nix::unistd::gethostname().unwrap();
    assert_eq!(
        host_before, host_after,
        "the host's hostname changed: was CLONE_NEWUTS missing?"
    );
    env.assert_no_leaks();
}

#[test]
fn host_ipc_objects_are_invisible_inside() {
    let _idea = idea("with CLONE_NEWIPC a System V shared-memory segment made on the host is not visible in the container");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // A System V shared-memory segment, made on the host; the guard
    // removes it when the test ends, also when it fails.
    let segment = support::HostShm::new();
    let shmid = segment.id.to_string();

    let id = start_sleeper(&env, &image, &[]);
    let pid = env
        .running_pid(&id)
        .expect("the detached container is not running");
    // The busybox image has no ipcs: look from the host, with util-linux's
    // nsenter entering only the container's IPC namespace.
    // Without root the IPC namespace belongs to the container's user
    // namespace: nsenter enters that first (its owner, we may).
    let user: &[&str] = if support::is_root() {
        &[]
    } else {
        &["--user", "--preserve-credentials"]
    };
    let inside = Command::new("nsenter")
        .args(user)
        .args(["--ipc", "--target", &pid.to_string(), "ipcs", "-m"])
        .output()
        .unwrap();
    let host = Command::new("ipcs").arg("-m").output().unwrap();
    env.stop(&id);

    let listed = |out: &std::process::Output| {
        text(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(shmid.as_str()))
    };
    assert!(
        listed(&host),
        "the segment is not even listed on the host:\n{}",
        describe(&host)
    );
    assert!(
        inside.status.success(),
        "nsenter failed\n{}",
        describe(&inside)
    );
    assert!(!listed(&inside), "the host's shared-memory segment {shmid} is visible in the container: was CLONE_NEWIPC missing?\n{}", describe(&inside));
    env.assert_no_leaks();
}

#[test]
fn a_new_network_namespace_has_only_lo() {
    let _idea = idea("a new network namespace has only `lo`, and --net host leaves CLONE_NEWNET out so the host's interfaces show");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // `ip -o link` prints one line per link: "1: lo: <LOOPBACK> …".
    let link_names = |listing: String| -> Vec<String> {
        let mut names: Vec<String> = listing
            .lines()
            .map(|l| l.split(':').nth(1).unwrap_or("").trim())
            .map(|name| name.split('@').next().unwrap_or("").to_string())
            .collect();
        names.sort();
        names
    };
    let links = link_names(run_ok(&env, &[&image, "ip -o link"]));
    assert_eq!(
        links,
        ["lo"],
        "a container should see only `lo`: was CLONE_NEWNET missing?"
    );

    let mut host_links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    host_links.sort();
    let shared = link_names(run_ok(&env, &["--net", "host", &image, "ip -o link"]));
    // Other tests may add or remove links meanwhile: compare the links that
    // were there both times.
    let common = shared
        .iter()
        .filter(|name| host_links.contains(name))
        .count();
    assert!(
        shared.len() > 1 && common * 2 > host_links.len(),
        "--net host should show the host's links {host_links:?}, saw {shared:?}: did clone_flags leave out CLONE_NEWNET for it?"
    );
    env.assert_no_leaks();
}

#[test]
fn exec_joins_a_detached_container() {
    let _idea = idea("bocker exec runs a command in a running container: pid 2 of its PID namespace (setns, then fork), with its hostname");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &["--name", "sleeper", "--hostname", "sleepy"]);

    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Running")),
        "ps should show {id} Running:\n{ps}"
    );

    // The first process exec starts is pid 2 of the container's PID
    // namespace (sleep is pid 1). A host pid would be much larger.
    let pid = env.run_bocker(&["exec", "sleeper", "echo $$"]);
    assert_eq!(
        text(&pid.stdout),
        "2\n",
        "exec should run in the container's PID namespace: did the joiner fork after setns?\n{}",
        describe(&pid)
    );
    let hostname = env.run_bocker(&["exec", "sleeper", "hostname"]);
    assert_eq!(
        text(&hostname.stdout),
        "sleepy\n",
        "exec should see the container's hostname\n{}",
        describe(&hostname)
    );
    let missing = env.run_bocker(&["exec", "sleeper", "no-such-program"]);
    assert_eq!(missing.status.code(), Some(127), "{}", describe(&missing));

    env.stop("sleeper");
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Exited (137)")),
        "after stop, ps should show Exited (137):\n{ps}"
    );
    env.assert_no_leaks();
}

#[test]
fn exec_on_an_exited_or_unknown_container_fails_with_bockers_message() {
    let _idea = idea("exec on a container that has exited or does not exist fails with Bocker's message and exit code 1");
    let env = TestEnv::new();
    let image = env.busybox_image();
    run_ok(&env, &["--name", "done", &image, "true"]);
    let exited = env.run_bocker(&["exec", "done", "true"]);
    assert_eq!(exited.status.code(), Some(1), "{}", describe(&exited));
    assert_eq!(
        text(&exited.stderr),
        "bocker: Container 'done' exists but is not running\n"
    );
    let unknown = env.run_bocker(&["exec", "nobody", "true"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));
    assert_eq!(
        text(&unknown.stderr),
        "bocker: No container named 'nobody' exists\n"
    );
    env.assert_no_leaks();
}

/// The namespace of `kind` that process `pid` is in, e.g. `mnt:[4026531841]`.
fn namespace(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .map(|link| link.to_string_lossy().into_owned())
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/ns/{kind}: {e}"))
}

const KINDS: [&str; 5] = ["uts", "ipc", "mnt", "pid", "net"];

#[test]
fn every_namespace_is_new_but_the_network_with_net_host() {
    let _idea = idea("a container's uts, ipc, mnt, pid and net namespaces all differ from the host's, except net with --net host");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let own = start_sleeper(&env, &image, &[]);
    let shared = start_sleeper(&env, &image, &["--net", "host"]);
    for (id, host_net) in [(&own, false), (&shared, true)] {
        let pid = env
            .running_pid(id)
            .expect("the container is not running")
            .to_string();
        for kind in KINDS {
            let same = namespace(&pid, kind) == namespace("self", kind);
            let expect_same = host_net && kind == "net";
            assert_eq!(
                same,
                expect_same,
                "container {id}: its {kind} namespace should {} the host's. Check clone_flags.",
                if expect_same { "be" } else { "differ from" }
            );
        }
    }
    env.stop(&own);
    env.stop(&shared);
    env.assert_no_leaks();
}

#[test]
fn exec_joins_all_five_namespaces() {
    let _idea = idea("exec's command is in the same uts, ipc, mnt, pid and net namespaces as the container's pid 1");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &[]);
    let container = env
        .running_pid(&id)
        .expect("the container is not running")
        .to_string();
    // A second process in the container, recognisable by its argument.
    let seconds = unique_seconds();
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", &seconds]);
    let mut joined = None;
    for _ in 0..200 {
        joined = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .find_map(|entry| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                (cmdline == format!("sleep\0{seconds}\0").as_bytes())
                    .then(|| entry.file_name().to_string_lossy().into_owned())
            });
        if joined.is_some() || exec.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some(joined) = joined else {
        let _ = exec.kill();
        panic!(
            "`bocker exec {id} sleep {seconds}` did not start.\n{HINT}\n{}",
            describe(&exec.wait_with_output().unwrap())
        );
    };
    let differs: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|kind| namespace(&joined, kind) != namespace(&container, kind))
        .collect();
    env.stop(&id); // ends the exec'd sleep too: the PID namespace goes
    let _ = exec.wait();
    assert!(differs.is_empty(), "exec's process is not in the container's {differs:?} namespace(s): does join_namespaces setns into all five?");
    env.assert_no_leaks();
}

#[test]
fn a_command_that_cannot_start_is_reported_and_reaped() {
    let _idea = idea("a child that fails before execve is still reaped (clone's exit signal is SIGCHLD) and the failure is reported with exit code 127");
    // The child fails before execve: its exit signal is still the one
    // clone was given, and only SIGCHLD lets bocker collect it.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_bocker(&["run", &image, "no-such-program"]);
    assert_eq!(
        out.status.code(),
        Some(127),
        "a missing command should exit 127. If bocker says it cannot wait for the container's process, check the exit signal start_child gives clone (SIGCHLD).\n{HINT}\n{}",
        describe(&out)
    );
    assert_eq!(
        text(&out.stderr),
        "bocker: command not found in the container: no-such-program\n"
    );
    env.assert_no_leaks();
}

/// A number of seconds for `sleep` that no other test uses, so that a
/// test finds its own `sleep` among all the processes of the machine.
pub(crate) fn unique_seconds() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}{:03}", 1_000_000 + std::process::id() % 1_000_000, n)
}

/// The pid of the process whose command line is exactly `argv`.
fn find_process(argv: &[&str]) -> Option<i32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            (std::fs::read(entry.path().join("cmdline")).ok()? == wanted).then_some(pid)
        })
}

/// Wait (up to 10 s) for a process with command line `argv`.
#[track_caller]
pub(crate) fn wait_for_process(argv: &[&str], bocker: &mut std::process::Child) -> i32 {
    for _ in 0..200 {
        if let Some(pid) = find_process(argv) {
            return pid;
        }
        if bocker.try_wait().unwrap().is_some() {
            panic!("bocker ended before {argv:?} started.\n{HINT}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{argv:?} never started.\n{HINT}");
}

fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn exec_hands_over_only_pipes_and_a_session_of_its_own() {
    let _idea = idea("exec's command gets descriptors 0, 1 and 2 only, none of them the terminal, and a session of its own");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &[]);
    let pty = nix::pty::openpty(None, None).unwrap();
    let terminal = || std::process::Stdio::from(pty.slave.try_clone().unwrap());
    let seconds = unique_seconds();
    let mut command = env.bocker();
    command
        .args(["exec", &id, "sleep", &seconds])
        .stdin(terminal())
        .stdout(terminal())
        .stderr(terminal());
    support::with_inherited_directory(&mut command, &env.scratch());
    let mut exec = command.spawn().unwrap();
    let pid = wait_for_process(&["sleep", &seconds], &mut exec);
    let fds = support::open_fds(pid);
    let (session, tty) = support::session_and_tty(pid);
    env.stop(&id);
    let _ = exec.wait();
    let numbers: Vec<i32> = fds.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [0, 1, 2],
        "exec's command has more open than 0, 1, 2: {fds:?}"
    );
    assert!(
        fds.iter()
            .all(|(_, target)| !target.starts_with("/dev/pts")),
        "exec's command holds the terminal: {fds:?}"
    );
    assert_eq!(
        session, pid,
        "exec's command should lead a session of its own"
    );
    assert_eq!(tty, 0, "exec's command should have no controlling terminal");
    env.assert_no_leaks();
}

#[test]
fn a_detached_container_and_its_monitor_drop_inherited_descriptors() {
    let _idea = idea("with run -d neither the command nor its monitor keeps a descriptor that bocker's caller left open");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let secret_dir = env.scratch();
    let mut command = env.bocker();
    command.args(["run", "-d", &image, "sleep", "1000"]);
    support::with_inherited_directory(&mut command, &secret_dir);
    let out = command.output().unwrap();
    assert_success(&out, HINT);
    let id = text(&out.stdout).trim().to_string();
    let pid = env.running_pid(&id).expect("the container is not running");
    let container_fds = support::open_fds(pid);
    let monitor_fds = support::open_fds(parent_of(pid));
    env.stop(&id);
    let numbers: Vec<i32> = container_fds.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [0, 1, 2],
        "the detached command has more open than 0, 1, 2: {container_fds:?}"
    );
    let secret = secret_dir.to_string_lossy().into_owned();
    assert!(
        monitor_fds.iter().all(|(_, target)| *target != secret),
        "the monitor kept a descriptor its caller left open: {monitor_fds:?}"
    );
    env.assert_no_leaks();
}

/// (device, inode) of a file, to tell whether two paths are one file.
fn identity(path: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.dev(), meta.ino())
}

#[test]
fn exec_never_runs_the_host_binary_where_the_container_can_see_it() {
    let _idea = idea("exec's processes run from a sealed copy of bocker, never from the host's binary, which /proc/PID/exe would let the container overwrite");
    // exec's command is a copy of bocker until its execve, inside the
    // container's PID namespace. Its /proc/PID/exe must not lead to
    // bocker's binary on the host (runc's CVE-2019-5736).
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &[]);
    let seconds = unique_seconds();
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", &seconds]);
    let command = wait_for_process(&["sleep", &seconds], &mut exec);
    // The command was forked from this process, and ran its binary.
    let joiner = parent_of(command);
    let exe = std::path::PathBuf::from(format!("/proc/{joiner}/exe"));
    let runs = identity(&exe);
    let shown = std::fs::read_link(&exe).unwrap_or_default();
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .open(&exe)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"));
    env.stop(&id);
    let _ = exec.wait();
    let host_binary = support::bocker_binary();
    assert_ne!(
        runs,
        identity(&host_binary),
        "exec's processes run bocker's binary from the host ({}): the container could write to it through /proc/PID/exe",
        shown.display()
    );
    assert!(
        writable.is_err(),
        "the binary exec's processes run ({}) can be written to",
        shown.display()
    );
    env.assert_no_leaks();
}

#[test]
fn run_init_reaps_orphans_passes_signals_on_and_hides_the_host_binary() {
    let _idea = idea("with --init, pid 1 is a sealed bocker-init that reaps orphans and passes SIGTERM on to the command");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &["--init"]);
    let init = env.running_pid(&id).expect("the container is not running");
    let pid1 = std::fs::read(format!("/proc/{init}/cmdline")).unwrap();
    let pid1 = text(&pid1);
    assert!(
        pid1.starts_with("bocker-init\0") && pid1.ends_with("\0--\0sleep\u{0}1000\0"),
        "with --init, pid 1 should be bocker-init running the command, is {pid1:?}"
    );
    assert_ne!(
        identity(std::path::Path::new(&format!("/proc/{init}/exe"))),
        identity(&support::bocker_binary()),
        "the init runs bocker's binary from the host"
    );

    // A killed exec leaves its command to pid 1: the init must collect it.
    let seconds = unique_seconds();
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", &seconds]);
    let orphan = wait_for_process(&["sleep", &seconds], &mut exec);
    exec.kill().unwrap();
    exec.wait().unwrap();
    assert!(
        support::wait_until_gone(orphan),
        "the orphaned command {orphan} was never reaped: is it a zombie?"
    );

    // SIGTERM reaches `sleep`, which is not pid 1 and dies of it at once.
    let started = std::time::Instant::now();
    env.bocker_ok(&["stop", "-t", "20", &id], HINT);
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Exited (143)")),
        "with --init, stop's SIGTERM should end the command (143), took {:?}:\n{ps}",
        started.elapsed()
    );
    env.assert_no_leaks();
}

#[test]
fn a_dying_pid_1_is_not_running_for_ps_and_exec() {
    let _idea = idea("a pid 1 that has begun to exit counts as not running, for ps and for exec");
    // Pid 1 that has begun to exit waits until every process of its PID
    // namespace is collected. An exec'd process whose parent (outside the
    // namespace) is stopped keeps it in that state.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &["--name", "dying"]);
    let pid1 = env.running_pid(&id).unwrap();
    let seconds = unique_seconds();
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", &seconds]);
    let command = wait_for_process(&["sleep", &seconds], &mut exec);
    let joiner = nix::unistd::Pid::from_raw(parent_of(command));
    nix::sys::signal::kill(joiner, nix::sys::signal::Signal::SIGSTOP).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid1),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    let refused = env.run_bocker(&["exec", "dying", "true"]);
    let _ = nix::sys::signal::kill(joiner, nix::sys::signal::Signal::SIGCONT);
    let _ = exec.wait();
    env.wait_until_exited(&id);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && !l.contains("Running")),
        "pid 1 was killed, yet ps says Running:\n{ps}"
    );
    assert_eq!(
        text(&refused.stderr),
        "bocker: Container 'dying' exists but is not running\n",
        "{}",
        describe(&refused)
    );
    env.assert_no_leaks();
}
