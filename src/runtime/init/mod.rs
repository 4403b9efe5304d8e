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

pub mod sealed;

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::fcntl::{fcntl, AtFlags, FcntlArg, FdFlag};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use crate::errors::{Failure, START_FAILED};
use crate::runtime::process::child::{self, ChildPlan};
use crate::runtime::process::handshake::send_report;
use crate::runtime::process::{execve, fds};

/// The name the init is started under; main.rs recognises it.
pub const PROGRAM_NAME: &str = "bocker-init";

/// In the container's child, instead of entering the root and executing
/// the command: execute the sealed copy of bocker as
/// `bocker-init ROOTFS REPORT_FD -- COMMAND…`. Returns only on failure.
pub fn execute(binary: &OwnedFd, plan: &ChildPlan, env: &[(String, String)]) -> Failure {
    let report = plan.handshake.report_fd();
    // Everything close-on-exec, except the report pipe: the init needs it.
    let kept = fds::close_on_exec_from_3().and_then(|()| {
        // SAFETY: `report` is the handshake's open descriptor.
        let report = unsafe { std::os::fd::BorrowedFd::borrow_raw(report) };
        fcntl(report, FcntlArg::F_SETFD(FdFlag::empty()))
    });
    if let Err(err) = kept {
        return child::setup_error(err);
    }
    // The working directory and user (chapter 7) travel too, "" for none:
    // the init stays root, the command it forks takes them on.
    let words = [
        PROGRAM_NAME.to_string(),
        plan.config.rootfs.display().to_string(),
        report.to_string(),
        plan.config.workdir.clone().unwrap_or_default(),
        plan.config.user.clone().unwrap_or_default(),
        profile_word(plan),
        "--".to_string(),
    ]
    .into_iter()
    .chain(plan.config.argv.iter().cloned());
    let (args, vars) = match (
        execve::to_cstrings(words),
        execve::to_cstrings(env.iter().map(|(key, value)| format!("{key}={value}"))),
    ) {
        (Ok(args), Ok(vars)) => (args, vars),
        (Err(failure), _) | (_, Err(failure)) => return failure,
    };
    // execveat(fd, "", AT_EMPTY_PATH): execute the file the descriptor is.
    let err = nix::unistd::execveat(binary, c"", &args, &vars, AtFlags::AT_EMPTY_PATH).unwrap_err();
    Failure::new(
        START_FAILED,
        format!("cannot start the container's init: {}", err.desc()),
    )
}

/// What the child hands the init on its command line.
struct InitArgs {
    rootfs: PathBuf,
    report: RawFd,
    #[cfg_attr(not(feature = "stage7"), allow(dead_code))]
    workdir: Option<String>,
    #[cfg_attr(not(feature = "stage7"), allow(dead_code))]
    user: Option<String>,
    /// Chapter 8's profile, as JSON.
    #[cfg_attr(not(feature = "stage8"), allow(dead_code))]
    profile: Option<String>,
    command: Vec<String>,
}

/// Chapter 8's profile, for the init's command line ("" before).
fn profile_word(plan: &ChildPlan) -> String {
    #[cfg(feature = "stage8")]
    return serde_json::to_string(&plan.config.profile).unwrap_or_default();
    #[cfg(not(feature = "stage8"))]
    {
        let _ = plan;
        String::new()
    }
}

impl InitArgs {
    fn parse(args: &[String]) -> Option<InitArgs> {
        let [rootfs, report, workdir, user, profile, separator, command @ ..] = args else {
            return None;
        };
        (separator == "--" && !command.is_empty()).then_some(())?;
        let given = |word: &String| (!word.is_empty()).then(|| word.clone());
        Some(InitArgs {
            rootfs: PathBuf::from(rootfs),
            report: report.parse().ok()?,
            workdir: given(workdir),
            user: given(user),
            profile: given(profile),
            command: command.to_vec(),
        })
    }
}

/// The init itself: pid 1 of the container. `args`: see [`execute`].
pub fn main(args: Vec<String>) -> ExitCode {
    let Some(args) = InitArgs::parse(&args) else {
        eprintln!("{PROGRAM_NAME}: bocker starts this program itself, as a container's pid 1");
        return ExitCode::from(START_FAILED);
    };
    // SAFETY: the child passed us this open descriptor, and nothing else
    // in this fresh program owns it.
    let mut report = File::from(unsafe { OwnedFd::from_raw_fd(args.report) });
    match start(&args, &mut report) {
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
fn start(args: &InitArgs, report: &mut File) -> Result<(Pid, SignalFd), Failure> {
    fcntl(&*report, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(child::setup_error)?;
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
    child::enter_root(Path::new(&args.rootfs))?;
    // Chapter 8: the kernel's files hidden, while the init is privileged.
    #[cfg(feature = "stage8")]
    crate::runtime::security::hide_kernel_files(&profile_of(args)?)?;

    // SAFETY: the init is single-threaded; the child only makes system
    // calls before it executes the command.
    match unsafe { fork() }.map_err(child::setup_error)? {
        ForkResult::Child => run_command(args, report),
        ForkResult::Parent { child } => {
            // Chapter 8: the init itself runs under the container's
            // profile too (as root: it only waits and passes signals on).
            #[cfg(feature = "stage8")]
            crate::runtime::security::lock_in(&profile_of(args)?, || Ok(()))?;
            Ok((child, signals))
        }
    }
}

/// The command's process: unblock signals, execute. Never returns.
fn run_command(args: &InitArgs, report: &mut File) -> ! {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // Chapter 8: the command gets the container's profile (the init, pid
    // 1, keeps its privileges: it only waits and passes signals on).
    #[cfg(feature = "stage8")]
    let locked = profile_of(args).and_then(|profile| {
        crate::runtime::security::lock_in(&profile, || {
            crate::runtime::process::user::enter_workdir_and_become_user(
                args.workdir.as_deref(),
                args.user.as_deref(),
            )
        })
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
    let command = &args.command;
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

/// The profile the child passed on its command line.
#[cfg(feature = "stage8")]
fn profile_of(args: &InitArgs) -> Result<crate::runtime::security::Profile, Failure> {
    args.profile
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or_else(|| Failure::new(START_FAILED, "the init got no security profile"))
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

    #[test]
    fn the_init_reads_what_the_child_wrote_on_its_command_line() {
        let words = |list: &[&str]| list.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let args =
            InitArgs::parse(&words(&["/s/rootfs", "7", "", "", "", "--", "sleep", "9"])).unwrap();
        assert_eq!(args.rootfs, Path::new("/s/rootfs"));
        assert_eq!(args.report, 7);
        assert_eq!((args.workdir, args.user), (None, None));
        assert_eq!(args.command, ["sleep", "9"]);
        let args =
            InitArgs::parse(&words(&["/s", "7", "/srv", "1000:100", "{}", "--", "id"])).unwrap();
        assert_eq!(args.workdir.as_deref(), Some("/srv"));
        assert_eq!(args.user.as_deref(), Some("1000:100"));
        assert_eq!(args.profile.as_deref(), Some("{}"));
        assert!(InitArgs::parse(&words(&["/s", "7", "sleep"])).is_none());
        assert!(InitArgs::parse(&words(&["/s", "x", "", "", "", "--", "sleep"])).is_none());
    }
}
