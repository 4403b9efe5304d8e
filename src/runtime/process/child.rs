//! What the child process does between its creation and `execve`.
//!
//! Each chapter adds or replaces one step here. The steps run in a copy of
//! bocker that shares nothing with the parent but what it inherited, and
//! every failure is reported to the parent through the handshake.

use std::convert::Infallible;
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

#[cfg(feature = "stage1")]
use anyhow::Context;
use nix::sys::signal::Signal;

use super::execve;
use super::fds::Stdio;
use super::handshake::ChildSide;
use crate::course::exercise;
use crate::errors::{Failure, START_FAILED};
use crate::runtime::init::launch::{self, Launch};
use crate::runtime::ContainerConfig;

/// What the child needs, prepared by the parent before the child exists.
pub struct ChildPlan<'a> {
    pub config: &'a ContainerConfig,
    pub handshake: ChildSide,
    pub stdio: &'a Stdio,
    /// Descriptors that belong to the parent and must be closed here.
    pub parents_fds: Vec<RawFd>,
    /// With `--init`: the sealed copy of bocker that runs as pid 1, and
    /// its arguments (runtime/init/launch.rs).
    pub init: Option<&'a Launch>,
    /// With `--net container:NAME`: a pidfd of that container's first
    /// process, opened by the parent on the host (setns(2) with a pidfd
    /// and CLONE_NEWNET joins that process's network namespace).
    pub join_network: Option<&'a OwnedFd>,
    /// The inode of the host's mount namespace (/proc/self/ns/mnt), to
    /// make sure the child is not in it before it changes its root.
    #[cfg_attr(not(feature = "stage3"), allow(dead_code))]
    pub host_mount_namespace: u64,
}

/// The child's whole life. Never returns: ends in `execve` or `_exit`.
pub fn run(plan: &mut ChildPlan) -> ! {
    let failure = match exercise::catch_panic(|| become_container(plan)) {
        Ok(Err(failure)) => failure,
        Ok(Ok(never)) => match never {},
        Err(panic_report) => Failure::new(START_FAILED, panic_report),
    };
    plan.handshake.report(&failure);
    exit_now(failure.code)
}

/// _exit(2), not exit(3): no destructors, no flushing of buffers that
/// belong to the parent's copy of bocker. A forked copy must never return
/// into bocker's code.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: _exit ends the process at once; nothing runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}

fn become_container(plan: &mut ChildPlan) -> Result<Infallible, Failure> {
    die_with_parent()?;
    close_parents_fds(&plan.parents_fds);
    restore_signal_defaults()?;

    plan.handshake.wait_for_go()?;
    // Without root, before chapter 2's clone: a user namespace of its own,
    // mapped by itself (runtime/userns.rs), where chroot is allowed.
    #[cfg(not(feature = "stage2"))]
    if plan.config.rootless {
        enter_own_user_namespace()?;
    }
    // Chapter 4: into the cgroup the parent made, before anything else,
    // while /sys/fs/cgroup is still the host's. Everything the command
    // starts is then born inside. (Without root there is none.)
    #[cfg(feature = "stage4")]
    if !plan.config.rootless {
        join_own_cgroup(&plan.config.id)?;
    }
    // Chapter 4: with a cgroup namespace of its own, the cgroup it has just
    // joined becomes the root of what it sees (/proc/self/cgroup: `0::/`).
    // After the join, not at clone: the namespace's root is the cgroup the
    // process is in when it makes the namespace.
    #[cfg(feature = "stage4")]
    if plan.config.cgroupns == crate::spec::CgroupNamespace::Private {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).map_err(setup_error)?;
    }
    if let Some(namespace) = plan.join_network {
        // --net container:NAME: the child was cloned without
        // CLONE_NEWNET, and moves into the other container's namespace
        // (the pidfd names its first process; Linux 5.8).
        nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).map_err(setup_error)?;
    }
    new_session()?;
    plan.stdio.connect_in_child().map_err(setup_error)?;

    #[cfg(feature = "stage2")]
    super::namespaces::set_hostname(&plan.config.hostname)
        .map_err(|e| Failure::start_failed(&e))?;
    // Without root, chapter 5's `lo` is brought up from inside (with
    // `--net none`, and with pasta, which sets up only its own link).
    #[cfg(feature = "stage5")]
    if plan.config.rootless
        && matches!(
            plan.config.network,
            crate::spec::Network::None | crate::spec::Network::Pasta
        )
    {
        crate::runtime::userns::bring_up_loopback().map_err(|e| Failure::start_failed(&e))?;
    }

    let env = environment(plan.config);
    #[cfg(feature = "stage3")]
    refuse_the_hosts_mount_namespace(plan.host_mount_namespace)?;
    if let Some(launch) = plan.init {
        // `run --init`: the init enters the root itself (see runtime/init/).
        return Err(launch::execute(launch, plan, &env));
    }
    enter_root(
        &plan.config.rootfs,
        &plan.config.volumes,
        plan.config.read_only_root,
    )?;
    // `-t` (from chapter 3): a terminal from the container's own devpts.
    #[cfg(feature = "stage3")]
    take_terminal(plan.config, plan.stdio)?;
    // Chapter 8: the kernel's files hidden, then (right before execve) the
    // capabilities, the user, no_new_privs and the seccomp filter.
    #[cfg(feature = "stage8")]
    {
        crate::runtime::security::hide_kernel_files(&plan.config.profile)?;
        crate::runtime::security::lock_in(&plan.config.profile, || become_user(plan.config))?;
    }
    // Chapter 7: a pulled image's WorkingDir and User.
    #[cfg(all(feature = "stage7", not(feature = "stage8")))]
    become_user(plan.config)?;
    Err(execve::execute(&plan.config.argv, &env))
}

