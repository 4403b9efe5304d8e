//! Creating the container's process and handing it its work.

use std::os::fd::OwnedFd;

use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::child::{self, ChildPlan};
use super::fds::Stdio;
use super::pidfd::PidFd;
use super::{ensure_single_threaded, handshake, signals};
use crate::errors::{Failure, START_FAILED};
use crate::runtime::init::launch::Launch;
use crate::runtime::{outside, ContainerConfig};

/// A container whose command is executing.
pub struct Started {
    pub pid: Pid,
    /// With `-i`: where to write what the command reads.
    pub stdin: Option<OwnedFd>,
    /// Read ends of the container's stdout and stderr.
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With `-t`: the master side of its terminal (its window's size is
    /// set through it).
    pub terminal: Option<OwnedFd>,
}

/// Start `config`'s command in a new container process.
pub fn start(config: &ContainerConfig) -> Result<Started> {
    ensure_single_threaded()?;
    let stdio = Stdio::new(config.stdin, config.terminal.is_some())?;
    let (parent_side, child_side) = handshake::new()?;
    let init = if config.init {
        Some(Launch::prepare(config)?)
    } else {
        None
    };
    let host_mount_namespace =
        child::mount_namespace_inode().context("cannot read /proc/self/ns/mnt")?;
    // --net container:NAME: a pidfd of that container's first process;
    // the child joins its network namespace with setns(pidfd, NEWNET).
    let join_network = match &config.join_network_of {
        Some(other) => match PidFd::open(other).filter(|_| other.is_alive()) {
            Some(pidfd) => Some(OwnedFd::from(pidfd)),
            None => anyhow::bail!(Failure::new(
                START_FAILED,
                "the container whose network this one shares is not running"
            )),
        },
        None => None,
    };
    // From now on SIGINT, SIGTERM and SIGHUP wait for `relay` to pass them
    // on to the container, instead of killing bocker.
    signals::block_forwarded()?;

    let mut parents_fds = stdio.parents_fds();
    parents_fds.extend(parent_side.raw_fds());
    let mut plan = ChildPlan {
        config,
        handshake: child_side,
        stdio: &stdio,
        parents_fds,
        init: init.as_ref(),
        join_network: join_network.as_ref(),
        host_mount_namespace,
    };
    let pid = create_process(&mut plan)?;

    // The child has its copies of these now; ours would keep the pipes
    // open for ever, and we would never see end-of-file.
    drop(plan);
    drop(init);
    drop(join_network);
    let (child_ends, mut ours) = stdio.split();
    drop(child_ends);

    // The child waits for "go". Set it up from the outside first.
    if let Err(error) = outside::set_up(config, pid) {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = reap(pid);
        // The container never ran: bocker's own failure, exit code 125
        // (unless the error already carries a code of its own).
        let has_a_code = error.chain().any(|cause| cause.is::<Failure>());
        return Err(if has_a_code {
            error
        } else {
            anyhow!(Failure::start_failed(&error))
        });
    }

    if let Err(failure) = parent_side.release_and_wait() {
        // The child reported why it could not execute and has exited:
        // collect it so it does not linger as a zombie.
        return Err(match reap(pid) {
            Ok(()) => failure,
            Err(why) => anyhow!(Failure::new(
                START_FAILED,
                format!("{failure:#}; and then {why}")
            )),
        });
    }
    // With `-t`: the terminal's master, which the child sent before its
    // execve, replaces the pipes.
    let terminal = ours.take_terminal(config.stdin == crate::runtime::Stdin::Pipe)?;
    Ok(Started {
        pid,
        stdin: ours.stdin,
        stdout: ours.stdout,
        stderr: ours.stderr,
        terminal,
    })
}

/// Collect a child that ended before it executed its command.
///
/// waitpid(2) only sees a child whose *exit signal* is SIGCHLD (unless
/// given __WALL). fork uses SIGCHLD; clone uses what it is told. execve
/// resets it to SIGCHLD, which is why a command that ran is always seen:
/// only a child that failed *before* execve shows a wrong exit signal.
fn reap(pid: Pid) -> Result<()> {
    loop {
        match waitpid(pid, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => {
                return Err(anyhow!(
                    "bocker cannot wait for the container's process (ECHILD): was it cloned with \
                     SIGCHLD as its exit signal?"
                ))
            }
            Err(other) => return Err(other).context("cannot wait for the container's process"),
        }
    }
}

/// Create the child process that will become the container.
///
/// Before chapter 2 this is a plain fork(2): the child is a copy of bocker
/// that shares the host's view of everything.
#[cfg(not(feature = "stage2"))]
fn create_process(plan: &mut ChildPlan) -> Result<Pid> {
    use nix::unistd::{fork, ForkResult};
    // SAFETY: bocker is single-threaded (checked above), so the copy
    // cannot inherit a lock held by another thread.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => child::run(plan),
        ForkResult::Parent { child } => Ok(child),
    }
}

/// From chapter 2 on, clone(2) creates the child inside new namespaces.
#[cfg(feature = "stage2")]
fn create_process(plan: &mut ChildPlan) -> Result<Pid> {
    use super::namespaces;
    let mut flags = namespaces::clone_flags(plan.config.new_network());
    if plan.config.rootless {
        // Without root: a user namespace too, made first by the kernel,
        // which owns the others (runtime/userns.rs).
        flags |= nix::sched::CloneFlags::CLONE_NEWUSER;
    }
    namespaces::start_child(&mut || child::run(plan), flags)
}
