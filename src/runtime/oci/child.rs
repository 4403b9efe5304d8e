//! The container's process of an OCI bundle, from clone(2) to execve(2).
//!
//! The same steps as bocker's own child (process/child.rs), in the order
//! runc takes them, with what config.json says instead of `run`'s flags;
//! then it waits: `create` returns while it sits in read(2) on exec.fifo,
//! and `start`'s one byte lets it go on.
//!
//! ```text
//!   create ── clone ──▶ child: cgroup, namespaces, mounts, pivot_root,
//!     │                        masks, limits, capabilities, user, seccomp
//!     │ ◀── "ready" ────────── (or why not)
//!     │ state.json, pid file
//!     │ ─── "created" ───────▶ no longer dies with create
//!     exit                     read(exec.fifo): blocks
//!   start ── one byte into exec.fifo ──▶ execve(process.args)
//! ```

use std::convert::Infallible;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{anyhow, Context, Result};
use nix::mount::{mount, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid};

use super::bundle::{Bundle, ProcessSpec};
use super::devices;
use super::hooks;
use super::mounts;
use crate::runtime::process::{child, execve};
use crate::runtime::security::{self, chapter};
use crate::spec::seccomp::SeccompProfile;

/// What the child needs, made before clone(2).
pub struct ChildPlan<'a> {
    pub bundle: &'a Bundle,
    pub cgroup_path: &'a str,
    /// The state JSON the hooks read (its pid filled in when they run).
    pub state: &'a serde_json::Value,
    /// The child reads "created" here; end-of-file: `create` died.
    pub from_parent: &'a OwnedFd,
    /// The child writes one zero byte ("ready") or why it failed.
    pub to_parent: &'a OwnedFd,
    /// exec.fifo, opened O_PATH before the root changes (the FIFO is
    /// outside it; /proc/self/fd/N opens it again).
    pub fifo: &'a OwnedFd,
    /// With process.terminal: the engine's --console-socket, connected.
    pub console: Option<&'a OwnedFd>,
    /// The parent's ends of the two pipes, which the child got copies of
    /// and closes first: holding the write end of the pipe it reads, it
    /// would never see end-of-file if `create` died.
    pub parents_fds: [std::os::fd::RawFd; 2],
    /// The inodes of `create`'s own UTS and mount namespaces (the host's):
    /// the child checks it is in others before it renames or mounts.
    pub host_namespaces: HostNamespaces,
}

/// Namespace inodes, as /proc/PID/ns/* stat them.
#[derive(Debug, Clone, Copy)]
pub struct HostNamespaces {
    pub uts: u64,
    pub mount: u64,
}

impl HostNamespaces {
    /// This process's.
    pub fn of_this_process() -> Result<HostNamespaces> {
        Ok(HostNamespaces {
            uts: namespace_inode("uts")?,
            mount: namespace_inode("mnt")?,
        })
    }
}

fn namespace_inode(kind: &str) -> Result<u64> {
    let path = format!("/proc/self/ns/{kind}");
    Ok(nix::sys::stat::stat(path.as_str())
        .with_context(|| format!("cannot stat {path}"))?
        .st_ino)
}

/// Refuse to go on in the host's namespace `kind` (config.json was
/// checked, and this is the last line: a rename or a pivot_root there
/// would change the whole machine).
fn ensure_not_hosts(kind: &str, host: u64) -> Result<()> {
    if namespace_inode(kind)? == host {
        anyhow::bail!("refusing to change the host: the container's process is in the host's {kind} namespace");
    }
    Ok(())
}

/// The byte that says "ready".
pub const READY: u8 = 0;
/// The byte that asks `create` for the prestart and createRuntime hooks,
/// and the one it answers with once they have run.
pub const HOOKS: u8 = 1;
pub const HOOKS_DONE: u8 = 1;
/// The byte `create` sends a child in a user namespace once its maps and
/// cgroup are written.
pub const MAPPED: u8 = 2;

