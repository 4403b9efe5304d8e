//! Chapter 4 — cgroups. Run with `cargo test --features stage4` (with the
//! frame's tests and the earlier chapters'), or this file's alone: `cargo
//! test --features stage4 stage4_cgroups`.
//!
//! Part one (`chapters/04-cgroups/files.rs`) is checked twice: its
//! functions called here on a made-up cgroup directory of each version
//! (`fake_cgroup`), and through containers on the real kernel. Part two
//! (`cgroups.rs`) through containers. They hold on cgroup v1 (one tree per
//! controller) and on v2 (one tree): scripts/v2-guest.sh runs them on a v2
//! machine too.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{self, assert_success, describe, idea, text, Hint, TestEnv};

// Part one of the exercise, std::fs only: the tests call its functions
// themselves too, on a made-up cgroup directory of each version, so that
// both versions are checked on any machine.
#[cfg_attr(not(feature = "solved4"), path = "../../chapters/04-cgroups/files.rs")]
#[cfg_attr(feature = "solved4", path = "../../solutions/04-cgroups/files.rs")]
mod files;

const HINT: Hint = Hint::chapter(4);

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `run -d ARGS… IMAGE COMMAND…`; the container id.
#[track_caller]
fn start(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["-d"];
    all.extend_from_slice(args);
    run_ok(env, &all).trim().to_string()
}

/// Is this a cgroup v2 machine (one tree at /sys/fs/cgroup)?
fn v2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// Where container `id`'s file of `controller` is: in v2 its one
/// directory, in v1 the directory in that controller's tree.
fn cgroup_file(env: &TestEnv, controller: &str, id: &str, file: &str) -> PathBuf {
    let base = if v2() {
        PathBuf::from("/sys/fs/cgroup")
    } else {
        PathBuf::from("/sys/fs/cgroup").join(controller)
    };
    base.join(env.cgroup_parent()).join(id).join(file)
}

/// The first line of a cgroup file, trimmed.
#[track_caller]
fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}\n{HINT}", path.display()))
        .trim()
        .to_string()
}

/// The value after `key` in a file of "key value" lines.
fn counter(path: &PathBuf, key: &str) -> u64 {
    read(path)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} "))?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}", path.display()))
}

