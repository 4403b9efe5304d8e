//! `bocker exec`: start one more process inside a running container.
//!
//! ```text
//!   bocker exec (on the host, running from a sealed copy of itself)
//!     │ open /proc/PID/root          the container's root directory
//!     │ pipes for stdin, stdout, stderr
//!     └─ fork ─▶ joiner
//!                 │ join_namespaces      setns × 5          (chapter 2)
//!                 └─ fork_into_pid_namespace ─▶ command     (chapter 2)
//!                                  a session of its own
//!                                  stdin, stdout, stderr: the pipes
//!                                  fchdir(root); chroot(".")
//!                                  execve(the command)
//!     relays the pipes, waits for the joiner, which waits for the command
//! ```
//!
//! Why two forks? setns(2) with a PID namespace does not move the caller:
//! it only decides where the caller's *next child* is born. So the joiner
//! forks once more, and that child is a process of the container.
//!
//! Why a sealed copy? The command's process is a copy of bocker until its
//! execve, and it is in the container's PID namespace: the container can
//! see it in its /proc. See init/sealed.rs.

use std::fs::File;

use anyhow::{Context, Result};
use nix::unistd::{chroot, fchdir, fork, ForkResult, Pid};

use super::init::sealed;
use super::process::child::{self, exit_now};
use super::process::fds::Stdio;
use super::process::relay::{self, Relay};
use super::process::{ensure_single_threaded, execve, namespaces, signals};
use super::ContainerConfig;
use crate::course::exercise;
use crate::errors::{Failure, START_FAILED};

/// Run `config.argv` inside the container whose first process is `pid`.
/// Its output goes to bocker's stdout and stderr, through pipes: the
/// container never gets bocker's own descriptors (a terminal among them).
/// Returns the exit code.
pub fn exec_in(pid: Pid, config: &ContainerConfig) -> Result<i32> {
    // Re-executes bocker from a sealed copy, unless that is done already:
    // everything forked from here on runs from the copy.
    sealed::reexecute_sealed()?;
    ensure_single_threaded()?;

    // The container's root, as a directory we hold open. From inside the
    // container's mount namespace, /proc/PID would name another process.
    let root = File::open(format!("/proc/{pid}/root"))
        .with_context(|| format!("cannot open the root of process {pid}"))?;
    let stdio = Stdio::new(config.stdin)?;
    signals::block_forwarded()?;

    // SAFETY: bocker is single-threaded (checked above).
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Parent { child } => {
            drop(root);
            let (child_ends, ours) = stdio.split();
            drop(child_ends);
            relay::relay_until_exit(Relay {
                pid: child,
                stdout: ours.stdout,
                stderr: ours.stderr,
                stdin: ours.stdin,
                log: None,
                to_terminal: true,
            })
        }
        ForkResult::Child => {
            let outcome = exercise::catch_panic(|| joiner(pid, &root, config, &stdio));
            match outcome {
                Ok(Ok(code)) => exit_now(code),
                Ok(Err(failure)) => exit_reporting(failure),
                Err(panic_report) => exit_reporting(Failure::new(START_FAILED, panic_report)),
            }
        }
    }
}

/// The middle process: joins the namespaces, forks the command, waits.
fn joiner(pid: Pid, root: &File, config: &ContainerConfig, stdio: &Stdio) -> Result<u8, Failure> {
    child::die_with_parent()?;
    child::close_parents_fds(&stdio.parents_fds());
    child::restore_signal_defaults()?;
    // Chapter 4: into the container's cgroup first (its files are host
    // paths), so the command is born there: under the same limits, and
    // killed with the container.
    #[cfg(feature = "stage4")]
    if let Some(group) = super::cgroup::existing(&config.id) {
        super::cgroup::chapter::join_cgroup(&group).map_err(|e| Failure::start_failed(&e))?;
    }
    namespaces::join_namespaces(pid).map_err(|e| Failure::start_failed(&e))?;
    let command_pid = namespaces::fork_into_pid_namespace(&mut || command(root, config, stdio))
        .map_err(|e| Failure::start_failed(&e))?;
    let code = relay::wait_for_exit_code(command_pid).map_err(|e| Failure::start_failed(&e))?;
    Ok(u8::try_from(code).unwrap_or(START_FAILED))
}

/// End a forked process of `exec` that could not do its job: say why on
/// stderr and exit with the failure's code.
fn exit_reporting(failure: Failure) -> ! {
    eprintln!("bocker: {}", failure.message);
    exit_now(failure.code)
}

/// The command's process: born in the container's PID namespace. Enter
/// the container's root and execute. Never returns.
fn command(root: &File, config: &ContainerConfig, stdio: &Stdio) -> ! {
    let failure = match exercise::catch_panic(|| become_command(root, config, stdio)) {
        Ok(failure) => failure,
        Err(panic_report) => Failure::new(START_FAILED, panic_report),
    };
    exit_reporting(failure)
}

fn become_command(root: &File, config: &ContainerConfig, stdio: &Stdio) -> Failure {
    let prepared = child::die_with_parent()
        .and_then(|()| child::new_session())
        .and_then(|()| stdio.connect_in_child().map_err(child::setup_error));
    if let Err(failure) = prepared {
        return failure;
    }
    // fchdir into the open root, then chroot("."): works whether the
    // container used chroot (chapter 1) or pivot_root (chapter 3).
    let entered = fchdir(root)
        .and_then(|()| chroot("."))
        .and_then(|()| nix::unistd::chdir("/"));
    if let Err(err) = entered {
        return child::setup_error(err);
    }
    // Chapter 8: the same capabilities, no_new_privs and filter as the
    // container's first process (its mounts are the container's already).
    #[cfg(feature = "stage8")]
    if let Err(failure) = super::security::lock_in(&config.profile, || child::become_user(config)) {
        return failure;
    }
    // Chapter 7: the image's WorkingDir and User, as for the first command.
    #[cfg(all(feature = "stage7", not(feature = "stage8")))]
    if let Err(failure) = child::become_user(config) {
        return failure;
    }
    let env = child::environment(config);
    execve::execute(&config.argv, &env)
}
