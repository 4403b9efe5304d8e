//! `run --init`: a tiny init as the container's pid 1.
//!
//! Pid 1 of a PID namespace has two jobs most programs do not know about:
//!
//! * **Reaping.** A process whose parent dies is handed to pid 1. When it
//!   exits, it stays a zombie until pid 1 collects it with wait(2). A
//!   program such as `sleep` never does, so zombies pile up: for instance
//!   the command of a `bocker exec` that was killed.
//! * **Signals.** The kernel drops every signal sent to pid 1 from inside
//!   its namespace unless pid 1 has a handler for it, and `bocker stop`'s
//!   SIGTERM does nothing to a program without one.
//!
//! With `--init`, pid 1 is this small loop instead (what `docker run
//! --init` gets from tini): it starts the command as its child, passes on
//! every signal it receives, collects every process that ends, and exits
//! with the command's exit code as soon as the command ends (the kernel
//! then kills whatever else is left in the namespace).
//!
//! # How it starts
//!
//! The container can see its pid 1 in its /proc, so pid 1 must not run
//! bocker's binary from the host (see sealed.rs). The child therefore
//! executes a sealed copy of bocker, as `bocker-init`, and it does so
//! *before* it enters the container's root: bocker is a dynamically linked
//! program, and the loader and libraries it needs are the host's, which
//! the container's root does not have. The init then finishes the child's
//! work, entering the root, and reports a failure on the handshake's report
//! pipe, which it received across its execve.
//!
//! ```text
//!   child (pid 1) ── execveat(sealed bocker) ──▶ bocker-init (still pid 1)
//!                                                enter the root
//!                                                fork ──▶ command: execve
//!                                                reap, forward signals
//! ```

pub mod launch;
pub mod sealed;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid};

use launch::Arguments;

use crate::errors::{Failure, START_FAILED};
use crate::runtime::process::child;
use crate::runtime::process::execve;
use crate::runtime::process::handshake::send_report;

/// The name the init is started under; main.rs recognises it.
pub const PROGRAM_NAME: &str = "bocker-init";

/// The init itself: pid 1 of the container. `args`: what follows its
/// name on its command line, `-- COMMAND…`; the rest it finds at fds 3
/// and 4 (launch.rs).
pub fn main(args: Vec<String>) -> ExitCode {
    let command = match args.split_first() {
        Some((separator, command)) if separator == "--" && !command.is_empty() => command.to_vec(),
        _ => {
            eprintln!("{PROGRAM_NAME}: bocker starts this program itself, as a container's pid 1");
            return ExitCode::from(START_FAILED);
        }
    };
    let mut report = match launch::report_pipe() {
        Ok(report) => report,
        Err(failure) => {
            eprintln!("{}", failure.message);
            return ExitCode::from(failure.code);
        }
    };
    let started = launch::arguments().and_then(|args| start(&args, &command, &mut report));
    match started {
        Ok((command, signals)) => {
            // The command executes, or says why not on its own copy.
            // Ours must go, or bocker would wait for end-of-file for ever.
            drop(report);
            ExitCode::from(supervise(command, &signals))
        }
        Err(failure) => {
            send_report(&mut report, &failure);
            ExitCode::from(failure.code)
        }
    }
}

/// Enter the root and start the command; hand back its pid, and the
/// signalfd that brings every signal the init receives.
fn start(
    args: &Arguments,
    command: &[String],
    report: &mut File,
) -> Result<(Pid, SignalFd), Failure> {
    // Non-dumpable: the container's processes cannot attach to the init
    // with ptrace, and its /proc/1 files belong to root.
    nix::sys::prctl::set_dumpable(false).map_err(child::setup_error)?;
    // Every signal waits in a queue that we read from a signalfd. Blocking
    // matters for pid 1: a *blocked* signal is queued even though pid 1 has
    // no handler for it, instead of being dropped.
    let all = SigSet::all();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None)
        .map_err(child::setup_error)?;
    let signals = SignalFd::with_flags(&all, SfdFlags::SFD_CLOEXEC).map_err(child::setup_error)?;

    // The child checked that it is not in the host's mount namespace.
    child::enter_root(&args.rootfs, &[], false)?;
    // Chapter 8: the kernel's files hidden, while the init is privileged.
    #[cfg(feature = "stage8")]
    crate::runtime::security::hide_kernel_files(&args.profile)?;

    // The command must not run before the init is locked in (chapter 8):
    // it could read /proc/1/status, or worse, act on pid 1, while the init
    // still has every capability. So the child waits for one byte on this
    // pipe, which the init writes once it is done.
    let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).map_err(child::setup_error)?;
    // SAFETY: the init is single-threaded; the child only makes system
    // calls before it executes the command.
    match unsafe { fork() }.map_err(child::setup_error)? {
        ForkResult::Child => {
            drop(go_write);
            wait_for_go(go_read);
            run_command(args, command, report)
        }
        ForkResult::Parent { child } => {
            drop(go_read);
            // Chapter 8: the init itself runs under the container's
            // profile too (as root: it only waits and passes signals on).
            #[cfg(feature = "stage8")]
            crate::runtime::security::lock_in(&args.profile, || Ok(()))?;
            nix::unistd::write(&go_write, b"g").map_err(child::setup_error)?;
            Ok((child, signals))
        }
    }
}

