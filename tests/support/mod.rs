//! Shared helpers for bocker's integration tests.
//!
//! Every test makes a [`TestEnv`]: its own state root in a fresh temporary
//! directory, so tests run in parallel without seeing each other, and a
//! busybox root filesystem to make images from. When the test is over,
//! [`TestEnv::assert_no_leaks`] checks that bocker left nothing behind in
//! the kernel.

#![allow(dead_code)] // each test file uses a different part of this module

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
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
    ];
    stages.iter().filter(|on| **on).count() as u32
}

/// Tests drive the real kernel: they need root. (`cargo test` re-runs the
/// test binary with sudo for you, see .cargo/config.toml.)
fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        panic!("bocker's tests must run as root (namespaces, mounts and cgroups need it): run `sudo -E cargo test …`, or check that .cargo/config.toml's runner is in place");
    }
}

pub struct TestEnv {
    dir: TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("bocker-test-")
            .tempdir()
            .expect("cannot create a temporary directory for the test");
        TestEnv { dir }
    }

    /// The state root this test's bocker uses (`--root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
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

    /// `bocker` with this test's state root.
    pub fn bocker(&self) -> Command {
        let mut cmd = Command::cargo_bin("bocker").expect("the bocker binary is not built");
        cmd.env("BOCKER_ROOT", self.root());
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

    /// `bocker run ARGS…`, which must succeed; `hint` tells the student
    /// what to check if it does not.
    #[track_caller] // a failure points at the test's line, not this one
    pub fn run_ok(&self, args: &[&str], hint: &str) -> Output {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let out = self.run_bocker(&all);
        assert!(
            out.status.success(),
            "`bocker run {}` failed.\n{hint}\n{}",
            args.join(" "),
            describe(&out)
        );
        out
    }

    /// `bocker stop -t 0 CONTAINER` (SIGTERM, then SIGKILL at once), which
    /// must succeed.
    #[track_caller]
    pub fn stop(&self, container: &str) {
        let out = self.run_bocker(&["stop", "-t", "0", container]);
        assert!(
            out.status.success(),
            "`bocker stop` failed\n{}",
            describe(&out)
        );
    }

    /// The JSON record of container `id`, if it can be read.
    pub fn record(&self, id: &str) -> Option<serde_json::Value> {
        let path = self
            .root()
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
        let out = self.run_bocker(&["init", rootfs.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "`bocker init` failed: {}",
            text(&out.stderr)
        );
        stdout
            .trim()
            .strip_prefix("Created: ")
            .unwrap_or_else(|| panic!("`bocker init` printed {stdout:?}, not `Created: img_…`"))
            .to_string()
    }

    /// Container ids that exist in this test's state root.
    pub fn container_ids(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root().join("containers")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("ps_"))
            .collect()
    }

    /// Nothing this test's bocker made may remain in the kernel: no mount
    /// below its state root, no loop device backed by a file in it, and no
    /// cgroup, network namespace or network link named after its containers.
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
        for id in self.container_ids() {
            let short = id.trim_start_matches("ps_");
            for link in list_dir("/sys/class/net") {
                assert!(
                    !link.contains(short),
                    "network link {link} of {id} was left behind"
                );
            }
            assert!(
                !Path::new("/run/netns").join(&id).exists(),
                "network namespace /run/netns/{id} was left behind"
            );
            for controller in list_dir("/sys/fs/cgroup") {
                let cgroup = Path::new("/sys/fs/cgroup")
                    .join(controller)
                    .join("bocker")
                    .join(&id);
                assert!(
                    !cgroup.exists(),
                    "cgroup {} was left behind",
                    cgroup.display()
                );
            }
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
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

/// Compile chapters/01-chroot/escape.rs into a static program (once per
/// test binary) and return its path.
pub fn escape_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("chapters/01-chroot/escape.rs");
            let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join("escape");
            // rustc sits next to cargo (both are rustup's proxies).
            let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
            let out = Command::new(rustc)
                .args(["-O", "-C", "target-feature=+crt-static", "-o"])
                .arg(&output)
                .arg(&source)
                .output()
                .expect("cannot run rustc");
            assert!(
                out.status.success(),
                "building the static escape program failed (is libc6-dev installed?):\n{}",
                text(&out.stderr)
            );
            output
        })
        .clone()
}

fn list_dir(path: &str) -> Vec<String> {
    fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A busybox rootfs at `path`: a copy (`cp -a`) of a template that
/// scripts/make-busybox-rootfs.sh builds once, in cargo's target/tmp.
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
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let template = target_tmp.join(format!("busybox-rootfs-{:016x}", hasher.finish()));
    if template.exists() {
        return template;
    }
    let staging = tempfile::Builder::new()
        .prefix("busybox-staging-")
        .tempdir_in(target_tmp)
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
