//! Chapter 2 — namespaces. Run with `cargo test --features stage2`.
//!
//! Every test here starts a container, so every one of them fails until
//! `chapters/02-namespaces/namespaces.rs` is done.
#![cfg(feature = "stage2")]

mod support;

use std::process::Command;

use support::{describe, text, TestEnv};

const HINT: &str =
    "If bocker printed `unfinished exercise`, finish chapters/02-namespaces/namespaces.rs.";

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `run -d … sleep 1000`; returns the container id.
fn start_sleeper(env: &TestEnv, image: &str, extra: &[&str]) -> String {
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
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &[&image, "echo $$"]);
    assert_eq!(out, "1\n", "`echo $$` in the container: the shell should be pid 1 of a new PID namespace.\nDid clone_flags include CLONE_NEWPID?");
    env.assert_no_leaks();
}

#[test]
fn the_hostname_is_the_containers_and_the_hosts_is_untouched() {
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
    let env = TestEnv::new();
    let image = env.busybox_image();
    // A System V shared-memory segment, made on the host.
    let made = Command::new("ipcmk")
        .args(["-M", "4096"])
        .output()
        .expect("ipcmk (util-linux) is missing");
    let shmid = text(&made.stdout)
        .rsplit(':')
        .next()
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    assert!(
        made.status.success() && !shmid.is_empty(),
        "ipcmk failed\n{}",
        describe(&made)
    );

    let id = start_sleeper(&env, &image, &[]);
    let pid = env
        .running_pid(&id)
        .expect("the detached container is not running");
    // The busybox image has no ipcs: look from the host, with util-linux's
    // nsenter entering only the container's IPC namespace.
    let inside = Command::new("nsenter")
        .args(["--ipc", "--target", &pid.to_string(), "ipcs", "-m"])
        .output()
        .unwrap();
    let host = Command::new("ipcs").arg("-m").output().unwrap();
    Command::new("ipcrm").args(["-m", &shmid]).status().unwrap();
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
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &[]);
    let container = env
        .running_pid(&id)
        .expect("the container is not running")
        .to_string();
    // A second process in the container, recognisable by its argument.
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", "424242"]);
    let mut joined = None;
    for _ in 0..200 {
        joined = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .find_map(|entry| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                (cmdline == b"sleep\x00424242\x00")
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
            "`bocker exec {id} sleep 424242` did not start.\n{HINT}\n{}",
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