/// With `-t`, inside the container's root and before the user changes:
/// make a terminal in its devpts, send the master to bocker, and take the
/// slave as controlling terminal, stdin, stdout and stderr
/// (process/terminal.rs). Owned by the user the command will run as.
#[cfg(feature = "stage3")]
pub fn take_terminal(config: &ContainerConfig, stdio: &Stdio) -> Result<(), Failure> {
    let (Some(size), Some(socket)) = (config.terminal, &stdio.child_terminal_socket) else {
        return Ok(());
    };
    #[cfg(feature = "stage7")]
    let owner = match config.user.as_deref() {
        Some(user) => super::user::resolve(user)?.0.as_raw(),
        None => 0,
    };
    #[cfg(not(feature = "stage7"))]
    let owner = 0;
    let size = (size.rows > 0).then_some(nix::pty::Winsize {
        ws_row: size.rows,
        ws_col: size.columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    super::terminal::set_up(socket, owner, size).map_err(|error| {
        Failure::start_failed(&error.context("cannot give the container a terminal"))
    })
}

/// Without root, before chapter 2: unshare(CLONE_NEWUSER) makes a user
/// namespace for this process alone, and it maps itself (`0 UID 1`).
#[cfg(not(feature = "stage2"))]
fn enter_own_user_namespace() -> Result<(), Failure> {
    crate::runtime::userns::enter_one_of_my_own().map_err(|e| Failure::start_failed(&e))
}

/// Chapter 4: join the container's cgroup. A process moving itself, with
/// its only thread, is what the kernel does fastest (see your join_cgroup).
#[cfg(feature = "stage4")]
fn join_own_cgroup(id: &str) -> Result<(), Failure> {
    crate::runtime::cgroup::existing(id).ok_or_else(|| {
        Failure::new(
            START_FAILED,
            format!("the cgroup of container {id} is missing"),
        )
    })?;
    crate::runtime::cgroup::join(id).map_err(|e| Failure::start_failed(&e))
}

/// Chapter 7: enter the working directory and become the user the image
/// (or `--user`) names.
#[cfg(feature = "stage7")]
pub fn become_user(config: &ContainerConfig) -> Result<(), Failure> {
    super::user::enter_workdir_and_become_user(config.workdir.as_deref(), config.user.as_deref())
}

/// Ask the kernel to SIGKILL us when our parent dies, so that a container
/// never outlives the process that watches it. If the parent died even
/// before this call, `wait_for_go` notices: the `go` pipe then reads
/// end-of-file.
pub fn die_with_parent() -> Result<(), Failure> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(setup_error)
}

/// The child got a copy of every descriptor of the parent, the parent's
/// ends of the pipes included. One of them matters: the write end of `go`.
/// As long as any process holds a write end, a reader never sees
/// end-of-file; if the child kept one, it would wait for ever for a `go`
/// from a bocker that has died. (The rest would be closed by execve, since
/// they are all close-on-exec.)
pub fn close_parents_fds(fds: &[RawFd]) {
    for fd in fds {
        let _ = nix::unistd::close(*fd);
    }
}

/// Undo what bocker changed in its own signal handling, which the child
/// inherited and which would survive execve.
pub fn restore_signal_defaults() -> Result<(), Failure> {
    // An ignored signal stays ignored across execve (SIGPIPE, which Rust
    // ignores, among them): every one back to its default action.
    super::signals::all_to_default();
    // bocker blocks the signals it forwards (see signals.rs); a blocked
    // signal would stay blocked in the container's program too.
    super::signals::unblock_all().map_err(setup_error)
}

/// A session of its own, with no controlling terminal. Otherwise the
/// container's programs would share bocker's session and terminal: they
/// could, with the TIOCSTI ioctl, push keystrokes into the user's shell,
/// which would run them on the host once bocker exits.
pub fn new_session() -> Result<(), Failure> {
    nix::unistd::setsid().map(drop).map_err(setup_error)
}

/// The variables the command will see.
pub fn environment(config: &ContainerConfig) -> Vec<(String, String)> {
    #[cfg(feature = "stage1")]
    let mut env = super::chroot::container_env(&config.hostname);
    // Before chapter 1 the command runs on the host, with bocker's variables.
    #[cfg(not(feature = "stage1"))]
    let mut env: Vec<(String, String)> = std::env::vars().collect();

    for (key, value) in &config.extra_env {
        env.retain(|(existing, _)| existing != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

/// Move into the container's files at `rootfs`, with its `volumes` and,
/// if `read_only`, a read-only root (both from the finished runtime's
/// `-v`, `--tmpfs` and `--read-only`: process/volumes.rs).
pub fn enter_root(
    rootfs: &Path,
    volumes: &[crate::spec::Volume],
    read_only: bool,
) -> Result<(), Failure> {
    // (Before the finished runtime, never asked for.)
    #[cfg(not(feature = "docker"))]
    let _ = (volumes, read_only);
    // From chapter 3: a private mount tree, pivot_root, then the kernel's
    // filesystems, mounted inside the container's own namespaces.
    #[cfg(feature = "stage3")]
    {
        use super::mounts;
        // Without root (a user namespace), what the kernel asks of root
        // there first (process/host_devices.rs).
        use super::host_devices;
        let rootless = crate::spec::privileges::in_user_namespace();
        let mounted = (|| -> anyhow::Result<()> {
            if rootless {
                host_devices::prepare_under_sys(rootfs)?;
            }
            mounts::make_mounts_private()?;
            #[cfg(feature = "docker")]
            super::volumes::mount_all(rootfs, volumes)?;
            mounts::switch_root(rootfs)?;
            if rootless {
                host_devices::keep_host_devices()?;
            }
            mounts::mount_pseudo_filesystems()?;
            mounts::create_dev()?;
            if rootless {
                host_devices::remove_staging()?;
            }
            #[cfg(feature = "docker")]
            if read_only {
                super::volumes::make_root_read_only()?;
            }
            Ok(())
        })();
        mounted
            .context("cannot set up the container's mounts")
            .map_err(|e| Failure::start_failed(&e))?;
    }

    // Chapters 1 and 2: chroot is all we have.
    #[cfg(all(feature = "stage1", not(feature = "stage3")))]
    super::chroot::enter_root(rootfs)
        .context("cannot enter the container's root")
        .map_err(|e| Failure::start_failed(&e))?;

    // Before chapter 1 there is no new root: we only step into the
    // container's directory, and `/` is still the host's.
    #[cfg(not(feature = "stage1"))]
    std::env::set_current_dir(rootfs).map_err(|e| {
        Failure::new(
            START_FAILED,
            format!("cannot enter {}: {e}", rootfs.display()),
        )
    })?;
    Ok(())
}

/// Chapter 3's steps change the mount table and the root of whatever mount
/// namespace the child is in. In the host's (clone without CLONE_NEWNS),
/// pivot_root would move the root of every process on the machine. Refuse.
#[cfg(feature = "stage3")]
fn refuse_the_hosts_mount_namespace(host: u64) -> Result<(), Failure> {
    let mine = mount_namespace_inode().map_err(setup_error)?;
    if mine == host {
        return Err(Failure::new(
            START_FAILED,
            "refusing to change the root of the host's mount namespace: the child is still in it \
             (did clone_flags include CLONE_NEWNS?)",
        ));
    }
    Ok(())
}

/// The inode number of this process's mount namespace.
pub fn mount_namespace_inode() -> nix::Result<u64> {
    nix::sys::stat::stat("/proc/self/ns/mnt").map(|stat| stat.st_ino)
}

pub fn setup_error(err: nix::errno::Errno) -> Failure {
    Failure::new(
        START_FAILED,
        format!("container set-up failed: {}", err.desc()),
    )
}
