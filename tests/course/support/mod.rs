//! Shared helpers for bocker's integration tests.
//!
//! Every test makes a [`TestEnv`]: its own state root in a fresh temporary
//! directory, so tests run in parallel without seeing each other, and a
//! busybox root filesystem to make images from. When the test is over,
//! [`TestEnv::assert_no_leaks`] checks that bocker left nothing behind in
//! the kernel; when it is dropped, even after a failure, it stops what is
//! still running.
//!
//! The module is compiled once for all the tests of a stage. What only
//! some chapters' tests use comes with the first chapter that needs it
//! (`#[cfg(feature = "stageN")]`), so that every stage builds without
//! unused code.

/// Chapter 7: registries on 127.0.0.1 and the OCI images pushed to them.
#[cfg(feature = "stage7")]
pub mod registry;

/// Chapter 9 and the finished runtime's rootless tests: uid 4242, played.
#[cfg(feature = "stage9")]
pub mod played;

use std::fmt;
use std::fs;
// (For chapter 1's inherited descriptor and chapter 5's test host.)
#[cfg(feature = "stage1")]
use std::os::fd::{AsRawFd, OwnedFd};
#[cfg(feature = "stage1")]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

/// The highest stage compiled into this test binary (0 for the frame).
pub fn stage() -> u32 {
    let stages = [
        cfg!(feature = "stage1"),
        cfg!(feature = "stage2"),
        cfg!(feature = "stage3"),
        cfg!(feature = "stage4"),
        cfg!(feature = "stage5"),
        cfg!(feature = "stage6"),
        cfg!(feature = "stage7"),
        cfg!(feature = "stage8"),
    ];
    stages.iter().filter(|on| **on).count() as u32
}

/// The idea a test checks, said when the test fails wherever it fails.
///
/// A test's last `assert!` usually explains what went wrong, but a step
/// before it (a `run_ok`, a helper that panics) can fail first and print
/// only what a command wrote. Every test therefore starts with
/// `let _idea = idea("…");`: when the test panics, the guard's `Drop`
/// runs while the panic unwinds and prints the idea under the panic's
/// own message. (libtest captures what a test prints and shows it for the
/// tests that failed.)
#[must_use = "keep the guard alive for the whole test: `let _idea = idea(\"…\");`"]
pub struct Idea(&'static str);

/// Say the idea a test checks (see [`Idea`]).
pub fn idea(text: &'static str) -> Idea {
    Idea(text)
}

impl Drop for Idea {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("\nThis test checks: {}", self.0);
        }
    }
}

/// What a failing test tells the student to look at, when bocker stopped
/// at an unfinished exercise: the chapter's exercise file. Each chapter's
/// tests have one (`const HINT: Hint = Hint::chapter(N)`), write it into
/// their messages (`{HINT}`), and hand it to the helpers that check a
/// command succeeded.
#[derive(Clone, Copy, Debug)]
pub struct Hint(Option<usize>);

/// The file of each chapter's exercises, chapter 1's first.
const EXERCISES: [&str; 9] = [
    "chapters/01-chroot/chroot.rs",
    "chapters/02-namespaces/namespaces.rs",
    "chapters/03-mounts/mounts.rs",
    "chapters/04-cgroups/files.rs and cgroups.rs",
    "chapters/05-network/network.rs",
    "chapters/06-btrfs/btrfs.rs",
    "chapters/07-registry/registry.rs",
    "chapters/08-security/security.rs",
    "chapters/09-userns/userns.rs",
];

impl Hint {
    /// The frame's tests pass whatever the chapters hold: no exercise to
    /// point at.
    pub const NONE: Hint = Hint(None);

    /// Chapter `n`'s hint.
    #[cfg(feature = "stage1")]
    pub const fn chapter(n: usize) -> Hint {
        assert!(n >= 1 && n <= EXERCISES.len(), "no such chapter");
        Hint(Some(n))
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(
                f,
                "If bocker printed `unfinished exercise`, finish {}.",
                EXERCISES[n - 1]
            ),
            None => Ok(()),
        }
    }
}

/// `out` must be a success; if not, the message shows `hint` and what the
/// command printed.
#[track_caller]
pub fn assert_success(out: &Output, hint: Hint) {
    assert!(out.status.success(), "{}", failure(None, hint, out));
}

/// The message for a command that failed: what it was (if said), the
/// hint (if any), its exit status and output.
fn failure(what: Option<&str>, hint: Hint, out: &Output) -> String {
    let mut message = String::new();
    if let Some(what) = what {
        message.push_str(&format!("`{what}` failed.\n"));
    }
    if hint.0.is_some() {
        message.push_str(&format!("{hint}\n"));
    }
    message + &describe(out)
}

