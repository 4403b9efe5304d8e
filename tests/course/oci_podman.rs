//! podman drives bocker: `podman --runtime …/bocker`, through conmon, as
//! it drives runc. Everything in the test's own folder (podman's storage,
//! its run root, its configuration, bocker's state), offline: the image
//! comes from an OCI layout made here, with `--network none`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;

use crate::support::registry::one_layer_image;
use crate::support::{bocker_binary, cgroup_mounts, describe, idea, text, TestEnv};

/// podman with its storage, run root, configuration and runtime in
/// `env`'s folder; removed (containers, conmon's cgroup) when dropped.
struct Podman<'a> {
    env: &'a TestEnv,
    dir: PathBuf,
    /// podman wants its run root's path under 50 characters (the sockets
    /// it makes there): a short folder of its own, in /tmp.
    runroot: tempfile::TempDir,
    /// The test image's id in podman's storage.
    image: String,
}

impl<'a> Podman<'a> {
    fn new(env: &'a TestEnv) -> Podman<'a> {
        let dir = env.scratch().join("podman");
        fs::create_dir_all(dir.join("bin")).unwrap();
        let runroot = tempfile::Builder::new()
            .prefix("bocker-podman-")
            .tempdir_in("/tmp")
            .unwrap();
        // This machine's root cannot raise RLIMIT_NOFILE beyond its own
        // (no CAP_SYS_RESOURCE in a VM's container): no default ulimits.
        // runtime_supports_json: podman passes --log and --log-format
        // json to a runtime of these names.
        fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = []\nnetns = \"none\"\nlog_driver = \"k8s-file\"\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{0}/events.log\"\nruntime_supports_json = [\"bocker\"]\n",
                dir.display()
            ),
        )
        .unwrap();
        fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}/root\"\n",
                runroot.path().display(),
                dir.display()
            ),
        )
        .unwrap();
        // The runtime podman calls: bocker with this test's state root.
        // (podman passes --runtime-flag to some calls and not to others,
        // such as the clean-up's delete: a wrapper gives it to all.)
        let wrapper = dir.join("bin/bocker");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec {} --root {} \"$@\"\n",
                bocker_binary().display(),
                env.root().display()
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        let mut podman = Podman {
            env,
            dir,
            runroot,
            image: String::new(),
        };
        let image = one_layer_image();
        let pulled = podman.run(&[
            "pull",
            "-q",
            &format!("oci:{}:{}", image.layout.display(), image.tag),
        ]);
        assert!(
            pulled.status.success(),
            "podman pull of the test image: {}\n{:?}",
            describe(&pulled),
            podman.command()
        );
        podman.image = text(&pulled.stdout).trim().to_string();
        podman
    }

    fn command(&self) -> Command {
        let dir = self.dir.display();
        let mut command = Command::new("podman");
        command
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .args(["--root", &format!("{dir}/root")])
            .arg("--runroot")
            .arg(self.runroot.path())
            .args(["--tmpdir", &format!("{dir}/tmp"), "--storage-driver", "vfs"])
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(self.dir.join("bin/bocker"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("cannot run podman (apt-get install podman)")
    }

    /// `podman run --rm --network none` of the test image in this test's
    /// cgroup parent, with `flags` before the image and `command` after.
    fn run_container(&self, flags: &[&str], command: &[&str]) -> Output {
        let parent = format!("/{}", self.env.cgroup_parent());
        // --pull never: the image is here; podman must not look for it
        // anywhere else.
        let mut args = vec!["run", "--pull", "never", "--network", "none"];
        args.extend(["--cgroup-parent", &parent]);
        args.extend(flags);
        args.push(&self.image);
        args.extend(command);
        self.run(&args)
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "--all", "--force", "--time", "0"]);
        // podman puts conmon in a cgroup of its own below the parent.
        for mount in cgroup_mounts() {
            let _ = fs::remove_dir(mount.join(self.env.cgroup_parent()).join("conmon"));
        }
    }
}

