//! The OCI runtime interface: the command line runc has, which container
//! engines call. podman (through conmon) and containerd (through its shim)
//! run any program that answers it, given `--runtime` or
//! `--runc-binary`.
//!
//! A container goes through the runtime spec's states, one command each:
//!
//! ```text
//!   create ──▶ created ── start ──▶ running ── (its process exits) ──▶ stopped
//!   (bundle:                                                             │
//!    config.json                               delete ◀──────────────────┘
//!    + rootfs)   state: prints where it is; kill: sends a signal
//! ```
//!
//! The engine owns what Bocker's verbs do themselves: the image and its
//! root filesystem (the bundle), the container's name, its logs (it hands
//! over stdin, stdout and stderr, and keeps reading them), and waiting for
//! it to end (it is the parent bocker leaves behind). bocker makes the
//! container with the frame's pieces: the cgroup, the chapters' clone,
//! pivot_root, masks and lock-in.

pub mod bundle;
pub mod child;
pub mod devices;
pub mod exec;
pub mod hooks;
pub mod mounts;
pub mod update;

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use serde_json::{json, Value};

use crate::errors::{Failure, USAGE};
use crate::runtime::cgroup;
use crate::runtime::process::pidfd::PidFd;
use crate::spec::{Liveness, ProcessId};
use crate::state::oci::{OciRecord, OciStore};

/// The runtime spec's version bocker answers with.
pub const OCI_VERSION: &str = "1.2.0";

/// `create`'s options.
#[derive(Debug, Default)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    /// Where the engine waits for the terminal (process.terminal).
    pub console_socket: Option<PathBuf>,
}

/// Make container `id` from `options.bundle`, and leave its process
/// waiting for `start`. On failure nothing is left: no cgroup, no state.
pub fn create(store: &OciStore, id: &str, options: &CreateOptions) -> Result<()> {
    let bundle = bundle::read(&options.bundle)?;
    let console = console_for(bundle.process.terminal, options.console_socket.as_deref())?;
    crate::runtime::process::ensure_single_threaded()?;
    store.make_dir(id)?;
    let cgroup_path = bundle
        .cgroup_path
        .clone()
        .unwrap_or_else(|| cgroup::path_of(id));
    let mut record = OciRecord {
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        process: None,
        cgroup_path: cgroup_path.clone(),
        annotations: bundle.annotations.clone(),
        created: crate::state::records::now(),
        limits: bundle.limits.clone(),
        memory_swap: bundle.memory_swap,
        hooks: bundle.hooks.clone(),
        user_namespace: bundle.id_maps.is_some(),
    };
    let made = (|| -> Result<()> {
        store.write(&record)?;
        if let Some((parent, _)) = cgroup_path.rsplit_once('/') {
            cgroup::prepare_parent_at(parent)?;
        }
        cgroup::create_at(&cgroup_path, &bundle.limits)?;
        if let (Some(limit), Some(swap)) = (bundle.limits.memory, bundle.memory_swap) {
            allow_swap(&cgroup_path, limit, swap)?;
        }
        if let Some(extra) = &bundle.device_rules {
            let allowed: Vec<_> = cgroup::devices::ALLOWED
                .iter()
                .chain(extra)
                .copied()
                .collect();
            cgroup::restrict_devices_at(&cgroup_path, &allowed)?;
        }
        let fifo_path = store.fifo_of(id);
        nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o622))
            .context("cannot make exec.fifo")?;
        if let Some(maps) = &bundle.id_maps {
            // The process opens it as the container's root, an ordinary
            // user out here (as runc does).
            let (uid, gid) = maps.root_on_the_host();
            nix::unistd::chown(
                &fifo_path,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .context("cannot give exec.fifo to the container's root")?;
        }
        let pid = start_process(&bundle, &record, &fifo_path, console.as_ref())?;
        record.process = ProcessId::of(pid.as_raw());
        store.write(&record)?;
        if let Some(pid_file) = &options.pid_file {
            write_pid_file(pid_file, pid.as_raw())?;
        }
        Ok(())
    })();
    if let Err(error) = made {
        undo(store, &record);
        return Err(error);
    }
    Ok(())
}

