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
use std::os::fd::AsFd;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{chroot, fchdir, fork, ForkResult, Pid};

use super::init::sealed;
use super::process::child::{self, exit_now};
use super::process::fds::Stdio;
use super::process::pidfd::PidFd;
use super::process::relay::{self, Relay};
use super::process::{ensure_single_threaded, execve, namespaces, signals};
use super::ContainerConfig;
use crate::course::exercise;
use crate::errors::{Failure, START_FAILED};
use crate::runtime::process::terminal::RawMode;
use crate::spec::ProcessId;

/// Run `config.argv` inside the container whose first process is `first`.
/// Its output goes to bocker's stdout and stderr, through pipes: the
/// container never gets bocker's own descriptors (a terminal among them).
/// Returns the exit code.
pub fn exec_in(first: &ProcessId, config: &ContainerConfig) -> Result<i32> {
    // Re-executes bocker from a sealed copy, unless that is done already:
    // everything forked from here on runs from the copy.
    sealed::reexecute_sealed()?;
    ensure_single_threaded()?;

    // The container's first process, by a descriptor: from here on, its
    // number cannot lead us to another process (see process/pidfd.rs).
    let container = PidFd::open(first)
        .ok_or_else(|| Failure::new(1, "the container is not running any more".to_string()))?;
    let pid = Pid::from_raw(first.pid);
    // The container's root, as a directory we hold open. From inside the
    // container's mount namespace, /proc/PID would name another process.
    let root = File::open(format!("/proc/{pid}/root"))
        .with_context(|| format!("cannot open the root of process {pid}"))?;
    let stdio = Stdio::new(config.stdin, config.terminal.is_some())?;
    signals::block_forwarded()?;

    // SAFETY: bocker is single-threaded (checked above).
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Parent { child } => {
            drop(root);
            let (child_ends, mut ours) = stdio.split();
            drop(child_ends);
            // With `-t`: wait for the command's terminal (or for the
            // joiner to end, if the command failed before making one).
            let terminal = ours.take_terminal(config.stdin == crate::runtime::Stdin::Pipe)?;
            let _raw = RawMode::for_command(config, terminal.is_some());
            relay::relay_until_exit(Relay {
                pid: child,
                stdout: ours.stdout,
                stderr: ours.stderr,
                stdin: ours.stdin,
                log: None,
                to_terminal: true,
                terminal,
            })
        }
        ForkResult::Child => {
            let outcome = exercise::catch_panic(|| joiner(pid, &container, &root, config, &stdio));
            match outcome {
                Ok(Ok(code)) => exit_now(code),
                Ok(Err(failure)) => exit_reporting(failure),
                Err(panic_report) => exit_reporting(Failure::new(START_FAILED, panic_report)),
            }
        }
    }
}

/// The middle process: joins the namespaces, forks the command, waits.
fn joiner(
    pid: Pid,
    container: &PidFd,
    root: &File,
    config: &ContainerConfig,
    stdio: &Stdio,
) -> Result<u8, Failure> {
    child::die_with_parent()?;
    child::close_parents_fds(&stdio.parents_fds());
    // The signals bocker forwards (SIGINT, SIGTERM, SIGHUP) stay blocked
    // here: they are meant for the command, and the joiner passes them on
    // (wait_forwarding). The command unblocks them for itself.
    // Chapter 4: into the container's cgroup first (its files are host
    // paths), so the command is born there: under the same limits, and
    // killed with the container.
    #[cfg(feature = "stage4")]
    if super::cgroup::existing(&config.id).is_some() {
        super::cgroup::join(&config.id).map_err(|e| Failure::start_failed(&e))?;
    }
    // Without root: its user namespace first. The user who made it holds
    // every capability in it, and from there may join the namespaces it
    // owns (an ordinary user outside may not).
    if config.rootless {
        join_user_namespace(pid).map_err(|e| Failure::start_failed(&e))?;
    }
    namespaces::join_namespaces(pid).map_err(|e| Failure::start_failed(&e))?;
    // Your join opened /proc/PID/ns/… by number. It reached the
    // container's namespaces if the container's first process was still
    // there afterwards: until it is collected, its number is its own.
    // /proc/PID/root, opened before, is vouched for the same way.
    if !container.still_there() {
        return Err(Failure::new(
            1,
            "the container ended while exec was joining it",
        ));
    }
    // Chapter 4: the container's cgroup namespace too, if it has its own
    // (your join covers the five namespaces of chapter 2).
    #[cfg(feature = "stage4")]
    if config.cgroupns == crate::spec::CgroupNamespace::Private {
        nix::sched::setns(container, nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(child::setup_error)?;
    }
    let command_pid = namespaces::fork_into_pid_namespace(&mut || command(root, config, stdio))
        .map_err(|e| Failure::start_failed(&e))?;
    let code = wait_forwarding(command_pid).map_err(|e| Failure::start_failed(&e))?;
    Ok(u8::try_from(code).unwrap_or(START_FAILED))
}

/// setns(2) into the user namespace of process `pid`.
fn join_user_namespace(pid: Pid) -> Result<()> {
    let path = format!("/proc/{pid}/ns/user");
    let namespace = File::open(&path).with_context(|| format!("cannot open {path}"))?;
    nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWUSER)
        .context("setns into the container's user namespace failed")
}

/// Wait for the command and pass on to it the signals bocker's relay
/// sends the joiner: the joiner is only the middleman. (If the joiner died
/// of them instead, the kernel would SIGKILL the command, which asked to
/// die with its parent: no chance to clean up.) A second signal becomes
/// SIGKILL, as for `run`.
fn wait_forwarding(command: Pid) -> Result<i32> {
    // A pidfd becomes readable when its process exits: one poll(2) waits
    // for the command and for the signals at once.
    let exited = PidFd::of_child(command).context("pidfd_open failed")?;
    let mut forwarder = signals::Forwarder::new()?;
    loop {
        let mut fds = [
            PollFd::new(exited.as_fd(), PollFlags::POLLIN),
            PollFd::new(forwarder.fd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("poll failed"),
            Ok(_) => {}
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let (exited_now, signalled) = (ready(&fds[0]), ready(&fds[1]));
        if signalled {
            // (A resize is for bocker's relay, which holds the terminal.)
            let _resized = forwarder.forward_pending(command);
        }
        if exited_now {
            return relay::wait_for_exit_code(command);
        }
    }
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
        .and_then(|()| child::restore_signal_defaults())
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
    // `exec -t`: a terminal of its own, from the container's devpts.
    #[cfg(feature = "stage3")]
    if let Err(failure) = child::take_terminal(config, stdio) {
        return failure;
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