/// Set once `create` has let go: from then on nobody reads the pipe, and
/// a failure goes to the container's stderr, where the engine looks.
static CREATED: AtomicBool = AtomicBool::new(false);

/// The child's whole life: ends in execve or _exit.
pub fn run(plan: &ChildPlan) -> isize {
    let error = match become_container(plan) {
        Ok(never) => match never {},
        Err(error) => error,
    };
    let message = format!("{error:#}");
    if CREATED.load(Ordering::SeqCst) {
        eprintln!("bocker: {}", crate::escape::printable(&message));
    } else if let Ok(pipe) = plan.to_parent.try_clone() {
        let _ = fs::File::from(pipe).write_all(message.as_bytes());
    }
    child::exit_now(1)
}

fn become_container(plan: &ChildPlan) -> Result<Infallible> {
    // Die with `create` until it has written the state down. (Had it died
    // already, before this call, the pipes tell: writing "ready" to a pipe
    // nobody reads kills with SIGPIPE, and "created" never comes.)
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    crate::runtime::process::child::close_parents_fds(&plan.parents_fds);
    child::restore_signal_defaults().map_err(|failure| anyhow!(failure.message))?;
    let bundle = plan.bundle;

    if bundle.id_maps.is_some() {
        become_the_namespaces_root(plan)?;
    } else {
        // Into the cgroup first: everything it starts is born inside.
        crate::runtime::cgroup::join_at(plan.cgroup_path)?;
    }
    for (kind, path) in &bundle.joined_namespaces {
        let namespace = fs::File::open(path)
            .with_context(|| format!("cannot open the namespace {}", path.display()))?;
        nix::sched::setns(namespace, *kind)
            .with_context(|| format!("cannot join the namespace {}", path.display()))?;
    }
    // After the cgroup join: the namespace's root is the cgroup the
    // process is in when it makes one.
    if bundle.new_namespaces.contains(CloneFlags::CLONE_NEWCGROUP) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)?;
    }
    nix::unistd::setsid()?;
    if let Some(hostname) = &bundle.hostname {
        ensure_not_hosts("uts", plan.host_namespaces.uts)?;
        nix::unistd::sethostname(hostname).context("sethostname failed")?;
    }

    ensure_not_hosts("mnt", plan.host_namespaces.mount)?;
    enter_root(bundle, &mut || hooks_before_pivot(plan))?;
    if let Some(console) = plan.console {
        crate::runtime::process::terminal::set_up(console, bundle.process.uid, None)?;
    }
    set_limits(&bundle.process)?;
    // exec.fifo, opened for reading and writing while still root (after
    // setuid this process could not open it again): it never blocks, and
    // a read waits for the byte `start` writes.
    let fifo_path = format!("/proc/self/fd/{}", plan.fifo.as_raw_fd());
    let mut fifo = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo_path)
        .context("cannot open exec.fifo")?;
    lock_in(&bundle.process, bundle.seccomp.as_ref())?;

    // Ready: `create` writes the state down and lets go of us. From here
    // the pipe, not the parent-death signal, tells if `create` died (its
    // end-of-file): the signal would also come when `create` exits
    // normally, which it is about to do.
    nix::sys::prctl::set_pdeathsig(None)?;
    fs::File::from(plan.to_parent.try_clone()?).write_all(&[READY])?;
    let mut created = [0u8; 1];
    if fs::File::from(plan.from_parent.try_clone()?).read(&mut created)? != 1 {
        child::exit_now(1);
    }
    CREATED.store(true, Ordering::SeqCst);

    // Wait for `start`'s byte.
    let mut go = [0u8; 1];
    fifo.read_exact(&mut go).context("cannot read exec.fifo")?;
    drop(fifo);
    // startContainer: inside the container (its root, its user), last
    // before the command.
    let state = state_with_own_pid(plan.state, "created");
    hooks::run_all("startContainer", &bundle.hooks.start_container, &state)?;
    let failure = execve::execute(&bundle.process.args, &bundle.process.env);
    Err(anyhow!(failure.message))
}