/// Raise the swap limit the frame set to "none" (cgroup/chapter.rs) to
/// what config.json says: v1 counts memory and swap together
/// (memory.memsw.limit_in_bytes), v2 swap alone (memory.swap.max). A
/// kernel without swap accounting has neither file: no swap limit at all,
/// as with runc.
fn allow_swap(cgroup_path: &str, limit: u64, swap: i64) -> Result<()> {
    let v2 = cgroup::hierarchy().v2();
    let Some(group) = cgroup::existing_at(cgroup_path) else {
        bail!("the cgroup {cgroup_path} vanished");
    };
    let Some(dir) = cgroup::directory(&group, cgroups_rs::fs::Controllers::Mem) else {
        return Ok(());
    };
    let (file, value) = match (v2, swap) {
        (true, -1) => ("memory.swap.max", "max".to_string()),
        (true, _) => ("memory.swap.max", (swap as u64 - limit).to_string()),
        (false, _) => ("memory.memsw.limit_in_bytes", swap.to_string()),
    };
    let path = dir.join(file);
    if path.exists() {
        fs::write(&path, value).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// clone the child, wait for it to be ready, let it go on alone. On any
/// failure the child is killed.
fn start_process(
    bundle: &bundle::Bundle,
    record: &OciRecord,
    fifo_path: &Path,
    console: Option<&OwnedFd>,
) -> Result<nix::unistd::Pid> {
    let (from_parent, to_child) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (from_child, to_parent) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let fifo = nix::fcntl::open(fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())?;
    let state = state_json(record, Status::Creating, 0);
    let plan = child::ChildPlan {
        bundle,
        cgroup_path: &record.cgroup_path,
        state: &state,
        from_parent: &from_parent,
        to_parent: &to_parent,
        fifo: &fifo,
        console,
        parents_fds: [to_child.as_raw_fd(), from_child.as_raw_fd()],
        host_namespaces: child::HostNamespaces::of_this_process()?,
    };
    // The cgroup namespace is made by the child after it joins its
    // cgroup (child.rs); every other new namespace at clone.
    let flags = bundle.new_namespaces - CloneFlags::CLONE_NEWCGROUP;
    let pid = chapter_clone(&mut || child::run(&plan), flags)?;
    drop((from_parent, to_parent, fifo));
    // With a user namespace, the child waits for its maps and its cgroup,
    // which only we, root out here, may write.
    if let Some(maps) = &bundle.id_maps {
        if let Err(error) = map_and_place(pid, maps, &record.cgroup_path, &to_child) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            return Err(error);
        }
    }
    // With prestart or createRuntime hooks, the child stops before
    // pivot_root and asks for them (hooks.rs); they run here, in the
    // host's namespaces, told the child's pid.
    let mut run_runtime_hooks = || -> Result<()> {
        let state = state_json(record, Status::Creating, pid.as_raw());
        hooks::run_all("prestart", &bundle.hooks.prestart, &state)?;
        hooks::run_all("createRuntime", &bundle.hooks.create_runtime, &state)?;
        nix::unistd::write(&to_child, &[child::HOOKS_DONE])?;
        Ok(())
    };
    let ready = read_report(from_child, &mut run_runtime_hooks);
    if let Err(error) = ready {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        return Err(error);
    }
    // "created": the child stops dying with us, and waits on exec.fifo.
    fs::File::from(to_child).write_all(b"c")?;
    Ok(pid)
}

/// For a child in a user namespace of its own: write its uid and gid
/// maps (/proc/PID/uid_map and gid_map: only a process outside, with
/// CAP_SETUID and CAP_SETGID there, may map ranges of other ids), move it
/// into its cgroup, and tell it to go on.
fn map_and_place(
    pid: nix::unistd::Pid,
    maps: &bundle::IdMaps,
    cgroup_path: &str,
    to_child: &OwnedFd,
) -> Result<()> {
    for (file, map) in [("uid_map", &maps.uid), ("gid_map", &maps.gid)] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, bundle::IdMaps::lines(map))
            .with_context(|| format!("cannot write {path} (linux.{file})"))?;
    }
    cgroup::move_process_at(cgroup_path, pid.as_raw())?;
    nix::unistd::write(to_child, &[child::MAPPED])?;
    Ok(())
}

/// A terminal needs the engine's socket, and the socket a terminal: runc
/// refuses either alone. Connected here, on the host, for the process to
/// inherit.
pub(crate) fn console_for(terminal: bool, socket: Option<&Path>) -> Result<Option<OwnedFd>> {
    match (terminal, socket) {
        (false, None) => Ok(None),
        (true, Some(path)) => {
            let stream = std::os::unix::net::UnixStream::connect(path).with_context(|| {
                format!("cannot connect to --console-socket {}", path.display())
            })?;
            Ok(Some(OwnedFd::from(stream)))
        }
        (true, None) => bail!(Failure::new(
            USAGE,
            "process.terminal is true: a terminal needs --console-socket"
        )),
        (false, Some(_)) => bail!(Failure::new(
            USAGE,
            "--console-socket given, but process.terminal is false"
        )),
    }
}

