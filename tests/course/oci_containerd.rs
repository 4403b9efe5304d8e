//! containerd drives bocker: `ctr run --runc-binary …/bocker`, through
//! containerd-shim-runc-v2, as it drives runc. The test starts a
//! containerd of its own (its socket, root and state in the test's
//! folder, the CRI plugin off), imports an image made here, and runs
//! containers with the native snapshotter (plain copies, no overlay).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::registry::one_layer_image;
use crate::support::{bocker_binary, describe, idea, text, TestEnv};

/// A containerd of the test's own; stopped when dropped.
struct Containerd<'a> {
    env: &'a TestEnv,
    dir: PathBuf,
    daemon: Child,
}

impl<'a> Containerd<'a> {
    fn start(env: &'a TestEnv) -> Containerd<'a> {
        let dir = env.scratch().join("containerd");
        fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.toml");
        fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{0}/c.sock\"\n[ttrpc]\n  address = \"{0}/t.sock\"\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                dir.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("containerd.log")).unwrap())
            .stderr(fs::File::create(dir.join("containerd.err")).unwrap())
            .spawn()
            .expect("cannot start containerd (apt-get install containerd)");
        let containerd = Containerd { env, dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !containerd.ctr(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "containerd did not answer on its socket"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The image: the layout made here, as an OCI archive, imported.
        let image = one_layer_image();
        let archive = containerd.dir.join("image.tar");
        let copied = Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!("oci:{}:{}", image.layout.display(), image.tag))
            .arg(format!("oci-archive:{}", archive.display()))
            .output()
            .expect("skopeo");
        assert!(
            copied.status.success(),
            "skopeo copy: {}",
            describe(&copied)
        );
        let imported = containerd.ctr(&[
            "images",
            "import",
            "--snapshotter",
            "native",
            "--index-name",
            "bocker-test/one-layer:latest",
            archive.to_str().unwrap(),
        ]);
        assert!(
            imported.status.success(),
            "ctr images import: {}",
            describe(&imported)
        );
        containerd
    }

    /// `ctr --address SOCKET --namespace bocker-test ARGS…`.
    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run ctr")
    }

    /// `ctr` talking to this containerd, in the test's namespace.
    fn ctr_command(&self) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address")
            .arg(self.dir.join("c.sock"))
            .args(["--namespace", "bocker-test"]);
        ctr
    }

    /// `ctr … run -t --rm` with ctr on a terminal of the test's own (ctr
    /// puts its terminal in raw mode and passes the container's through):
    /// ctr's exit code and what appeared on that terminal.
    fn run_on_a_terminal(&self, id: &str, command: &[&str]) -> (Option<i32>, String) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut ctr = self.run_command(&["-t", "--rm"], id, command);
        ctr.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave));
        let mut child = ctr.spawn().expect("cannot run ctr");
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            let mut fds = [PollFd::new(pty.master.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) > 0 {
                let mut buffer = [0u8; 4096];
                if let Ok(n) = nix::unistd::read(&pty.master, &mut buffer) {
                    seen.extend_from_slice(&buffer[..n]);
                    continue;
                }
            }
            // Nothing more to read (or EIO: ctr, the slave's last holder,
            // is gone): done once ctr has ended.
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("ctr run -t never ended: {}", String::from_utf8_lossy(&seen));
            }
        };
        (status.code(), String::from_utf8_lossy(&seen).into_owned())
    }

    /// `ctr run` of the test image as `id`, with bocker as the runtime
    /// (its state in the test's state root) and the container's cgroup
    /// below the test's cgroup parent.
    fn run(&self, flags: &[&str], id: &str, command: &[&str]) -> Output {
        self.run_command(flags, id, command)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run ctr")
    }

    fn run_command(&self, flags: &[&str], id: &str, command: &[&str]) -> Command {
        let binary = bocker_binary();
        let root = self.env.root().join("containerd");
        let cgroup = format!("/{}/{id}", self.env.cgroup_parent());
        let mut args = vec!["run", "--snapshotter", "native"];
        args.extend(["--runc-binary", binary.to_str().unwrap()]);
        args.extend(["--runc-root", root.to_str().unwrap(), "--cgroup", &cgroup]);
        args.extend(flags);
        args.extend(["bocker-test/one-layer:latest", id]);
        args.extend(command);
        let mut ctr = self.ctr_command();
        ctr.args(&args);
        ctr
    }
}

