//! Chapter 8 — locking the container in. Run with `cargo test --features
//! stage8` (with the frame's tests and the earlier chapters'), or this
//! file's alone: `cargo test --features stage8 stage8_security`.
//!
//! The attacks are small static programs (chapters/08-security/attacks/),
//! run inside a busybox image against targets in the test's own
//! directory: never a real host file.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{self, describe, idea, static_program, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(8);

/// Docker's default capabilities, by number (capabilities(7)).
const DEFAULT_CAPABILITIES: [(u32, &str); 14] = [
    (0, "CHOWN"),
    (1, "DAC_OVERRIDE"),
    (3, "FOWNER"),
    (4, "FSETID"),
    (5, "KILL"),
    (6, "SETGID"),
    (7, "SETUID"),
    (8, "SETPCAP"),
    (10, "NET_BIND_SERVICE"),
    (13, "NET_RAW"),
    (18, "SYS_CHROOT"),
    (27, "MKNOD"),
    (29, "AUDIT_WRITE"),
    (31, "SETFCAP"),
];
const CAP_MKNOD: u32 = 27;

/// A busybox image with chapter 8's attack programs in /bin:
/// dangerous-calls, shocker, and show-ids (set-user-ID root).
fn attack_image(env: &TestEnv) -> String {
    let dir = env.scratch().join("image");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", env.busybox_rootfs().display()))
        .arg(&dir)
        .status()
        .expect("cp");
    assert!(copied.success(), "cannot copy the busybox rootfs");
    for (name, program) in attack_programs() {
        fs::copy(program, dir.join("bin").join(name)).unwrap();
    }
    let show_ids = dir.join("bin/show-ids");
    fs::set_permissions(&show_ids, fs::Permissions::from_mode(0o4755)).unwrap();
    env.init_image(&dir)
}

/// The attack programs, built once per test binary: (name, path).
fn attack_programs() -> &'static [(&'static str, std::path::PathBuf)] {
    static BUILT: std::sync::OnceLock<Vec<(&'static str, std::path::PathBuf)>> =
        std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        [
            ("dangerous_calls.rs", "dangerous-calls"),
            ("shocker.rs", "shocker"),
            ("whoami.rs", "show-ids"),
        ]
        .into_iter()
        .map(|(source, name)| {
            let path = format!("chapters/08-security/attacks/{source}");
            (name, static_program(&path, name))
        })
        .collect()
    })
}

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// The Cap*, NoNewPrivs and Seccomp lines of /proc/self/status, as a
/// process started by `args` (a `run` or `exec` command line that ends
/// with the image or container) sees them.
#[track_caller]
fn status_of(env: &TestEnv, args: &[&str]) -> BTreeMap<String, String> {
    status_in(env, args, "/proc/self/status")
}

/// The same lines of another process's status file, read from inside.
fn status_in(env: &TestEnv, args: &[&str], file: &str) -> BTreeMap<String, String> {
    let mut all = args.to_vec();
    all.extend(["grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", file]);
    text(&env.bocker_ok(&all, HINT).stdout)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.to_string(), value.trim().to_string()))
        .collect()
}

/// The capabilities bocker can hand out: its own permitted set (some
/// machines give root less than all of them).
fn host_permitted() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapPrm:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// Whether the cgroups can limit a container's devices (v1's devices
/// controller, or on v2 a BPF program): if not, bocker also drops
/// CAP_MKNOD.
fn devices_controlled() -> bool {
    Path::new("/sys/fs/cgroup/devices/devices.allow").exists()
        || nix::sys::statfs::statfs("/sys/fs/cgroup")
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The default set as a mask, as /proc/PID/status prints it.
fn default_mask() -> String {
    let mut mask = 0u64;
    for (bit, _) in DEFAULT_CAPABILITIES {
        if bit != CAP_MKNOD || devices_controlled() {
            mask |= 1 << bit;
        }
    }
    format!("{:016x}", mask & host_permitted())
}

#[track_caller]
fn assert_default_profile(status: &BTreeMap<String, String>, who: &str) {
    let expected = default_mask();
    for set in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(
            status.get(set).map(String::as_str),
            Some(expected.as_str()),
            "{who}: {set} should be Docker's default set ({}): did drop_capabilities drop the others from the bounding set and set the permitted and effective sets?",
            DEFAULT_CAPABILITIES.map(|(_, name)| name).join(", ")
        );
    }
    for set in ["CapInh", "CapAmb"] {
        assert_eq!(
            status.get(set).map(String::as_str),
            Some("0000000000000000"),
            "{who}: {set} should be empty (the inheritable and ambient sets pass capabilities through execve)"
        );
    }
    assert_eq!(
        status.get("NoNewPrivs").map(String::as_str),
        Some("1"),
        "{who}: no_new_privs should be set (prctl PR_SET_NO_NEW_PRIVS)"
    );
    assert_eq!(
        status.get("Seccomp").map(String::as_str),
        Some("2"),
        "{who}: a seccomp filter should be installed (Seccomp: 2 means filter mode)"
    );
}