/// Wait (up to 5 s) until process `pid` is gone (no /proc/PID); whether
/// it is.
#[cfg(feature = "stage1")]
pub fn wait_until_gone(pid: i32) -> bool {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..100 {
        if !proc.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Whether process `pid` has ended: no such process, or a zombie that
/// its (new) parent has yet to collect.
#[cfg(feature = "stage1")]
pub fn process_ended(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("X");
    state == "Z" || state == "X"
}

/// Wait (up to 5 s) until process `pid` has ended; whether it did.
#[cfg(feature = "stage1")]
pub fn wait_until_ended(pid: i32) -> bool {
    for _ in 0..100 {
        if process_ended(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A copy of the busybox tree in `home`, owned by `uid` (root's own copy
/// sits under /root, which an ordinary user cannot enter): for a test that
/// plays that user, to `init` an image of theirs.
#[cfg(feature = "stage9")]
pub fn busybox_tree_for(env: &TestEnv, home: &Path, uid: u32) -> PathBuf {
    let tree = home.join("busybox");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(env.busybox_rootfs())
        .arg(&tree)
        .status()
        .unwrap()
        .success()
        && Command::new("chown")
            .args(["-R", &format!("{uid}:{uid}")])
            .arg(&tree)
            .status()
            .unwrap()
            .success();
    assert!(copied, "cannot give the user a busybox tree");
    tree
}

/// Run `command` in a mount namespace of its own, with a tmpfs (mount
/// options `options`, such as `size=24m`) on `dir` and, if `file` is
/// given, an empty file of that name in it. Only the command sees the
/// tmpfs: nothing to unmount afterwards, even if the test fails.
///
/// Without root the command also gets a user namespace of its own, which
/// owns the new mount namespace: there an ordinary user may mount a tmpfs.
/// Its map (`UID UID 1`) keeps the user's own ids: the command (bocker) is
/// still an ordinary user, in rootless mode.
pub fn with_tmpfs_of_its_own(command: &mut Command, dir: &Path, options: &str, file: Option<&str>) {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    fs::create_dir_all(dir).unwrap();
    let c_string = |text: &[u8]| CString::new(text).unwrap();
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let maps = [
        (c"/proc/self/setgroups", c_string(b"deny")),
        (
            c"/proc/self/uid_map",
            c_string(format!("{uid} {uid} 1").as_bytes()),
        ),
        (
            c"/proc/self/gid_map",
            c_string(format!("{gid} {gid} 1").as_bytes()),
        ),
    ];
    let target = c_string(dir.as_os_str().as_bytes());
    let options = c_string(options.as_bytes());
    let file = file.map(|name| c_string(dir.join(name).as_os_str().as_bytes()));
    let rootless = !is_root();
    let spawn_error = || std::io::Error::last_os_error();
    // SAFETY: between fork and execve the closure calls only
    // async-signal-safe functions (unshare, open, write, close, mount) on
    // strings made before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if rootless {
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    return Err(spawn_error());
                }
                for (path, text) in &maps {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        return Err(spawn_error());
                    }
                    let bytes = text.as_bytes();
                    let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
                    libc::close(fd);
                    if written < 0 {
                        return Err(spawn_error());
                    }
                }
            }
            // Made after the user namespace, the mount namespace is
            // owned by it.
            private_mount_namespace()?;
            let tmpfs = c"tmpfs".as_ptr();
            if libc::mount(tmpfs, target.as_ptr(), tmpfs, 0, options.as_ptr().cast()) != 0 {
                return Err(spawn_error());
            }
            if let Some(file) = &file {
                let fd = libc::open(
                    file.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                    0o644,
                );
                if fd < 0 {
                    return Err(spawn_error());
                }
                libc::close(fd);
            }
            Ok(())
        })
    };
}

/// Between fork and exec: a mount namespace of the process's own, private,
/// so that what it mounts never reaches the host's.
///
/// # Safety
/// Only async-signal-safe calls: for a `pre_exec` closure.
pub unsafe fn private_mount_namespace() -> std::io::Result<()> {
    if libc::unshare(libc::CLONE_NEWNS) != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let private = libc::MS_REC | libc::MS_PRIVATE;
    if libc::mount(
        std::ptr::null(),
        c"/".as_ptr(),
        std::ptr::null(),
        private,
        std::ptr::null(),
    ) != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Tests drive the real kernel. Chapters 1 to 3 need no root: bocker then
/// gives each container a user namespace (src/runtime/userns.rs). From
/// chapter 4 on they need it (cgroups v1, bridges and NAT, loop-mounted
/// btrfs): `cargo test` re-runs the test binary with sudo for you, see
/// .cargo/config.toml and scripts/as-root.
fn require_root() {
    say_who_runs_the_tests();
    if !nix::unistd::geteuid().is_root() && NEEDS_ROOT {
        panic!("bocker's tests from chapter 4 on must run as root (cgroups, bridges, btrfs need it): run `sudo -E cargo test …`, or check that .cargo/config.toml's runner is in place");
    }
}

/// Whether this build's tests need root: from chapter 4 on.
pub const NEEDS_ROOT: bool = cfg!(feature = "stage4");

/// What scripts/as-root (the cargo runner) looks for in a test program
/// before it asks sudo: a build whose tests need no root says so in its
/// own bytes, and runs as you. (Two constants, of which a build holds one.)
#[cfg(feature = "stage4")]
const ROOT_MARKER: &str = "bocker-tests:root-needed";
#[cfg(not(feature = "stage4"))]
const ROOT_MARKER: &str = "bocker-tests:no-root-needed";

/// Once per test program, on its stderr (past libtest's capture of
/// eprintln!): who runs the tests. CI checks that a run without sudo
/// really ran as the ordinary user.
fn say_who_runs_the_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let line = format!(
            "{ROOT_MARKER}: the tests run with euid {}\n",
            nix::unistd::geteuid()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
}

/// Is the test program root? Without root (chapters 1 to 3), what a test
/// prepares on the host by hand is what an ordinary user may.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub struct TestEnv {
    dir: TempDir,
    /// With [`TestEnv::with_network`]: the network namespace that plays
    /// the host (chapter 5).
    #[cfg(feature = "stage5")]
    network: Option<TestHost>,
    /// Whether bocker stores images and containers as btrfs subvolumes
    /// (chapter 6), or as copies (BOCKER_STORAGE=copy).
    btrfs: bool,
}

/// The test host's own address, on a link of its own (`host0`).
#[cfg(feature = "stage5")]
pub const TEST_HOST_ADDRESS: &str = "192.0.2.1";

/// A network namespace made by the test: a process (`sleep`) keeps it
/// alive; when the process is killed, the namespace goes, and with it
/// everything bocker made in it (bridge, veths, NAT rules).
#[cfg(feature = "stage5")]
struct TestHost {
    holder: std::process::Child,
    namespace: OwnedFd,
}

impl TestEnv {
    /// A test environment whose bocker uses the host's network namespace
    /// and no bridge (BOCKER_BRIDGE=none): containers get `--net none`
    /// unless a test asks otherwise. The chapters before 5 need no more.
    pub fn new() -> TestEnv {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("bocker-test-")
            .tempdir_in(tests_tmpfs())
            .expect("cannot create a temporary directory for the test");
        TestEnv {
            dir,
            #[cfg(feature = "stage5")]
            network: None,
            btrfs: false,
        }
    }

