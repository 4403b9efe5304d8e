//! `bocker exec`: start one more process inside a running container.
//!
//! ```text
//!   bocker exec (on the host)
//!     │ open /proc/PID/root          the container's root directory
//!     └─ fork ─▶ joiner
//!                 │ setns × 5         join the container's namespaces
//!                 └─ fork ─▶ command   now really inside the PID namespace
//!                              chroot into the container's root
//!                              execve(the command)
//! ```
//!
//! Why two forks? setns(2) with a PID namespace does not move the caller:
//! it only decides where the caller's *next child* is born. So the joiner
//! forks once more, and that child is a process of the container.

use std::fs::File;

use anyhow::{Context, Result};
use nix::unistd::{chroot, fchdir, fork, ForkResult, Pid};

use super::{child, exec, relay, ContainerConfig};
use crate::errors::{Failure, START_FAILED};
use crate::exercise;

/// Run `config.argv` inside the container whose first process is `pid`,
/// with bocker's own stdin, stdout and stderr. Returns the exit code.
pub fn exec_in(pid: Pid, config: &ContainerConfig) -> Result<i32> {
    // The container's root, as a directory we hold open. From inside the
    // container's mount namespace, /proc/PID would name another process.
    let root = File::open(format!("/proc/{pid}/root"))
        .with_context(|| format!("cannot open the root of process {pid}"))?;

    // Safe: bocker is single-threaded.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Parent { child } => relay::wait_for_exit_code(child),
        ForkResult::Child => match exercise::catch_panic(|| joiner(pid, &root, config)) {
            Ok(Ok(code)) => unsafe { libc::_exit(code) },
            Ok(Err(failure)) => exit_reporting(failure),
            Err(panic_report) => exit_reporting(Failure::new(START_FAILED, panic_report)),
        },
    }
}

/// The middle process: joins the namespaces, forks the command, waits.
fn joiner(pid: Pid, root: &File, config: &ContainerConfig) -> Result<i32, Failure> {
    child::die_with_parent()?;
    crate::chapters::namespaces::join_namespaces(pid).map_err(|e| Failure::start_failed(&e))?;
    match unsafe { fork() }.map_err(child::setup_error)? {
        ForkResult::Parent { child } => {
            relay::wait_for_exit_code(child).map_err(|e| Failure::start_failed(&e))
        }
        ForkResult::Child => match exercise::catch_panic(|| command(root, config)) {
            Ok(failure) => exit_reporting(failure),
            Err(panic_report) => exit_reporting(Failure::new(START_FAILED, panic_report)),
        },
    }
}

/// End a forked process of `exec` that could not do its job: say why on
/// stderr (bocker's own, inherited) and exit with the failure's code.
/// _exit(2): a forked copy must never return into bocker's code.
fn exit_reporting(failure: Failure) -> ! {
    eprintln!("bocker: {}", failure.message);
    unsafe { libc::_exit(i32::from(failure.code)) }
}

/// The command's process: enter the container's root and execute.
fn command(root: &File, config: &ContainerConfig) -> Failure {
    if let Err(failure) = child::die_with_parent() {
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
    let env = child::environment(config);
    exec::execute(&config.argv, &env)
}
