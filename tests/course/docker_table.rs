//! The rest of Docker's command table (after the last chapter, feature
//! `docker`): `info`, `version`, `inspect`… Each test drives the verb as a
//! Docker user would, and checks its output against what bocker's records
//! and the kernel say.

use serde_json::Value;

use crate::support::{describe, idea, text, Hint, TestEnv};

const NONE: Hint = Hint::NONE;

/// Wait until every container of the test has ended and its keeper (the
/// monitor that records the exit) is gone too: a short-lived `run -d`
/// may still be recording its end when the test's last check runs.
fn wait_for_every_keeper(env: &TestEnv) {
    for id in env.container_ids() {
        env.wait_until_exited(&id);
    }
}

/// `bocker ARGS…` must succeed; its stdout.
#[track_caller]
fn bocker_text(env: &TestEnv, args: &[&str]) -> String {
    text(&env.bocker_ok(args, NONE).stdout)
}

#[test]
fn inspect_shows_a_container_in_dockers_shape_and_through_a_template() {
    let _idea = idea("inspect prints a JSON array in Docker's shape (Id, Name, State, Config, HostConfig, NetworkSettings) built from the record and the kernel; --format renders {{.State.Pid}}-style paths; a stopped container says exited with its code and pid 0; an unknown name is exit 1 with one line");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--memory",
            "64m",
            "-e",
            "GREETING=hi",
            &image,
            "sleep",
            "1000",
        ],
    )
    .trim()
    .to_string();
    let pid = env.running_pid(&id).expect("the container runs");

    let json: Value =
        serde_json::from_str(&bocker_text(&env, &["inspect", "web"])).expect("inspect prints JSON");
    let object = &json[0];
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(object["Id"], id.as_str());
    assert_eq!(object["Name"], "/web", "Docker's names start with /");
    assert_eq!(object["Image"], image.as_str());
    assert_eq!(object["State"]["Status"], "running");
    assert_eq!(object["State"]["Running"], true);
    assert_eq!(
        object["State"]["Pid"], pid,
        "the host pid of its first process"
    );
    assert_eq!(object["Path"], "sleep");
    assert_eq!(object["Args"], serde_json::json!(["1000"]));
    assert!(
        object["Config"]["Env"]
            .as_array()
            .is_some_and(|env| env.iter().any(|v| v == "GREETING=hi")),
        "Config.Env has -e's variable: {}",
        object["Config"]
    );
    assert_eq!(
        object["HostConfig"]["Memory"],
        64 << 20,
        "--memory in bytes"
    );
    assert!(
        object["Created"]
            .as_str()
            .is_some_and(|t| t.len() == 30 && t.ends_with('Z') && t.contains('T')),
        "Created is RFC 3339 with nanoseconds: {}",
        object["Created"]
    );

    let line = bocker_text(
        &env,
        &[
            "inspect",
            "--format",
            "{{.State.Pid}} {{.Name}} {{json .Config.Cmd}}",
            "web",
        ],
    );
    assert_eq!(line, format!("{pid} /web [\"sleep\",\"1000\"]\n"));

    env.stop("web");
    let line = bocker_text(
        &env,
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}",
            &id,
        ],
    );
    assert_eq!(line, "exited false 0 137\n", "after stop -t 0: SIGKILL");

    let line = bocker_text(
        &env,
        &["inspect", "--type", "image", "-f", "{{.Id}}", &image],
    );
    assert_eq!(line, format!("{image}\n"), "an image by its id");

    let out = env.run_bocker(&["inspect", "web", "nothing-called-this"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(
        text(&out.stderr).trim(),
        "bocker: No such object: nothing-called-this",
        "one line for what is missing; what exists is still printed"
    );
    let printed: Value = serde_json::from_str(&text(&out.stdout)).expect("JSON still");
    assert_eq!(printed[0]["Name"], "/web");

    for (args, said) in [
        (&["inspect", "-f", "{{.State.Pid", "web"][..], "unclosed"),
        (&["inspect", "--type", "volume", "web"][..], "--type"),
    ] {
        let out = env.run_bocker(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: a usage error: {}",
            describe(&out)
        );
        let err = text(&out.stderr);
        assert!(
            err.lines().count() == 1 && err.contains(said),
            "{args:?}: one line naming the problem: {err}"
        );
    }
    env.bocker_ok(&["rm", "web"], NONE);
    env.assert_no_leaks();
}

#[test]
fn info_counts_containers_and_images_and_names_the_machine() {
    let _idea = idea("info counts containers (running, paused, stopped) and images from the state directory, and says the storage driver, cgroup version, kernel and CPUs of this machine; --format reads the same facts by Docker's names");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let running = bocker_text(&env, &["run", "-d", &image, "sleep", "1000"]);
    let paused = bocker_text(&env, &["run", "-d", &image, "sleep", "1000"]);
    env.bocker_ok(&["pause", paused.trim()], NONE);
    env.bocker_ok(&["run", &image, "true"], NONE);
    let line = bocker_text(
        &env,
        &[
            "info",
            "--format",
            "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}} {{.NCPU}}",
        ],
    );
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(line, format!("3 1 1 1 1 {cpus}\n"));
    let v2 = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/cgroup") && l.contains(" cgroup2 "));
    let kernel = text(
        &std::process::Command::new("uname")
            .arg("-r")
            .output()
            .unwrap()
            .stdout,
    );
    let said = bocker_text(&env, &["info"]);
    for expected in [
        "Containers: 3".to_string(),
        " Running: 1".to_string(),
        " Paused: 1".to_string(),
        " Stopped: 1".to_string(),
        "Images: 1".to_string(),
        "Storage Driver: copy".to_string(),
        format!("Cgroup Version: {}", if v2 { 2 } else { 1 }),
        format!("Kernel Version: {}", kernel.trim()),
        format!("Bocker Root Dir: {}", env.root().display()),
    ] {
        assert!(
            said.lines().any(|line| line == expected),
            "`bocker info` should say {expected:?}:\n{said}"
        );
    }
    env.bocker_ok(&["unpause", paused.trim()], NONE);
    env.stop(running.trim());
    env.stop(paused.trim());
    env.assert_no_leaks();
}

#[test]
fn version_names_the_chapters_compiled_in() {
    let _idea = idea("version says bocker's version and which chapters this bocker has; --format '{{json .Chapters}}' lists them");
    let env = TestEnv::new();
    let chapters = bocker_text(&env, &["version", "--format", "{{json .Chapters}}"]);
    assert_eq!(chapters, "[1,2,3,4,5,6,7,8,9]\n");
    let said = bocker_text(&env, &["version"]);
    assert!(
        said.lines()
            .any(|line| line == format!("Version:      {}", env!("CARGO_PKG_VERSION"))),
        "{said}"
    );
}

#[test]
fn logs_follow_tail_since_and_timestamps_as_docker_has_them() {
    let _idea = idea("logs -f prints what the container wrote and what it writes next, each to its stream, and ends when the container stops; --tail N keeps the last N lines; -t puts the time bocker read each line before it; --since keeps lines from a time on; a bad value is one line, exit 2");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            &image,
            "sh",
            "-c",
            "echo one; echo two >&2; echo three; sleep 1; echo four; sleep 1; echo five",
        ],
    )
    .trim()
    .to_string();
    let followed = env.run_bocker(&["logs", "-f", &id]);
    assert!(followed.status.success(), "{}", describe(&followed));
    assert_eq!(
        text(&followed.stdout),
        "one\nthree\nfour\nfive\n",
        "-f printed what came before and after, and ended with the container"
    );
    assert_eq!(text(&followed.stderr), "two\n");
    env.wait_until_exited(&id);

    let tail = env.run_bocker(&["logs", "--tail", "2", &id]);
    assert_eq!(text(&tail.stdout), "four\nfive\n", "{}", describe(&tail));
    assert_eq!(
        text(&tail.stderr),
        "",
        "two is not among the last two lines"
    );

    let stamped = bocker_text(&env, &["logs", "-t", "-n", "1", &id]);
    let (time, line) = stamped.split_once(' ').expect("a time, a space, the line");
    assert_eq!(line, "five\n");
    let age = humantime::parse_rfc3339(time)
        .ok()
        .and_then(|t| std::time::SystemTime::now().duration_since(t).ok());
    assert!(
        age.is_some_and(|age| age.as_secs() < 60),
        "-t: an RFC 3339 time of the last minute: {stamped}"
    );

    assert_eq!(
        bocker_text(&env, &["logs", "--since", "1h", &id]),
        "one\nthree\nfour\nfive\n"
    );
    assert_eq!(bocker_text(&env, &["logs", "--since", time, &id]), "five\n");
    let future = humantime::format_rfc3339(
        std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
    );
    assert_eq!(
        bocker_text(&env, &["logs", "--since", &future.to_string(), &id]),
        ""
    );

    for bad in [
        &["logs", "--since", "yesterday", &id][..],
        &["logs", "--tail", "three", &id],
    ] {
        let out = env.run_bocker(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", describe(&out));
        assert_eq!(text(&out.stderr).lines().count(), 1, "{}", describe(&out));
    }
    env.bocker_ok(&["rm", &id], NONE);
    env.assert_no_leaks();
}