#[test]
fn podman_runs_containers_with_bocker_as_its_runtime() {
    let _idea = idea("podman, through conmon, runs containers with bocker as its OCI runtime: run --rm, run -t (a terminal through --console-socket), a non-zero exit code passed through, --memory and --pids-limit seen inside, a hook from --hooks-dir, run --uidmap (a user namespace), run -d then exec (and exec -t), update, pause, unpause, stop and rm");
    let env = TestEnv::new();
    let podman = Podman::new(&env);

    let out = podman.run_container(&["--rm"], &["echo", "hello from bocker"]);
    assert!(out.status.success(), "podman run --rm: {}", describe(&out));
    assert_eq!(text(&out.stdout), "hello from bocker\n");

    // -t: a terminal made in the container, its master sent to conmon
    // over --console-socket (a terminal writes \r\n).
    let out = podman.run_container(&["--rm", "-t"], &["sh", "-c", "tty; echo ok"]);
    assert_eq!(
        text(&out.stdout),
        "/dev/pts/0\r\nok\r\n",
        "podman run -t: {}",
        describe(&out)
    );

    let out = podman.run_container(&["--rm"], &["sh", "-c", "exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the command's exit code: {}",
        describe(&out)
    );

    let limits = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
                  /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; true";
    let out = podman.run_container(
        &["--rm", "--memory", "64m", "--pids-limit", "50"],
        &["sh", "-c", limits],
    );
    assert_eq!(
        text(&out.stdout),
        "67108864\n50\n",
        "the limits inside: {}",
        describe(&out)
    );

    // OCI hooks of podman's own (a hooks directory, as the NVIDIA toolkit
    // installs one): podman writes them into config.json, bocker runs them.
    let hooks = podman.dir.join("hooks.d");
    fs::create_dir_all(&hooks).unwrap();
    let seen = podman.dir.join("hook-saw");
    fs::write(
        hooks.join("record.json"),
        json!({
            "version": "1.0.0",
            "hook": {"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", seen.display())]},
            "when": {"always": true},
            "stages": ["createRuntime"]
        })
        .to_string(),
    )
    .unwrap();
    let out = podman.run_container(
        &[
            "--rm",
            "--hooks-dir",
            hooks.to_str().unwrap(),
            "--name",
            "hooked",
        ],
        &["true"],
    );
    assert!(
        out.status.success(),
        "podman run --hooks-dir: {}",
        describe(&out)
    );
    let state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&seen).unwrap_or_default()).unwrap_or_default();
    assert_eq!(
        (
            state["status"].as_str(),
            state["pid"].as_i64().is_some_and(|pid| pid > 0)
        ),
        (Some("creating"), true),
        "podman's createRuntime hook read the state of a container being created: {state}"
    );

    // --uidmap: podman copies the image owned by the mapped ids and asks
    // for a user namespace; the container's root is uid 100000 out here.
    let out = podman.run_container(
        &[
            "--rm",
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
        ],
        &[
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; touch /made-here; stat -c %u /made-here",
        ],
    );
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "100000", "65536", "0"],
        "podman run --uidmap: root inside, mapped to 100000: {}",
        describe(&out)
    );

    let out = podman.run_container(&["-d", "--name", "web"], &["sleep", "100"]);
    assert!(out.status.success(), "podman run -d: {}", describe(&out));
    let out = podman.run(&["exec", "web", "sh", "-c", "echo from exec; exit 5"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "podman exec: {}",
        describe(&out)
    );
    assert_eq!(text(&out.stdout), "from exec\n");
    let out = podman.run(&["exec", "-t", "web", "tty"]);
    // (conmon writes a NUL byte first, as it does with runc.)
    assert!(
        text(&out.stdout).ends_with("/dev/pts/0\r\n"),
        "podman exec -t: {}",
        describe(&out)
    );
    let state = env.run_bocker(&[
        "state",
        text(&podman.run(&["inspect", "-f", "{{.Id}}", "web"]).stdout).trim(),
    ]);
    assert!(
        text(&state.stdout).contains("\"running\""),
        "bocker's own state: {}",
        describe(&state)
    );
    // podman update writes linux.resources to a file and calls the
    // runtime's `update --resources FILE`.
    let out = podman.run(&["update", "--memory", "96m", "web"]);
    assert!(out.status.success(), "podman update: {}", describe(&out));
    let out = podman.run(&["exec", "web", "sh", "-c", limits]);
    // (The second line is podman's default pids limit.)
    assert!(
        text(&out.stdout).starts_with("100663296\n"),
        "the memory limit inside after podman update: {}",
        describe(&out)
    );
    for (verb, status) in [("pause", "paused"), ("unpause", "running")] {
        let out = podman.run(&[verb, "web"]);
        assert!(out.status.success(), "podman {verb}: {}", describe(&out));
        let seen = podman.run(&["inspect", "-f", "{{.State.Status}}", "web"]);
        assert_eq!(text(&seen.stdout).trim(), status, "after podman {verb}");
    }
    let out = podman.run(&["stop", "--time", "0", "web"]);
    assert!(out.status.success(), "podman stop: {}", describe(&out));
    let out = podman.run(&["rm", "web"]);
    assert!(out.status.success(), "podman rm: {}", describe(&out));
    drop(podman);
    env.assert_no_leaks();
}
