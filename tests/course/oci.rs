//! The OCI runtime interface (after the last chapter): `create`, `start`,
//! `state`, `kill` and `delete`, driven as an engine drives runc, with
//! bundles (config.json and a busybox root) made in each test's own
//! directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::NONE;

/// A config.json as runc's `runc spec` writes it, with the mounts and
/// namespaces engines give, running `args`.
fn base_config(rootfs: &Path, args: &[&str]) -> Value {
    let capabilities = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": capabilities,
                "effective": capabilities,
                "permitted": capabilities
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": false},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// A bundle in the test's scratch folder: `config` as config.json, the
/// busybox root as its root.
fn bundle(env: &TestEnv, name: &str, config: &Value) -> PathBuf {
    let dir = env.scratch().join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// What `create` leaves the container: its stdout and stderr, files in
/// the scratch folder (an engine gives pipes; files let the test read
/// them after the container is gone, and let `create` return at once).
struct ContainerOutput {
    stdout: PathBuf,
}

/// `bocker create --bundle DIR --pid-file F ID`; the container's output
/// goes to files. Returns what `create` itself printed.
fn create(env: &TestEnv, id: &str, bundle: &Path) -> (Output, ContainerOutput) {
    let stdout = env.scratch().join(format!("{id}.out"));
    let stderr = env.scratch().join(format!("{id}.err"));
    let pid_file = env.scratch().join(format!("{id}.pid"));
    let status = env
        .bocker()
        .arg("create")
        .arg("--bundle")
        .arg(bundle)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .status()
        .expect("cannot start bocker");
    let out = Output {
        status,
        stdout: Vec::new(),
        stderr: fs::read(&stderr).unwrap_or_default(),
    };
    (out, ContainerOutput { stdout })
}

fn state(env: &TestEnv, id: &str) -> Value {
    let out = env.bocker_ok(&["state", id], HINT);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("`state {id}` printed no JSON ({e}): {}", describe(&out)))
}

/// Poll `state` until the container is `status` (10 s at most).
#[track_caller]
fn wait_for_status(env: &TestEnv, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(env, id);
        if now["status"] == status {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "container {id} never became {status}: {now}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A container's whole run: create (which must succeed), start, wait
/// until it has stopped; what it printed on stdout.
#[track_caller]
fn run_to_the_end(env: &TestEnv, id: &str, bundle: &Path) -> String {
    let (out, output) = create(env, id, bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    env.bocker_ok(&["start", id], HINT);
    wait_for_status(env, id, "stopped");
    fs::read_to_string(&output.stdout).unwrap()
}

#[test]
fn a_bundle_goes_through_create_start_state_and_delete() {
    let _idea = idea("create leaves the process waiting (state: created, with the pid of the pid file); start lets it run; once it exits, state says stopped; delete leaves nothing behind");
    let env = TestEnv::new();
    let config = base_config(
        &env.busybox_rootfs(),
        &["sh", "-c", "echo hello from $(hostname)"],
    );
    let bundle = bundle(&env, "b1", &config);
    let (out, output) = create(&env, "c1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    let created = state(&env, "c1");
    assert_eq!(created["status"], "created", "{created}");
    assert_eq!(created["id"], "c1");
    assert_eq!(created["ociVersion"], "1.2.0");
    assert_eq!(created["bundle"], json!(fs::canonicalize(&bundle).unwrap()));
    let pid_file = fs::read_to_string(env.scratch().join("c1.pid")).unwrap();
    assert_eq!(
        created["pid"],
        json!(pid_file.trim().parse::<i64>().unwrap()),
        "the pid file and state disagree"
    );
    assert_eq!(
        fs::read_to_string(&output.stdout).unwrap(),
        "",
        "the command ran before start"
    );

    env.bocker_ok(&["start", "c1"], HINT);
    wait_for_status(&env, "c1", "stopped");
    assert_eq!(
        fs::read_to_string(&output.stdout).unwrap(),
        "hello from oci-test\n"
    );
    let again = env.run_bocker(&["start", "c1"]);
    assert!(
        !again.status.success(),
        "a stopped container started again: {}",
        describe(&again)
    );

    env.bocker_ok(&["delete", "c1"], HINT);
    let gone = env.run_bocker(&["state", "c1"]);
    assert!(
        !gone.status.success() && text(&gone.stderr).contains("does not exist"),
        "state after delete: {}",
        describe(&gone)
    );
    env.assert_no_leaks();
}

#[test]
fn the_process_gets_what_config_json_says() {
    let _idea = idea("user, groups, cwd, env, hostname, rlimits, capabilities, no_new_privs, memory and pids limits, masked and read-only paths come from config.json");
    let env = TestEnv::new();
    let script = "id -u; id -g; id -G; pwd; echo $GREETING; hostname; ulimit -n; \
                  grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; \
                  cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; \
                  wc -c < /etc/os-release; \
                  grep -q ' /proc/sys proc ro,' /proc/mounts && echo read-only";
    let mut config = base_config(&env.busybox_rootfs(), &["sh", "-c", script]);
    config["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
    config["process"]["cwd"] = json!("/tmp");
    config["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("GREETING=bonjour"));
    config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 321, "soft": 321}]);
    config["hostname"] = json!("configured");
    // A masked file of the image's own: it reads empty (the kernel's
    // files in maskedPaths differ from one machine to the next).
    config["linux"]["maskedPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!("/etc/os-release"));
    config["linux"]["resources"] = json!({
        "memory": {"limit": 67108864},
        "pids": {"limit": 50}
    });
    let bundle = bundle(&env, "b2", &config);
    let printed = run_to_the_end(&env, "c2", &bundle);
    let lines: Vec<&str> = printed.lines().collect();
    let expected = [
        "1000",
        "1000",
        "1000 10 20",
        "/tmp",
        "bonjour",
        "configured",
        "321",
        // User 1000's execve keeps no capability: it has no ambient set.
        "CapEff:\t0000000000000000",
        "NoNewPrivs:\t1",
        "67108864",
        "50",
        "0",
        "read-only",
    ];
    assert_eq!(lines, expected, "the container printed:\n{printed}");
    env.bocker_ok(&["delete", "c2"], HINT);
    env.assert_no_leaks();
}

#[test]
fn kill_signals_the_process_and_delete_wants_force_while_it_runs() {
    let _idea = idea("kill sends the signal named (KILL, SIGKILL or 9) to the running container; delete refuses a running container without --force, and --force kills it first");
    let env = TestEnv::new();
    let config = base_config(&env.busybox_rootfs(), &["sleep", "100"]);
    let bundle = bundle(&env, "b3", &config);
    for id in ["k1", "k2"] {
        let (out, _) = create(&env, id, &bundle);
        assert!(out.status.success(), "create failed: {}", describe(&out));
        env.bocker_ok(&["start", id], HINT);
        let running = wait_for_status(&env, id, "running");
        assert!(running["pid"].as_i64().unwrap() > 0, "{running}");
    }
    let bad = env.run_bocker(&["kill", "k1", "NOSUCH"]);
    assert!(
        !bad.status.success() && text(&bad.stderr).contains("unknown signal"),
        "{}",
        describe(&bad)
    );
    env.bocker_ok(&["kill", "k1", "KILL"], HINT);
    wait_for_status(&env, "k1", "stopped");
    env.bocker_ok(&["delete", "k1"], HINT);

    let refused = env.run_bocker(&["delete", "k2"]);
    assert!(
        !refused.status.success() && text(&refused.stderr).contains("running"),
        "delete of a running container without --force: {}",
        describe(&refused)
    );
    assert_eq!(state(&env, "k2")["status"], "running");
    env.bocker_ok(&["delete", "--force", "k2"], HINT);
    env.assert_no_leaks();
}

#[test]
fn delete_of_a_created_container_ends_its_waiting_process() {
    let _idea = idea("a container that was created but never started is deleted without --force: its waiting process is killed, its cgroup and state removed");
    let env = TestEnv::new();
    let config = base_config(&env.busybox_rootfs(), &["true"]);
    let bundle = bundle(&env, "b4", &config);
    let (out, _) = create(&env, "d1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    let pid = state(&env, "d1")["pid"].as_i64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    env.bocker_ok(&["delete", "d1"], HINT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_running(pid) {
        assert!(
            Instant::now() < deadline,
            "the created process {pid} outlived delete"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    env.assert_no_leaks();
}

/// Running or sleeping: not gone, not a zombie.
fn process_running(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A change made to a config.json.
type Change = fn(&mut Value);

#[test]
fn a_field_bocker_cannot_honour_is_refused_by_name_and_nothing_is_left() {
    let _idea = idea("config.json fields bocker does not honour (a hook whose path is not absolute, a terminal without a socket, a hostname, a sysctl or a shared root that would change the host, intelRdt, a user namespace without its root mapped, an unknown mount type, a rule denying one device) are refused with one line naming the field, also in --log as JSON; no state, cgroup or process remains");
    let env = TestEnv::new();
    let host_name = nix::unistd::gethostname().unwrap();
    let rootfs = env.busybox_rootfs();
    let cases: [(&str, Change); 10] = [
        ("hooks.prestart[0].path", |c| {
            c["hooks"] = json!({"prestart": [{"path": "true"}]})
        }),
        ("process.terminal", |c| {
            c["process"]["terminal"] = json!(true)
        }),
        // In the host's namespaces these would change the host itself.
        ("hostname", |c| {
            c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "pid"}])
        }),
        ("linux.rootfsPropagation rshared", |c| {
            c["linux"]["rootfsPropagation"] = json!("rshared")
        }),
        ("linux.sysctl kernel.panic", |c| {
            c["linux"]["sysctl"] = json!({"kernel.panic": "1"})
        }),
        ("linux.sysctl net.ipv4.ip_forward", |c| {
            c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "uts"}]);
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"})
        }),
        ("linux.intelRdt", |c| {
            c["linux"]["intelRdt"] = json!({"closID": "x"})
        }),
        // A user namespace whose maps leave out the container's root.
        ("linux.uidMappings", |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}))
        }),
        ("mounts[7].type", |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/mnt", "type": "nfs", "source": "server:/export"}))
        }),
        ("linux.resources.devices[2]", |c| {
            c["linux"]["resources"] = json!({"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "rw"},
                {"allow": false, "type": "c", "major": 240, "minor": 0, "access": "w"}
            ]})
        }),
    ];
    for (index, (field, change)) in cases.iter().enumerate() {
        let mut config = base_config(&rootfs, &["true"]);
        change(&mut config);
        let bundle = bundle(&env, &format!("refused{index}"), &config);
        let log = env.scratch().join(format!("refused{index}.log"));
        let id = format!("r{index}");
        let out = env
            .bocker()
            .arg("--log")
            .arg(&log)
            .args(["--log-format", "json", "create", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(field) && stderr.lines().count() == 1,
            "a config with {field} should be refused in one line naming it: {}",
            describe(&out)
        );
        let logged: Value = serde_json::from_str(fs::read_to_string(&log).unwrap().trim())
            .expect("--log-format json writes one JSON line");
        assert!(logged["msg"].as_str().unwrap().contains(field), "{logged}");
        let state = env.run_bocker(&["state", &id]);
        assert!(
            !state.status.success(),
            "{id} was left: {}",
            describe(&state)
        );
    }
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host_name,
        "the host was renamed"
    );
    env.assert_no_leaks();
}