    /// A test environment whose state root is on btrfs (chapter 6): in a
    /// btrfs filesystem this test binary shares between its tests (one
    /// loop device for all, see [`shared_btrfs`]).
    #[cfg(feature = "stage6")]
    pub fn with_btrfs() -> TestEnv {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("bocker-test-")
            .tempdir_in(shared_btrfs())
            .expect("cannot create a temporary directory in the test's btrfs");
        TestEnv {
            dir,
            network: None,
            btrfs: true,
        }
    }

    /// A test environment whose state root is not on btrfs, where bocker
    /// wants btrfs: it makes a btrfs file and mounts it (chapter 6).
    #[cfg(feature = "stage6")]
    pub fn with_btrfs_file() -> TestEnv {
        let mut env = TestEnv::new();
        env.btrfs = true;
        env
    }

    /// A test environment whose bocker runs in a network namespace the test
    /// made, which plays the host: lo, and a link `host0` with the address
    /// 192.0.2.1/24 (TEST-NET-1, which no real network uses). Bridge
    /// networking is on (chapter 5).
    #[cfg(feature = "stage5")]
    pub fn with_network() -> TestEnv {
        TestEnv::new().plus_network()
    }

    /// Chapters 5 and 6 together: a state root in the test's btrfs, as
    /// [`TestEnv::with_btrfs`], and a network namespace of its own that
    /// plays the host, as [`TestEnv::with_network`].
    #[cfg(feature = "stage6")]
    pub fn with_btrfs_and_network() -> TestEnv {
        TestEnv::with_btrfs().plus_network()
    }

    #[cfg(feature = "stage5")]
    fn plus_network(self) -> TestEnv {
        let mut env = self;
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("cannot start `unshare --net` (util-linux)");
        // Wait until the holder is in its own namespace.
        let own = fs::read_link("/proc/self/ns/net").unwrap();
        let path = format!("/proc/{}/ns/net", holder.id());
        for _ in 0..200 {
            if fs::read_link(&path).is_ok_and(|ns| ns != own)
                && fs::read_to_string(format!("/proc/{}/comm", holder.id()))
                    .is_ok_and(|c| c.trim() == "sleep")
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let namespace: OwnedFd = fs::File::open(&path).unwrap().into();
        env.network = Some(TestHost { holder, namespace });
        for setup in [
            &["ip", "link", "set", "lo", "up"][..],
            &[
                "ip", "link", "add", "host0", "type", "veth", "peer", "name", "host1",
            ],
            &["ip", "addr", "add", "192.0.2.1/24", "dev", "host0"],
            &["ip", "link", "set", "host0", "up"],
            &["ip", "link", "set", "host1", "up"],
        ] {
            env.in_test_host_ok(setup);
        }
        env
    }

    /// Run `argv` in the test host's network namespace; its output.
    #[cfg(feature = "stage5")]
    pub fn in_test_host(&self, argv: &[&str]) -> Output {
        let mut command = Command::new(argv[0]);
        command.args(&argv[1..]);
        self.enter_test_host(&mut command);
        command
            .output()
            .expect("cannot run a command in the test host")
    }

    /// Run `argv` in the test host's network namespace, which must
    /// succeed (the test's own set-up: no chapter's code is involved).
    #[cfg(feature = "stage5")]
    #[track_caller]
    pub fn in_test_host_ok(&self, argv: &[&str]) -> Output {
        let out = self.in_test_host(argv);
        let what = format!("{} (in the test host)", argv.join(" "));
        assert!(
            out.status.success(),
            "{}",
            failure(Some(&what), Hint::NONE, &out)
        );
        out
    }

    /// Run `work` on a thread that has joined the test host's network
    /// namespace (sockets it opens belong to that namespace).
    #[cfg(feature = "stage5")]
    pub fn in_test_host_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let namespace = self
            .network
            .as_ref()
            .expect("this test has no network of its own (TestEnv::with_network)")
            .namespace
            .try_clone()
            .unwrap();
        std::thread::spawn(move || {
            nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("cannot join the test host's network namespace");
            work()
        })
        .join()
        .unwrap()
    }

    /// Make `command` start in the test host's network namespace, if this
    /// test has one.
    #[cfg(feature = "stage5")]
    fn enter_test_host(&self, command: &mut Command) {
        let Some(host) = &self.network else {
            return;
        };
        let raw = host.namespace.as_raw_fd();
        // SAFETY: between fork and exec only setns, an async-signal-safe
        // system call, runs; the descriptor outlives the spawn.
        unsafe {
            command.pre_exec(move || {
                // SAFETY: `raw` is an open namespace descriptor of ours.
                let namespace = std::os::fd::BorrowedFd::borrow_raw(raw);
                nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
            });
        }
    }

    /// The state root this test's bocker uses (`--root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Where `images/` and `containers/` are: the state root, or from
    /// chapter 6 the mount point of its btrfs file, if it has one.
    pub fn data(&self) -> PathBuf {
        let root = self.root();
        if root.join("btrfs.img").exists() {
            root.join("btrfs")
        } else {
            root
        }
    }

    /// The root filesystem of image `id`, as the host sees it.
    #[cfg(feature = "stage6")]
    pub fn image_rootfs(&self, id: &str) -> PathBuf {
        self.data().join("images").join(id).join("rootfs")
    }

    /// The root filesystem of container `id`, as the host sees it.
    #[cfg(feature = "stage6")]
    pub fn container_rootfs(&self, id: &str) -> PathBuf {
        self.data().join("containers").join(id).join("rootfs")
    }