#[test]
fn the_command_starts_inside_its_cgroup_with_the_limits_asked_for() {
    let _idea = idea(
        "The child joins its cgroup before its command runs, and every limit asked for is in its file: memory.max or memory.limit_in_bytes (yours), swap, CPU quota and weight, pids.max (cgroups-rs).",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // The command's very first look at /proc/self/cgroup: it must already
    // be in its cgroup (placed there before "go").
    let limits = [
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "10",
    ];
    let mut args = limits.to_vec();
    // The host's cgroup namespace, so that the path shows where the
    // child is (on v2 the default is a namespace of its own: `0::/`).
    args.extend_from_slice(&[
        "--cgroupns",
        "host",
        "--name",
        "limited",
        &image,
        "cat",
        "/proc/self/cgroup",
    ]);
    let seen = run_ok(&env, &args);
    let id = env.container_ids().pop().unwrap();
    let wanted = format!("/{}/{id}", env.cgroup_parent());
    assert!(
        seen.lines().any(|l| l.ends_with(&wanted)),
        "/proc/self/cgroup inside should name {wanted}: did join_cgroup move the child in before it ran?\n{seen}"
    );

    let id = start(&env, &[&limits[..], &[&image, "sleep", "1000"]].concat());
    let file = |controller: &str, name: &str| read(&cgroup_file(&env, controller, &id, name));
    if v2() {
        assert_eq!(
            file("memory", "memory.max"),
            "67108864",
            "memory.max for --memory 64m"
        );
        assert_eq!(
            file("memory", "memory.swap.max"),
            "0",
            "v2 counts swap alone: no swap is memory.swap.max 0"
        );
        assert_eq!(
            file("cpu", "cpu.max"),
            "50000 100000",
            "cpu.max for --cpus 0.5"
        );
        // 512 shares, half of v1's default 1024, is 59 on v2's scale,
        // where the default is 100 (weight_of in the chapter's file).
        assert_eq!(
            file("cpu", "cpu.weight"),
            "59",
            "cpu.weight is cpu.shares converted"
        );
    } else {
        assert_eq!(
            file("memory", "memory.limit_in_bytes"),
            "67108864",
            "memory.limit_in_bytes for --memory 64m"
        );
        assert_eq!(
            file("memory", "memory.memsw.limit_in_bytes"),
            "67108864",
            "v1 counts memory + swap: no swap is the same number"
        );
        assert_eq!(
            file("cpu", "cpu.cfs_quota_us"),
            "50000",
            "cpu.cfs_quota_us for --cpus 0.5"
        );
        assert_eq!(file("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(file("cpu", "cpu.shares"), "512");
    }
    assert_eq!(
        file("pids", "pids.max"),
        "10",
        "pids.max for --pids-limit 10"
    );
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn memory_over_the_limit_ends_in_137_and_ps_says_oom() {
    let _idea = idea(
        "A process that allocates past the cgroup's memory limit is killed by the kernel's OOM killer (SIGKILL, exit 137), and ps reads memory.events or memory.oom_control to say so.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // The shell keeps the 100 MB it reads in a variable.
    let out = env.run_bocker(&[
        "run",
        "--name",
        "hungry",
        "--memory",
        "16m",
        &image,
        "x=$(head -c 100000000 /dev/zero | tr '\\0' x); echo survived ${#x}",
    ]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "allocating 100 MB under --memory 16m should end with SIGKILL from the OOM killer\n{HINT}\n{}",
        describe(&out)
    );
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.contains("hungry") && l.contains("Exited (137) OOM")),
        "ps should say the OOM killer ended it:\n{ps}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_sigkill_that_is_not_the_oom_killer_is_not_called_oom() {
    let _idea = idea(
        "Exit 137 is any SIGKILL: only the cgroup's OOM kill counter tells an OOM kill from a stop.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start(
        &env,
        &[
            "--name", "killed", "--memory", "64m", &image, "sleep", "1000",
        ],
    );
    env.stop(&id);
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.contains("killed") && l.contains("Exited (137)") && !l.contains("OOM")),
        "a container stopped by SIGKILL is not an OOM kill:\n{ps}"
    );
    env.assert_no_leaks();
}

#[test]
fn with_pids_limit_10_the_eleventh_process_cannot_be_forked() {
    let _idea = idea(
        "pids.max caps the number of processes (and threads) of a cgroup: at the limit, fork(2) fails with EAGAIN.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_bocker(&[
        "run",
        "--pids-limit",
        "10",
        &image,
        "for i in $(seq 1 12); do sleep 100 & echo started $i; done",
    ]);
    let started = text(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        started,
        "started 9",
        "the shell and 9 sleeps make 10 processes: the next fork must fail\n{HINT}\n{}",
        describe(&out)
    );
    assert!(
        text(&out.stderr).contains("can't fork"),
        "the shell should say it could not fork\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

/// The CPU time the cgroup of container `id` has used, in nanoseconds.
fn cpu_time(env: &TestEnv, id: &str) -> u64 {
    if v2() {
        counter(&cgroup_file(env, "cpu", id, "cpu.stat"), "usage_usec") * 1000
    } else {
        read(&cgroup_file(env, "cpuacct", id, "cpuacct.usage"))
            .parse()
            .unwrap()
    }
}

#[test]
fn half_a_cpu_is_about_half_a_cpu_by_the_cgroups_own_accounting() {
    let _idea = idea(
        "A CFS quota of half the period lets the cgroup use about half a CPU, and the kernel throttles it when it wants more.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // Two busy loops: without a limit they could take two whole CPUs.
    let id = start(
        &env,
        &[
            "--cpus",
            "0.5",
            &image,
            "while :; do :; done & while :; do :; done",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let (used_before, wall_before) = (cpu_time(&env, &id), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_time(&env, &id) - used_before;
    let wall = wall_before.elapsed().as_nanos() as u64;
    let throttled = counter(&cgroup_file(&env, "cpu", &id, "cpu.stat"), "nr_throttled");
    env.stop(&id);
    let share = used as f64 / wall as f64;
    assert!(
        share < 0.65,
        "with --cpus 0.5 the container used {:.0}% of one CPU: is the CFS quota set (cpu.cfs_quota_us or cpu.max)?",
        share * 100.0
    );
    assert!(
        share > 0.05,
        "the busy loops hardly ran ({:.0}%)",
        share * 100.0
    );
    // On a machine so busy that the loops got less than their quota,
    // there was nothing to throttle.
    assert!(
        throttled > 0 || share < 0.4,
        "the loops used {:.0}% of a CPU, and the kernel never throttled the cgroup (cpu.stat nr_throttled)",
        share * 100.0
    );
    env.assert_no_leaks();
}

#[test]
fn pause_freezes_every_process_and_unpause_lets_them_go_on() {
    let _idea = idea(
        "The freezer stops every process of the cgroup (no CPU time at all) until it is thawed.",
    );
    // A busy loop uses CPU time all the time; frozen, it must use none.
    // The cgroup's own accounting tells.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start(&env, &["--name", "counter", &image, "while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(200));
    env.bocker_ok(&["pause", "counter"], HINT);
    let frozen_file = if v2() {
        counter(
            &cgroup_file(&env, "freezer", &id, "cgroup.events"),
            "frozen",
        )
        .to_string()
    } else {
        read(&cgroup_file(&env, "freezer", &id, "freezer.state"))
    };
    let at_pause = cpu_time(&env, &id);
    std::thread::sleep(Duration::from_millis(500));
    let while_paused = cpu_time(&env, &id) - at_pause;
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    let exec = env.run_bocker(&["exec", "counter", "true"]);

    env.bocker_ok(&["unpause", "counter"], HINT);
    let at_unpause = cpu_time(&env, &id);
    std::thread::sleep(Duration::from_millis(500));
    let after_unpause = cpu_time(&env, &id) - at_unpause;
    let ps_after = text(&env.run_bocker(&["ps"]).stdout);
    env.stop(&id);

    assert!(
        frozen_file == "FROZEN" || frozen_file == "1",
        "after pause the freezer should say frozen, says {frozen_file:?}"
    );
    assert!(
        while_paused < 1_000_000,
        "the paused container used {} ms of CPU in 500 ms: it was not frozen",
        while_paused / 1_000_000
    );
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Paused")),
        "ps should show Paused:\n{ps}"
    );
    assert_eq!(
        text(&exec.stderr),
        "bocker: Container 'counter' is paused: unpause it before exec\n",
        "{}",
        describe(&exec)
    );
    assert!(
        after_unpause > 10_000_000,
        "after unpause the busy loop should run again (it used {} ms in 500 ms)",
        after_unpause / 1_000_000
    );
    assert!(
        ps_after
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("Running")),
        "after unpause ps should show Running:\n{ps_after}"
    );
    env.assert_no_leaks();
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let _idea = idea(
        "A running cgroup's limits are files that can be rewritten at any time, the memory limit by your set_memory_limit.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start(
        &env,
        &[
            "--memory",
            "64m",
            "--pids-limit",
            "10",
            &image,
            "sleep",
            "1000",
        ],
    );
    env.bocker_ok(
        &["update", "--memory", "128m", "--pids-limit", "20", &id],
        HINT,
    );
    let memory = if v2() {
        read(&cgroup_file(&env, "memory", &id, "memory.max"))
    } else {
        read(&cgroup_file(&env, "memory", &id, "memory.limit_in_bytes"))
    };
    let pids = read(&cgroup_file(&env, "pids", &id, "pids.max"));
    env.stop(&id);
    assert_eq!(memory, "134217728", "update --memory 128m");
    assert_eq!(pids, "20", "update --pids-limit 20");
    env.assert_no_leaks();
}

#[test]
fn exec_lands_in_the_containers_cgroup() {
    let _idea = idea(
        "A process exec'd into the container joins its cgroup (your join_cgroup) before it runs.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start(&env, &["--cgroupns", "host", &image, "sleep", "1000"]);
    let out = env.run_bocker(&["exec", &id, "cat", "/proc/self/cgroup"]);
    env.stop(&id);
    let wanted = format!("/{}/{id}", env.cgroup_parent());
    assert!(
        text(&out.stdout).lines().any(|l| l.ends_with(&wanted)),
        "an exec'd process should be in the container's cgroup {wanted}\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn the_cgroup_goes_with_the_container() {
    let _idea = idea("Every cgroup a container had is removed (rmdir) when it ends or is removed.");
    let env = TestEnv::new();
    let image = env.busybox_image();
    run_ok(&env, &["--name", "brief", &image, "true"]);
    run_ok(&env, &["--rm", &image, "true"]);
    assert!(
        env.container_cgroups().is_empty(),
        "cgroups remain after their containers ended: {:?}\nDoes remove_cgroup delete them?",
        env.container_cgroups()
    );
    let id = start(&env, &[&image, "sleep", "1000"]);
    assert!(
        cgroup_file(&env, "pids", &id, "pids.current").exists(),
        "a running container should have a cgroup"
    );
    env.stop(&id);
    env.bocker_ok(&["rm", &id, "brief"], HINT);
    env.assert_no_leaks();
}

#[test]
fn the_cgroup_of_a_killed_bocker_is_removed_by_the_next_command() {
    let _idea = idea(
        "A cgroup left by a bocker that was killed is killed and removed by the next command's sweep.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mut running = env.spawn_bocker(&["run", "--name", "orphan", &image, "sleep", "1000"]);
    let pid = env.wait_for_pid(&mut running, HINT);
    running.kill().unwrap();
    running.wait().unwrap();
    support::wait_until_gone(pid);
    assert!(
        !env.container_cgroups().is_empty(),
        "the cgroup of a run whose bocker was killed should still be there before the next command"
    );
    env.bocker_ok(&["ps"], HINT);
    assert!(
        env.container_cgroups().is_empty(),
        "the next command's sweep should remove the cgroup: {:?}",
        env.container_cgroups()
    );
    env.assert_no_leaks();
}

#[test]
fn stats_reads_memory_cpu_and_processes_from_the_cgroup() {
    let _idea = idea(
        "stats reads the cgroup's own counters: the memory limit and the number of processes.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start(
        &env,
        &[
            "--name", "watched", "--memory", "64m", &image, "sleep", "1000",
        ],
    );
    let out = env.run_bocker(&["stats", "--no-stream", "watched"]);
    env.stop(&id);
    assert_success(&out, HINT);
    let table = text(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("stats has no row for {id}:\n{table}"));
    assert!(
        row.contains("/ 64.0MiB"),
        "the memory limit should show: {row}"
    );
    assert_eq!(
        row.split_whitespace().last(),
        Some("1"),
        "one process (sleep) in the cgroup: {row}"
    );
    env.assert_no_leaks();
}

#[test]
fn bockers_variables_set_limits_and_flags_win() {
    let _idea = idea(
        "BOCKER_MEM_LIMIT is megabytes of 1,000,000 bytes, written into the memory limit file in bytes; a flag wins over it.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let start_with = |extra: &[&str]| {
        let mut cmd = env.bocker();
        cmd.env("BOCKER_MEM_LIMIT", "100")
            .env("BOCKER_CPU_SHARE", "256");
        cmd.args(["run", "-d"])
            .args(extra)
            .args([&image, "sleep", "1000"]);
        let out = cmd.output().unwrap();
        assert_success(&out, HINT);
        text(&out.stdout).trim().to_string()
    };
    let from_variables = start_with(&[]);
    let from_flag = start_with(&["--memory", "32m"]);
    let memory = |id: &str| {
        if v2() {
            read(&cgroup_file(&env, "memory", id, "memory.max"))
        } else {
            read(&cgroup_file(&env, "memory", id, "memory.limit_in_bytes"))
        }
    };
    let (by_variable, by_flag) = (memory(&from_variables), memory(&from_flag));
    env.stop(&from_variables);
    env.stop(&from_flag);
    // v1 rounds a limit down to whole pages: 100,000,000 is 24414 pages.
    let pages = (100_000_000u64 / 4096 * 4096).to_string();
    assert!(
        by_variable == "100000000" || by_variable == pages,
        "BOCKER_MEM_LIMIT=100 is 100 MB (Bocker's 100 × 1,000,000 bytes), got {by_variable}"
    );
    assert_eq!(by_flag, "33554432", "--memory wins over BOCKER_MEM_LIMIT");
    env.assert_no_leaks();
}

#[test]
fn a_failed_set_up_exits_125_and_leaves_nothing() {
    let _idea = idea(
        "A cgroup that cannot be made stops the run before its command (exit 125), and nothing is left behind.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // A parent "directory" that is a file of the cgroup filesystem: the
    // container's cgroup cannot be made, after its process exists.
    let out = env
        .bocker()
        .env("BOCKER_CGROUP_PARENT", "cgroup.procs")
        .args(["run", &image, "true"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(125),
        "a container that could not be set up never ran: exit code 125\n{}",
        describe(&out)
    );
    // (On v1 the container's cgroup cannot be made; on v2 already its
    // parent, which the frame prepares first.)
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot create") && stderr.contains("cgroup"),
        "{}",
        describe(&out)
    );
    // As with Docker, the container stays, with what went wrong.
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(ps.contains("Exited (125)"), "{ps}");
    // With a parent that can be a directory, the same run works.
    env.run_ok(&["--memory", "64m", &image, "true"], HINT);
    env.assert_no_leaks();
}

/// Lines of /proc/self/cgroup as a command in a container sees them.
fn cgroup_lines(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--rm"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["cat", "/proc/self/cgroup"]);
    run_ok(env, &all).lines().map(String::from).collect()
}

#[test]
fn a_private_cgroup_namespace_shows_the_container_its_cgroup_as_the_root() {
    let _idea = idea(
        "A cgroup namespace made after joining the cgroup shows that cgroup as the root (`0::/`).",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let private = cgroup_lines(&env, &["--cgroupns", "private", &image]);
    assert!(
        !private.is_empty() && private.iter().all(|line| line.ends_with(":/")),
        "--cgroupns private: every line of /proc/self/cgroup should end in `:/`, the container's cgroup being the namespace's root (unshare(CLONE_NEWCGROUP) after joining it): {private:?}"
    );
    let host = cgroup_lines(&env, &["--cgroupns", "host", &image]);
    assert!(
        host.iter().any(|line| line.contains(&env.cgroup_parent())),
        "--cgroupns host: the host's paths show: {host:?}"
    );
    // Docker's default: private on v2, the host's on v1.
    let default = cgroup_lines(&env, &[&image]);
    assert_eq!(
        default.iter().all(|line| line.ends_with(":/")),
        v2(),
        "the default is private on cgroup v2 only: {default:?}"
    );
    // exec joins it too.
    let id = start(&env, &["--cgroupns", "private", &image, "sleep", "1000"]);
    let out = env.bocker_ok(&["exec", &id, "cat", "/proc/self/cgroup"], HINT);
    assert!(
        text(&out.stdout).lines().all(|line| line.ends_with(":/")),
        "exec into a container with its own cgroup namespace joins it: {}",
        describe(&out)
    );
    env.stop(&id);
    let out = env.run_bocker(&["run", "--cgroupns", "shared", &image, "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    env.assert_no_leaks();
}

// ------------------------------------------------------------ part one

/// Run one of part one's functions, named `name`; its value. An
/// unfinished one (todo!()) says so, an error says which function.
#[track_caller]
fn yours<T>(name: &str, step: impl FnOnce() -> anyhow::Result<T>) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("your {name} failed: {error:#}"),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if message.starts_with("not yet implemented") {
                panic!("unfinished exercise at chapters/04-cgroups/files.rs ({name}): {message}");
            }
            std::panic::resume_unwind(payload)
        }
    }
}

/// A made-up cgroup directory of version `v2` (v1: of the memory tree),
/// in a temporary directory: the files the kernel would put there, with
/// made-up numbers. Writing a file the kernel does not have makes a new
/// file here (in a real cgroup it fails).
fn fake_cgroup(v2: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = if v2 {
        &[
            ("cgroup.procs", ""),
            ("cgroup.threads", ""),
            ("cgroup.events", "populated 1\nfrozen 0\n"),
            ("memory.max", "max\n"),
            ("memory.high", "max\n"),
            ("memory.current", "1236992\n"),
            ("memory.peak", "7655424\n"),
            ("memory.swap.current", "0\n"),
            ("memory.stat", "anon 1048576\nfile 188416\n"),
        ]
    } else {
        &[
            ("cgroup.procs", ""),
            ("tasks", ""),
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.soft_limit_in_bytes", "9223372036854771712\n"),
            ("memory.usage_in_bytes", "1236992\n"),
            ("memory.max_usage_in_bytes", "7655424\n"),
            ("memory.memsw.usage_in_bytes", "2347008\n"),
            ("memory.stat", "cache 188416\nrss 1048576\n"),
        ]
    };
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

/// The files of `dir` whose content differs from `fake_cgroup`'s, and
/// those it did not have: what a function wrote.
fn written(dir: &std::path::Path, v2: bool) -> Vec<(String, String)> {
    let fresh = fake_cgroup(v2);
    let mut changed: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let now = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let before = std::fs::read_to_string(fresh.path().join(&name)).ok();
            (before.as_deref() != Some(now.as_str())).then_some((name, now))
        })
        .collect();
    changed.sort();
    changed
}

fn version(v2: bool) -> &'static str {
    if v2 {
        "cgroup v2"
    } else {
        "cgroup v1"
    }
}

#[test]
fn make_cgroup_makes_a_directory_that_the_kernel_fills() {
    let _idea = idea(
        "A cgroup is made with mkdir(2) in the cgroup filesystem, and the kernel fills the new directory with its files (cgroup.procs, the controllers').",
    );
    let env = TestEnv::new();
    // In the memory tree on v1, in the one tree on v2; under this test's
    // own parent, which the frame would make.
    let tree = if v2() {
        PathBuf::from("/sys/fs/cgroup")
    } else {
        PathBuf::from("/sys/fs/cgroup/memory")
    };
    let parent = tree.join(env.cgroup_parent());
    std::fs::create_dir_all(&parent).unwrap();
    let dir = parent.join("made-by-hand");
    yours("make_cgroup", || files::make_cgroup(&dir));
    let filled = dir.join("cgroup.procs").exists();
    let empty = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let removed = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_dir(&parent);
    assert!(
        filled,
        "{} should be a cgroup, with the kernel's files (cgroup.procs): is it a directory in the cgroup filesystem?",
        dir.display()
    );
    assert_eq!(empty, "", "a new cgroup has no process");
    assert!(
        removed.is_ok(),
        "an empty cgroup is removed with rmdir(2): {removed:?}"
    );
    // And bocker makes each container's cgroup with it: a failed
    // make_cgroup is a failed start.
    let image = env.busybox_image();
    let id = start(&env, &[&image, "sleep", "1000"]);
    let in_memory_tree = cgroup_file(&env, "memory", &id, "cgroup.procs").exists();
    let in_pids_tree = cgroup_file(&env, "pids", &id, "pids.max").exists();
    env.stop(&id);
    assert!(
        in_memory_tree && in_pids_tree,
        "a running container has its cgroup (on v1, a directory in each tree)"
    );
    env.assert_no_leaks();
}

#[test]
fn set_memory_limit_writes_bytes_into_the_file_of_its_version() {
    let _idea = idea(
        "The memory limit is a number of bytes, as decimal text, written into memory.max on cgroup v2 and memory.limit_in_bytes on v1 (a v2 cgroup has no memory.limit_in_bytes).",
    );
    for (v2, file) in [(true, "memory.max"), (false, "memory.limit_in_bytes")] {
        let dir = fake_cgroup(v2);
        yours("set_memory_limit", || {
            files::set_memory_limit(dir.path(), 64 << 20, v2)
        });
        let changed = written(dir.path(), v2);
        assert_eq!(
            changed
                .iter()
                .map(|(name, value)| (name.as_str(), value.trim()))
                .collect::<Vec<_>>(),
            vec![(file, "67108864")],
            "on {}, a limit of 64 MiB is 67108864 (bytes) written into {file}, and nothing else",
            version(v2)
        );
    }
}

#[test]
fn join_cgroup_writes_the_pid_into_the_file_of_its_version() {
    let _idea = idea(
        "A process joins a cgroup when its pid (or 0, \"the writer\") is written into cgroup.procs on v2, into tasks (or cgroup.procs) on v1; a v2 cgroup has no tasks file.",
    );
    let me = std::process::id().to_string();
    for v2 in [true, false] {
        let dir = fake_cgroup(v2);
        yours("join_cgroup", || files::join_cgroup(dir.path(), v2));
        let changed = written(dir.path(), v2);
        let files: Vec<&str> = changed.iter().map(|(name, _)| name.as_str()).collect();
        let allowed: &[&str] = if v2 {
            &["cgroup.procs"]
        } else {
            &["tasks", "cgroup.procs"]
        };
        assert!(
            files.len() == 1 && allowed.contains(&files[0]),
            "on {} join writes into {} alone; yours wrote {files:?}",
            version(v2),
            allowed.join(" or ")
        );
        let pid = changed[0].1.trim();
        assert!(
            pid == me || pid == "0",
            "the file takes the pid to move ({me} here), or 0 for the process that writes; yours wrote {pid:?}"
        );
    }
}

#[test]
fn memory_usage_reads_what_is_in_use_now_from_the_file_of_its_version() {
    let _idea = idea(
        "The memory a cgroup uses now is the number in memory.current (v2) or memory.usage_in_bytes (v1), not the peak, the limit or memory+swap.",
    );
    for v2 in [true, false] {
        let dir = fake_cgroup(v2);
        let used = yours("memory_usage", || files::memory_usage(dir.path(), v2));
        assert_eq!(
            used,
            1_236_992,
            "on {} the memory in use now is {}'s number",
            version(v2),
            if v2 {
                "memory.current"
            } else {
                "memory.usage_in_bytes"
            }
        );
        assert!(
            written(dir.path(), v2).is_empty(),
            "memory_usage only reads"
        );
    }
}

#[test]
fn stats_shows_the_memory_in_use_that_memory_usage_reads() {
    let _idea = idea(
        "The kernel counts the memory a cgroup's processes use, and bocker stats shows it through your memory_usage.",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // The shell keeps 30 MB in a variable, then waits (in the background
    // and `wait`: a last command alone would replace the shell, and its
    // variable with it).
    let id = start(
        &env,
        &[
            "--name",
            "holder",
            "--memory",
            "256m",
            &image,
            "x=$(head -c 30000000 /dev/zero | tr '\\0' x); sleep 1000 & wait",
        ],
    );
    let file = if v2() {
        cgroup_file(&env, "memory", &id, "memory.current")
    } else {
        cgroup_file(&env, "memory", &id, "memory.usage_in_bytes")
    };
    // Done when the variable is filled and only the shell and its sleep
    // are left (a slow virtual machine takes most of a minute).
    let pids = cgroup_file(&env, "pids", &id, "pids.current");
    let started = Instant::now();
    while (read(&file).parse::<u64>().unwrap_or(0) < 30_000_000 || read(&pids) != "2")
        && started.elapsed() < Duration::from_secs(180)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = env.run_bocker(&["stats", "--no-stream", "holder"]);
    env.stop(&id);
    assert_success(&out, HINT);
    let table = text(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("stats has no row for {id}:\n{table}"));
    // "… 30.1MiB / 256.0MiB …"
    let words: Vec<&str> = row.split_whitespace().collect();
    let used = words
        .iter()
        .position(|w| *w == "/")
        .and_then(|slash| words[slash - 1].strip_suffix("MiB"))
        .and_then(|mib| mib.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no MEM USAGE in MiB in the row: {row}"));
    assert!(
        (28.0..200.0).contains(&used),
        "the container holds 30 MB (28.6 MiB): stats should show about that much in use, not {used} MiB (is memory_usage reading the memory in use now?)\n{row}"
    );
    env.assert_no_leaks();
}