#[test]
fn a_mount_destination_is_resolved_inside_the_root() {
    let _idea = idea("a symlink in the image that points at a host path cannot send a mount there: destinations resolve inside the container's root (openat2 RESOLVE_IN_ROOT)");
    let env = TestEnv::new();
    let rootfs = env.busybox_rootfs();
    // The image's /escape points at a folder of this test, by its host
    // path: followed on the host, the mount would land there.
    let host_dir = env.scratch().join("host-dir");
    fs::create_dir_all(&host_dir).unwrap();
    std::os::unix::fs::symlink(&host_dir, rootfs.join("escape")).unwrap();
    let mut config = base_config(&rootfs, &["sh", "-c", "ls -d /escape/inside"]);
    config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/escape/inside", "type": "tmpfs", "source": "tmpfs"}));
    let bundle = bundle(&env, "b6", &config);
    let printed = run_to_the_end(&env, "m1", &bundle);
    assert_eq!(printed, "/escape/inside\n");
    assert!(
        fs::read_dir(&host_dir).unwrap().next().is_none(),
        "the mount point was made in the host's {}",
        host_dir.display()
    );
    let inside = rootfs
        .join(host_dir.strip_prefix("/").unwrap())
        .join("inside");
    assert!(
        inside.is_dir(),
        "no mount point at {} inside the root",
        inside.display()
    );
    env.bocker_ok(&["delete", "m1"], HINT);
    env.assert_no_leaks();
}