    /// A scratch directory on the host, outside any image.
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("scratch");
        fs::create_dir_all(&path).unwrap();
        path
    }

    /// The test's own temporary directory (holding the state root).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The parent cgroup of this test's containers (BOCKER_CGROUP_PARENT):
    /// named after the test's temporary directory, `bocker-test-…`.
    pub fn cgroup_parent(&self) -> String {
        self.dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// The cgroup directories of this test's containers that exist now, in
    /// every hierarchy (v1 controllers and v2 alike).
    pub fn container_cgroups(&self) -> Vec<PathBuf> {
        cgroup_mounts()
            .into_iter()
            .flat_map(|mount| {
                let parent = mount.join(self.cgroup_parent());
                fs::read_dir(parent)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// `bocker` with this test's state root. (BOCKER_UNDER_TEST=PATH runs
    /// another build instead, to show that a test fails on it.)
    pub fn bocker(&self) -> Command {
        let mut cmd = Command::new(bocker_binary());
        cmd.env("BOCKER_ROOT", self.root());
        // Chapter 4's cgroups go under a parent of this test's own, so that
        // what a test leaves behind is found even without its ids.
        cmd.env("BOCKER_CGROUP_PARENT", self.cgroup_parent());
        // Chapter 6's btrfs only where the test asks for it.
        if self.btrfs {
            cmd.env_remove("BOCKER_STORAGE");
        } else {
            cmd.env("BOCKER_STORAGE", "copy");
        }
        // Chapter 5's bridge only in a network of the test's own (and
        // bocker runs there).
        cmd.env("BOCKER_BRIDGE", "none");
        #[cfg(feature = "stage5")]
        if self.network.is_some() {
            cmd.env_remove("BOCKER_BRIDGE").env_remove("BOCKER_SUBNET");
            self.enter_test_host(&mut cmd);
        }
        // Chapter 7's registry settings only where the test gives them.
        for variable in [
            "BOCKER_REGISTRY_MIRROR",
            "BOCKER_DOCKER_HUB_API",
            "BOCKER_INSECURE_REGISTRIES",
            "DOCKER_CONFIG",
        ] {
            cmd.env_remove(variable);
        }
        cmd.env_remove("RUST_BACKTRACE");
        cmd
    }

    /// Run bocker with `args` and collect what it printed.
    pub fn run_bocker(&self, args: &[&str]) -> Output {
        self.bocker()
            .args(args)
            .output()
            .expect("cannot start bocker")
    }

    /// Start bocker with `args` in the background, its stdout and stderr
    /// captured (for `wait_with_output`).
    pub fn spawn_bocker(&self, args: &[&str]) -> std::process::Child {
        self.bocker()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cannot start bocker")
    }

    /// `bocker ARGS…`, which must succeed; what it printed. If it fails,
    /// the message names the command, shows `hint` and bocker's output.
    #[track_caller] // a failure points at the test's line, not this one
    pub fn bocker_ok(&self, args: &[&str], hint: Hint) -> Output {
        let out = self.run_bocker(args);
        let what = format!("bocker {}", args.join(" "));
        assert!(out.status.success(), "{}", failure(Some(&what), hint, &out));
        out
    }

    /// `bocker run ARGS…`, which must succeed; `hint` tells the student
    /// what to check if it does not.
    #[cfg(feature = "stage1")]
    #[track_caller]
    pub fn run_ok(&self, args: &[&str], hint: Hint) -> Output {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        self.bocker_ok(&all, hint)
    }

    /// `bocker stop -t 0 CONTAINER` (SIGTERM, then SIGKILL at once), which
    /// must succeed.
    #[cfg(feature = "stage2")]
    #[track_caller]
    pub fn stop(&self, container: &str) {
        self.bocker_ok(&["stop", "-t", "0", container], Hint::NONE);
    }

    /// The JSON record of container `id`, if it can be read.
    pub fn record(&self, id: &str) -> Option<serde_json::Value> {
        let path = self
            .data()
            .join("containers")
            .join(id)
            .join("container.json");
        serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
    }

    /// The host pid of container `id` if its record says it is running.
    pub fn running_pid(&self, id: &str) -> Option<i32> {
        let json = self.record(id)?;
        (json["status"] == "running")
            .then(|| json["pid"].as_i64())
            .flatten()
            .map(|pid| pid as i32)
    }

    /// Wait (up to 10 s) until the container `id` (or, with `None`, any
    /// container) is recorded as running, and return its host pid. If
    /// `bocker` ends first, show what it printed.
    #[cfg(feature = "stage1")]
    #[track_caller]
    pub fn wait_for_pid(&self, bocker: &mut std::process::Child, hint: Hint) -> i32 {
        for _ in 0..200 {
            if let Some(pid) = self
                .container_ids()
                .iter()
                .find_map(|id| self.running_pid(id))
            {
                return pid;
            }
            if bocker.try_wait().unwrap().is_some() {
                let mut stderr = String::new();
                if let Some(mut pipe) = bocker.stderr.take() {
                    use std::io::Read;
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("bocker ended before the container ran.\n{hint}\n--- stderr ---\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the container never recorded a pid.\n{hint}");
    }

    /// Wait (up to 10 s) until container `id` is recorded as exited and its
    /// keeper (the bocker that collected it and tore it down) has exited
    /// too, so that a leak check right after sees no bocker on its way out.
    #[cfg(feature = "stage2")]
    #[track_caller]
    pub fn wait_until_exited(&self, id: &str) {
        for _ in 0..200 {
            let ended = self
                .record(id)
                .is_none_or(|r| r["status"] == "exited" && process_gone(&r["keeper"]));
            if ended {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("container {id} was never recorded as exited");
    }

    /// A fresh busybox root filesystem (a directory on the host).
    pub fn busybox_rootfs(&self) -> PathBuf {
        let path = self.dir.path().join("busybox-rootfs");
        if !path.exists() {
            make_busybox_rootfs(&path);
        }
        path
    }

    /// `bocker init` the busybox rootfs; returns the new image id.
    pub fn busybox_image(&self) -> String {
        let rootfs = self.busybox_rootfs();
        self.init_image(&rootfs)
    }

    /// `bocker init DIR`, which must succeed; returns the new image id.
    #[track_caller]
    pub fn init_image(&self, dir: &Path) -> String {
        let out = self.bocker().arg("init").arg(dir).output().unwrap();
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "`bocker init` failed: {}",
            describe(&out)
        );
        stdout
            .trim()
            .strip_prefix("Created: ")
            .unwrap_or_else(|| panic!("`bocker init` printed {stdout:?}, not `Created: img_…`"))
            .to_string()
    }

    /// Container ids that exist in this test's state root.
    pub fn container_ids(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.data().join("containers")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("ps_"))
            .collect()
    }

    /// Nothing this test's bocker made may remain on the host. This looks
    /// for what can be recognised without knowing the containers' ids, so
    /// that containers removed by `--rm`, and starts that failed, count too:
    /// a mount below the test's directory; a loop device backed by a file in
    /// it; a process whose root, working directory or program is in it, or
    /// a bocker of this state root (a container, exec or monitor that
    /// outlived its bocker); a cgroup (v1 or v2) below the test's cgroup
    /// parent; in the test host's network namespace, if it has one, a
    /// container's veth, a NAT rule or an address lease; and, in this
    /// machine's namespace, a link named after a container still there.
    ///
    /// A container's network namespace has no name (bocker makes it with
    /// clone, not `ip netns add`): it lives while a process is in it, or a
    /// descriptor or a mount holds it, which the checks of processes and
    /// mounts find.
    #[cfg(feature = "stage1")]
    #[track_caller]
    pub fn assert_no_leaks(&self) {
        let root = self.dir.path().to_string_lossy().into_owned();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let leaked: Vec<&str> = mounts.lines().filter(|l| l.contains(&root)).collect();
        assert!(
            leaked.is_empty(),
            "mounts were left behind under {root}:\n{}\nDid every mount happen inside the container's own mount namespace?",
            leaked.join("\n")
        );
        for loop_dev in list_dir("/sys/block")
            .into_iter()
            .filter(|n| n.starts_with("loop"))
        {
            let backing = fs::read_to_string(format!("/sys/block/{loop_dev}/loop/backing_file"))
                .unwrap_or_default();
            assert!(
                !backing.contains(&root),
                "loop device /dev/{loop_dev} still backs {}: was it detached?",
                backing.trim()
            );
        }
        let stragglers = processes_inside(self.dir.path());
        assert!(
            stragglers.is_empty(),
            "processes of this test are still running: {stragglers:?}"
        );
        #[cfg(feature = "stage5")]
        if self.network.is_some() {
            self.assert_no_network_leaks();
        }
        let cgroups = self.container_cgroups();
        assert!(
            cgroups.is_empty(),
            "cgroups of this test's containers were left behind: {cgroups:?}\nDoes the teardown remove the container's cgroup (remove_cgroup)?"
        );
        let links = list_dir("/sys/class/net");
        for id in self.container_ids() {
            let short = id.trim_start_matches("ps_");
            for link in &links {
                assert!(
                    !link.contains(short),
                    "network link {link} of {id} was left behind in this machine's network namespace"
                );
            }
        }
    }

    /// In the test host's namespace: no veth of a container, no NAT rule of
    /// bocker's, no address lease left.
    #[cfg(feature = "stage5")]
    #[track_caller]
    fn assert_no_network_leaks(&self) {
        let links = text(&self.in_test_host(&["ip", "-o", "link"]).stdout);
        let veths: Vec<&str> = links
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|name| name.trim().split('@').next().unwrap_or(""))
            .filter(|name| name.starts_with("bk") || name.starts_with("bc"))
            .collect();
        assert!(
            veths.is_empty(),
            "veth pairs of containers were left behind: {veths:?}\nDoes the teardown remove them (remove_veth)?"
        );
        for table in ["nat", "filter"] {
            let rules = text(
                &self
                    .in_test_host(&["iptables", "-w", "-t", table, "-S"])
                    .stdout,
            );
            let ours: Vec<&str> = rules.lines().filter(|l| l.contains("bocker:")).collect();
            assert!(
                ours.is_empty(),
                "bocker's {table} rules were left behind although no container runs:\n{}",
                ours.join("\n")
            );
        }
        // network/bridges/BRIDGE/leases/ADDRESS
        let leases: Vec<String> = list_dir(self.root().join("network/bridges"))
            .into_iter()
            .flat_map(|bridge| {
                list_dir(
                    self.root()
                        .join("network/bridges")
                        .join(&bridge)
                        .join("leases"),
                )
                .into_iter()
                .map(move |address| format!("{bridge}/{address}"))
            })
            .collect();
        assert!(
            leases.is_empty(),
            "address leases were left behind: {leases:?}"
        );
    }

    /// Chapter 6. A btrfs file bocker made: unmount it, which detaches
    /// its loop device (AUTOCLEAR). Subvolumes in the shared btrfs: delete
    /// them, since TempDir cannot empty a read-only one.
    fn remove_btrfs(&self) {
        let mount = self.root().join("btrfs");
        if self.root().join("btrfs.img").exists() {
            let _ = nix::mount::umount2(&mount, nix::mount::MntFlags::MNT_DETACH);
            return;
        }
        if !self.btrfs {
            return;
        }
        for kind in ["containers", "images"] {
            let dir = self.root().join(kind);
            for entry in list_dir(&dir) {
                for name in ["rootfs", "rootfs.draft"] {
                    let subvolume = dir.join(&entry).join(name);
                    if subvolume.is_dir() {
                        let _ = Command::new("btrfs")
                            .args(["subvolume", "delete"])
                            .arg(&subvolume)
                            .output();
                    }
                }
            }
        }
    }

    /// Remove this test's cgroups, and the parent: kill what is inside,
    /// then rmdir, children first.
    fn remove_cgroups(&self) {
        let groups = self.container_cgroups();
        // First thaw every group, in every hierarchy: on v1 a process frozen
        // by the freezer tree cannot die of its SIGKILL, and then the
        // directories of the *other* trees (cpu, memory, …) cannot go either.
        for group in &groups {
            let _ = fs::write(group.join("freezer.state"), "THAWED");
            let _ = fs::write(group.join("cgroup.freeze"), "0");
        }
        for group in &groups {
            for pid in fs::read_to_string(group.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // Then remove them all, retrying until the last process is gone.
        let mut remaining = groups;
        for _ in 0..250 {
            remaining.retain(|group| fs::remove_dir(group).is_err() && group.exists());
            if remaining.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for mount in cgroup_mounts() {
            let _ = fs::remove_dir(mount.join(self.cgroup_parent()));
        }
    }
}

impl Drop for TestEnv {
    /// A failed test may leave a detached container running: kill it, so
    /// that one failure does not leave processes behind. (The temporary
    /// directory is removed after this, by TempDir's own Drop.)
    fn drop(&mut self) {
        for id in self.container_ids() {
            let Some(pid) = self.running_pid(&id) else {
                continue;
            };
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            // Let its monitor record the exit before the directory goes.
            for _ in 0..60 {
                if self.running_pid(&id).is_none() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Anything else of ours still alive (an exec, a monitor): SIGKILL.
        for (pid, _) in processes_inside(self.dir.path()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        self.remove_cgroups();
        self.remove_btrfs();
        // The test host's namespace goes with its last process.
        #[cfg(feature = "stage5")]
        if let Some(host) = &mut self.network {
            let _ = host.holder.kill();
            let _ = host.holder.wait();
        }
    }
}

/// The bocker binary the tests run: the one cargo built, or the one named
/// by BOCKER_UNDER_TEST.
pub fn bocker_binary() -> PathBuf {
    match std::env::var_os("BOCKER_UNDER_TEST") {
        Some(path) => PathBuf::from(path),
        None => assert_cmd::cargo::cargo_bin("bocker"),
    }
}

/// Whether the process a record names as `{"pid": …, "start_time": …}`
/// has exited: no such pid, another process under that pid (another start
/// time, field 22 of /proc/PID/stat), or a zombie.
#[cfg(feature = "stage2")]
fn process_gone(recorded: &serde_json::Value) -> bool {
    let (Some(pid), Some(start_time)) = (recorded["pid"].as_i64(), recorded["start_time"].as_u64())
    else {
        return true;
    };
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // The fields after the command name, which is in parentheses and may
    // contain spaces: state is the first of them, start time the 20th.
    let after_name: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let state = after_name.first().copied().unwrap_or("X");
    let started = after_name
        .get(19)
        .and_then(|field| field.parse::<u64>().ok());
    started != Some(start_time) || state == "Z" || state == "X"
}

/// Processes whose root, working directory or program is below `dir`, or
/// that are a bocker with its state root there (BOCKER_ROOT in their
/// environment), as (pid, what), for instance (4242, "root:
/// /tmp/bocker-test-x/state/…").
pub fn processes_inside(dir: &Path) -> Vec<(i32, String)> {
    let dir = dir.to_string_lossy().into_owned();
    let bocker_root = format!("BOCKER_ROOT={dir}");
    let mut found = Vec::new();
    for entry in list_dir("/proc") {
        let Ok(pid) = entry.parse::<i32>() else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let environment = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environment
            .split(|byte| *byte == 0)
            .any(|variable| variable.starts_with(bocker_root.as_bytes()))
        {
            found.push((pid, "a bocker of this test".to_string()));
            continue;
        }
        for link in ["root", "cwd", "exe"] {
            if let Ok(target) = fs::read_link(format!("/proc/{pid}/{link}")) {
                let target = target.to_string_lossy().into_owned();
                if target.starts_with(&dir) {
                    found.push((pid, format!("{link}: {target}")));
                }
            }
        }
    }
    found
}

/// Where cgroups are mounted: every v1 controller hierarchy, and the v2
/// (unified) hierarchy wherever it is, from /proc/self/mountinfo.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            // "… mount-point … - fstype source options"
            let (before, after) = line.split_once(" - ")?;
            let fstype = after.split_whitespace().next()?;
            let point = before.split_whitespace().nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| PathBuf::from(point))
        })
        .collect()
}

/// Start `command` with one more open descriptor, a directory on the host
/// (as a careless caller might leave open), at number 9. Returns the
/// directory's path, to look for it later.
#[cfg(feature = "stage1")]
pub fn with_inherited_directory(command: &mut Command, dir: &Path) {
    let fd: OwnedFd = fs::File::open(dir).unwrap().into();
    let raw = fd.as_raw_fd();
    // SAFETY: between fork and exec only dup2, an async-signal-safe call,
    // runs; `fd` lives until after spawn (moved into the closure).
    unsafe {
        command.pre_exec(move || {
            let _keep = &fd;
            if libc::dup2(raw, 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The descriptors process `pid` has open, as (number, what it is).
#[cfg(feature = "stage1")]
pub fn open_fds(pid: i32) -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = list_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .filter_map(|n| {
            let target = fs::read_link(format!("/proc/{pid}/fd/{n}")).ok()?;
            Some((n.parse().ok()?, target.to_string_lossy().into_owned()))
        })
        .collect();
    fds.sort();
    fds
}

/// Fields of /proc/PID/stat: (session id, controlling terminal number).
#[cfg(feature = "stage1")]
pub fn session_and_tty(pid: i32) -> (i32, i32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) tty_nr(7).
    (fields[3].parse().unwrap(), fields[4].parse().unwrap())
}

/// Compile a static helper program from `source` (once per test binary)
/// into the test cache, and return its path. Where there is no Rust
/// toolchain (the cgroup v2 guest of scripts/v2-guest.sh), the programs
/// come prebuilt in the directory BOCKER_STATIC_PROGRAMS.
#[cfg(feature = "stage3")]
pub fn static_program(source: &str, name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("BOCKER_STATIC_PROGRAMS") {
        return PathBuf::from(dir).join(name);
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    // Named after its source's contents too: two checkouts of the course
    // on one machine (a student's and a teacher's, or a changed attack
    // program) never take each other's builds.
    let output = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        fs::read(&source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()))
            .hash(&mut hasher);
        cache_dir().join(format!("{name}-{:016x}", hasher.finish()))
    };
    // rustc sits next to cargo (both are rustup's proxies).
    let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
    // In a folder of this process's own: rustc writes its intermediate
    // files (NAME.NAME.HASH-cgu.0.rcgu.o) next to its output, under the
    // same names in every process, and two test programs building the
    // same program at once would write into each other's.
    let staging_dir = tempfile::Builder::new()
        .prefix(&format!("{name}-build-"))
        .tempdir_in(cache_dir())
        .expect("cannot make a folder to build in");
    let staging = staging_dir.path().join(name);
    let out = Command::new(rustc)
        .args(["-O", "-C", "target-feature=+crt-static", "-o"])
        .arg(&staging)
        .arg(&source)
        .output()
        .expect("cannot run rustc");
    let stderr = text(&out.stderr);
    // The linker's "cannot find -lc" means no static C library: Debian's
    // libc6-dev has it. Any other error (a full disk, say) speaks for itself.
    let advice = if stderr.contains("cannot find -lc") {
        " (is libc6-dev installed?)"
    } else {
        ""
    };
    assert!(
        out.status.success(),
        "building the static program {name} failed{advice}:\n{stderr}"
    );
    fs::rename(&staging, &output).unwrap();
    output
}

/// Compile chapters/01-chroot/escape.rs into a static program (once per
/// test binary) and return its path.
#[cfg(feature = "stage3")]
pub fn escape_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| static_program("chapters/01-chroot/escape.rs", "escape"))
        .clone()
}

/// The names in directory `path` (hidden ones too), sorted; none if it
/// does not exist.
pub fn list_dir(path: impl AsRef<Path>) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Where the tests' own directories go (those of [`TestEnv::new`]): a
/// tmpfs that this test program mounts on first use, at
/// `$TMPDIR/bocker-tests-PID`, and unmounts when it exits (atexit, after
/// the tests, failed ones too); one left by a program that was killed is
/// removed by the next.
///
/// Why in memory: a test copies a busybox tree (about 290 entries, most
/// of them symlinks) into its directory, `init` copies it into the image,
/// and until chapter 6 every `run` copies the image again. On a disk's
/// filesystem every new inode is work for the kernel: with ext4 under
/// /tmp, allocating inodes was most of the tests' time (system time, 16
/// tests at once). Nothing the tests check depends on that filesystem:
/// its mounts propagate as /tmp's would, and chapter 6's tests use a
/// btrfs of their own.
fn tests_tmpfs() -> &'static Path {
    TESTS_TMPFS.get_or_init(|| {
        let base = std::env::temp_dir();
        if !is_root() {
            // No mount without root: a plain folder, removed at exit.
            let dir = base.join(format!("bocker-tests-{}", std::process::id()));
            fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            // SAFETY: registering a plain extern "C" function.
            unsafe { libc::atexit(remove_tests_folder_at_exit) };
            return dir;
        }
        remove_stale_tests_tmpfs(&base);
        let dir = tests_tmpfs_path(&base, std::process::id());
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mounted = nix::mount::mount(
            Some("tmpfs"),
            &dir,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            // Others may pass through, not list: a test whose container
            // has a user namespace opens its bundle as an ordinary user
            // (its root is uid 100000 out here); each test's own
            // directory stays 0700 unless the test opens it so.
            Some("mode=0711"),
        );
        if let Err(e) = mounted {
            let _ = fs::remove_dir(&dir);
            panic!(
                "cannot mount a tmpfs on {} for the tests: {e}",
                dir.display()
            );
        }
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(remove_tests_tmpfs_at_exit) };
        dir
    })
}

static TESTS_TMPFS: OnceLock<PathBuf> = OnceLock::new();

fn tests_tmpfs_path(base: &Path, pid: u32) -> PathBuf {
    base.join(format!("bocker-tests-{pid}"))
}

extern "C" fn remove_tests_folder_at_exit() {
    if let Some(dir) = TESTS_TMPFS.get() {
        let _ = fs::remove_dir_all(dir);
    }
}

extern "C" fn remove_tests_tmpfs_at_exit() {
    if let Some(dir) = TESTS_TMPFS.get() {
        remove_tests_tmpfs(dir);
    }
}

/// Unmount lazily (whatever still uses it lets go later; mounts below it
/// are detached with it), then remove the empty mount point. Never a
/// recursive delete: below a mount point that did not go could be
/// anything.
fn remove_tests_tmpfs(dir: &Path) {
    let _ = nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH);
    let _ = fs::remove_dir(dir);
}

/// The tmpfs of test programs that no longer run (killed before their
/// exit).
fn remove_stale_tests_tmpfs(base: &Path) {
    for name in list_dir(base) {
        let Some(pid) = name
            .strip_prefix("bocker-tests-")
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_tests_tmpfs(&tests_tmpfs_path(base, pid));
        }
    }
}

/// Where the tests keep what they build once and reuse (the busybox
/// template, static programs). Outside the student's target/ directory:
/// these files belong to root (the tests run as root), and a root-owned
/// file in target/ would make the student's next `cargo clean` fail.
fn cache_dir() -> PathBuf {
    // Without root (chapters 1 to 3), a cache of the user's own: root's
    // template has a /root only root may read.
    let name = match is_root() {
        true => "bocker-cache".to_string(),
        false => format!("bocker-cache-{}", nix::unistd::geteuid()),
    };
    let dir = std::env::temp_dir().join(name);
    fs::create_dir_all(&dir).expect("cannot create the test cache");
    dir
}

/// A busybox rootfs at `path`: a copy (`cp -a`) of a template that
/// scripts/make-busybox-rootfs.sh builds once, in the test cache.
fn make_busybox_rootfs(path: &Path) {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(busybox_template);
    let out = Command::new("cp")
        .arg("-a")
        .arg(template)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "copying the busybox rootfs failed: {}",
        text(&out.stderr)
    );
}

/// The template rootfs, named after a hash of the script that makes it so
/// that a changed script makes a new one. Built under a temporary name and
/// renamed into place, so concurrent test binaries never see half of it.
fn busybox_template() -> PathBuf {
    use std::hash::{Hash, Hasher};
    let busybox = Command::new("sh")
        .args(["-c", "command -v busybox"])
        .output()
        .unwrap();
    assert!(
        busybox.status.success(),
        "the tests build their images from the host's static busybox, and there is none: install it with `apt-get install busybox-static`"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-busybox-rootfs.sh");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    fs::read(&script).unwrap().hash(&mut hasher);
    fs::read(busybox_path())
        .unwrap_or_default()
        .len()
        .hash(&mut hasher);
    let template = cache_dir().join(format!("busybox-rootfs-{:016x}", hasher.finish()));
    if template.exists() {
        return template;
    }
    let staging = tempfile::Builder::new()
        .prefix("busybox-staging-")
        .tempdir_in(cache_dir())
        .unwrap();
    let out = Command::new(&script)
        .arg(staging.path().join("rootfs"))
        .output()
        .expect("cannot run make-busybox-rootfs.sh");
    assert!(
        out.status.success(),
        "making the busybox rootfs failed: {}",
        text(&out.stderr)
    );
    // If another test binary won the race, keep its template.
    let _ = fs::rename(staging.path().join("rootfs"), &template);
    template
}

fn busybox_path() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v busybox"])
        .output()
        .unwrap();
    PathBuf::from(text(&out.stdout).trim())
}

/// Bytes as text, for messages and comparisons.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Describe an Output for an assertion message.
pub fn describe(out: &Output) -> String {
    format!(
        "exit status: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// insta settings that hide what changes from run to run: ids and paths.
pub fn redacted(env: &TestEnv) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"img_[0-9a-f]{12}", "img_[ID]");
    settings.add_filter(r"ps_[0-9a-f]{12}", "ps_[ID]");
    settings.add_filter(&regex_escape(&env.dir.path().to_string_lossy()), "[TMP]");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// A System V shared-memory segment made on the host, removed when the
/// guard is dropped: also when the test fails before its end. Its key
/// starts with 0x626f ("bo"), which scripts/check-leaks.sh looks for.
#[cfg(feature = "stage2")]
pub struct HostShm {
    pub id: i32,
}

#[cfg(feature = "stage2")]
impl HostShm {
    pub fn new() -> HostShm {
        let key = 0x626f_0000 | (std::process::id() as i32 & 0xffff);
        // SAFETY: shmget takes integers only.
        let id = unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        assert!(
            id >= 0,
            "cannot make a shared-memory segment on the host: {}",
            std::io::Error::last_os_error()
        );
        HostShm { id }
    }
}

#[cfg(feature = "stage2")]
impl Drop for HostShm {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID with a null buffer: the kernel reads nothing.
        unsafe { libc::shmctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

/// Makes a directory a *shared* mount point, as systemd makes `/` on most
/// machines, and undoes it when dropped.
#[cfg(feature = "stage3")]
pub struct SharedMount(PathBuf);

#[cfg(feature = "stage3")]
impl SharedMount {
    pub fn new(dir: &Path) -> SharedMount {
        use nix::mount::{mount, MsFlags};
        mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>).expect("bind mount");
        let guard = SharedMount(dir.to_path_buf());
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .expect("make shared");
        guard
    }
}

#[cfg(feature = "stage3")]
impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The host's mount table, without the lines of other tests (whose
/// directories are `bocker-test-…`, not ours): what a container of this
/// test could have changed.
#[cfg(feature = "stage3")]
pub fn mount_table_of(env: &TestEnv) -> Vec<String> {
    let ours = env.dir().to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        // Other tests' folders (bocker-test-…), and other test programs'
        // tmpfs (bocker-tests-PID) and btrfs (bocker-btrfs-PID), come and
        // go meanwhile.
        .filter(|line| {
            let others = ["bocker-test-", "bocker-tests-", "bocker-btrfs-"]
                .iter()
                .any(|name| line.contains(name));
            !others || line.contains(&ours)
        })
        .map(str::to_string)
        .collect()
}

/// One btrfs filesystem for all the tests of this test binary (chapter 6),
/// mounted under cargo's `target/tmp`.
///
/// A machine may have only eight loop devices: one per test, sixteen tests
/// at a time, would run out. So the tests share one, made on first use.
/// It goes when the test binary exits (atexit: unmount, and the loop
/// device detaches by itself, AUTOCLEAR); one left by a binary that was
/// killed is removed by the next.
#[cfg(feature = "stage6")]
pub fn shared_btrfs() -> &'static Path {
    SHARED_BTRFS.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        fs::create_dir_all(base).unwrap();
        remove_stale_shared_btrfs(base);
        let (file, mount) = shared_btrfs_paths(base, std::process::id());
        let made = fs::File::create(&file).and_then(|f| f.set_len(8 << 30)); // sparse
        made.unwrap_or_else(|e| panic!("cannot create {}: {e}", file.display()));
        let out = Command::new("mkfs.btrfs")
            .arg("-q")
            .arg(&file)
            .output()
            .expect("cannot run mkfs.btrfs (btrfs-progs)");
        assert!(
            out.status.success(),
            "mkfs.btrfs failed: {}",
            describe(&out)
        );
        fs::create_dir_all(&mount).unwrap();
        // mount(8) with -o loop attaches a loop device with AUTOCLEAR.
        let out = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&file)
            .arg(&mount)
            .output()
            .expect("cannot run mount");
        assert!(
            out.status.success(),
            "mounting the test btrfs failed: {}",
            describe(&out)
        );
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(remove_shared_btrfs_at_exit) };
        mount
    })
}