/// Chapter 2's start_child: clone(2) into the new namespaces.
fn chapter_clone(child: &mut dyn FnMut() -> isize, flags: CloneFlags) -> Result<nix::unistd::Pid> {
    crate::course::exercise::catch_panic(|| {
        crate::runtime::process::namespaces::start_child(child, flags)
    })
    .map_err(anyhow::Error::msg)?
}

/// The child's answer: one zero byte, or why it failed (end-of-file: it
/// died without a word). Before it, the child may ask for the runtime's
/// hooks (one byte, HOOKS): `run_hooks` runs them and answers.
fn read_report(from_child: OwnedFd, run_hooks: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    let mut from_child = fs::File::from(from_child);
    // The first byte decides: "ready" keeps the pipe open (the child waits
    // for "created"), so only a failure is read to its end.
    let mut first = [0u8; 1];
    loop {
        if from_child.read(&mut first)? == 0 {
            bail!("the container's process died while it was being set up");
        }
        match first[0] {
            child::READY => return Ok(()),
            child::HOOKS => run_hooks()?,
            _ => break,
        }
    }
    let mut answer = first.to_vec();
    from_child.read_to_end(&mut answer)?;
    Err(anyhow!(Failure::start_failed(&anyhow!(
        String::from_utf8_lossy(&answer).into_owned()
    ))))
}

/// The pid file conmon and the shim read: written whole or not at all.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("bocker-tmp");
    fs::write(&tmp, pid.to_string()).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write the pid file {}", path.display()))
}

/// What a failed `create` or a `delete` takes away: the process (if it
/// still runs), the cgroup, the state.
fn undo(store: &OciStore, record: &OciRecord) {
    kill_everything(record);
    remove_cgroup(&record.cgroup_path);
    let _ = store.remove(&record.id);
}

/// The runtime spec's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Where container `record` is now.
pub fn status(store: &OciStore, record: &OciRecord) -> Status {
    let Some(process) = record.process else {
        return Status::Creating;
    };
    if process.liveness() != Liveness::Alive {
        return Status::Stopped;
    }
    if store.fifo_of(&record.id).exists() {
        return Status::Created;
    }
    match cgroup::existing_at(&record.cgroup_path) {
        Some(group) if cgroup::is_frozen(&group) => Status::Paused,
        _ => Status::Running,
    }
}

/// Refuse a verb unless container `record` is in one of the `allowed`
/// statuses: "container ID is stopped: `why`". Returns where it is.
pub(crate) fn require_status(
    store: &OciStore,
    record: &OciRecord,
    allowed: &[Status],
    why: &str,
) -> Result<Status> {
    let status = status(store, record);
    if !allowed.contains(&status) {
        bail!(Failure::new(
            USAGE,
            format!("container {} is {}: {why}", record.id, status.name())
        ));
    }
    Ok(status)
}

/// `state ID`: the runtime spec's state, as JSON.
pub fn state(store: &OciStore, id: &str) -> Result<Value> {
    let record = store.read(id)?;
    let status = status(store, &record);
    let pid = match status {
        Status::Stopped | Status::Creating => 0,
        _ => record.process.map_or(0, |process| process.pid),
    };
    Ok(state_json(&record, status, pid))
}

/// The runtime spec's state object: what `state` prints, and what each
/// hook reads on its stdin.
fn state_json(record: &OciRecord, status: Status, pid: i32) -> Value {
    json!({
        "ociVersion": OCI_VERSION,
        "id": record.id,
        "status": status.name(),
        "pid": pid,
        "bundle": record.bundle,
        "rootfs": record.rootfs,
        "annotations": record.annotations,
    })
}

/// `start ID`: let the created container's process execute its command.
pub fn start(store: &OciStore, id: &str) -> Result<()> {
    let record = store.read(id)?;
    require_status(
        store,
        &record,
        &[Status::Created],
        "only a created one starts",
    )?;
    let fifo_path = store.fifo_of(id);
    // The waiting process holds exec.fifo open for reading: O_NONBLOCK
    // opens for writing at once, or fails with ENXIO if nobody reads any
    // more (the process has died).
    let fifo = nix::fcntl::open(
        &fifo_path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    );
    let mut fifo = match fifo {
        Ok(fd) => fs::File::from(fd),
        Err(nix::errno::Errno::ENXIO) => bail!("container {id} ended before it started"),
        Err(error) => return Err(error).context("cannot open exec.fifo"),
    };
    fifo.write_all(&[0]).context("cannot write to exec.fifo")?;
    fs::remove_file(&fifo_path).context("cannot remove exec.fifo")?;
    let pid = record.process.map_or(0, |process| process.pid);
    let state = state_json(&record, Status::Running, pid);
    hooks::run_all_warning("poststart", &record.hooks.poststart, &state);
    Ok(())
}