/// In a user namespace of its own: wait until `create` has written the
/// maps (and moved this process into its cgroup), then become the
/// namespace's root. Until then this process is host root seen from
/// inside as "nobody" (65534): its ids mean nothing there. From here on
/// what it creates belongs to the container's root, an ordinary user on
/// the host (linux.uidMappings' hostID for 0).
fn become_the_namespaces_root(plan: &ChildPlan) -> Result<()> {
    let mut mapped = [0u8; 1];
    if fs::File::from(plan.from_parent.try_clone()?).read(&mut mapped)? != 1 || mapped[0] != MAPPED
    {
        child::exit_now(1); // `create` is gone, or failed and kills us
    }
    let root_gid = Gid::from_raw(0);
    let root_uid = Uid::from_raw(0);
    nix::unistd::setgroups(&[]).context("setgroups failed")?;
    nix::unistd::setresgid(root_gid, root_gid, root_gid).context("setresgid(0) failed")?;
    nix::unistd::setresuid(root_uid, root_uid, root_uid).context("setresuid(0) failed")?;
    // A change of user clears the parent-death signal: set it again.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    Ok(())
}

/// The hooks due once the mounts are made, before pivot_root: the
/// runtime's (prestart, createRuntime), which `create` runs while this
/// process waits, then createContainer, run here, in the container's
/// namespaces, with the host's files still reachable.
fn hooks_before_pivot(plan: &ChildPlan) -> Result<()> {
    let hooks = &plan.bundle.hooks;
    if hooks.for_the_runtime_before_pivot() {
        fs::File::from(plan.to_parent.try_clone()?).write_all(&[HOOKS])?;
        let mut done = [0u8; 1];
        // End-of-file: `create` failed (a hook did) and is killing us.
        if fs::File::from(plan.from_parent.try_clone()?).read(&mut done)? != 1 {
            child::exit_now(1);
        }
    }
    let state = state_with_own_pid(plan.state, "creating");
    hooks::run_all("createContainer", &hooks.create_container, &state)
}

/// The state for a hook run by this process: its pid as it sees it (1 in
/// a PID namespace of its own), as runc gives it.
fn state_with_own_pid(state: &serde_json::Value, status: &str) -> serde_json::Value {
    let mut state = state.clone();
    state["pid"] = nix::unistd::getpid().as_raw().into();
    state["status"] = status.into();
    state
}

/// The mounts of config.json under the root, `before_pivot` (the hooks),
/// then pivot_root into it; the masked and read-only paths; a read-only
/// root if asked.
fn enter_root(bundle: &Bundle, before_pivot: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    let rootfs = &bundle.rootfs;
    // linux.rootfsPropagation (rprivate by default) for the whole tree:
    // nothing mounted here reaches the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        bundle.rootfs_propagation,
        None::<&str>,
    )
    .context("cannot set the mounts' propagation")?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("cannot bind the root onto itself")?;
    let cgroups = mounts::CgroupView {
        own_namespace: bundle.new_namespaces.contains(CloneFlags::CLONE_NEWCGROUP),
    };
    for spec in &bundle.mounts {
        mounts::mount_inside(rootfs, spec, &cgroups)?;
    }
    if bundle
        .mounts
        .iter()
        .any(|spec| spec.destination == Path::new("/dev"))
    {
        devices::make_default_devices(rootfs)?;
    }
    before_pivot()?;
    // Chapter 3's switch_root: pivot_root, and the host's tree detached.
    chapter_step(|| crate::runtime::process::mounts::switch_root(rootfs))?;
    // Chapter 8's functions, on config.json's lists.
    for path in &bundle.masked_paths {
        chapter_step(|| chapter::mask_path(path))?;
    }
    for path in &bundle.readonly_paths {
        chapter_step(|| chapter::make_read_only(path))?;
    }
    for (key, value) in &bundle.sysctl {
        set_sysctl(key, value)?;
    }
    if bundle.rootfs_readonly {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .context("cannot make the root read-only")?;
    }
    Ok(())
}

