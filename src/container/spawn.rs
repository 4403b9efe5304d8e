//! Creating the container's process and handing it its work.

use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{pipe2, Pid};

use super::child::{self, ChildPlan};
use super::ContainerConfig;
use super::{handshake, signals};

/// A container whose command is executing.
pub struct Started {
    pub pid: Pid,
    /// Read ends of the container's stdout and stderr.
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Start `config`'s command in a new container process.
pub fn start(config: &ContainerConfig) -> Result<Started> {
    // O_CLOEXEC on every end: only the two descriptors the child copies
    // onto 1 and 2 survive into the container's program.
    let (stdout_read, stdout_write) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (stderr_read, stderr_write) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (parent_side, child_side) = handshake::new()?;
    // From now on SIGINT, SIGTERM and SIGHUP wait for `relay` to pass them
    // on to the container, instead of killing bocker.
    signals::block_forwarded()?;

    let mut plan = ChildPlan {
        config,
        handshake: child_side,
        stdout: &stdout_write,
        stderr: &stderr_write,
        parents_fds: vec![stdout_read.as_raw_fd(), stderr_read.as_raw_fd()]
            .into_iter()
            .chain(parent_side.raw_fds())
            .collect(),
    };
    let pid = create_process(&mut plan)?;

    // The child has its copies of these now; ours would keep the pipes
    // open for ever, and we would never see end-of-file.
    drop(plan);
    drop(stdout_write);
    drop(stderr_write);

    // Here, later chapters set up the child from the outside.

    if let Err(failure) = parent_side.release_and_wait() {
        // The child reported why it could not execute and has exited:
        // collect it so it does not linger as a zombie.
        let _ = waitpid(pid, None);
        return Err(failure);
    }
    Ok(Started {
        pid,
        stdout: stdout_read,
        stderr: stderr_read,
    })
}

/// Create the child process that will become the container.
///
/// Before chapter 2 this is a plain fork(2): the child is a copy of bocker
/// that shares the host's view of everything.
#[cfg(not(feature = "stage2"))]
fn create_process(plan: &mut ChildPlan) -> Result<Pid> {
    use nix::unistd::{fork, ForkResult};
    // Safe here: bocker has a single thread, so the copy cannot inherit a
    // lock held by another thread.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => child::run(plan),
        ForkResult::Parent { child } => Ok(child),
    }
}

/// From chapter 2 on, clone(2) creates the child inside new namespaces.
#[cfg(feature = "stage2")]
fn create_process(plan: &mut ChildPlan) -> Result<Pid> {
    use crate::chapters::namespaces;
    let flags = namespaces::clone_flags(plan.config.new_network);
    namespaces::start_child(&mut || child::run(plan), flags)
}