/// `kill ID SIGNAL`: to the container's process, or with `all` to every
/// process of its cgroup.
pub fn kill(store: &OciStore, id: &str, signal: Signal, all: bool) -> Result<()> {
    let record = store.read(id)?;
    let alive = [Status::Created, Status::Running, Status::Paused];
    require_status(store, &record, &alive, "nothing to signal")?;
    if all {
        for pid in cgroup::pids_at(&record.cgroup_path) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
        return Ok(());
    }
    let process = record.process.context("no process")?;
    // A pidfd, opened for this very process (its start time checked):
    // the signal cannot reach another that took its pid meanwhile.
    let pidfd =
        PidFd::open(&process).with_context(|| format!("container {id} has no process any more"))?;
    pidfd
        .signal(signal)
        .with_context(|| format!("cannot send {signal} to container {id}"))
}

/// `features`: what this runtime honours, in the runtime spec's shape
/// (features.md), for an engine to look at before it writes config.json.
/// Each list is what bundle.rs accepts.
pub fn features() -> Value {
    let mut capabilities: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    capabilities.sort();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "SCMP_ARCH_X86_64",
        "aarch64" => "SCMP_ARCH_AARCH64",
        other => other,
    };
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": bundle::mount_option_names(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": capabilities,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                            "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                            "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                              "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": [arch]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        },
        "annotations": {"io.github.bocker.version": env!("CARGO_PKG_VERSION")}
    })
}

/// `ps ID`: the pids (as the host numbers them) of every process of the
/// container's cgroup.
pub fn processes(store: &OciStore, id: &str) -> Result<Vec<i32>> {
    let record = store.read(id)?;
    let mut pids = cgroup::pids_at(&record.cgroup_path);
    pids.sort_unstable();
    Ok(pids)
}

/// `pause ID` / `resume ID`: freeze or thaw every process of the
/// container's cgroup (chapter 4's set_frozen).
pub fn set_paused(store: &OciStore, id: &str, paused: bool) -> Result<()> {
    let record = store.read(id)?;
    let (wanted, why) = if paused {
        (Status::Running, "only a running one pauses")
    } else {
        (Status::Paused, "only a paused one resumes")
    };
    require_status(store, &record, &[wanted], why)?;
    let group = cgroup::existing_at(&record.cgroup_path)
        .with_context(|| format!("container {id} has no cgroup"))?;
    crate::course::exercise::catch_panic(|| cgroup::chapter::set_frozen(&group, paused))
        .map_err(anyhow::Error::msg)?
}

/// `delete ID`: a stopped (or created) container's cgroup and state go;
/// with `force`, a running one is killed first.
pub fn delete(store: &OciStore, id: &str, force: bool) -> Result<()> {
    let record = match store.read(id) {
        Ok(record) => record,
        // --force on a container that is not there is not an error (runc).
        Err(_) if force && crate::state::oci::check_id(id).is_ok() => return Ok(()),
        Err(error) => return Err(error),
    };
    if !force {
        let not_running = [Status::Creating, Status::Created, Status::Stopped];
        require_status(
            store,
            &record,
            &not_running,
            "stop it first, or delete --force",
        )?;
    }
    kill_everything(&record);
    remove_cgroup(&record.cgroup_path);
    store.remove(id)?;
    let state = state_json(&record, Status::Stopped, 0);
    hooks::run_all_warning("poststop", &record.hooks.poststop, &state);
    Ok(())
}

/// SIGKILL to every process of the container (the cgroup's, and its
/// first), and wait until they are gone.
fn kill_everything(record: &OciRecord) {
    let process = record.process;
    if let Some(group) = cgroup::existing_at(&record.cgroup_path) {
        // A frozen process does not die until thawed.
        let _ = crate::course::exercise::catch_panic(|| cgroup::chapter::set_frozen(&group, false));
    }
    for pid in cgroup::pids_at(&record.cgroup_path) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
    if let Some(pidfd) = process.as_ref().and_then(PidFd::open) {
        let _ = pidfd.signal(Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let first_gone = process.is_none_or(|p| p.liveness() == Liveness::Gone);
        if first_gone && cgroup::pids_at(&record.cgroup_path).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// rmdir each of the cgroup's directories (a cgroup is removed with
/// rmdir, its files go with it); and bocker's own parent (`bocker/`,
/// where a bundle without cgroupsPath put it) once it is empty, as
/// Bocker's teardown does. An engine's parent is the engine's.
fn remove_cgroup(path: &str) {
    for dir in cgroup::directories_at(path).iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    if path.rsplit_once('/').map(|(parent, _)| parent) == Some(cgroup::parent().as_str()) {
        cgroup::remove_parent_if_empty();
    }
}