#[test]
fn the_command_has_dockers_default_capabilities_no_new_privs_and_a_seccomp_filter() {
    let _idea = idea("the container's command keeps Docker's default capabilities in its bounding, permitted and effective sets (inheritable and ambient empty, even when bocker started with some), runs with no_new_privs and under a seccomp filter");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let status = status_of(&env, &["run", "--rm", &image]);
    assert_default_profile(&status, "the container's command");
    // bocker started with capabilities in its inheritable set (util-linux's
    // setpriv puts NET_ADMIN there): the container's set is empty all the
    // same. Left there, it would let a program with file capabilities gain
    // them (CVE-2022-24769).
    let out = std::process::Command::new("setpriv")
        .args(["--inh-caps", "+net_admin"])
        .arg(crate::support::bocker_binary())
        .args(["--root"])
        .arg(env.root())
        .args(["run", "--rm", &image, "grep", "CapInh", "/proc/self/status"])
        .env("BOCKER_CGROUP_PARENT", env.cgroup_parent())
        .env("BOCKER_STORAGE", "copy")
        .env("BOCKER_BRIDGE", "none")
        .output()
        .expect("cannot run setpriv (util-linux)");
    assert!(
        text(&out.stdout).contains("CapInh:\t0000000000000000"),
        "started with an inheritable capability, bocker must still give the container an empty inheritable set (drop_capabilities clears it)\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

/// What `dangerous-calls` printed for `name`.
fn answer<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("dangerous-calls printed nothing for {name}:\n{out}"))
}

/// The running kernel's (major, minor).
fn kernel() -> (u32, u32) {
    let release = nix::sys::utsname::uname().unwrap();
    let release = release.release().to_string_lossy().into_owned();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let mut number = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (number(), number())
}

#[test]
fn the_filter_allows_its_list_only_and_answers_newer_calls_with_enosys() {
    let _idea = idea("the seccomp allow-list lets its calls through (clone only without namespace flags, personality under any of its rules), refuses every other call with EPERM, not a kill, kills a call made with another architecture's numbers, and answers calls newer than the profile with ENOSYS");
    let env = TestEnv::new();
    let image = attack_image(&env);
    // The everyday calls go through: a shell forks (clone without
    // namespace flags) for a pipeline.
    assert_eq!(
        run_ok(&env, &["--rm", &image, "echo forked | cat"]),
        "forked\n",
        "a shell's pipeline needs clone (fork): the allow-list lets clone through when its flags have no namespace flag (MaskedEq: flags & mask == value, the profile's value_two)"
    );
    let out = run_ok(&env, &["--rm", &image, "dangerous-calls"]);
    // A user namespace needs no capability: only the filter refuses it,
    // by its rule for clone (allowed when flags & 0x7E020000 == 0).
    assert_eq!(
        answer(&out, "clone(CLONE_NEWUSER)"),
        "EPERM",
        "clone is in the list, with a check: it passes only when argument 0 has none of the namespace flags (MaskedEq: the namespace flags as the mask, 0 as the value). A clone with CLONE_NEWUSER must fail with EPERM\n{out}"
    );
    // A call with several rules passes when any one holds: personality's
    // last rule allows asking for the current persona.
    assert_eq!(
        answer(&out, "personality(query)"),
        "ok",
        "personality has five rules (one per allowed persona); 0xffffffff (a query) matches the last one. A check that fails must go on to the call's next rule, and only after the last give the default\n{out}"
    );
    let allowed = ["cachestat:", "personality(query):", "keyctl(i386 numbers):"];
    for line in out
        .lines()
        .filter(|line| !allowed.iter().any(|name| line.starts_with(name)))
    {
        assert!(
            line.ends_with(": EPERM"),
            "with the default profile, every other call dangerous-calls tries should fail with EPERM: the allow-list does not list them, and a call that matches no rule gets the default, EPERM (not a kill): `{line}`\n{out}"
        );
    }
    for name in ["io_uring_setup", "personality(PER_BSD)", "keyctl"] {
        assert_eq!(answer(&out, name), "EPERM", "{name}:\n{out}");
    }
    assert_eq!(
        answer(&out, "cachestat"),
        "ENOSYS",
        "cachestat (Linux 6.5) is newer than the profile: a call above the highest number it names gets ENOSYS, so that a C library falls back\n{out}"
    );
    // Without the filter, what only the filter refused works.
    let out = run_ok(
        &env,
        &[
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            &image,
            "dangerous-calls",
        ],
    );
    for name in ["keyctl", "clone(CLONE_NEWUSER)", "personality(PER_BSD)"] {
        assert_eq!(
            answer(&out, name),
            "ok",
            "with --security-opt seccomp=unconfined, {name} (which no capability guards) should work: the filter is what refused it\n{out}"
        );
    }
    // i386's numbers, through int 0x80, where this kernel takes them
    // (x86_64 only: dangerous-calls tries it there).
    if out.contains("keyctl(i386 numbers): ok") {
        let confined = run_ok(&env, &["--rm", &image, "dangerous-calls"]);
        assert_eq!(
            answer(&confined, "keyctl(i386 numbers)"),
            "killed by SIGSYS",
            "a call made with another architecture's numbers (int 0x80: i386's keyctl is 288, x86_64's accept4) must be killed: check seccomp_data.arch before the number\n{confined}"
        );
    }
    if kernel() >= (6, 5) {
        assert_eq!(
            answer(&out, "cachestat"),
            "EBADF",
            "this kernel has cachestat: unconfined, it should fail on its descriptor only\n{out}"
        );
    }
    env.assert_no_leaks();
}