#[test]
fn pause_freezes_the_container_and_resume_thaws_it() {
    let _idea = idea("pause ID (Bocker's verb, given an OCI container's id) freezes its cgroup: state says paused; resume thaws it: running again");
    let env = TestEnv::new();
    let config = base_config(&env.busybox_rootfs(), &["sleep", "100"]);
    let bundle = bundle(&env, "b7", &config);
    let (out, _) = create(&env, "p1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    let early = env.run_bocker(&["resume", "p1"]);
    assert!(
        !early.status.success(),
        "resume of a created container: {}",
        describe(&early)
    );
    env.bocker_ok(&["start", "p1"], HINT);
    wait_for_status(&env, "p1", "running");
    env.bocker_ok(&["pause", "p1"], HINT);
    assert_eq!(state(&env, "p1")["status"], "paused");
    env.bocker_ok(&["resume", "p1"], HINT);
    assert_eq!(state(&env, "p1")["status"], "running");
    env.bocker_ok(&["pause", "p1"], HINT);
    // A frozen container is thawed to be killed.
    env.bocker_ok(&["delete", "--force", "p1"], HINT);
    env.assert_no_leaks();
}

#[test]
fn without_a_cgroup_namespace_the_containers_own_cgroup_is_bound_read_only() {
    let _idea = idea("a cgroup mount without a cgroup namespace (podman's default on v1) shows the container's own cgroup (its limits), bound read-only, never the host's whole tree");
    let env = TestEnv::new();
    let script = "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; \
                  ls /sys/fs/cgroup/pids/ /sys/fs/cgroup/ 2>/dev/null | grep -c bocker-test; \
                  mkdir /sys/fs/cgroup/pids/x /sys/fs/cgroup/x 2>/dev/null || echo read-only";
    let mut config = base_config(&env.busybox_rootfs(), &["sh", "-c", script]);
    config["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ]);
    config["linux"]["resources"] = json!({"pids": {"limit": 77}});
    let bundle = bundle(&env, "b8", &config);
    let printed = run_to_the_end(&env, "g1", &bundle);
    assert_eq!(
        printed, "77\n0\nread-only\n",
        "the container's /sys/fs/cgroup"
    );
    env.bocker_ok(&["delete", "g1"], HINT);
    env.assert_no_leaks();
}

#[test]
fn exec_starts_a_process_in_the_running_container() {
    let _idea = idea("exec --process FILE (as conmon calls it) starts one more process inside the running container's namespaces and cgroup, under its profile: its exit code passes through, --detach returns at once and writes --pid-file; a stopped container refuses");
    let env = TestEnv::new();
    let mut config = base_config(&env.busybox_rootfs(), &["sleep", "100"]);
    config["linux"]["resources"] = json!({"pids": {"limit": 40}});
    let bundle = bundle(&env, "b9", &config);
    let (out, _) = create(&env, "e1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    env.bocker_ok(&["start", "e1"], HINT);
    wait_for_status(&env, "e1", "running");

    let mut process = config["process"].clone();
    process["args"] = json!(["sh", "-c", "hostname; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; ps -o pid,comm | grep -c sleep; exit 7"]);
    let process_file = env.scratch().join("process.json");
    fs::write(&process_file, process.to_string()).unwrap();
    let out = env.run_bocker(&["exec", "--process", process_file.to_str().unwrap(), "e1"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "oci-test\n40\n1\n", "{}", describe(&out));

    process["args"] = json!(["sleep", "50"]);
    fs::write(&process_file, process.to_string()).unwrap();
    let pid_file = env.scratch().join("exec.pid");
    let started = Instant::now();
    // Files for its output: the detached process keeps them open (a pipe
    // would hold the test until it ends, as it holds the engine's).
    let status = env
        .bocker()
        .args(["exec", "--detach", "--pid-file"])
        .arg(&pid_file)
        .arg("--process")
        .arg(&process_file)
        .arg("e1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(env.scratch().join("exec.out")).unwrap())
        .stderr(fs::File::create(env.scratch().join("exec.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "exec --detach failed: {:?}",
        fs::read_to_string(env.scratch().join("exec.err"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "--detach waited for the process"
    );
    let pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        process_running(pid),
        "the detached process {pid} is not running"
    );
    let first = state(&env, "e1")["pid"].as_i64().unwrap();
    let namespace = |pid: i64| fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(
        namespace(pid),
        namespace(first),
        "the exec'd process is not in the container's PID namespace"
    );

    env.bocker_ok(&["delete", "--force", "e1"], HINT);
    let refused = env.run_bocker(&["exec", "--process", process_file.to_str().unwrap(), "e1"]);
    assert!(
        !refused.status.success(),
        "exec into a deleted container: {}",
        describe(&refused)
    );
    env.assert_no_leaks();
}

#[test]
fn swap_beyond_the_memory_limit_is_what_config_json_says() {
    let _idea = idea("linux.resources.memory.swap (memory and swap together, as runc reads it) is written to the cgroup: v1 memory.memsw.limit_in_bytes, v2 memory.swap.max (swap alone)");
    let env = TestEnv::new();
    let script = "cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null \
                  || cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo no-swap-accounting";
    let mut config = base_config(&env.busybox_rootfs(), &["sh", "-c", script]);
    config["linux"]["resources"] = json!({"memory": {"limit": 67108864, "swap": 134217728}});
    let bundle = bundle(&env, "b10", &config);
    let printed = run_to_the_end(&env, "s1", &bundle);
    assert!(
        ["134217728\n", "67108864\n", "no-swap-accounting\n"].contains(&printed.as_str()),
        "memory+swap 128 MiB: v1 shows 134217728, v2 the swap alone, 67108864; the container printed {printed:?}"
    );
    env.bocker_ok(&["delete", "s1"], HINT);
    env.assert_no_leaks();
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let _idea = idea("update --resources FILE|- (linux.resources' shape, as podman and containerd's shim pass it) rewrites the cgroup's files at once; what it leaves out stays; runc's flags (--pids-limit) work too; a field bocker cannot change is refused by name");
    let env = TestEnv::new();
    let mut config = base_config(&env.busybox_rootfs(), &["sleep", "100"]);
    config["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 40}});
    let bundle = bundle(&env, "b13", &config);
    let (out, _) = create(&env, "u1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    env.bocker_ok(&["start", "u1"], HINT);
    wait_for_status(&env, "u1", "running");
    let limits_inside = || {
        let out = env.run_bocker(&[
            "exec",
            "u1",
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
             /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; true",
        ]);
        assert!(out.status.success(), "exec failed: {}", describe(&out));
        text(&out.stdout)
    };
    assert_eq!(limits_inside(), "67108864\n40\n", "the limits create set");

    // From standard input, as containerd's shim gives it: memory only.
    let mut update = env
        .bocker()
        .args(["update", "--resources", "-", "u1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        update.stdin.as_mut().unwrap(),
        br#"{"memory": {"limit": 100663296}, "cpu": {"shares": 0}}"#,
    )
    .unwrap();
    drop(update.stdin.take());
    let out = update.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "update --resources -: {}",
        describe(&out)
    );
    assert_eq!(
        limits_inside(),
        "100663296\n40\n",
        "memory raised to 96 MiB, pids left as they were"
    );

    // From a file, as podman gives it, and runc's flag.
    let file = env.scratch().join("resources.json");
    fs::write(&file, r#"{"pids": {"limit": 55}}"#).unwrap();
    env.bocker_ok(
        &["update", "--resources", file.to_str().unwrap(), "u1"],
        HINT,
    );
    assert_eq!(limits_inside(), "100663296\n55\n", "pids 55 from the file");
    env.bocker_ok(&["update", "--pids-limit", "66", "u1"], HINT);
    assert_eq!(limits_inside(), "100663296\n66\n", "--pids-limit 66");

    for (resources, named) in [
        (r#"{"blockIO": {"weight": 100}}"#, "linux.resources.blockIO"),
        (
            r#"{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}"#,
            "linux.resources.devices",
        ),
    ] {
        fs::write(&file, resources).unwrap();
        let out = env.run_bocker(&["update", "--resources", file.to_str().unwrap(), "u1"]);
        assert!(
            !out.status.success() && text(&out.stderr).contains(named),
            "update with {resources} must be refused naming {named}: {}",
            describe(&out)
        );
    }
    assert_eq!(
        limits_inside(),
        "100663296\n66\n",
        "a refused update changed nothing"
    );
    env.bocker_ok(&["delete", "--force", "u1"], HINT);
    let out = env.run_bocker(&["update", "--pids-limit", "10", "u1"]);
    assert!(
        !out.status.success(),
        "update of a deleted container: {}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn hooks_run_at_their_points_of_the_lifecycle() {
    let _idea = idea("config.json's hooks run in the spec's order, each with the state JSON on stdin and only its own env: prestart and createRuntime on the host while the process waits (its host pid), createContainer in the container's namespaces before pivot_root, startContainer inside the root after start, poststart after it, poststop at delete; a failing or timed-out hook fails create, naming it, and leaves nothing");
    let env = TestEnv::new();
    let rootfs = env.busybox_rootfs();
    let log = env.scratch().join("hooks.log");
    // Each hook appends a line to the log: its kind, the hostname it
    // sees, $WHO (from its env) and the state it read on stdin.
    let hook = |kind: &str, log: &str| {
        json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("read -r state; echo \"{kind} $(hostname) $WHO $state\" >> {log}")],
            "env": ["WHO=hook", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        })
    };
    // A log's lines as (kind, hostname, who, status, pid).
    let lines = |path: &Path| -> Vec<(String, String, String, String, i64)> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let mut words = line.splitn(4, ' ');
                let mut word = || words.next().unwrap_or_default().to_string();
                let (kind, host, who, rest) = (word(), word(), word(), word());
                let state: Value = serde_json::from_str(&rest).unwrap_or(Value::Null);
                assert!(
                    kind == "command" || state["id"] == "h1",
                    "hook {kind} read no state of h1 on stdin: {line:?}"
                );
                let status = state["status"].as_str().unwrap_or_default().to_string();
                (kind, host, who, status, state["pid"].as_i64().unwrap_or(-1))
            })
            .collect()
    };
    let entry = |kind: &str, host: &str, status: &str, pid: i64| {
        (
            kind.to_string(),
            host.to_string(),
            "hook".to_string(),
            status.to_string(),
            pid,
        )
    };
    let host_log = log.to_str().unwrap();
    let mut config = base_config(&rootfs, &["sh", "-c", "echo command >> /hooks.log"]);
    config["hooks"] = json!({
        "prestart": [hook("prestart", host_log)],
        "createRuntime": [hook("createRuntime", host_log)],
        "createContainer": [hook("createContainer", host_log)],
        "startContainer": [hook("startContainer", "/hooks.log")],
        "poststart": [hook("poststart", host_log)],
        "poststop": [hook("poststop", host_log)]
    });
    let bundle = bundle(&env, "b14", &config);
    let (out, _) = create(&env, "h1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    let pid = state(&env, "h1")["pid"].as_i64().unwrap();
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let mut expected = vec![
        entry("prestart", &host, "creating", pid),
        entry("createRuntime", &host, "creating", pid),
        entry("createContainer", "oci-test", "creating", 1),
    ];
    assert_eq!(
        lines(&log),
        expected,
        "after create: the runtime's hooks on the host (its name, the host pid), createContainer in the container's namespaces (pid 1)"
    );
    env.bocker_ok(&["start", "h1"], HINT);
    wait_for_status(&env, "h1", "stopped");
    assert_eq!(
        lines(&rootfs.join("hooks.log")),
        vec![
            entry("startContainer", "oci-test", "created", 1),
            (
                "command".to_string(),
                String::new(),
                String::new(),
                String::new(),
                -1
            )
        ],
        "startContainer runs inside the root, before the command"
    );
    expected.push(entry("poststart", &host, "running", pid));
    assert_eq!(lines(&log), expected, "poststart after start");
    env.bocker_ok(&["delete", "h1"], HINT);
    expected.push(entry("poststop", &host, "stopped", 0));
    assert_eq!(lines(&log), expected, "poststop at delete");

    // A hook that fails, or outlives its timeout, fails create.
    for (kind, failing, named) in [
        (
            "createRuntime",
            json!({"path": "/bin/sh", "args": ["sh", "-c", "echo no GPU here >&2; exit 3"]}),
            "hook createRuntime[0] (/bin/sh) failed: exited with 3: no GPU here",
        ),
        (
            "createContainer",
            json!({"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}),
            "hook createContainer[0] (/bin/sleep) failed: still running after its timeout of 1 s",
        ),
    ] {
        let mut config = base_config(&rootfs, &["true"]);
        config["hooks"] = json!({ kind: [failing] });
        let failing_bundle = self::bundle(&env, "b15", &config);
        let (out, _) = create(&env, "h2", &failing_bundle);
        assert!(
            !out.status.success() && text(&out.stderr).contains(named),
            "a failing {kind} hook must fail create, naming it ({named}): {}",
            describe(&out)
        );
        env.assert_no_leaks();
    }
}

#[test]
fn a_create_killed_midway_leaves_nothing_delete_does_not_clear() {
    let _idea = idea("create killed with SIGKILL in the middle (here while a createRuntime hook holds it, the container's process waiting before pivot_root): the process dies with it, state says creating, and delete removes the state and the cgroup; nothing is left");
    let env = TestEnv::new();
    let hook_pid = env.scratch().join("hook.pid");
    let mut config = base_config(&env.busybox_rootfs(), &["true"]);
    config["linux"]["resources"] = json!({"pids": {"limit": 20}});
    config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo $$ > {}; exec sleep 30", hook_pid.display())]
    }]});
    let bundle = bundle(&env, "b16", &config);
    let mut create = env
        .bocker()
        .args(["create", "--bundle"])
        .arg(&bundle)
        .arg("k1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let hook: i32 = loop {
        if let Some(pid) = fs::read_to_string(&hook_pid)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the createRuntime hook never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // The hook is create's own child: it ends with the test, whatever
    // happens below.
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _hook = KillOnDrop(hook);
    create.kill().unwrap();
    create.wait().unwrap();

    assert_eq!(
        state(&env, "k1")["status"],
        "creating",
        "a create that never finished"
    );
    assert!(
        !env.container_cgroups().is_empty(),
        "create had made the cgroup before the hooks"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !env.container_cgroups().iter().all(|dir| {
        fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|procs| procs.trim().is_empty())
    }) {
        assert!(
            Instant::now() < deadline,
            "the container's process outlived create"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    env.bocker_ok(&["delete", "k1"], HINT);
    let gone = env.run_bocker(&["state", "k1"]);
    assert!(
        !gone.status.success(),
        "state after delete: {}",
        describe(&gone)
    );
    drop(_hook);
    env.assert_no_leaks();
}

#[test]
fn a_user_namespace_maps_the_containers_root_to_an_ordinary_host_user() {
    let _idea = idea("linux.namespaces user with uidMappings/gidMappings (0 → 100000, 65536 ids): the process is root inside (uid_map written by create), what it writes belongs to uid 100000 on the host, /dev/null is the host's node bound in (no mknod in a user namespace), exec joins the same user namespace");
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = TestEnv::new();
    // The container's root is uid 100000 out here: it must be able to walk
    // to the bundle (runc needs the same).
    for dir in [env.dir().to_path_buf(), env.scratch()] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).unwrap();
    }
    let shared = env.scratch().join("shared");
    fs::create_dir(&shared).unwrap();
    // (An engine gives a root the container's root may change; this one
    // is the host root's: the mount point is made here.)
    fs::create_dir_all(env.busybox_rootfs().join("shared")).unwrap();
    std::os::unix::fs::chown(&shared, Some(100_000), Some(100_000)).unwrap();
    let script = "id; cat /proc/self/uid_map /proc/self/gid_map; echo written > /shared/file; \
                  echo x > /dev/null && echo /dev/null works; sleep 100";
    let mut config = base_config(&env.busybox_rootfs(), &["sh", "-c", script]);
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    config["linux"]["uidMappings"] = map.clone();
    config["linux"]["gidMappings"] = map;
    config["mounts"].as_array_mut().unwrap().push(json!(
        {"destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "rw"]}
    ));
    let bundle = bundle(&env, "b17", &config);
    let (out, output) = create(&env, "n1", &bundle);
    assert!(out.status.success(), "create failed: {}", describe(&out));
    env.bocker_ok(&["start", "n1"], HINT);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&output.stdout)
        .unwrap_or_default()
        .contains("works")
    {
        assert!(
            Instant::now() < deadline,
            "the container printed {:?}",
            fs::read_to_string(&output.stdout)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let printed = fs::read_to_string(&output.stdout).unwrap();
    let words: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "uid=0(root)",
            "gid=0(root)",
            "0",
            "100000",
            "65536",
            "0",
            "100000",
            "65536",
            "/dev/null",
            "works"
        ],
        "root inside, the maps config.json gave: {printed:?}"
    );
    let file = fs::metadata(shared.join("file")).unwrap();
    assert_eq!(
        (file.uid(), file.gid()),
        (100_000, 100_000),
        "a file the container's root wrote belongs to uid 100000 on the host"
    );
    let out = env.run_bocker(&["exec", "n1", "cat", "/proc/self/uid_map"]);
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "exec joins the container's user namespace: {}",
        describe(&out)
    );
    env.bocker_ok(&["delete", "--force", "n1"], HINT);

    let mut unmapped = base_config(&env.busybox_rootfs(), &["true"]);
    unmapped["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 1}]);
    let refused_bundle = self::bundle(&env, "b18", &unmapped);
    let (out, _) = create(&env, "n2", &refused_bundle);
    assert!(
        !out.status.success() && text(&out.stderr).contains("need a user namespace"),
        "uidMappings without a user namespace must be refused: {}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn a_device_rule_of_config_json_allows_that_device_and_no_other() {
    let _idea = idea("linux.resources.devices: every device denied but the usual ones and what config.json allows (here c 240:0): a node for it opens as far as its driver (ENXIO), one for c 240:1 is refused (EPERM)");
    let env = TestEnv::new();
    let script = "mknod /dev/allowed c 240 0; mknod /dev/other c 240 1; \
                  cat /dev/allowed 2>&1; cat /dev/other 2>&1; true";
    let mut config = base_config(&env.busybox_rootfs(), &["sh", "-c", script]);
    let caps = json!(["CAP_MKNOD", "CAP_KILL"]);
    config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    config["linux"]["resources"] = json!({"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 240, "minor": 0, "access": "rw"}
    ]});
    let bundle = bundle(&env, "b11", &config);
    let printed = run_to_the_end(&env, "v1", &bundle);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(
        lines[0].contains("No such device"),
        "c 240:0 is allowed: {printed}"
    );
    assert!(
        lines[1].contains("Operation not permitted"),
        "c 240:1 is not: {printed}"
    );
    env.bocker_ok(&["delete", "v1"], HINT);
    env.assert_no_leaks();
}

#[test]
fn features_says_what_create_honours() {
    let _idea = idea("features prints the runtime spec's features JSON: the seven namespaces create accepts, the six kinds of hooks, the mount options it reads as flags, cgroup v1 and v2 but not systemd");
    let env = TestEnv::new();
    let out = env.bocker_ok(&["features"], HINT);
    let features: Value = serde_json::from_slice(&out.stdout).expect("features prints JSON");
    assert_eq!(features["ociVersionMax"], "1.2.0");
    assert_eq!(
        features["hooks"],
        json!([
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ])
    );
    let namespaces = features["linux"]["namespaces"].as_array().unwrap();
    assert!(namespaces.contains(&json!("user")), "{features}");
    assert_eq!(namespaces.len(), 7, "{features}");
    let options = features["mountOptions"].as_array().unwrap();
    for option in ["ro", "nosuid", "rbind", "rprivate", "strictatime"] {
        assert!(
            options.contains(&json!(option)),
            "{option} missing: {features}"
        );
    }
    assert_eq!(features["linux"]["cgroup"]["systemd"], false);
    // Each namespace it lists is one create takes.
    for namespace in namespaces {
        let mut config = base_config(&env.busybox_rootfs(), &["true"]);
        config["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": namespace}]);
        let name = namespace.as_str().unwrap();
        if name == "user" {
            // /proc, /sys and /dev/mqueue need pid, network and IPC
            // namespaces that the user namespace owns.
            config["linux"]["namespaces"] = json!([
                {"type": "mount"}, {"type": "user"}, {"type": "pid"}, {"type": "network"},
                {"type": "ipc"}
            ]);
            // Its maps, and a way to the bundle for its root.
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            config["linux"]["uidMappings"] = map.clone();
            config["linux"]["gidMappings"] = map;
            use std::os::unix::fs::PermissionsExt;
            for dir in [env.dir().to_path_buf(), env.scratch()] {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).unwrap();
            }
        }
        if name != "uts" {
            // A hostname needs a UTS namespace of the container's.
            config["hostname"] = Value::Null;
        }
        let bundle = bundle(&env, &format!("ns-{name}"), &config);
        let (out, _) = create(&env, &format!("ns-{name}"), &bundle);
        assert!(
            out.status.success(),
            "features lists {name}, create refused it: {}",
            describe(&out)
        );
        env.bocker_ok(&["delete", &format!("ns-{name}")], HINT);
    }
    env.assert_no_leaks();
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    let _idea = idea("with process.terminal, create connects to --console-socket and the container's process sends the master side of a pty made in its own devpts (SCM_RIGHTS); the program's stdin, stdout and stderr are the slave, its controlling terminal");
    let env = TestEnv::new();
    let socket = env.scratch().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let receiver = std::thread::spawn(move || {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let (stream, _) = listener.accept().unwrap();
        let mut name = [0u8; 256];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (bytes, master) = {
            let mut iov = [std::io::IoSliceMut::new(&mut name)];
            let message = recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            )
            .unwrap();
            let master = message
                .cmsgs()
                .unwrap()
                .find_map(|cmsg| match cmsg {
                    ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                    _ => None,
                })
                .expect("no descriptor came over the console socket");
            (message.bytes, master)
        };
        let sent = String::from_utf8_lossy(&name[..bytes]).into_owned();
        // SAFETY: the descriptor arrived with the message; it is ours now.
        (sent, unsafe { OwnedFd::from_raw_fd(master) })
    });
    let mut config = base_config(
        &env.busybox_rootfs(),
        &["sh", "-c", "tty; ls -l /proc/self/fd/2"],
    );
    config["process"]["terminal"] = json!(true);
    let bundle = bundle(&env, "b12", &config);
    let status = env
        .bocker()
        .args(["create", "--bundle"])
        .arg(&bundle)
        .arg("--console-socket")
        .arg(&socket)
        .arg("t1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(env.scratch().join("t1.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "create with a terminal: {:?}",
        fs::read_to_string(env.scratch().join("t1.err"))
    );
    let (name, master) = receiver.join().unwrap();
    assert_eq!(name, "/dev/pts/0", "the pty's name sent with it");
    env.bocker_ok(&["start", "t1"], HINT);
    wait_for_status(&env, "t1", "stopped");
    let mut printed = String::new();
    // The slave is gone: the master reads what is left, then EIO.
    let _ = std::io::Read::read_to_string(&mut fs::File::from(master), &mut printed);
    assert!(
        printed.starts_with("/dev/pts/0\r\n") && printed.contains("/proc/self/fd/2 -> /dev/pts/0"),
        "the program should print its terminal's name: {printed:?}"
    );
    let refused = env.run_bocker(&["create", "--bundle", bundle.to_str().unwrap(), "t2"]);
    assert!(
        !refused.status.success() && text(&refused.stderr).contains("--console-socket"),
        "a terminal without --console-socket: {}",
        describe(&refused)
    );
    env.bocker_ok(&["delete", "t1"], HINT);
    env.assert_no_leaks();
}
