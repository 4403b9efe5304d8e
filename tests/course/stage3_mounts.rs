//! Chapter 3 — mounts and /proc. Run with `cargo test --features stage3`
//! (with the frame's tests and the earlier chapters'), or this file's
//! alone: `cargo test --features stage3 stage3_mounts`.
//!
//! Every test here starts a container, so every one of them fails until
//! `chapters/03-mounts/mounts.rs` is done.

use crate::support::{
    self, describe, escape_binary, idea, mount_table_of, text, Hint, SharedMount, TestEnv,
};

use super::stage2_namespaces::{start_sleeper, unique_seconds, wait_for_process};

const HINT: Hint = Hint::chapter(3);

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// From chapter 8 on, more mounts hide or protect kernel files below
/// /proc and /sys (/proc/keys, /proc/sys, /sys/firmware, …): not this
/// chapter's business.
fn is_chapter_8_mask(point: &str) -> bool {
    support::stage() >= 8 && (point.starts_with("/proc/") || point.starts_with("/sys/"))
}

/// The mount points of a container, sorted: chapter 3's seven, and
/// without root the host's device nodes bound in /dev (mknod needs root:
/// process/host_devices.rs).
fn expected_mount_points() -> Vec<String> {
    let mut points: Vec<String> = ["/", "/dev", "/dev/pts", "/dev/shm", "/proc", "/sys", "/tmp"]
        .map(String::from)
        .to_vec();
    if !support::is_root() {
        let nodes = ["null", "zero", "full", "random", "urandom", "tty"];
        points.extend(nodes.map(|name| format!("/dev/{name}")));
    }
    points.sort();
    points
}

#[test]
fn ps_lists_only_the_containers_processes() {
    let _idea = idea("a proc mounted from inside the container's PID namespace shows only its processes: ps sees itself as pid 1");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &[&image, "ps", "-o", "pid,comm"]);
    let rows: Vec<String> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        rows,
        ["1 ps"],
        "`ps` should see only itself, as pid 1: is a new proc mounted on /proc?\n{out}"
    );
    env.assert_no_leaks();
}

#[test]
fn proc_self_stat_shows_the_containers_pid() {
    let _idea = idea(
        "/proc/self in the container names the caller by its pid in the container's PID namespace",
    );
    // Bocker's own test: under a shell, `cat /proc/self/stat` is pid 3.
    // Here the shell is pid 1, the first /bin/true pid 2, cat pid 3.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &[&image, "/bin/true; cat /proc/self/stat; /bin/true"]);
    assert!(out.starts_with("3 (cat) "), "/proc/self/stat should start with `3 (cat)`, got {out:?}: does /proc show the container's PID namespace?");
    env.assert_no_leaks();
}

#[test]
fn the_containers_mount_table_is_its_own() {
    let _idea = idea("after pivot_root and the detach of the old root, the container's mount table holds its own seven mounts and no host path");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mounts = run_ok(&env, &[&image, "cat", "/proc/mounts"]);
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|point| !is_chapter_8_mask(point))
        .collect();
    points.sort();
    assert_eq!(
        points,
        expected_mount_points(),
        "the container's mounts:\n{mounts}\nHost mounts inside mean the old root was not detached after pivot_root."
    );
    let host_path = env.root().to_string_lossy().into_owned();
    assert!(
        !mounts.contains(&host_path),
        "/proc/mounts names a host path ({host_path}):\n{mounts}"
    );
    env.assert_no_leaks();
}