#[test]
fn cap_add_sys_admin_brings_back_the_calls_docker_allows_with_it() {
    let _idea = idea("with --cap-add SYS_ADMIN the filter lets through the calls Docker's profile allows with that capability (unshare, mount, setns, clone with namespace flags), and still refuses the others");
    let env = TestEnv::new();
    let image = attack_image(&env);
    let out = run_ok(
        &env,
        &["--rm", "--cap-add", "SYS_ADMIN", &image, "dangerous-calls"],
    );
    // The capability and the filter both let these through now; the
    // kernel answers on their harmless arguments.
    for (name, kernel_says) in [
        ("unshare", "ok"),
        ("clone(CLONE_NEWUTS)", "ok"),
        ("mount", "ENOENT"),
        ("setns", "EBADF"),
    ] {
        assert_eq!(
            answer(&out, name),
            kernel_says,
            "with --cap-add SYS_ADMIN, Docker's profile allows {name}: the frame resolves the profile's `includes: caps` for the container's capabilities\n{out}"
        );
    }
    // No capability brings these back.
    for name in ["pivot_root", "keyctl", "io_uring_setup"] {
        assert_eq!(answer(&out, name), "EPERM", "{name}:\n{out}");
    }
    env.assert_no_leaks();
}

#[test]
fn a_profile_file_replaces_the_default_and_a_bad_one_is_refused() {
    let _idea = idea("a seccomp profile file replaces the default (a deny-list with its own errno works), and a profile bocker cannot honour is a one-line usage error that makes no container");
    let env = TestEnv::new();
    let image = attack_image(&env);
    // A deny-list, in Docker's JSON: everything allowed, but keyctl, which
    // fails with EACCES (13).
    let profile = env.scratch().join("deny-keyctl.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let option = format!("seccomp={}", profile.display());
    let out = run_ok(
        &env,
        &["--rm", "--security-opt", &option, &image, "dangerous-calls"],
    );
    assert_eq!(
        answer(&out, "keyctl"),
        "errno 13",
        "the profile's errnoRet\n{out}"
    );
    assert_eq!(
        answer(&out, "clone(CLONE_NEWUSER)"),
        "ok",
        "a profile whose default is SCMP_ACT_ALLOW lets through what it does not name\n{out}"
    );
    // A profile bocker cannot honour is a usage error, before anything
    // starts; so is a file that is no profile.
    for (name, contents, says) in [
        (
            "notify.json",
            r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#,
            "SCMP_ACT_NOTIFY",
        ),
        ("nonsense.json", "nonsense", "not a seccomp profile"),
    ] {
        let path = env.scratch().join(name);
        fs::write(&path, contents).unwrap();
        let option = format!("seccomp={}", path.display());
        let out = env.run_bocker(&["run", "--rm", "--security-opt", &option, &image, "true"]);
        let stderr = text(&out.stderr);
        assert!(
            out.status.code() == Some(2) && stderr.contains(says) && stderr.lines().count() == 1,
            "{name}: a one-line usage error naming the problem\n{}",
            describe(&out)
        );
    }
    assert!(
        env.container_ids().is_empty(),
        "a refused profile makes no container"
    );
    env.assert_no_leaks();
}

#[test]
fn the_kernels_files_are_hidden_and_proc_sys_is_read_only() {
    let _idea = idea("masked files read as /dev/null, a masked directory is an empty read-only tmpfs, and /proc/sys is a read-only bind that keeps nosuid, nodev and noexec");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let script = "for f in /proc/keys /proc/timer_list; do echo \"$f $(wc -c < $f)\"; done; \
                  echo \"/sys/firmware $(ls /sys/firmware | wc -l)\"; \
                  touch /sys/firmware/x 2>/dev/null && echo tmpfs-writable || echo tmpfs-read-only; \
                  grep ' /proc/sys ' /proc/self/mounts | cut -d' ' -f4; \
                  echo box > /proc/sys/kernel/hostname 2>/dev/null && echo writable || echo refused";
    let out = run_ok(&env, &["--rm", &image, script]);
    let lines: Vec<&str> = out.lines().collect();
    for (i, what) in ["/proc/keys", "/proc/timer_list", "/sys/firmware"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            lines.get(i).copied(),
            Some(format!("{what} 0").as_str()),
            "{what} should be masked (/dev/null bound over a file, an empty read-only tmpfs over a directory): did mask_path run?\n{out}"
        );
    }
    assert_eq!(
        lines.get(3).copied(),
        Some("tmpfs-read-only"),
        "the empty tmpfs over a masked directory should be read-only (MS_RDONLY)\n{out}"
    );
    let options: Vec<&str> = lines.get(4).copied().unwrap_or("").split(',').collect();
    assert_eq!(
        options.first().copied(),
        Some("ro"),
        "/proc/sys should be mounted read-only (bind it onto itself, then remount the bind read-only)\n{out}"
    );
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(
            options.contains(&flag),
            "/proc/sys's remount should keep {flag}: a remount sets the mount's flags to exactly those given, so /proc's nosuid, nodev and noexec must be given again: {options:?}"
        );
    }
    // The hostname is the container's own (UTS namespace): a write that
    // got through would change nothing of the host's.
    assert_eq!(
        lines.get(5).copied(),
        Some("refused"),
        "writing under /proc/sys should fail: core_pattern lives there, and it names a program the kernel runs on the host\n{out}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_device_node_made_inside_cannot_be_opened() {
    let _idea = idea("the devices cgroup stops a container from opening a device node it made for a host device, even with CAP_MKNOD, while /dev/zero still works");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // /dev/kmsg is character device 1:11: the host's kernel log. Made in
    // /dev, a tmpfs that allows device nodes (unlike /tmp, which is nodev:
    // only the devices cgroup can stop this one).
    let out = env.run_bocker(&[
        "run",
        "--rm",
        &image,
        "mknod /dev/kmsg-copy c 1 11 && head -c 1 /dev/kmsg-copy >/dev/null && echo opened",
    ]);
    let said = text(&out.stdout);
    assert!(
        !said.contains("opened"),
        "a node for /dev/kmsg made inside the container should not open: the devices cgroup allows only the devices of a minimal /dev (on cgroup v2, through the BPF program attached to the container's cgroup)\n{}",
        describe(&out)
    );
    // With the capability to make nodes given explicitly, still not.
    let out = env.run_bocker(&[
        "run",
        "--rm",
        "--cap-add",
        "MKNOD",
        &image,
        "mknod /dev/kmsg-copy c 1 11 && head -c 1 /dev/kmsg-copy >/dev/null && echo opened",
    ]);
    assert!(
        !text(&out.stdout).contains("opened"),
        "with --cap-add MKNOD too, the node must not open: a capability does not get past the devices cgroup\n{}",
        describe(&out)
    );
    // The same node opens with --privileged (no devices cgroup): what
    // stopped it above is the cgroup, not the node or its mount.
    let out = env.run_bocker(&[
        "run",
        "--rm",
        "--privileged",
        &image,
        "mknod /dev/kmsg-copy c 1 11 && head -c 1 /dev/kmsg-copy >/dev/null && echo opened",
    ]);
    assert!(
        text(&out.stdout).contains("opened"),
        "with --privileged the /dev/kmsg node should open (if it does not, this test cannot tell the devices cgroup at work)\n{}",
        describe(&out)
    );
    // The devices the container needs still work.
    assert_eq!(
        run_ok(&env, &["--rm", &image, "head -c 3 /dev/zero | wc -c"]),
        "3\n"
    );
    env.assert_no_leaks();
}

