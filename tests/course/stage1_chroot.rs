//! Chapter 1 — chroot. Run with `cargo test --features stage1` (with the
//! frame's tests and the earlier chapters'), or this file's alone: `cargo
//! test --features stage1 stage1_chroot`.
//!
//! Every test here starts a container, so every one of them fails until
//! `chapters/01-chroot/chroot.rs` is done.

use std::fs;

use crate::support::{self, assert_success, describe, idea, redacted, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(1);

/// `bocker run IMAGE ARGS…`, which must succeed.
#[track_caller]
fn run_ok(env: &TestEnv, image: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![image];
    all.extend_from_slice(args);
    env.run_ok(&all, HINT)
}

#[test]
fn stdout_and_stderr_arrive_exactly_and_apart() {
    let _idea = idea("the container's stdout and stderr reach bocker's stdout and stderr, byte for byte, each on its own");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &image, &["echo to-stdout; echo to-stderr >&2"]);
    assert_eq!(
        text(&out.stdout),
        "to-stdout\n",
        "stdout of the container\n{HINT}\n{}",
        describe(&out)
    );
    assert_eq!(
        text(&out.stderr),
        "to-stderr\n",
        "stderr of the container\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn exit_codes_pass_through() {
    let _idea = idea("bocker run exits with the command's exit code, and with 128 + N when signal N kills the command");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_bocker(&["run", &image, "exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "`exit 3` in the container\n{HINT}\n{}",
        describe(&out)
    );

    // Killed by SIGKILL (9) from the host: like a shell, report 128 + 9.
    let mut running = env.spawn_bocker(&["run", &image, "sleep", "1000"]);
    let pid = env.wait_for_pid(&mut running, HINT);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = running.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(137),
        "a container killed by signal 9\n{HINT}\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn the_root_is_the_images_root() {
    let _idea = idea(
        "after enter_root, `/` is the image's root (chroot) and the command starts there (chdir(\"/\"))",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &image, &["ls", "/"]);
    let mut expected: Vec<String> = std::fs::read_dir(env.busybox_rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let seen: Vec<&str> = text(&out.stdout).leak().lines().collect();
    assert_eq!(
        seen, expected,
        "`ls /` inside the container should list the image's root, not the host's.\nDid enter_root call chroot?"
    );
    let pwd = run_ok(&env, &image, &["pwd"]);
    assert_eq!(
        text(&pwd.stdout),
        "/\n",
        "the command should start in `/`: did enter_root chdir(\"/\") after chroot?"
    );
    env.assert_no_leaks();
}

#[test]
fn host_files_outside_the_rootfs_are_invisible() {
    let _idea = idea("an absolute path to a host file outside the container's root leads nowhere inside the container");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let marker = env.scratch().join("host-secret");
    std::fs::write(&marker, "the host's secret\n").unwrap();
    let marker = marker.to_str().unwrap();
    let out = run_ok(
        &env,
        &image,
        &[&format!("cat {marker} 2>/dev/null || echo invisible")],
    );
    assert_eq!(
        text(&out.stdout),
        "invisible\n",
        "the container could read {marker}, a file on the host outside its root.\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn a_missing_command_exits_127_with_a_clear_message() {
    let _idea = idea("the command is looked up in the image, after the root changed: one only the host has exits 127 with a clear message");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // `bash` exists on the host but not in the busybox image: the search
    // must happen inside the new root.
    let out = env.run_bocker(&["run", &image, "bash", "-c", "true"]);
    assert_eq!(out.status.code(), Some(127), "{HINT}\n{}", describe(&out));
    insta::assert_snapshot!("missing_command", text(&out.stderr));
    env.assert_no_leaks();
}

#[test]
fn two_containers_of_one_image_do_not_share_writes() {
    let _idea = idea("each container writes to its own copy of the image: neither the image, its source folder nor the next container sees the writes");
    // /etc, not /tmp: from chapter 3 on, /tmp is a tmpfs of each container's
    // own, which would hide containers that share the image's files. The
    // writes only happen where /etc is the image's: an enter_root that
    // forgot chroot must not let the test write into the host's /etc.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let first = env.run_bocker(&[
        "run",
        &image,
        "grep -q 'busybox rootfs' /etc/os-release || exit 99; \
         echo first > /etc/note; echo changed > /etc/os-release",
    ]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "the container's /etc should be the image's (exit 99: it is not, did enter_root chroot?)\n{HINT}\n{}",
        describe(&first)
    );
    let out = run_ok(&env, &image, &["cat /etc/note 2>&1; cat /etc/os-release"]);
    assert_eq!(
        text(&out.stdout),
        "cat: can't open '/etc/note': No such file or directory\nNAME=\"busybox rootfs for Bocker in Rust\"\n",
        "the second container sees the first one's writes"
    );
    let image_etc = env.root().join("images").join(&image).join("rootfs/etc");
    assert!(
        !image_etc.join("note").exists(),
        "the container wrote into its image"
    );
    assert!(
        !env.busybox_rootfs().join("etc/note").exists(),
        "the container wrote into the directory the image came from"
    );
    env.assert_no_leaks();
}

#[test]
fn the_environment_is_the_containers_not_the_hosts() {
    let _idea = idea("the command gets a fresh environment (PATH, HOME, HOSTNAME, the -e variables) and none of bocker's own variables");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env
        .bocker()
        .args(["run", "-e", "GREETING=hello", &image, "env"])
        .env("HOST_ONLY_SECRET", "do-not-leak")
        .output()
        .unwrap();
    assert_success(&out, HINT);
    let vars = text(&out.stdout);
    assert!(
        !vars.contains("HOST_ONLY_SECRET"),
        "a host variable leaked into the container:\n{vars}"
    );
    assert!(
        vars.lines()
            .any(|l| l == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "PATH should be the container's default:\n{vars}"
    );
    assert!(
        vars.lines().any(|l| l == "HOME=/root"),
        "HOME should be /root:\n{vars}"
    );
    assert!(
        vars.lines().any(|l| l == "GREETING=hello"),
        "-e GREETING=hello is missing:\n{vars}"
    );
    let id = &env.container_ids()[0];
    assert!(
        vars.lines().any(|l| l == format!("HOSTNAME={id}")),
        "HOSTNAME should be {id}:\n{vars}"
    );
    env.assert_no_leaks();
}

#[test]
fn bockers_session_works() {
    let _idea = idea(
        "Bocker's README session works: run, /etc/hostname, ps, logs, a duplicate name refused, rm",
    );
    // From Bocker's README: init an image, run `cat /etc/hostname`, see it in
    // ps and logs, remove it.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &image, &["cat", "/etc/hostname"]);
    let id = env.container_ids().pop().unwrap();
    assert_eq!(
        text(&out.stdout),
        format!("{id}\n"),
        "/etc/hostname should hold the container id"
    );

    let failing = env.run_bocker(&["run", "--name", "failing", &image, "echo oops >&2; exit 3"]);
    assert_eq!(failing.status.code(), Some(3), "{}", describe(&failing));

    let ps = env.run_bocker(&["ps"]);
    // From chapter 5, ps has a PORTS column.
    let name = if support::stage() >= 5 {
        "ps_after_runs_with_ports"
    } else {
        "ps_after_runs"
    };
    redacted(&env).bind(|| insta::assert_snapshot!(name, text(&ps.stdout)));

    let logs = env.run_bocker(&["logs", "failing"]);
    assert_eq!(text(&logs.stdout), "", "logs: stdout");
    assert_eq!(
        text(&logs.stderr),
        "oops\n",
        "logs: the container's stderr goes to stderr"
    );

    let duplicate = env.run_bocker(&["run", "--name", "failing", &image, "true"]);
    assert_eq!(
        duplicate.status.code(),
        Some(1),
        "a second container named `failing`\n{}",
        describe(&duplicate)
    );

    let rm = env.bocker_ok(&["rm", "failing", &id], HINT);
    assert_eq!(text(&rm.stdout).lines().count(), 2, "{}", describe(&rm));
    assert!(
        env.container_ids().is_empty(),
        "rm left container directories behind"
    );
    env.assert_no_leaks();
}

#[test]
fn logs_keep_stdout_and_stderr_apart() {
    let _idea = idea("bocker logs replays the container's stdout to stdout and stderr to stderr");
    let env = TestEnv::new();
    let image = env.busybox_image();
    env.run_ok(
        &["--name", "talker", &image, "echo a; echo b >&2; echo c"],
        HINT,
    );
    let logs = env.run_bocker(&["logs", "talker"]);
    assert_eq!(text(&logs.stdout), "a\nc\n");
    assert_eq!(text(&logs.stderr), "b\n");
    env.assert_no_leaks();
}

#[test]
fn run_rm_removes_the_container_after_exit() {
    let _idea = idea("run --rm removes the container once its command has exited");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_ok(&["--rm", &image, "echo bye"], HINT);
    assert_eq!(text(&out.stdout), "bye\n");
    assert!(
        env.container_ids().is_empty(),
        "--rm left the container behind"
    );
    env.assert_no_leaks();
}

#[test]
fn signals_to_bocker_reach_the_container() {
    let _idea = idea("SIGTERM sent to bocker run is passed on to the container, and its end (143 or 137) is recorded");
    // SIGTERM to `bocker run` is passed on to the container, and a second
    // one kills it (from chapter 2 the container is a pid 1, which ignores
    // SIGTERM). Either way bocker records the exit and leaves nothing behind.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mut running = env.spawn_bocker(&["run", "--name", "stubborn", &image, "sleep", "1000"]);
    env.wait_for_pid(&mut running, HINT);
    let bocker = nix::unistd::Pid::from_raw(running.id() as i32);
    for _ in 0..2 {
        nix::sys::signal::kill(bocker, nix::sys::signal::Signal::SIGTERM).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = running.wait_with_output().unwrap();
    let code = out.status.code();
    assert!(
        code == Some(143) || code == Some(137),
        "bocker should end with the container's 143 (SIGTERM) or 137 (SIGKILL)\n{HINT}\n{}",
        describe(&out)
    );
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    let expected = format!("Exited ({})", code.unwrap());
    assert!(
        ps.lines()
            .any(|l| l.contains("stubborn") && l.contains(&expected)),
        "ps should show {expected}:\n{ps}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_killed_bocker_leaves_a_state_the_next_command_cleans_up() {
    let _idea = idea("when bocker is killed the kernel kills its container (PR_SET_PDEATHSIG), and the next bocker command records the end");
    // SIGKILL cannot be caught: bocker dies at once. The kernel then kills
    // the container (PR_SET_PDEATHSIG), ps notices the process is gone, and
    // rm can remove the container.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mut running = env.spawn_bocker(&["run", "--name", "orphan", &image, "sleep", "1000"]);
    let container = env.wait_for_pid(&mut running, HINT);
    running.kill().unwrap();
    running.wait().unwrap();
    assert!(
        support::wait_until_gone(container),
        "the container's process {container} outlived bocker: does the child ask for PR_SET_PDEATHSIG?"
    );
    let ps = env.bocker_ok(&["ps"], HINT);
    assert!(
        text(&ps.stdout)
            .lines()
            .any(|l| l.contains("orphan") && l.contains("Exited (?)")),
        "{}",
        describe(&ps)
    );
    // The sweep of that `ps` recorded the end (ps alone would show a dead
    // process as exited too).
    let id = text(&ps.stdout)
        .lines()
        .find(|l| l.contains("orphan"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let status = env.record(&id).map(|r| r["status"].clone());
    assert_eq!(
        status,
        Some(serde_json::json!("exited")),
        "the next command should record that {id} ended"
    );
    env.bocker_ok(&["rm", "orphan"], HINT);
    env.assert_no_leaks();
}

#[test]
fn the_command_gets_only_descriptors_0_1_2() {
    let _idea = idea("the command starts with descriptors 0, 1 and 2 only: a descriptor left open by bocker's caller would be a way out of the root");
    // Whatever bocker's caller left open, and whatever bocker opened for
    // itself, must not reach the command: a directory descriptor is a way
    // out of the container's root (runc's CVE-2024-21626).
    let env = TestEnv::new();
    let image = env.busybox_image();
    let secret_dir = env.scratch();
    let mut command = env.bocker();
    command
        .args(["run", &image, "sleep", "1000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    support::with_inherited_directory(&mut command, &secret_dir);
    let mut running = command.spawn().unwrap();
    let pid = env.wait_for_pid(&mut running, HINT);
    let fds = support::open_fds(pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = running.wait_with_output();
    let numbers: Vec<i32> = fds.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [0, 1, 2],
        "the container's command has more than stdin, stdout and stderr open: {fds:?}\nThe frame marks everything above 2 close-on-exec (close_range) right before execve."
    );
    env.assert_no_leaks();
}

#[test]
fn the_command_has_its_own_session_and_never_the_terminal() {
    let _idea = idea("the command leads a session of its own with no controlling terminal, and its stdin is /dev/null, never the user's terminal");
    // With the user's terminal as stdin and in the same session, the
    // container could push keystrokes into the user's shell (TIOCSTI).
    let env = TestEnv::new();
    let image = env.busybox_image();
    let pty = nix::pty::openpty(None, None).unwrap();
    let terminal = || std::process::Stdio::from(pty.slave.try_clone().unwrap());
    // (stderr stays a pipe, so that a failure can show what bocker said.)
    let mut running = env
        .bocker()
        .args(["run", &image, "sleep", "1000"])
        .stdin(terminal())
        .stdout(terminal())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = env.wait_for_pid(&mut running, HINT);
    let fds = support::open_fds(pid);
    let (session, tty) = support::session_and_tty(pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = running.wait();
    assert!(
        fds.iter()
            .all(|(_, target)| !target.starts_with("/dev/pts")),
        "the container holds the terminal: {fds:?}"
    );
    assert_eq!(
        fds.first().map(|(_, t)| t.as_str()),
        Some("/dev/null"),
        "stdin should be /dev/null without -i: {fds:?}"
    );
    assert_eq!(
        session, pid,
        "the command should lead a session of its own (setsid)"
    );
    assert_eq!(tty, 0, "the command should have no controlling terminal");
    env.assert_no_leaks();
}

#[test]
fn stdin_reaches_the_command_only_with_dash_i() {
    let _idea = idea(
        "bocker's stdin reaches the command only with -i; without it the command reads /dev/null",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let feed = |args: &[&str]| {
        use std::io::Write;
        let mut child = env
            .bocker()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello from the host\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let with = feed(&["run", "-i", &image, "cat"]);
    assert_eq!(
        text(&with.stdout),
        "hello from the host\n",
        "{HINT}\n{}",
        describe(&with)
    );
    let without = feed(&["run", &image, "cat"]);
    assert_success(&without, HINT);
    assert_eq!(
        text(&without.stdout),
        "",
        "without -i the command must read /dev/null"
    );
    env.assert_no_leaks();
}

#[test]
fn a_log_is_rotated_at_its_size_and_logs_reads_every_file() {
    let _idea = idea("--log-opt max-size and max-file rotate the log, and bocker logs replays every file in order with no line lost");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_ok(
        &[
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            &image,
            "seq 1 2000",
        ],
        HINT,
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        2000,
        "the terminal gets everything"
    );
    let id = &env.container_ids()[0];
    let dir = env.data().join("containers").join(id);
    let mut logs: Vec<String> = support::list_dir(&dir)
        .into_iter()
        .filter(|name| name.starts_with("container.log"))
        .collect();
    logs.sort();
    assert_eq!(
        logs,
        ["container.log", "container.log.1"],
        "--log-opt max-file=2: the current log and one rotated file, no more"
    );
    for name in &logs {
        let size = fs::metadata(dir.join(name)).unwrap().len();
        assert!(size <= 1024, "{name} is {size} bytes, above max-size=1k");
    }
    let replayed = env.bocker_ok(&["logs", id], HINT);
    let lines: Vec<String> = text(&replayed.stdout).lines().map(String::from).collect();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("2000"),
        "logs ends with the last line"
    );
    let first: usize = lines[0].parse().unwrap();
    assert_eq!(
        lines,
        (first..=2000).map(|n| n.to_string()).collect::<Vec<_>>(),
        "logs replays the rotated file, then the current one, with no line lost between them"
    );
    // A bad option is refused before anything is made.
    let out = env.run_bocker(&["run", "--log-opt", "max-size=lots", &image, "true"]);
    assert!(
        out.status.code() == Some(2) && text(&out.stderr).contains("--log-opt"),
        "{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn a_full_disk_stops_the_log_not_the_container() {
    let _idea = idea("a full disk stops the log, not the container: every byte still reaches the terminal, with one warning");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // The containers' folder on a 24 MiB disk, seen by bocker alone: the
    // container's copy of the image takes a few MiB, and it prints 12 MB,
    // whose log (one JSON line per line of 11 bytes) would be about 48 MB,
    // more than the default cap of 30 MiB too: the log's writes fail when
    // the disk is full.
    let mut bocker = env.bocker();
    support::with_tmpfs_of_its_own(
        &mut bocker,
        &env.root().join("containers"),
        "size=24m",
        None,
    );
    let out = bocker
        .args([
            "run",
            &image,
            "yes 0123456789 | head -c 12000000; echo done >&2",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(
        out.stdout.len(),
        12_000_000,
        "every byte reaches the terminal although the log cannot take them (its lines are 4 times the size: 48 MB of log for 24 MiB of disk)\n{stderr}"
    );
    assert!(
        stderr.contains("done") && stderr.contains("not logged"),
        "the container runs to its end, and bocker warns once that its output is not logged any more\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn a_container_that_outlives_its_keeper_is_ended_by_the_next_command() {
    let _idea = idea("a container that outlived its killed keeper (its parent-death signal lost when its user changed) is ended by the next bocker command");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // start-stop-daemon -c changes its user, then becomes `sleep`; the
    // kernel forgets a process's parent-death signal when its user
    // changes: this container outlives its keeper. The next bocker
    // command must end it. (Without root the container's user namespace
    // maps root alone: no other user to become. Its `sleep` dies with the
    // keeper, and the next command must still record its end.)
    let changes_user = [
        "start-stop-daemon",
        "-S",
        "-c",
        "nobody",
        "-x",
        "/bin/sleep",
        "--",
        "1000",
    ];
    let command: &[&str] = if support::is_root() {
        &changes_user
    } else {
        &["sleep", "1000"]
    };
    let mut keeper = env.spawn_bocker(&[&["run", image.as_str()][..], command].concat());
    let pid = env.wait_for_pid(&mut keeper, HINT);
    // Until the user has changed: then the process is `sleep`.
    for _ in 0..100 {
        if fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    keeper.kill().unwrap();
    keeper.wait().unwrap();
    env.bocker_ok(&["ps"], HINT);
    assert!(
        support::wait_until_ended(pid),
        "the container's process, whose keeper was killed, should have been killed by the next command's sweep"
    );
    // A process that is still on its way out when the sweep has killed it
    // (a busy machine) is recorded by the sweep of the command after.
    env.bocker_ok(&["ps"], HINT);
    let record = env.record(&env.container_ids()[0]).unwrap();
    assert_eq!(record["status"], "exited", "and its end recorded: {record}");
    env.assert_no_leaks();
}
