//! Chapter 3 — mounts and /proc. Run with `cargo test --features stage3`
//! (with the frame's tests and the earlier chapters'), or this file's
//! alone: `cargo test --features stage3 stage3_mounts`.
//!
//! Every test here starts a container, so every one of them fails until
//! `chapters/03-mounts/mounts.rs` is done.

use crate::support::{
    self, describe, escape_binary, mount_table_of, text, Hint, SharedMount, TestEnv,
};

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

#[test]
fn ps_lists_only_the_containers_processes() {
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
        ["/", "/dev", "/dev/pts", "/dev/shm", "/proc", "/sys", "/tmp"],
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
    // This machine's `/` may be private, which would hide a missing
    // make_mounts_private. Make the test's own directory shared, so that a
    // mount made in a copy of it would travel back to the host.
    let env = TestEnv::new();
    let image = env.busybox_image();
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
        7,
        "exec should see the container's 7 mounts\n{}",
        describe(&mounts)
    );
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn proc_and_sys_allow_no_setuid_devices_or_programs() {
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