#[test]
fn sys_cannot_be_remounted_writable_unless_privileged() {
    let _idea = idea("a container cannot remount /sys read-write (no CAP_SYS_ADMIN, and the filter refuses mount); a --privileged one can");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // In a network namespace of its own, the container's /sys is a sysfs
    // of its own: remounting it changes nothing of the host's.
    let script = "mount -o remount,rw /sys 2>/dev/null && echo remounted || echo refused";
    assert_eq!(
        run_ok(&env, &["--rm", "--net", "none", &image, script]),
        "refused\n",
        "remounting /sys read-write should fail: no CAP_SYS_ADMIN, and the filter refuses mount(2)"
    );
    let out = env.run_bocker(&[
        "run",
        "--rm",
        "--net",
        "none",
        "--privileged",
        &image,
        script,
    ]);
    assert_eq!(
        text(&out.stdout),
        "remounted\n",
        "with --privileged, /sys can be remounted read-write (the attack this chapter stops)\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn cap_add_gives_a_capability_back_and_cap_drop_takes_one_away() {
    let _idea = idea("--cap-add NET_ADMIN gives the container a capability it lacked, and --cap-drop CHOWN takes one of the defaults away");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // Taking lo down needs CAP_NET_ADMIN (in the container's own network
    // namespace: nothing of the host's changes).
    let script = "ip link set lo down && echo done";
    let out = env.run_bocker(&["run", "--rm", "--net", "none", &image, script]);
    assert!(
        !text(&out.stdout).contains("done"),
        "without CAP_NET_ADMIN, `ip link set lo down` should fail\n{}",
        describe(&out)
    );
    assert_eq!(
        run_ok(
            &env,
            &[
                "--rm",
                "--net",
                "none",
                "--cap-add",
                "NET_ADMIN",
                &image,
                script
            ]
        ),
        "done\n",
        "--cap-add NET_ADMIN should give the capability back"
    );
    let out = env.run_bocker(&["run", "--rm", "--cap-drop", "CHOWN", &image, "chown 1 /tmp"]);
    assert!(
        !out.status.success(),
        "--cap-drop CHOWN: chown should fail without CAP_CHOWN\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn exec_and_init_processes_get_the_same_profile() {
    let _idea = idea("a process started by bocker exec, the command under run --init and that init itself get the same capabilities, no_new_privs and filter as a container's command");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_ok(&["-d", &image, "sleep", "60"], HINT);
    let id = text(&out.stdout).trim().to_string();
    let status = status_of(&env, &["exec", &id]);
    env.stop(&id);
    assert_default_profile(&status, "a process started by `bocker exec`");
    let status = status_of(&env, &["run", "--rm", "--init", &image]);
    assert_default_profile(&status, "the command started by `run --init`'s init");
    // The init locks itself in before its command may run: the command
    // must never see (or act on) a pid 1 that still has every capability.
    let status = status_in(&env, &["run", "--rm", "--init", &image], "/proc/1/status");
    assert_default_profile(
        &status,
        "`run --init`'s init itself, pid 1, seen by its command",
    );
    env.assert_no_leaks();
}

#[test]
fn a_setuid_program_gains_nothing_under_no_new_privs() {
    let _idea = idea("under no_new_privs a set-user-ID root program run by user 1000 stays user 1000; with no-new-privileges=false it becomes root");
    let env = TestEnv::new();
    let image = attack_image(&env);
    assert_eq!(
        run_ok(&env, &["--rm", "--user", "1000", &image, "show-ids"]),
        "uid=1000 euid=1000\n",
        "a set-user-ID root program run by user 1000 should not become root: no_new_privs makes execve ignore the set-user-ID bit"
    );
    assert_eq!(
        run_ok(
            &env,
            &[
                "--rm",
                "--user",
                "1000",
                "--security-opt",
                "no-new-privileges=false",
                &image,
                "show-ids"
            ]
        ),
        "uid=1000 euid=0\n",
        "with --security-opt no-new-privileges=false the set-user-ID bit works again (euid=0)"
    );
    env.assert_no_leaks();
}

/// The handle of `path` (name_to_handle_at(2)): (type, hex bytes).
fn file_handle(path: &Path) -> (i32, String) {
    #[repr(C)]
    struct Handle {
        bytes: u32,
        kind: i32,
        data: [u8; 128],
    }
    let mut handle = Handle {
        bytes: 128,
        kind: 0,
        data: [0; 128],
    };
    let mut mount_id: libc::c_int = 0;
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: `handle` is a struct file_handle with room for 128 bytes,
    // `name` a C string, `mount_id` an int: all alive for the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            name.as_ptr(),
            &mut handle as *mut Handle,
            &mut mount_id as *mut libc::c_int,
            0,
        )
    };
    assert_eq!(result, 0, "name_to_handle_at({}) failed", path.display());
    let hex = handle.data[..handle.bytes as usize]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (handle.kind, hex)
}