/// In the command's process: block until the init writes its byte. If the
/// init failed instead, the pipe ends empty; the init reports why, so the
/// command only leaves.
fn wait_for_go(go: OwnedFd) {
    let mut byte = [0u8; 1];
    match File::from(go).read(&mut byte) {
        Ok(1) => {}
        _ => child::exit_now(START_FAILED),
    }
}

/// The command's process: every signal unblocked and back to its default
/// action, execute. Never returns.
#[cfg_attr(not(feature = "stage7"), allow(unused_variables))]
fn run_command(args: &Arguments, command: &[String], report: &mut File) -> ! {
    // The init is a Rust program, which ignores SIGPIPE from its start:
    // the command would inherit that across execve.
    if let Err(failure) = child::restore_signal_defaults() {
        send_report(report, &failure);
        child::exit_now(failure.code)
    }
    // Chapter 8: the command gets the container's profile, after its user
    // (the init locked itself in already, with nothing to do in between).
    #[cfg(feature = "stage8")]
    let locked = crate::runtime::security::lock_in(&args.profile, || {
        crate::runtime::process::user::enter_workdir_and_become_user(
            args.workdir.as_deref(),
            args.user.as_deref(),
        )
    });
    // Chapter 7: a pulled image's WorkingDir and User.
    #[cfg(all(feature = "stage7", not(feature = "stage8")))]
    let locked = crate::runtime::process::user::enter_workdir_and_become_user(
        args.workdir.as_deref(),
        args.user.as_deref(),
    );
    #[cfg(feature = "stage7")]
    if let Err(failure) = locked {
        send_report(report, &failure);
        child::exit_now(failure.code)
    }
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(key, value)| {
            (
                key.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let failure = execve::execute(command, &env);
    send_report(report, &failure);
    child::exit_now(failure.code)
}

/// Forward signals and reap until the command ends; its exit code.
fn supervise(command: Pid, signals: &SignalFd) -> u8 {
    loop {
        let Ok(Some(info)) = signals.read_signal() else {
            continue;
        };
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        if signal == Signal::SIGCHLD {
            if let Some(code) = reap_all(command) {
                return code;
            }
        } else if forwarded(signal) {
            let _ = kill(command, signal);
        }
    }
}

/// Collect every child that has ended. If the command is among them,
/// return its exit code (128 + N if signal N killed it).
fn reap_all(command: Pid) -> Option<u8> {
    let mut command_code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => {
                command_code = Some(code as u8);
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command => {
                command_code = Some(128 + signal as u8);
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return command_code,
            Ok(_) => continue, // an orphan we adopted: collected, forgotten
        }
    }
}

/// The signals passed on to the command: all but those the kernel sends a
/// process about its own faults, and SIGCHLD, which is the init's.
fn forwarded(signal: Signal) -> bool {
    !matches!(
        signal,
        Signal::SIGCHLD
            | Signal::SIGSEGV
            | Signal::SIGBUS
            | Signal::SIGFPE
            | Signal::SIGILL
            | Signal::SIGTRAP
            | Signal::SIGSYS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termination_signals_are_passed_on_but_faults_and_sigchld_are_not() {
        for signal in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGUSR1,
        ] {
            assert!(forwarded(signal), "{signal} should reach the command");
        }
        for signal in [Signal::SIGCHLD, Signal::SIGSEGV] {
            assert!(!forwarded(signal), "{signal} belongs to the init");
        }
    }
}