#[test]
fn the_hosts_mount_table_is_unchanged() {
    let _idea = idea(
        "the container's mounts never show up in the host's mount table, during a run or after rm",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    // Only this test's lines: other tests mount in their own directories
    // at the same time.
    let before = mount_table_of(&env);
    run_ok(
        &env,
        &[
            "--name",
            "mounter",
            &image,
            "ls /proc /dev /sys /tmp > /dev/null",
        ],
    );
    let after_run = mount_table_of(&env);
    assert_eq!(
        before, after_run,
        "the host's mount table changed during a run: were mounts made before making / private?"
    );
    env.bocker_ok(&["rm", "mounter"], HINT);
    let after_rm = mount_table_of(&env);
    assert_eq!(before, after_rm, "the host's mount table changed after rm");
    env.assert_no_leaks();
}

#[test]
fn mounts_stay_inside_even_when_the_host_tree_is_shared() {
    let _idea = idea("with the host's tree shared, MS_REC | MS_PRIVATE made first keeps every container mount from propagating to the host");
    // This machine's `/` may be private, which would hide a missing
    // make_mounts_private. Make the test's own directory shared, so that a
    // mount made in a copy of it would travel back to the host.
    let env = TestEnv::new();
    let image = env.busybox_image();
    if !support::is_root() {
        // Without root no host mount can be made shared, and none needs
        // to: the kernel made the container's copies of the host's mounts
        // slaves (a namespace of a less privileged user receives mount
        // events, never sends them). Still, a container's mounts must tell
        // nobody anything: after MS_REC | MS_PRIVATE, no line of its
        // mountinfo has a propagation tag (`shared:N`, `master:N`).
        let info = run_ok(&env, &[&image, "cat", "/proc/self/mountinfo"]);
        let tagged: Vec<&str> = info
            .lines()
            .filter(|l| l.contains(" shared:") || l.contains(" master:"))
            .collect();
        assert!(
            tagged.is_empty(),
            "mounts of the container still propagate:\n{}\nWas the mount tree made private first?",
            tagged.join("\n")
        );
        env.assert_no_leaks();
        return;
    }
    let shared = SharedMount::new(env.dir());
    let out = env.run_bocker(&["run", &image, "ls /proc /dev /sys /tmp > /dev/null"]);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = env.dir().to_string_lossy().into_owned();
    let below: Vec<&str> = mounts.lines().filter(|l| l.contains(&dir)).collect();
    drop(shared);
    assert!(out.status.success(), "a run under a shared mount failed: was the mount tree made private (MS_REC | MS_PRIVATE) before the bind mount and pivot_root?\n{HINT}\n{}", describe(&out));
    assert_eq!(
        below.len(),
        1,
        "mounts of the container appeared on the host:\n{}\nWas the mount tree made private first?",
        below.join("\n")
    );
    env.assert_no_leaks();
}

#[test]
fn dev_has_working_device_nodes() {
    let _idea = idea("/dev holds working character devices made with mknod (null is 1,3 with mode 666), and /dev/pts and /dev/shm exist");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let script = "echo gone > /dev/null && cat < /dev/null && head -c 5 /dev/zero | wc -c \
                  && head -c 4 /dev/urandom | wc -c && ls /dev/pts /dev/shm > /dev/null && echo ok";
    let out = run_ok(&env, &[&image, script]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["5", "4", "ok"],
        "the device nodes in /dev do not work"
    );
    let listing = run_ok(&env, &[&image, "ls", "-l", "/dev/null"]);
    assert!(
        listing.starts_with("crw-rw-rw-") && listing.contains("1,   3"),
        "/dev/null should be character device 1,3 with mode 666: {listing}"
    );
    env.assert_no_leaks();
}

#[test]
fn the_chroot_escape_no_longer_works() {
    let _idea = idea("after pivot_root and detaching the old root, chapter 1's chroot escape finds no host tree to climb to");
    let env = TestEnv::new();
    let rootfs = env.busybox_rootfs();
    std::fs::copy(escape_binary(), rootfs.join("bin/escape")).unwrap();
    let image = env.busybox_image();
    let marker = env.scratch().join("host-marker");
    std::fs::write(&marker, "host secret\n").unwrap();
    let out = env.run_bocker(&["run", &image, "/bin/escape", marker.to_str().unwrap()]);
    let said = text(&out.stdout);
    assert!(!said.contains("host secret"), "the chroot escape reached the host's files: did switch_root pivot_root and detach the old root?\n{}", describe(&out));
    assert!(
        said.contains("still inside"),
        "the escape program should have run and stayed inside.\n{HINT}\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn sys_is_read_only() {
    let _idea = idea("/sys is a read-only sysfs: mkdir in it fails with `Read-only file system`");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_bocker(&["run", &image, "mkdir /sys/bocker-was-here"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "the container could write to /sys\n{}",
        describe(&out)
    );
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "mkdir in /sys should fail with `Read-only file system`.\n{HINT}\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn exec_enters_the_same_root_and_proc() {
    let _idea = idea("exec's command sees the container's root, its /proc (pid 1 is the command) and its seven mounts");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = run_ok(&env, &["-d", "--name", "box", &image, "sleep", "1000"])
        .trim()
        .to_string();
    let cmdline = env.run_bocker(&["exec", "box", "cat", "/proc/1/cmdline"]);
    assert_eq!(
        text(&cmdline.stdout),
        "sleep\u{0}1000\u{0}",
        "exec should see the container's /proc, where pid 1 is sleep\n{}",
        describe(&cmdline)
    );
    let mounts = env.run_bocker(&["exec", "box", "cat", "/proc/mounts"]);
    assert_eq!(
        text(&mounts.stdout)
            .lines()
            .filter(|l| !l.split_whitespace().nth(1).is_some_and(is_chapter_8_mask))
            .count(),
        expected_mount_points().len(),
        "exec should see the container's mounts\n{}",
        describe(&mounts)
    );
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn proc_and_sys_allow_no_setuid_devices_or_programs() {
    let _idea = idea("/proc and /sys are mounted nosuid, nodev and noexec");
    // A filesystem the kernel makes up has no business holding setuid
    // programs, device nodes or programs to run: nosuid, nodev, noexec.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mounts = run_ok(&env, &[&image, "cat", "/proc/mounts"]);
    for point in ["/proc", "/sys"] {
        let line = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(point))
            .unwrap_or_else(|| panic!("{point} is not mounted:\n{mounts}"));
        let options: Vec<&str> = line.split_whitespace().nth(3).unwrap().split(',').collect();
        for wanted in ["nosuid", "nodev", "noexec"] {
            assert!(
                options.contains(&wanted),
                "{point} should be mounted with {wanted}: {line}"
            );
        }
    }
    env.assert_no_leaks();
}

#[test]
fn dev_has_ptmx_and_the_links_to_a_processs_own_descriptors() {
    let _idea = idea("/dev/ptmx links to the container's own devpts, and /dev/fd, stdin, stdout, stderr link into /proc/self/fd");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let script = "for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; \
                  exec 3<>/dev/ptmx && echo ptmx opens; \
                  echo to-stderr > /dev/stderr";
    let out = env.run_ok(&[&image, script], HINT);
    assert_eq!(
        text(&out.stdout),
        "pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\nptmx opens\n",
        "/dev/ptmx should link to the container's own devpts, and /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr to /proc/self/fd\n{}",
        describe(&out)
    );
    assert_eq!(
        text(&out.stderr),
        "to-stderr\n",
        "writing to /dev/stderr should reach stderr"
    );
    env.assert_no_leaks();
}

// Chapter 2's init and exec, tested here: they read /proc and use
// /dev/null, which this chapter mounts.

/// The line `SigIgn:` of /proc/self/status as a command sees it: the
/// signals it starts with ignored.
fn ignored_signals(env: &TestEnv, args: &[&str]) -> String {
    let out = run_ok(env, args);
    out.lines()
        .find(|line| line.starts_with("SigIgn:"))
        .unwrap_or_else(|| panic!("no SigIgn line in {out:?}"))
        .to_string()
}

#[test]
fn every_signal_starts_at_its_default_action_with_or_without_init() {
    let _idea = idea("the command starts with no signal ignored (run, run --init, exec), so a pipeline's writer dies quietly of SIGPIPE");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let nothing_ignored = "SigIgn:\t0000000000000000";
    // grep itself is the command here (no shell: a shell ignores some
    // signals of its own).
    let status = ["grep", "SigIgn", "/proc/self/status"];
    for (how, extra) in [("run", &[][..]), ("run --init", &["--init"][..])] {
        let mut args = vec!["--rm"];
        args.extend_from_slice(extra);
        args.push(&image);
        args.extend_from_slice(&status);
        assert_eq!(
            ignored_signals(&env, &args),
            nothing_ignored,
            "{how}: the command must start with no signal ignored (an ignored signal stays ignored across execve; Rust programs, bocker-init among them, ignore SIGPIPE)"
        );
    }
    let id = start_sleeper(&env, &image, &["--init"]);
    let mut args = vec!["exec", &id];
    args.extend_from_slice(&status);
    let out = env.bocker_ok(&args, HINT);
    assert!(
        text(&out.stdout).contains(nothing_ignored),
        "exec: {}",
        describe(&out)
    );
    // What it is for: a pipeline whose reader stops early.
    let out = env.run_ok(&["--rm", "--init", &image, "yes | head -1"], HINT);
    assert_eq!(text(&out.stdout), "y\n");
    assert_eq!(
        text(&out.stderr),
        "",
        "`yes` should die of SIGPIPE quietly, not report a broken pipe"
    );
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn the_inits_command_line_shows_no_host_path_and_its_descriptors_are_checked() {
    let _idea = idea("bocker-init's command line shows no host path, and it writes to fd 3 only when fd 3 is the report pipe");
    use std::os::unix::process::CommandExt;
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = run_ok(&env, &["--rm", "--init", &image, "cat", "/proc/1/cmdline"]);
    assert_eq!(
        out, "bocker-init\0--\0cat\0/proc/1/cmdline\0",
        "pid 1's command line, which the whole container can read, must hold no host path and no profile"
    );
    // Anyone can start bocker under the name bocker-init: a descriptor 3
    // that is not the report pipe must not be written to.
    let stray = env.scratch().join("stray");
    std::fs::write(&stray, "").unwrap();
    let file = std::fs::File::options().write(true).open(&stray).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut command = std::process::Command::new(support::bocker_binary());
    command.arg0("bocker-init").args(["--", "true"]);
    // SAFETY: only dup and dup2, async-signal-safe, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            // A copy first: dup2 onto itself (if `raw` is 3) would keep
            // the close-on-exec flag.
            let copy = libc::dup(raw);
            if copy < 0 || libc::dup2(copy, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    assert!(
        out.status.code() == Some(125) && text(&out.stderr).contains("fd 3 is not the report pipe"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&stray).unwrap(),
        "",
        "nothing may be written to a descriptor that is not the report pipe"
    );
    env.assert_no_leaks();
}

#[test]
fn a_signal_to_exec_reaches_its_command() {
    let _idea = idea("SIGTERM sent to bocker exec reaches the command in the container");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = start_sleeper(&env, &image, &[]);
    let seconds = unique_seconds();
    let script =
        format!("trap 'echo got TERM; exit 7' TERM; sleep {seconds} & wait; echo no signal");
    let mut exec = env.spawn_bocker(&["exec", &id, "sh", "-c", &script]);
    wait_for_process(&["sleep", &seconds], &mut exec);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exec.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = exec.wait_with_output().unwrap();
    assert!(
        out.status.code() == Some(7) && text(&out.stdout).contains("got TERM"),
        "SIGTERM to `bocker exec` should reach the command (its trap prints `got TERM` and exits 7), not kill the process in between\n{}",
        describe(&out)
    );
    env.stop(&id);
    env.assert_no_leaks();
}