#[test]
fn shocker_reads_a_host_file_only_with_the_protections_off() {
    let _idea = idea("open_by_handle_at (shocker) cannot reach a file outside the container's root unless both CAP_DAC_READ_SEARCH is given back and the filter is off");
    let env = TestEnv::new();
    let image = attack_image(&env);
    // The "host file": in the test's own directory, outside the container's
    // root but on the same filesystem as it.
    let secret = env.scratch().join("host-secret");
    fs::write(&secret, "the host's secret\n").unwrap();
    let (kind, hex) = file_handle(&secret);
    let kind = kind.to_string();
    let out = env.run_bocker(&["run", "--rm", &image, "shocker", &kind, &hex]);
    assert!(
        !text(&out.stdout).contains("secret"),
        "with the default profile, open_by_handle_at must not reach a file outside the container (no CAP_DAC_READ_SEARCH, and the seccomp filter refuses the call)\n{}",
        describe(&out)
    );
    // Switched off, the 2014 attack works: this is what chapter 8 prevents.
    let out = run_ok(
        &env,
        &[
            "--rm",
            "--cap-add",
            "DAC_READ_SEARCH",
            "--security-opt",
            "seccomp=unconfined",
            &image,
            "shocker",
            &kind,
            &hex,
        ],
    );
    assert_eq!(
        out, "the host's secret\n",
        "with CAP_DAC_READ_SEARCH given back and no filter, shocker should read the file outside the container's root (the attack the chapter's defaults stop)"
    );
    env.assert_no_leaks();
}