/// A step the student wrote: a todo!() becomes an error naming it.
fn chapter_step(step: impl FnOnce() -> Result<()>) -> Result<()> {
    crate::course::exercise::catch_panic(step).map_err(anyhow::Error::msg)?
}

/// `net.ipv4.ip_forward` is /proc/sys/net/ipv4/ip_forward. Only the
/// namespaced ones are writable here (/proc/sys of a container is read
/// only unless config.json leaves it out of readonlyPaths).
fn set_sysctl(key: &str, value: &str) -> Result<()> {
    if key.contains("..") || key.contains('/') {
        anyhow::bail!("linux.sysctl: {key} is not a sysctl name");
    }
    let path = Path::new("/proc/sys").join(key.replace('.', "/"));
    fs::write(&path, value).with_context(|| format!("cannot set the sysctl {key}"))
}

/// oomScoreAdj, rlimits, umask.
pub fn set_limits(process: &ProcessSpec) -> Result<()> {
    if let Some(adjustment) = process.oom_score_adj {
        fs::write("/proc/self/oom_score_adj", adjustment.to_string())
            .context("cannot set oom_score_adj")?;
    }
    for (resource, soft, hard) in &process.rlimits {
        let limit = libc::rlimit {
            rlim_cur: *soft,
            rlim_max: *hard,
        };
        // SAFETY: setrlimit reads the struct we pass, nothing else.
        if unsafe { libc::setrlimit(*resource as _, &limit) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot set the rlimit {resource} to {soft}/{hard}"));
        }
    }
    if let Some(umask) = process.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask as _));
    }
    Ok(())
}

/// The user, the capabilities, no_new_privs and the filter, in runc's
/// order. The frame's lock_in drops the capabilities before it switches
/// the user, which needs CAP_SETUID and CAP_SETGID; a config.json may
/// keep neither (runc's own default keeps three capabilities). So here the
/// user comes first, with PR_SET_KEEPCAPS: setuid to another user then
/// keeps the permitted set, and the effective set is raised again from
/// it, for chapter 8's drop_capabilities to cut both down.
pub fn lock_in(process: &ProcessSpec, seccomp: Option<&SeccompProfile>) -> Result<()> {
    let filters = match seccomp {
        Some(profile) => security::seccomp::filters(profile, &process.capabilities)?,
        None => Vec::new(),
    };
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: now.
    if !process.no_new_privileges {
        security::install(&filters).map_err(|failure| anyhow!(failure.message))?;
    }
    let groups: Vec<Gid> = process
        .additional_gids
        .iter()
        .map(|gid| Gid::from_raw(*gid))
        .collect();
    nix::unistd::setgroups(&groups).context("setgroups failed")?;
    let gid = Gid::from_raw(process.gid);
    nix::unistd::setresgid(gid, gid, gid).context("setgid failed")?;
    nix::sys::prctl::set_keepcaps(true)?;
    let uid = Uid::from_raw(process.uid);
    nix::unistd::setresuid(uid, uid, uid).context("setuid failed")?;
    // (setuid also clears the parent-death signal of a non-root user.)
    let permitted = caps::read(None, caps::CapSet::Permitted)?;
    caps::set(None, caps::CapSet::Effective, &permitted)?;
    let keep = process
        .capabilities
        .iter()
        .map(|name| {
            name.parse::<caps::Capability>()
                .map_err(|_| anyhow!("process.capabilities: unknown capability {name}"))
        })
        .collect::<Result<caps::CapsHashSet>>()?;
    chapter_step(|| chapter::drop_capabilities(&keep))?;
    nix::sys::prctl::set_keepcaps(false)?;
    if process.no_new_privileges {
        chapter_step(chapter::set_no_new_privs)?;
        security::install(&filters).map_err(|failure| anyhow!(failure.message))?;
    }
    nix::unistd::chdir(process.cwd.as_str())
        .with_context(|| format!("cannot enter the working directory {}", process.cwd))
}