impl Drop for Containerd<'_> {
    fn drop(&mut self) {
        // The one container a failed test may leave running.
        let _ = self.ctr(&["task", "kill", "--signal", "SIGKILL", "c3"]);
        let _ = self.ctr(&["task", "rm", "--force", "c3"]);
        let _ = self.ctr(&["containers", "rm", "c3"]);
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.daemon.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.daemon.wait();
        // The shims' sockets and ctr's FIFOs live in folders of fixed
        // names; left empty, they go (a machine's own containerd keeps
        // them busy, and rmdir leaves a folder that is not empty).
        for dir in [
            "/run/containerd/s",
            "/run/containerd/fifo",
            "/run/containerd",
        ] {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[test]
fn containerd_runs_containers_with_bocker_as_its_runtime() {
    let _idea = idea("containerd, through its runc shim, runs containers with bocker as the runtime (ctr run --runc-binary): run --rm, an exit code passed through, run -t through a terminal, run -d, task exec, task ps, pause, resume, kill and rm");
    let env = TestEnv::new();
    let containerd = Containerd::start(&env);

    let out = containerd.run(&["--rm"], "c1", &["echo", "hello from bocker"]);
    assert!(out.status.success(), "ctr run --rm: {}", describe(&out));
    assert_eq!(text(&out.stdout), "hello from bocker\n");

    let out = containerd.run(&["--rm"], "c2", &["sh", "-c", "exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the command's exit code: {}",
        describe(&out)
    );

    // -t: the shim gets the terminal's master over --console-socket.
    let (code, screen) = containerd.run_on_a_terminal("c4", &["sh", "-c", "tty; exit 6"]);
    // (Each terminal on the way turns \n into \r\n.)
    assert_eq!(
        (code, screen.replace('\r', "").as_str()),
        (Some(6), "/dev/pts/0\n"),
        "ctr run -t: the container's terminal, its exit code"
    );

    let out = containerd.run(&["-d"], "c3", &["sleep", "100"]);
    assert!(out.status.success(), "ctr run -d: {}", describe(&out));
    let out = containerd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "c3",
        "sh",
        "-c",
        "echo from exec > /tmp/exec-was-here; exit 5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "ctr task exec: {}",
        describe(&out)
    );
    // What it wrote, read through the container's root on the host (the
    // native snapshotter's copy): it ran inside the container's mounts.
    // (Not through ctr's output: under load, containerd 1.6's shim lost
    // a quick exec's output once in CI, exit code intact.)
    let written = containerd
        .dir
        .join("state/io.containerd.runtime.v2.task/bocker-test/c3/rootfs/tmp/exec-was-here");
    assert_eq!(
        fs::read_to_string(&written).unwrap_or_default(),
        "from exec\n",
        "ctr task exec's command should have written {}",
        written.display()
    );
    let out = containerd.ctr(&["task", "ps", "c3"]);
    assert!(
        out.status.success() && text(&out.stdout).lines().count() == 2,
        "ctr task ps (one process): {}",
        describe(&out)
    );
    for (verb, status) in [("pause", "PAUSED"), ("resume", "RUNNING")] {
        let out = containerd.ctr(&["task", verb, "c3"]);
        assert!(out.status.success(), "ctr task {verb}: {}", describe(&out));
        let tasks = text(&containerd.ctr(&["task", "ls"]).stdout);
        assert!(
            tasks
                .lines()
                .any(|l| l.starts_with("c3 ") && l.contains(status)),
            "after {verb}: {tasks}"
        );
    }
    let out = containerd.ctr(&["task", "kill", "--signal", "SIGKILL", "c3"]);
    assert!(out.status.success(), "ctr task kill: {}", describe(&out));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text(&containerd.ctr(&["task", "ls"]).stdout).contains("STOPPED") {
        assert!(Instant::now() < deadline, "c3 never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = containerd.ctr(&["task", "rm", "c3"]);
    assert!(out.status.success(), "ctr task rm: {}", describe(&out));
    let out = containerd.ctr(&["containers", "rm", "c3"]);
    assert!(
        out.status.success(),
        "ctr containers rm: {}",
        describe(&out)
    );
    drop(containerd);
    env.assert_no_leaks();
}