#[test]
fn privileged_turns_every_protection_off_and_says_so() {
    let _idea = idea("--privileged gives every capability bocker holds, no no_new_privs and no filter, and says so on stderr");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let mut args = vec!["run", "--rm", "--privileged", &image];
    args.extend([
        "grep",
        "-E",
        "^(CapEff|NoNewPrivs|Seccomp:)",
        "/proc/self/status",
    ]);
    let out = env.bocker_ok(&args, HINT);
    assert!(
        text(&out.stderr).contains("--privileged"),
        "--privileged should be said loudly on stderr\n{}",
        describe(&out)
    );
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("CapEff:\t{:016x}", host_permitted()))
            && said.contains("NoNewPrivs:\t0")
            && said.contains("Seccomp:\t0"),
        "--privileged: every capability bocker has, no no_new_privs, no filter\n{said}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_container_run_as_another_user_dies_with_its_keeper() {
    let _idea = idea("a container run as another user still dies with its keeper: after the user switch the child sets its parent-death signal again");
    // The kernel forgets a process's parent-death signal when its user
    // changes: after switching to --user (in lock_in, between the
    // capabilities and no_new_privs), the child must ask again, or the
    // container outlives the bocker that watches it.
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = run_ok(&env, &["-d", "--user", "1000", &image, "sleep", "1000"])
        .trim()
        .to_string();
    let pid = env.running_pid(&id).expect("the container runs");
    let keeper = env.record(&id).unwrap()["keeper"]["pid"].as_i64().unwrap() as i32;
    // Until the switch has happened: the container's process runs as 1000.
    for _ in 0..100 {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("1000"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(keeper),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        support::wait_until_ended(pid),
        "with its keeper killed, the container's process (run as user 1000) should die too: is PR_SET_PDEATHSIG set again after setuid?"
    );
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Exited (?)")),
        "ps: {ps}"
    );
    env.assert_no_leaks();
}
