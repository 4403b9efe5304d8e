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
//! It runs from a sealed copy of bocker (see sealed.rs), started as
//! `bocker-init COMMAND…`: the container can see pid 1's /proc/1/exe, and
//! it must not lead to bocker's binary on the host.

use std::os::fd::OwnedFd;
use std::process::ExitCode;

use nix::fcntl::AtFlags;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use super::{child, execve};
use crate::errors::{Failure, START_FAILED};

/// The name the init is started under; main.rs recognises it.
pub const PROGRAM_NAME: &str = "bocker-init";

/// In the container's child, instead of executing the command: execute the
/// sealed copy of bocker as `bocker-init COMMAND…`. Returns only on failure.
pub fn execute(binary: &OwnedFd, argv: &[String], env: &[(String, String)]) -> Failure {
    if let Err(err) = super::fds::close_on_exec_from_3() {
        return child::setup_error(err);
    }
    let words = std::iter::once(PROGRAM_NAME.to_string()).chain(argv.iter().cloned());
    let (args, vars) = match (
        execve::to_cstrings(words),
        execve::to_cstrings(env.iter().map(|(key, value)| format!("{key}={value}"))),
    ) {
        (Ok(args), Ok(vars)) => (args, vars),
        (Err(failure), _) | (_, Err(failure)) => return failure,
    };
    let err = nix::unistd::execveat(binary, c"", &args, &vars, AtFlags::AT_EMPTY_PATH).unwrap_err();
    Failure::new(
        START_FAILED,
        format!("cannot start the container's init: {}", err.desc()),
    )
}

/// The init itself: pid 1 of the container. `command` is the argv to run.
pub fn main(command: Vec<String>) -> ExitCode {
    match supervise(&command) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("{PROGRAM_NAME}: {message}");
            ExitCode::from(START_FAILED)
        }
    }
}

fn supervise(command: &[String]) -> Result<u8, String> {
    // Every signal waits in a queue that we read from a signalfd. Blocking
    // matters for pid 1: a *blocked* signal is queued even though pid 1 has
    // no handler for it, instead of being dropped.
    let all = SigSet::all();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None)
        .map_err(|e| format!("cannot block signals: {e}"))?;
    let signals = SignalFd::with_flags(&all, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("cannot create a signalfd: {e}"))?;

    // SAFETY: the init is single-threaded; the child only makes system
    // calls before it executes the command.
    let command_pid = match unsafe { fork() }.map_err(|e| format!("fork failed: {e}"))? {
        ForkResult::Child => run_command(command),
        ForkResult::Parent { child } => child,
    };

    loop {
        let Ok(Some(info)) = signals.read_signal() else {
            continue;
        };
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        if signal == Signal::SIGCHLD {
            if let Some(code) = reap_all(command_pid) {
                return Ok(code);
            }
        } else if forwarded(signal) {
            let _ = kill(command_pid, signal);
        }
    }
}

/// The command's process: unblock signals, execute. Never returns.
fn run_command(command: &[String]) -> ! {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(key, value)| {
            (
                key.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let failure = execve::execute(command, &env);
    eprintln!("{PROGRAM_NAME}: {}", failure.message);
    child::exit_now(failure.code)
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
/// process about its own faults, and SIGCHLD, which is ours.
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
