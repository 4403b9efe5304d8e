//! bocker without root (the finished runtime): run as an ordinary user
//! (uid 4242, no name, no sudo), each container gets a user namespace
//! whose root is that user (runtime/userns.rs). The test plays the user:
//! bocker starts with that uid and gid, its state in a folder of theirs.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::played::{become_user, PlayedUser, PLAYED_ID};
use crate::support::registry::{
    busybox_layer, one_layer_image, Layer, Layout, Platform, TarLayer, TestRegistry,
};
use crate::support::{describe, idea, text, TestEnv};

/// The ordinary user the tests play.
const USER: u32 = PLAYED_ID;

#[test]
fn an_ordinary_user_runs_execs_stops_and_removes_containers() {
    let _idea = idea("as uid 4242 with no sudo: run (root inside, mapped `0 4242 1`, Docker's capabilities, /dev/null the host's), run -d, logs, exec, ps, stop, rm; a file the container writes belongs to uid 4242 outside; limits and a bridge are refused in one line, not skipped");
    let env = TestEnv::new();
    let user = PlayedUser::new(&env);
    let image = user.image();

    let out = user.run_ok(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; echo x > /dev/null && echo null works; grep CapEff /proc/self/status",
    ]);
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        [
            "0",
            "0",
            "4242",
            "1",
            "null",
            "works",
            "CapEff:",
            "00000000a80425fb"
        ],
        "root inside, mapped to uid 4242, with Docker's 14 capabilities"
    );

    let out = user.run_ok(&[
        "run",
        "-d",
        "--name",
        "w",
        &image,
        "sh",
        "-c",
        "echo hello; echo data > /data; exec sleep 100",
    ]);
    let id = text(&out.stdout).trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while text(&user.run(&["logs", "w"]).stdout) != "hello\n" {
        assert!(
            Instant::now() < deadline,
            "the container's log never said hello"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = user.run_ok(&["exec", "w", "sh", "-c", "id -u; cat /data"]);
    assert_eq!(
        text(&out.stdout),
        "0\ndata\n",
        "exec: in its namespaces, as its root"
    );
    assert!(
        text(&user.run_ok(&["ps"]).stdout).contains(&id),
        "ps lists it"
    );
    let written = user
        .state()
        .join("containers")
        .join(&id)
        .join("rootfs/data");
    assert_eq!(
        fs::metadata(&written).map(|m| (m.uid(), m.gid())).ok(),
        Some((USER, USER)),
        "{} belongs to the user outside",
        written.display()
    );
    user.run_ok(&["stop", "--time", "0", "w"]);
    user.run_ok(&["rm", "w"]);
    assert!(
        !user.state().join("containers").join(&id).exists(),
        "rm removed it"
    );

    for (flags, said) in [
        (&["--memory", "64m"][..], "need root"),
        (&["--net", "bridge"][..], "--net none, host or pasta only"),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend([image.as_str(), "true"]);
        let out = user.run(&args);
        assert!(
            !out.status.success() && text(&out.stderr).contains(said),
            "without root, {flags:?} must be refused ({said}): {}",
            describe(&out)
        );
    }
    env.assert_no_leaks();
}

#[test]
fn an_ordinary_user_pulls_from_the_local_registry_and_runs_the_image() {
    let _idea = idea("as uid 4242: pull from a registry on 127.0.0.1 (layers unpacked with the user as every file's owner: the one id the user namespace maps), then run the image's own command");
    let env = TestEnv::new();
    let user = PlayedUser::new(&env);
    let registry = TestRegistry::open();
    registry.push_image(one_layer_image(), "rootless/busybox:1");
    let reference = registry.reference("rootless/busybox:1");
    let out = user.run_ok(&["pull", &reference]);
    let image = text(&out.stdout)
        .trim()
        .trim_start_matches("Created: ")
        .to_string();
    let busybox = user
        .state()
        .join("images")
        .join(&image)
        .join("rootfs/bin/busybox");
    assert_eq!(
        fs::metadata(&busybox).map(|m| m.uid()).ok(),
        Some(USER),
        "{} belongs to the user",
        busybox.display()
    );
    let out = user.run_ok(&["run", "--rm", &reference, "sh", "-c", "pwd; id -u"]);
    assert_eq!(
        text(&out.stdout),
        "/tmp\n0\n",
        "the image's WorkingDir, root inside"
    );
    env.assert_no_leaks();
}

/// /etc/subuid and /etc/subgid for the user with ranges: 65536 ids from
/// 300000 (uid 1 inside is 300000 outside, uid 33 is 300032).
const RANGES: &str = "bocker-nine:300000:65536\n";
const SUBORDINATE_START: u32 = 300000;

#[test]
fn with_subordinate_ids_pull_run_diff_and_commit_keep_the_images_owners() {
    let _idea = idea("as bocker-nine (uid 4242, subordinate ids from 300000): pull unpacks the layers as root of a user namespace with those ids, so a 0600 file of uid 33 is 300032 outside and 33:33 in the container (a device node is left out, with one warning); run's copy, diff and commit read such files and keep their owners; rm deletes them");
    let env = TestEnv::new();
    let user = PlayedUser::with_subordinate_ids(&env, RANGES);
    // An image: busybox, then /srv/www (0700) and its 0600 secret, both
    // www-data's (33), and a device node.
    let layout = Layout::create(&env.dir().join("layout"));
    let mut layer = TarLayer::new();
    layer
        .dir("srv/", 0o755)
        .owned_by(33, 33)
        .dir("srv/www/", 0o700)
        .file("srv/www/secret", b"for www-data\n", 0o600)
        .owned_by(0, 0)
        .char_device("srv/null", 1, 3);
    let manifest = layout.write_image(
        &Platform::host(),
        serde_json::json!({"Cmd": ["sh"]}),
        &[busybox_layer(), &Layer::gzip(layer.into_tar())],
    );
    layout.tag("latest", &manifest);
    let registry = TestRegistry::open();
    registry.push(&env.dir().join("layout"), "latest", "rootless/owners:1");
    let reference = registry.reference("rootless/owners:1");

    let out = user.run_ok(&["pull", &reference]);
    let warnings = text(&out.stderr)
        .matches("device nodes of the image are left out (null")
        .count();
    assert_eq!(
        warnings,
        1,
        "one warning for the device node: {}",
        describe(&out)
    );
    let image = text(&out.stdout)
        .trim()
        .trim_start_matches("Created: ")
        .to_string();
    let image_root = user.state().join("images").join(&image).join("rootfs");
    let owner_outside = |path: PathBuf| {
        fs::symlink_metadata(&path)
            .map(|m| (m.uid(), m.gid(), m.mode() & 0o7777))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let www = SUBORDINATE_START + 32;
    assert_eq!(
        owner_outside(image_root.join("srv/www/secret")),
        (www, www, 0o600),
        "uid 33 of the layer is the subordinate id 300032 outside"
    );
    assert!(
        fs::symlink_metadata(image_root.join("srv/null")).is_err(),
        "the device node is left out"
    );

    let out = user.run_ok(&[
        "run",
        "--rm",
        &reference,
        "sh",
        "-c",
        "stat -c '%u:%g %a' /srv/www /srv/www/secret; cat /srv/www/secret",
    ]);
    assert_eq!(
        text(&out.stdout),
        "33:33 700\n33:33 600\nfor www-data\n",
        "in the container, www-data's files as the image has them"
    );

    let id = text(
        &user
            .run_ok(&[
                "run",
                "-d",
                &reference,
                "sh",
                "-c",
                "touch /srv/www/new && chown 33:33 /srv/www/new && echo made > /made && exec sleep 1000",
            ])
            .stdout,
    )
    .trim()
    .to_string();
    let container_root = user.state().join("containers").join(&id).join("rootfs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !container_root.join("made").exists() {
        assert!(Instant::now() < deadline, "the container never wrote /made");
        std::thread::sleep(Duration::from_millis(20));
    }
    let diff = text(&user.run_ok(&["diff", &id]).stdout);
    assert!(
        diff.lines().any(|line| line == "A /srv/www/new"),
        "diff looks into www-data's 0700 folder: {diff}"
    );
    let committed = text(&user.run_ok(&["commit", &id]).stdout)
        .trim()
        .trim_start_matches("Created: ")
        .to_string();
    let committed_root = user.state().join("images").join(&committed).join("rootfs");
    assert_eq!(
        owner_outside(committed_root.join("srv/www/new")),
        (www, www, 0o644),
        "commit keeps the owner of a file made in the container"
    );
    assert_eq!(
        owner_outside(committed_root.join("srv/www/secret")),
        (www, www, 0o600),
        "commit keeps the image's owners"
    );
    user.run_ok(&["stop", "--time", "0", &id]);
    user.run_ok(&["rm", &id, &image, &committed]);
    for gone in [&container_root, &image_root, &committed_root] {
        assert!(!gone.exists(), "rm deleted {}", gone.display());
    }
    env.assert_no_leaks();
}

#[test]
fn a_published_port_reaches_the_container_through_pasta() {
    let _idea = idea("as uid 4242, -p 18080:80 (no --net) goes through pasta: a client on the host's 127.0.0.1:18080 gets the container's answer on port 80, and pasta (its port) leaves with the container");
    let env = TestEnv::new();
    let user = PlayedUser::new(&env);
    let image = user.image();
    // The whole scene in namespaces of its own, made here as root: a
    // network namespace that plays the host (lo, a link with an address
    // and a default route: pasta copies the host's into the container), and
    // a mount namespace where /dev/net/tun is open to all, as Debian's udev
    // makes it (this machine's may be root's alone). Then, as the user,
    // bocker runs the server and a client on 127.0.0.1 asks it. No packet
    // leaves the namespace.
    let script = r#"
        set -e
        ip link set lo up
        ip link add host0 type veth peer name host1
        ip addr add 192.0.2.1/24 dev host0
        ip link set host0 up
        ip link set host1 up
        ip route add default via 192.0.2.254
        mount -t tmpfs -o mode=755 tmpfs /dev/net
        mknod -m 666 /dev/net/tun c 10 200
        as_user() { setpriv --reuid 4242 --regid 4242 --clear-groups "$@"; }
        id=$(as_user "$1" run -d -p 18080:80 "$2" nc -ll -p 80 -e echo hello-from-inside)
        answer=""
        for _ in $(seq 100); do
            answer=$(as_user timeout 2 busybox nc 127.0.0.1 18080 </dev/null 2>/dev/null || true)
            [ -n "$answer" ] && break
            sleep 0.1
        done
        echo "answer: $answer"
        listening() { [ -n "$(ss -Hltn 'sport = :18080')" ]; }
        listening && echo "pasta listens"
        as_user "$1" stop -t 1 "$id" >/dev/null
        as_user "$1" rm "$id" >/dev/null
        for _ in $(seq 50); do
            listening || { echo "pasta gone"; break; }
            sleep 0.1
        done
    "#;
    let out = user
        .command_with_the_users_environment("unshare")
        .args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(user.bocker().get_program())
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        ["answer: hello-from-inside", "pasta listens", "pasta gone"],
        "{}",
        describe(&out)
    );
}

/// A cgroup v2 subtree delegated to uid 4242, as systemd's user@.service
/// is to each user (`Delegate=yes`): a directory of the user's, with its
/// `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads`, and a
/// leaf below it, `session`, where the user's processes start. Removed
/// when dropped, with whatever bocker left in it.
struct Delegation {
    dir: PathBuf,
}

impl Delegation {
    fn new(env: &TestEnv) -> Delegation {
        let dir = PathBuf::from("/sys/fs/cgroup").join(env.cgroup_parent());
        let session = dir.join("session");
        fs::create_dir_all(&session).unwrap();
        let delegation = Delegation { dir };
        for path in [&delegation.dir, &session] {
            for file in [
                "",
                "cgroup.procs",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                std::os::unix::fs::chown(path.join(file), Some(USER), Some(USER)).unwrap();
            }
        }
        delegation
    }

    /// `bocker` as the user, started in the `session` leaf (moved there
    /// while still root: moving a process needs write access to the
    /// cgroup.procs of a cgroup above both its old and its new cgroup).
    fn bocker(&self, user: &PlayedUser) -> Command {
        let mut command = user.command_with_the_users_environment(user.bocker().get_program());
        let procs = std::ffi::CString::new(
            self.dir
                .join("session/cgroup.procs")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        // SAFETY: between fork and execve only open, write, close,
        // setgroups, setresgid and setresuid run (async-signal-safe), on
        // data made before the fork.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                // "0": the writing process itself.
                if fd < 0 || libc::write(fd, c"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
                become_user(USER)
            })
        };
        command
    }
}

