//! What the child process does between its creation and `execve`.
//!
//! Each chapter adds or replaces one step here. The steps run in a copy of
//! bocker that shares nothing with the parent but what it inherited, and
//! every failure is reported to the parent through the handshake.

use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

#[cfg(feature = "stage1")]
use anyhow::Context;
use nix::sys::signal::{signal, SigHandler, Signal};

use super::exec;
use super::handshake::ChildSide;
use super::ContainerConfig;
use crate::errors::{Failure, START_FAILED};
use crate::exercise;

/// What the child needs, prepared by the parent before the child exists.
pub struct ChildPlan<'a> {
    pub config: &'a ContainerConfig,
    pub handshake: ChildSide,
    /// The write ends of the stdout and stderr pipes.
    pub stdout: &'a OwnedFd,
    pub stderr: &'a OwnedFd,
    /// Descriptors that belong to the parent and must be closed here.
    pub parents_fds: Vec<RawFd>,
}

/// The child's whole life. Never returns: ends in `execve` or `_exit`.
pub fn run(plan: &mut ChildPlan) -> ! {
    let failure = match exercise::catch_panic(|| become_container(plan)) {
        Ok(Err(failure)) => failure,
        Ok(Ok(never)) => match never {},
        Err(panic_report) => Failure::new(START_FAILED, panic_report),
    };
    plan.handshake.report(&failure);
    // _exit(2), not exit(3): no destructors, no flushing of buffers that
    // belong to the parent's copy of bocker.
    unsafe { libc::_exit(i32::from(failure.code)) }
}

fn become_container(plan: &mut ChildPlan) -> Result<Infallible, Failure> {
    die_with_parent()?;
    for fd in &plan.parents_fds {
        // The parent's ends of the pipes: keeping them open here would
        // stop the parent from ever seeing end-of-file on them.
        unsafe { libc::close(*fd) };
    }
    // Rust ignores SIGPIPE in its programs, and an ignored signal stays
    // ignored across execve. The container's programs expect the default.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }.map_err(setup_error)?;
    // bocker blocks the signals it forwards (see signals.rs); a blocked
    // signal would stay blocked in the container's program too.
    super::signals::unblock_all().map_err(setup_error)?;

    plan.handshake.wait_for_go()?;
    connect_output(plan)?;

    #[cfg(feature = "stage2")]
    crate::chapters::namespaces::set_hostname(&plan.config.hostname)
        .map_err(|e| Failure::start_failed(&e))?;

    let env = environment(plan.config);
    enter_root(plan.config)?;
    Err(exec::execute(&plan.config.argv, &env))
}

/// Ask the kernel to SIGKILL us when bocker dies, so that a container never
/// outlives the process that watches it. If bocker died even before this
/// call, `wait_for_go` notices: the `go` pipe then reads end-of-file.
pub fn die_with_parent() -> Result<(), Failure> {
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        return Err(setup_error(nix::errno::Errno::last()));
    }
    Ok(())
}

/// Make the pipes the container's stdout (fd 1) and stderr (fd 2).
/// dup2(2) copies a descriptor onto a chosen number; the copy does not
/// carry O_CLOEXEC, so it survives execve.
fn connect_output(plan: &ChildPlan) -> Result<(), Failure> {
    for (pipe, target) in [(plan.stdout, 1), (plan.stderr, 2)] {
        if unsafe { libc::dup2(pipe.as_raw_fd(), target) } < 0 {
            return Err(setup_error(nix::errno::Errno::last()));
        }
    }
    Ok(())
}

/// The variables the command will see.
pub fn environment(config: &ContainerConfig) -> Vec<(String, String)> {
    #[cfg(feature = "stage1")]
    let mut env = crate::chapters::chroot::container_env(&config.hostname);
    // Before chapter 1 the command runs on the host, with bocker's variables.
    #[cfg(not(feature = "stage1"))]
    let mut env: Vec<(String, String)> = std::env::vars().collect();

    for (key, value) in &config.extra_env {
        env.retain(|(existing, _)| existing != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

/// Move into the container's files.
fn enter_root(config: &ContainerConfig) -> Result<(), Failure> {
    // From chapter 3: a private mount tree, pivot_root, then the kernel's
    // filesystems, mounted inside the container's own namespaces.
    #[cfg(feature = "stage3")]
    {
        use crate::chapters::mounts;
        mounts::make_mounts_private()
            .and_then(|()| mounts::switch_root(&config.rootfs))
            .and_then(|()| mounts::mount_pseudo_filesystems())
            .and_then(|()| mounts::create_dev())
            .context("cannot set up the container's mounts")
            .map_err(|e| Failure::start_failed(&e))?;
    }

    // Chapters 1 and 2: chroot is all we have.
    #[cfg(all(feature = "stage1", not(feature = "stage3")))]
    crate::chapters::chroot::enter_root(&config.rootfs)
        .context("cannot enter the container's root")
        .map_err(|e| Failure::start_failed(&e))?;

    // Before chapter 1 there is no new root: we only step into the
    // container's directory, and `/` is still the host's.
    #[cfg(not(feature = "stage1"))]
    std::env::set_current_dir(&config.rootfs).map_err(|e| {
        Failure::new(
            START_FAILED,
            format!("cannot enter {}: {e}", config.rootfs.display()),
        )
    })?;
    Ok(())
}

pub fn setup_error(err: nix::errno::Errno) -> Failure {
    Failure::new(
        START_FAILED,
        format!("container set-up failed: {}", err.desc()),
    )
}