#[cfg(feature = "stage6")]
static SHARED_BTRFS: OnceLock<PathBuf> = OnceLock::new();

#[cfg(feature = "stage6")]
fn shared_btrfs_paths(base: &Path, pid: u32) -> (PathBuf, PathBuf) {
    (
        base.join(format!("bocker-btrfs-{pid}.img")),
        base.join(format!("bocker-btrfs-{pid}")),
    )
}

#[cfg(feature = "stage6")]
extern "C" fn remove_shared_btrfs_at_exit() {
    if let Some(mount) = SHARED_BTRFS.get() {
        let base = mount.parent().unwrap_or(Path::new("/"));
        remove_shared_btrfs(base, std::process::id());
    }
}

/// Unmount (lazily: whatever still uses it lets go later) and delete.
#[cfg(feature = "stage6")]
fn remove_shared_btrfs(base: &Path, pid: u32) {
    let (file, mount) = shared_btrfs_paths(base, pid);
    let _ = nix::mount::umount2(&mount, nix::mount::MntFlags::MNT_DETACH);
    let _ = fs::remove_dir(&mount);
    let _ = fs::remove_file(&file);
}

/// Shared filesystems of test binaries that no longer run.
#[cfg(feature = "stage6")]
fn remove_stale_shared_btrfs(base: &Path) {
    for name in list_dir(base) {
        let Some(pid) = name
            .strip_prefix("bocker-btrfs-")
            .and_then(|rest| rest.trim_end_matches(".img").parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_shared_btrfs(base, pid);
        }
    }
}