#[test]
fn rename_moves_the_name_and_a_running_containers_exit_keeps_it() {
    let _idea = idea("rename gives a container a new name (the old one is free again, a taken one is refused in one line); renamed while running, the name stays when its keeper records the exit; wait blocks until it stops and prints its exit code");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "first",
            &image,
            "sh",
            "-c",
            "sleep 1; exit 3",
        ],
    )
    .trim()
    .to_string();
    env.bocker_ok(&["run", "-d", "--name", "taken", &image, "true"], NONE);
    let out = env.run_bocker(&["rename", "first", "taken"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("'taken' already exists"),
        "{}",
        describe(&out)
    );
    assert_eq!(bocker_text(&env, &["rename", "first", "second"]), "");
    assert_eq!(
        bocker_text(&env, &["wait", "second"]),
        "3\n",
        "wait prints the exit code once it stopped"
    );
    let name = bocker_text(&env, &["inspect", "-f", "{{.Name}}", &id]);
    assert_eq!(
        name, "/second\n",
        "the keeper's record of the exit kept the new name"
    );
    let out = env.run_bocker(&["inspect", "first"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the old name is gone: {}",
        describe(&out)
    );
    env.bocker_ok(&["run", "-d", "--name", "first", &image, "true"], NONE);
    let out = env.run_bocker(&["wait", "no-such-container"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    wait_for_every_keeper(&env);
    env.assert_no_leaks();
}

#[test]
fn a_name_left_by_a_killed_rename_is_swept() {
    let _idea = idea("a rename killed after claiming its new name leaves two names for one container; the next command's sweep keeps only the one its record gives");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(&env, &["run", "-d", "--name", "kept", &image, "true"])
        .trim()
        .to_string();
    // What the killed rename left: a second name file for the container.
    std::fs::write(env.root().join("names").join("half-made"), &id).unwrap();
    let out = env.run_bocker(&["inspect", "-f", "{{.Name}}", "kept"]);
    assert_eq!(text(&out.stdout), "/kept\n", "{}", describe(&out));
    let out = env.run_bocker(&["inspect", "half-made"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the sweep gave it up: {}",
        describe(&out)
    );
    assert!(!env.root().join("names").join("half-made").exists());
}

#[test]
fn top_lists_the_containers_processes_with_host_pids() {
    let _idea = idea("top lists every process of a running container (from its cgroup: an exec's too) with host pids, parents and commands; a stopped container is refused in one line");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            &image,
            "sh",
            "-c",
            "sleep 1000 & exec sleep 999",
        ],
    )
    .trim()
    .to_string();
    let first = env.running_pid(&id).expect("running");
    let mut exec = env.spawn_bocker(&["exec", &id, "sleep", "998"]);
    let rows = |said: &str| -> Vec<Vec<String>> {
        said.lines()
            .skip(1)
            .map(|line| line.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    // The exec's process appears when that bocker has started it (slow in
    // a virtual machine without KVM: up to 30 s).
    let mut listed = Vec::new();
    eventually(30, || {
        listed = rows(&bocker_text(&env, &["top", &id]));
        listed.len() == 3
    });
    let command_of = |row: &Vec<String>| row[5..].join(" ");
    let mut commands: Vec<String> = listed.iter().map(command_of).collect();
    commands.sort();
    assert_eq!(
        commands,
        ["sleep 1000", "sleep 998", "sleep 999"],
        "{listed:?}"
    );
    let first_row = listed
        .iter()
        .find(|row| command_of(row) == "sleep 999")
        .unwrap();
    assert_eq!(first_row[0], "0", "root inside and out: {first_row:?}");
    assert_eq!(
        first_row[1],
        first.to_string(),
        "the host pid: {first_row:?}"
    );
    let child = listed
        .iter()
        .find(|row| command_of(row) == "sleep 1000")
        .unwrap();
    assert_eq!(
        child[2],
        first.to_string(),
        "its parent is the first process: {child:?}"
    );
    env.stop(&id);
    let _ = exec.wait();
    let out = env.run_bocker(&["top", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("is not running"),
        "{}",
        describe(&out)
    );
    env.bocker_ok(&["rm", &id], NONE);
    env.assert_no_leaks();
}

#[test]
fn ps_filters_quiet_and_format_as_docker_has_them() {
    let _idea = idea("ps -q prints ids only; --filter status=, name=, exited= keep the matching containers (several values of one key: any; several keys: all); --format renders each through a template, and 'table' aligns columns under a header; a bad filter is one line, exit 2");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let running = bocker_text(
        &env,
        &["run", "-d", "--name", "web-1", &image, "sleep", "1000"],
    )
    .trim()
    .to_string();
    env.bocker_ok(&["run", "--name", "job-ok", &image, "true"], NONE);
    let out = env.run_bocker(&["run", "--name", "job-failed", &image, "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));

    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ps", "-q"];
        all.extend_from_slice(args);
        let mut ids: Vec<String> = bocker_text(&env, &all)
            .lines()
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    };
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["ps", "-a", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        let mut names: Vec<String> = bocker_text(&env, &all)
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    };
    assert_eq!(ids(&["--filter", "status=running"]).join(" "), running);
    assert_eq!(ids(&[]).len(), 3, "bocker's ps lists every container");
    assert_eq!(names(&["-f", "status=exited"]), ["job-failed", "job-ok"]);
    assert_eq!(names(&["-f", "exited=4"]), ["job-failed"]);
    assert_eq!(names(&["-f", "name=job"]), ["job-failed", "job-ok"]);
    assert_eq!(
        names(&["-f", "name=web", "-f", "name=job-ok"]),
        ["job-ok", "web-1"],
        "two values of one key: either"
    );
    assert_eq!(
        names(&["-f", "name=job", "-f", "status=running"]),
        Vec::<String>::new(),
        "two keys: both"
    );
    let line = bocker_text(
        &env,
        &[
            "ps",
            "--format",
            "{{.ID}} {{.State}} {{.Status}}",
            "-f",
            "name=web",
        ],
    );
    assert_eq!(line, format!("{running} running Running\n"));
    let table = bocker_text(
        &env,
        &[
            "ps",
            "--format",
            "table {{.Names}}\\t{{.Status}}",
            "-f",
            "status=exited",
        ],
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("NAMES") && lines[0].contains("STATUS"),
        "{table}"
    );
    let column = lines[0].find("STATUS").unwrap();
    assert!(
        lines[1..].iter().all(|line| line
            .get(column..)
            .is_some_and(|rest| rest.starts_with("Exited ("))),
        "the columns are aligned:\n{table}"
    );
    let out = env.run_bocker(&["ps", "--filter", "colour=blue"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", describe(&out));
    env.stop(&running);
    env.assert_no_leaks();
}

#[test]
fn export_writes_the_containers_files_as_a_tar_and_never_follows_its_links() {
    let _idea = idea("export -o FILE writes the container's files as a tar (what it wrote included), a symlink it made to a host path is stored as a link, never as the host file's content; the container runs on afterwards (paused only meanwhile); no half file is left under FILE");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            &image,
            "sh",
            "-c",
            "ln -s /etc/shadow /escape; echo hi > /made; exec sleep 1000",
        ],
    )
    .trim()
    .to_string();
    let made = env.container_rootfs(&id).join("made");
    for _ in 0..100 {
        if made.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let tar_file = env.dir().join("exported.tar");
    assert_eq!(
        bocker_text(&env, &["export", "-o", tar_file.to_str().unwrap(), &id]),
        ""
    );
    let listing = std::process::Command::new("tar")
        .arg("-tvf")
        .arg(&tar_file)
        .output()
        .unwrap();
    let listing = text(&listing.stdout);
    assert!(
        listing
            .lines()
            .any(|line| line.starts_with('l') && line.ends_with("escape -> /etc/shadow")),
        "the symlink is a symlink in the tar:\n{listing}"
    );
    assert!(
        listing.lines().any(|line| line.ends_with(" bin/busybox")),
        "{listing}"
    );
    let content = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(&tar_file)
        .arg("made")
        .output()
        .unwrap();
    assert_eq!(text(&content.stdout), "hi\n", "what the container wrote");
    assert!(
        !env.dir().join("exported.tar.part").exists(),
        "no partial file is left"
    );
    let state = bocker_text(&env, &["inspect", "-f", "{{.State.Status}}", &id]);
    assert_eq!(state, "running\n", "thawed after the export");
    let out = env.run_bocker(&["export", "no-such-container"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn a_stopped_container_starts_again_with_its_files_and_name_and_kill_sends_signals() {
    let _idea = idea("start runs a stopped container again in the background: the same id, name and root filesystem, a new process, its log going on; start of a running one changes nothing; restart gives it a new process; kill -s SIGNAL signals its first process (SIGKILL by default); a stopped one is refused in one line, a bad signal is a usage error");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "svc",
            &image,
            "sh",
            "-c",
            "echo started; exec sleep 1000",
        ],
    )
    .trim()
    .to_string();
    let first_pid = env.running_pid(&id).expect("running");
    env.bocker_ok(&["exec", "svc", "sh", "-c", "echo kept > /kept"], NONE);
    env.stop("svc");
    assert_eq!(
        bocker_text(&env, &["inspect", "-f", "{{.State.Status}}", "svc"]),
        "exited\n"
    );

    assert_eq!(bocker_text(&env, &["start", "svc"]), format!("{id}\n"));
    let second_pid = env.running_pid(&id).expect("running again");
    assert_ne!(second_pid, first_pid, "a new process");
    let out = env.bocker_ok(&["exec", "svc", "cat", "/kept"], NONE);
    assert_eq!(text(&out.stdout), "kept\n", "the same root filesystem");
    let mut log = String::new();
    for _ in 0..100 {
        log = bocker_text(&env, &["logs", "svc"]);
        if log == "started\nstarted\n" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(log, "started\nstarted\n", "the log goes on");
    assert_eq!(
        bocker_text(&env, &["start", "svc"]),
        format!("{id}\n"),
        "already running: nothing changes"
    );
    assert_eq!(env.running_pid(&id), Some(second_pid));

    env.bocker_ok(&["restart", "-t", "0", "svc"], NONE);
    let third_pid = env.running_pid(&id).expect("restarted");
    assert_ne!(third_pid, second_pid, "restart: a new process");

    let out = env.run_bocker(&["kill", "-s", "NOPE", "svc"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert_eq!(
        bocker_text(&env, &["kill", "-s", "KILL", "svc"]),
        format!("{id}\n")
    );
    assert_eq!(
        bocker_text(&env, &["wait", "svc"]),
        "137\n",
        "128 + SIGKILL"
    );
    let out = env.run_bocker(&["kill", "svc"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not running"),
        "{}",
        describe(&out)
    );
    env.bocker_ok(&["rm", "svc"], NONE);
    env.assert_no_leaks();
}

#[test]
fn create_makes_a_container_that_start_runs() {
    let _idea = idea("create (without --bundle: Docker's) makes the container, its root and its record, and starts nothing: ps says Created, inspect created; start then runs its command; create --rm is removed after its run; with --bundle, create stays the OCI runtime's");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "create",
            "--name",
            "later",
            "-e",
            "WHO=world",
            &image,
            "sh",
            "-c",
            "echo hello $WHO",
        ],
    )
    .trim()
    .to_string();
    assert!(id.starts_with("ps_"), "{id}");
    let status = bocker_text(&env, &["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert_eq!(status, "later Created\n");
    assert_eq!(
        bocker_text(
            &env,
            &["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "later"]
        ),
        "created 0\n"
    );
    assert!(
        env.container_rootfs(&id).join("bin/busybox").exists(),
        "its root is made"
    );
    assert_eq!(bocker_text(&env, &["start", "later"]), format!("{id}\n"));
    assert_eq!(bocker_text(&env, &["wait", "later"]), "0\n");
    assert_eq!(bocker_text(&env, &["logs", "later"]), "hello world\n");

    let once = bocker_text(&env, &["create", "--rm", &image, "true"])
        .trim()
        .to_string();
    assert_eq!(
        bocker_text(
            &env,
            &["inspect", "-f", "{{.HostConfig.AutoRemove}}", &once]
        ),
        "true\n"
    );
    env.bocker_ok(&["start", &once], NONE);
    let mut gone = false;
    for _ in 0..100 {
        if !env.root().join("containers").join(&once).exists() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(gone, "create --rm: removed once its command ended");

    let out = env.run_bocker(&[
        "create",
        "--bundle",
        env.dir().to_str().unwrap(),
        "an-oci-id",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("config.json"),
        "with --bundle it is the OCI runtime's create: {}",
        describe(&out)
    );
    env.bocker_ok(&["rm", "later"], NONE);
    wait_for_every_keeper(&env);
    env.assert_no_leaks();
}

/// Poll `done` every 50 ms for up to `seconds`; whether it came true.
fn eventually(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..seconds * 20 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

#[test]
fn restart_policies_start_a_container_again_until_they_say_no_or_stop_says_so() {
    let _idea = idea("--restart on-failure:2 starts a failing container again twice (Docker's back-off between), then leaves it exited with its code and RestartCount 2; --restart always starts it again after each end until `stop`, after which it stays stopped; --restart with --rm, without -d, or unknown is refused in one line");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let failing = bocker_text(
        &env,
        &[
            "run",
            "-d",
            "--restart",
            "on-failure:2",
            &image,
            "sh",
            "-c",
            "echo run; exit 3",
        ],
    )
    .trim()
    .to_string();
    let inspect = |id: &str| {
        bocker_text(
            &env,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                id,
            ],
        )
    };
    assert!(
        eventually(10, || inspect(&failing) == "exited 3 2\n"),
        "three runs, then exited: {}",
        inspect(&failing)
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        bocker_text(&env, &["logs", &failing]),
        "run\nrun\nrun\n",
        "no fourth run"
    );
    assert_eq!(
        bocker_text(
            &env,
            &[
                "inspect",
                "-f",
                "{{json .HostConfig.RestartPolicy}}",
                &failing
            ]
        ),
        "{\"MaximumRetryCount\":2,\"Name\":\"on-failure\"}\n"
    );

    let looping = bocker_text(
        &env,
        &[
            "run",
            "-d",
            "--restart",
            "always",
            &image,
            "sh",
            "-c",
            "echo up; sleep 0.2",
        ],
    )
    .trim()
    .to_string();
    let runs = |env: &TestEnv| bocker_text(env, &["logs", &looping]).lines().count();
    assert!(
        eventually(10, || runs(&env) >= 3),
        "always: started again and again"
    );
    env.stop(&looping);
    let after_stop = runs(&env);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        runs(&env),
        after_stop,
        "stopped by the user: not started again"
    );
    assert!(
        inspect(&looping).starts_with("exited "),
        "{}",
        inspect(&looping)
    );

    for (args, said) in [
        (
            &["run", "-d", "--rm", "--restart", "always", &image, "true"][..],
            "conflict",
        ),
        (&["run", "--restart", "always", &image, "true"], "needs -d"),
        (
            &["run", "-d", "--restart", "sometimes", &image, "true"],
            "invalid --restart",
        ),
    ] {
        let out = env.run_bocker(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(
            err.lines().count() == 1 && err.contains(said),
            "{args:?}: {err}"
        );
    }
    env.assert_no_leaks();
}

#[test]
fn volumes_bind_host_folders_tmpfs_and_a_read_only_root() {
    let _idea = idea("-v HOST:CTR shows the host's folder inside (writes reach the host), :ro refuses writes; an image's symlink at the target leads inside the image, never to the host's path (CVE-2021-30465); --tmpfs mounts a fresh tmpfs with its size; --read-only refuses writes to the root but not to volumes and /tmp; bad paths are refused in one line");
    let env = TestEnv::new();
    // The image has /data -> /etc: a volume on /data must land on the
    // image's /etc, not the host's.
    let tree = env.dir().join("tree");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(env.busybox_rootfs())
        .arg(&tree)
        .status()
        .unwrap();
    assert!(copied.success());
    std::os::unix::fs::symlink("/etc", tree.join("data")).unwrap();
    let image = text(
        &env.bocker_ok(&["init", tree.to_str().unwrap()], NONE)
            .stdout,
    )
    .trim()
    .trim_start_matches("Created: ")
    .to_string();
    let host = env.dir().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("from-host"), "hello from the host\n").unwrap();
    let volume = format!("{}:/srv", host.display());

    let out = bocker_text(
        &env,
        &[
            "run",
            "--rm",
            "-v",
            &volume,
            &image,
            "sh",
            "-c",
            "cat /srv/from-host; echo back > /srv/from-container",
        ],
    );
    assert_eq!(out, "hello from the host\n");
    assert_eq!(
        std::fs::read_to_string(host.join("from-container")).unwrap(),
        "back\n",
        "what the container wrote is on the host"
    );

    let read_only = format!("{volume}:ro");
    let out = env.run_bocker(&[
        "run",
        "--rm",
        "-v",
        &read_only,
        &image,
        "sh",
        "-c",
        "echo x > /srv/nope",
    ]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        describe(&out)
    );

    let through_link = format!("{}:/data", host.display());
    let out = bocker_text(
        &env,
        &[
            "run",
            "--rm",
            "-v",
            &through_link,
            &image,
            "sh",
            "-c",
            "cat /etc/from-host; readlink /data",
        ],
    );
    assert_eq!(
        out, "hello from the host\n/etc\n",
        "the image's /data -> /etc was followed inside the image"
    );
    assert!(
        !std::path::Path::new("/etc/from-host").exists(),
        "the host's /etc untouched"
    );

    let out = bocker_text(
        &env,
        &[
            "run", "--rm", "--tmpfs", "/scratch:size=1m", &image, "sh", "-c",
            "grep ' /scratch ' /proc/mounts | cut -d' ' -f1,3; dd if=/dev/zero of=/scratch/f bs=1k count=2048 2>/dev/null || echo full",
        ],
    );
    assert_eq!(out, "tmpfs tmpfs\nfull\n", "a 1 MiB tmpfs");

    let out = bocker_text(
        &env,
        &[
            "run", "--rm", "--read-only", "-v", &volume, &image, "sh", "-c",
            "touch /x 2>/dev/null || echo root refused; touch /tmp/x && echo tmp ok; touch /srv/y && echo volume ok",
        ],
    );
    assert_eq!(out, "root refused\ntmp ok\nvolume ok\n");

    let long_form = format!("type=bind,source={},target=/m,readonly", host.display());
    let out = bocker_text(
        &env,
        &[
            "run",
            "--rm",
            "--mount",
            &long_form,
            &image,
            "sh",
            "-c",
            "cat /m/from-host; touch /m/x 2>/dev/null || echo refused",
        ],
    );
    assert_eq!(
        out, "hello from the host\nrefused\n",
        "--mount, Docker's long form"
    );
    let missing = format!("type=bind,source={}/missing,target=/m", host.display());
    let out = env.run_bocker(&["run", "--rm", "--mount", &missing, &image, "true"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--mount does not make a missing folder: {}",
        describe(&out)
    );

    let id = bocker_text(
        &env,
        &[
            "run", "-d", "-v", &read_only, "--tmpfs", "/run", &image, "sleep", "100",
        ],
    )
    .trim()
    .to_string();
    let mounts: Value = serde_json::from_str(&bocker_text(
        &env,
        &["inspect", "-f", "{{json .Mounts}}", &id],
    ))
    .unwrap();
    assert_eq!(mounts[0]["Type"], "bind");
    assert_eq!(mounts[0]["Destination"], "/srv");
    assert_eq!(mounts[0]["RW"], false);
    assert_eq!(mounts[1]["Type"], "tmpfs");
    env.stop(&id);

    for (args, said) in [
        (
            &["run", "--rm", "-v", "./relative:/x", &image, "true"][..],
            "absolute",
        ),
        (
            &["run", "--rm", "--tmpfs", "/proc", &image, "true"],
            "chapter 3",
        ),
        (
            &["run", "--rm", "-v", "/tmp:/a:rx", &image, "true"],
            "unknown mode",
        ),
    ] {
        let out = env.run_bocker(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(
            err.lines().count() == 1 && err.contains(said),
            "{args:?}: {err}"
        );
    }
    env.assert_no_leaks();
}

#[test]
fn cp_copies_both_ways_and_a_containers_links_never_reach_the_host() {
    let _idea = idea("cp CONTAINER:PATH HOST copies a file or a folder out, cp HOST CONTAINER:PATH copies in; a symlink the container planted to a host path (absolute) resolves inside the container's root: cp neither reads the host's file nor writes into the host's folder through it (openat2 RESOLVE_IN_ROOT)");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let secret = env.dir().join("host-secret");
    std::fs::write(&secret, "the host's secret\n").unwrap();
    let victim = env.dir().join("host-folder");
    std::fs::create_dir(&victim).unwrap();
    let script = format!(
        "mkdir -p /out/tree/deep && echo file > /out/file && echo deep > /out/tree/deep/f \
         && ln -s {} /leak && ln -s {} /drop && exec sleep 1000",
        secret.display(),
        victim.display()
    );
    let id = bocker_text(&env, &["run", "-d", &image, "sh", "-c", &script])
        .trim()
        .to_string();
    assert!(
        eventually(10, || env
            .container_rootfs(&id)
            .join("drop")
            .symlink_metadata()
            .is_ok()),
        "the container made its links"
    );
    let out_dir = env.dir().join("copied");
    std::fs::create_dir(&out_dir).unwrap();
    let here = out_dir.to_str().unwrap();
    env.bocker_ok(&["cp", &format!("{id}:/out/file"), here], NONE);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("file")).unwrap(),
        "file\n"
    );
    env.bocker_ok(&["cp", &format!("{id}:/out/tree"), here], NONE);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("tree/deep/f")).unwrap(),
        "deep\n",
        "a folder, whole"
    );
    let into = env.dir().join("into");
    std::fs::write(&into, "from the host\n").unwrap();
    env.bocker_ok(
        &["cp", into.to_str().unwrap(), &format!("{id}:/out/")],
        NONE,
    );
    let out = env.bocker_ok(&["exec", &id, "cat", "/out/into"], NONE);
    assert_eq!(text(&out.stdout), "from the host\n");

    let leaked = env.dir().join("leaked");
    let out = env.run_bocker(&["cp", &format!("{id}:/leak"), leaked.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "the link leads inside the container, where nothing is: {}",
        describe(&out)
    );
    assert!(
        std::fs::read_to_string(&leaked).map_or(true, |text| !text.contains("secret")),
        "the host's file was never read"
    );
    let out = env.run_bocker(&["cp", into.to_str().unwrap(), &format!("{id}:/drop/planted")]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written into the host's folder through the link"
    );
    let out = env.run_bocker(&["cp", "/etc/hostname", "/tmp/nowhere"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "neither side a container: {}",
        describe(&out)
    );
    env.stop(&id);
    env.assert_no_leaks();
}

#[test]
fn events_lists_what_happened_and_follows_what_happens() {
    let _idea = idea("events --since/--until lists a container's create, start, die (with its exit code), rename and destroy in order, filtered by container and event; without --since it prints only new events as they happen, until --until; a bad filter is a usage error");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let now = || humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    let before = now();
    let id = bocker_text(
        &env,
        &["run", "-d", "--name", "ev", &image, "sh", "-c", "exit 5"],
    )
    .trim()
    .to_string();
    assert_eq!(bocker_text(&env, &["wait", "ev"]), "5\n");
    env.bocker_ok(&["rename", "ev", "ev2"], NONE);
    env.bocker_ok(&["rm", "ev2"], NONE);
    let after = now();
    let listed = bocker_text(
        &env,
        &[
            "events",
            "--since",
            &before,
            "--until",
            &after,
            "--filter",
            &format!("container={id}"),
            "--format",
            "{{.Action}} {{.Actor.Attributes.exitCode}}",
        ],
    );
    assert_eq!(
        listed,
        "create <no value>\nstart <no value>\ndie 5\nrename <no value>\ndestroy <no value>\n"
    );
    let dies = bocker_text(
        &env,
        &[
            "events",
            "--since",
            &before,
            "--until",
            &after,
            "-f",
            "event=die",
        ],
    );
    assert!(
        dies.lines().count() == 1
            && dies.contains(&format!(
                "container die {id} (exitCode=5, image={image}, name=ev)"
            )),
        "Docker's line: {dies}"
    );

    let until =
        humantime::format_rfc3339(std::time::SystemTime::now() + std::time::Duration::from_secs(3))
            .to_string();
    let follower = env.spawn_bocker(&[
        "events",
        "--until",
        &until,
        "-f",
        "event=start",
        "--format",
        "{{.Actor.ID}}",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = bocker_text(&env, &["run", "-d", &image, "true"])
        .trim()
        .to_string();
    let out = follower.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        format!("{started}\n"),
        "only the new start, then it ended at --until"
    );

    let out = env.run_bocker(&["events", "--filter", "colour=red"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    wait_for_every_keeper(&env);
    env.assert_no_leaks();
}

#[test]
fn named_volumes_keep_data_start_with_the_images_files_and_are_kept_while_used() {
    let _idea = idea("volume create/ls/inspect; -v NAME:/path mounts a volume made on first use, whose files outlive the container; an empty volume starts with what the image has at that path; volume rm refuses a volume a container uses, and prune --force removes the unused ones");
    let env = TestEnv::new();
    let image = env.busybox_image();
    assert_eq!(bocker_text(&env, &["volume", "create", "data1"]), "data1\n");
    assert!(bocker_text(&env, &["volume", "ls"])
        .lines()
        .any(|l| l.ends_with(" data1")));
    let inspected: Value =
        serde_json::from_str(&bocker_text(&env, &["volume", "inspect", "data1"])).unwrap();
    let mountpoint = inspected[0]["Mountpoint"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&mountpoint).is_dir(), "{inspected}");

    env.bocker_ok(
        &[
            "run",
            "--rm",
            "-v",
            "data1:/data",
            &image,
            "sh",
            "-c",
            "echo persisted > /data/f",
        ],
        NONE,
    );
    assert_eq!(
        bocker_text(
            &env,
            &["run", "--rm", "-v", "data1:/data", &image, "cat", "/data/f"]
        ),
        "persisted\n",
        "a second container sees the first one's file"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{mountpoint}/f")).unwrap(),
        "persisted\n"
    );

    let listed = bocker_text(
        &env,
        &[
            "run",
            "--rm",
            "-v",
            "etc-copy:/etc",
            &image,
            "cat",
            "/etc/passwd",
        ],
    );
    assert!(
        listed.starts_with("root:"),
        "a new volume starts with the image's /etc: {listed}"
    );

    let id = bocker_text(
        &env,
        &["run", "-d", "-v", "data1:/data", &image, "sleep", "100"],
    )
    .trim()
    .to_string();
    let mounts = bocker_text(&env, &["inspect", "-f", "{{json .Mounts}}", &id]);
    assert!(
        mounts.contains("\"Type\":\"volume\"") && mounts.contains("\"Name\":\"data1\""),
        "{mounts}"
    );
    let out = env.run_bocker(&["volume", "rm", "data1"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("in use"), "{}", describe(&out));
    env.stop(&id);
    env.bocker_ok(&["rm", &id], NONE);
    assert_eq!(bocker_text(&env, &["volume", "rm", "data1"]), "data1\n");
    assert!(!std::path::Path::new(&mountpoint).exists());

    env.bocker_ok(&["volume", "create", "unused"], NONE);
    let pruned = bocker_text(&env, &["volume", "prune", "--force"]);
    assert!(
        pruned.contains("unused") && pruned.contains("etc-copy"),
        "{pruned}"
    );
    assert_eq!(bocker_text(&env, &["volume", "ls", "-q"]), "");
    let out = env.run_bocker(&["volume", "create", "../up"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    env.assert_no_leaks();
}

#[test]
fn a_volume_half_made_by_a_killed_bocker_is_swept() {
    let _idea = idea("a named volume's draft (.new-PID-NAME) or trash (.trash-PID-NAME) left by a bocker that was killed is removed by the next command's sweep; a live bocker's is left alone");
    let env = TestEnv::new();
    env.busybox_image();
    let volumes = env.root().join("volumes");
    // pid 999999999 is above any pid_max: no such process.
    for name in [".new-999999999-v", ".trash-999999999-w"] {
        std::fs::create_dir_all(volumes.join(name).join("_data")).unwrap();
    }
    let alive = format!(".new-{}-x", std::process::id());
    std::fs::create_dir_all(volumes.join(&alive)).unwrap();
    env.bocker_ok(&["volume", "ls"], NONE);
    let left: Vec<String> = std::fs::read_dir(&volumes)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [alive], "only the live bocker's draft is left");
}

#[test]
fn attach_and_start_a_print_the_output_and_end_with_the_exit_code() {
    let _idea = idea("attach prints what a background container prints from then on, each stream to its own, and ends with its exit code; start -a starts a created container and does the same from its first line, without printing its id; a stopped container cannot be attached to");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let id = bocker_text(
        &env,
        &[
            "run",
            "-d",
            &image,
            "sh",
            "-c",
            "echo early; sleep 1; echo late; echo oops >&2; exit 7",
        ],
    )
    .trim()
    .to_string();
    let out = env.run_bocker(&["attach", &id]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "late\n", "what came after the attach");
    assert_eq!(text(&out.stderr), "oops\n");
    let out = env.run_bocker(&["attach", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    let created = bocker_text(&env, &["create", &image, "sh", "-c", "echo hi; exit 3"])
        .trim()
        .to_string();
    let out = env.run_bocker(&["start", "-a", &created]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout),
        "hi\n",
        "its output from the first line, no id"
    );
    wait_for_every_keeper(&env);
    env.assert_no_leaks();
}