impl Drop for Delegation {
    fn drop(&mut self) {
        // Deepest first: rmdir(2) takes only empty cgroups.
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(dir) = stack.pop() {
            if let Ok(entries) = fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(entry.path());
                    }
                }
            }
            dirs.push(dir);
        }
        for dir in dirs.iter().rev() {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
            let _ = fs::remove_dir(dir);
        }
    }
}

#[test]
fn limits_without_root_need_a_delegated_cgroup_v2_subtree() {
    let _idea = idea("as uid 4242, --memory is refused in one line where no cgroup v2 subtree is delegated to the user (cgroup v1), and honoured in one that is (cgroup v2: a subtree the test delegates as systemd does): the container's cgroup is made there, with its limit, and goes with it");
    let env = TestEnv::new();
    let user = PlayedUser::new(&env);
    let image = user.image();
    if !fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|line| {
            line.split_whitespace().nth(1) == Some("/sys/fs/cgroup") && line.contains(" cgroup2 ")
        })
    {
        let out = user.run(&["run", "--rm", "--memory", "32m", &image, "true"]);
        assert!(
            out.status.code() == Some(2)
                && text(&out.stderr).contains("a cgroup v2 subtree delegated to you"),
            "without root on cgroup v1, --memory is refused in one line\n{}",
            describe(&out)
        );
        return;
    }
    let delegation = Delegation::new(&env);
    let run = |args: &[&str]| {
        let out = delegation.bocker(&user).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "bocker {}: {}",
            args.join(" "),
            describe(&out)
        );
        text(&out.stdout).trim().to_string()
    };
    let id = run(&["run", "-d", "--memory", "32m", &image, "sleep", "1000"]);
    let cgroup = delegation.dir.join(env.cgroup_parent()).join(&id);
    let limit = fs::read_to_string(cgroup.join("memory.max")).unwrap_or_default();
    let record = user
        .state()
        .join("containers")
        .join(&id)
        .join("container.json");
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(record).unwrap()).unwrap();
    let pid = record["pid"].as_i64().unwrap_or(0);
    let inside = fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    run(&["stop", &id]);
    run(&["rm", &id]);
    assert_eq!(
        limit.trim(),
        "33554432",
        "the container's cgroup, in the delegated subtree ({}), has its memory limit",
        cgroup.display()
    );
    assert!(
        inside.lines().any(|line| line == pid.to_string()),
        "the container's process {pid} is in its cgroup: {inside:?}"
    );
    assert!(!cgroup.exists(), "rm removes the container's cgroup");
}
