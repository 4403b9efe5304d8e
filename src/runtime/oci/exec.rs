//! `exec ID`: one more process in a running OCI container (what `podman
//! exec` asks conmon for, and conmon asks the runtime).
//!
//! ```text
//!   bocker exec ── fork ──▶ joiner: the container's cgroup, then
//!     │                      setns(pidfd, every namespace)
//!     │                      fork ──▶ the process: born in the container's
//!     │ ◀── its pid ───────          PID namespace; limits, user,
//!     │                              capabilities, seccomp; execve
//!   pid file; with --detach, exit at once (the engine, a subreaper,
//!   adopts the process); else wait and exit with its code
//! ```
//!
//! The process is forked from a sealed copy of bocker (init/sealed.rs),
//! as Bocker's own `exec`: while it is still bocker, inside the container,
//! its /proc/PID/exe must not lead to bocker's file on the host (runc's
//! CVE-2019-5736).

use std::fs;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

use super::bundle::{self, ProcessSpec};
use super::{child, write_pid_file, Status};
use crate::errors::{Failure, USAGE};
use crate::runtime::cgroup;
use crate::runtime::init::sealed;
use crate::runtime::process::child::exit_now;
use crate::runtime::process::pidfd::PidFd;
use crate::runtime::process::{ensure_single_threaded, execve};
use crate::spec::seccomp::SeccompProfile;
use crate::state::oci::OciStore;

/// `exec`'s options.
#[derive(Debug)]
pub struct ExecOptions {
    /// A process.json; or, without one, `args` with config.json's process.
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    /// A terminal (also process.terminal), sent over `console_socket`.
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
}

/// Start the process; its exit code (0 with `detach`).
pub fn exec(store: &OciStore, id: &str, options: &ExecOptions) -> Result<u8> {
    sealed::reexecute_sealed()?;
    ensure_single_threaded()?;
    let record = store.read(id)?;
    super::require_status(
        store,
        &record,
        &[Status::Running],
        "exec needs a running one",
    )?;
    let bundle = bundle::read(&record.bundle)?;
    let process = match &options.process {
        Some(path) => bundle::read_process(path)?,
        None if options.args.is_empty() => {
            bail!(Failure::new(
                USAGE,
                "exec: give --process FILE or a command"
            ))
        }
        None => ProcessSpec {
            args: options.args.clone(),
            ..bundle.process.clone()
        },
    };
    let console = super::console_for(
        process.terminal || options.tty,
        options.console_socket.as_deref(),
    )?;
    let first = record.process.context("the container has no process")?;
    let container =
        PidFd::open(&first).with_context(|| format!("container {id} is not running any more"))?;
    let (from_joiner, to_parent) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;

    // SAFETY: bocker is single-threaded (checked above); the child makes
    // system calls and forks once more, then exits.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            drop(from_joiner);
            let joined = Joined {
                container: &container,
                cgroup_path: &record.cgroup_path,
                process: &process,
                seccomp: bundle.seccomp.as_ref(),
                console: console.as_ref(),
                user_namespace: record.user_namespace,
            };
            let code = match joiner(&joined, to_parent, options.detach) {
                Ok(code) => code,
                Err(error) => {
                    eprintln!(
                        "bocker: {}",
                        crate::escape::printable(&format!("{error:#}"))
                    );
                    1
                }
            };
            exit_now(code)
        }
        ForkResult::Parent { child: joiner_pid } => {
            drop(to_parent);
            let mut pid_text = String::new();
            fs::File::from(from_joiner).read_to_string(&mut pid_text)?;
            let started = pid_text.trim().parse::<i32>().ok();
            if let (Some(pid), Some(pid_file)) = (started, &options.pid_file) {
                write_pid_file(pid_file, pid)?;
            }
            let joiner_code = match waitpid(joiner_pid, None)? {
                WaitStatus::Exited(_, code) => code as u8,
                _ => 1,
            };
            if started.is_none() {
                bail!("exec: the process could not be started in container {id}");
            }
            Ok(joiner_code)
        }
    }
}

/// What the joiner joins, and what it starts.
struct Joined<'a> {
    container: &'a PidFd,
    cgroup_path: &'a str,
    process: &'a ProcessSpec,
    seccomp: Option<&'a SeccompProfile>,
    console: Option<&'a std::os::fd::OwnedFd>,
    /// The container has a user namespace of its own.
    user_namespace: bool,
}

/// In the joiner: into the container's cgroup and namespaces, fork the
/// process, send its pid up; then wait for it, unless `detach`.
fn joiner(joined: &Joined, to_parent: std::os::fd::OwnedFd, detach: bool) -> Result<u8> {
    let Joined {
        container,
        cgroup_path,
        process,
        seccomp,
        console,
        user_namespace,
    } = *joined;
    // The cgroup first, while /sys/fs/cgroup is still the host's.
    cgroup::join_at(cgroup_path)?;
    // setns(2) with a pidfd joins several of its namespaces at once
    // (Linux 5.8); the mount namespace moves our root and working
    // directory to the container's.
    let all = CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWCGROUP;
    // With a user namespace of its own, that one too (the kernel joins it
    // first: it owns the others).
    let all = if user_namespace {
        all | CloneFlags::CLONE_NEWUSER
    } else {
        all
    };
    nix::sched::setns(container, all).context("cannot join the container's namespaces")?;
    // SAFETY: single-threaded; the child only makes system calls until it
    // executes the command.
    let pid = match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            let error = become_process(process, seccomp, console);
            eprintln!(
                "bocker: {}",
                crate::escape::printable(&format!("{error:#}"))
            );
            exit_now(1)
        }
        ForkResult::Parent { child } => child,
    };
    fs::File::from(to_parent).write_all(pid.as_raw().to_string().as_bytes())?;
    if detach {
        return Ok(0);
    }
    Ok(match waitpid(pid, None)? {
        WaitStatus::Exited(_, code) => code as u8,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as u8,
        _ => 1,
    })
}

/// The process itself, in the container: a session of its own, its
/// limits, user, capabilities and filter, execve. Returns only on failure.
fn become_process(
    process: &ProcessSpec,
    seccomp: Option<&SeccompProfile>,
    console: Option<&std::os::fd::OwnedFd>,
) -> anyhow::Error {
    let prepared = (|| -> Result<()> {
        crate::runtime::process::child::restore_signal_defaults()
            .map_err(|failure| anyhow::anyhow!(failure.message))?;
        nix::unistd::setsid()?;
        nix::unistd::chdir("/")?;
        if let Some(console) = console {
            crate::runtime::process::terminal::set_up(console, process.uid, None)?;
        }
        child::set_limits(process)?;
        child::lock_in(process, seccomp)
    })();
    if let Err(error) = prepared {
        return error;
    }
    let failure = execve::execute(&process.args, &process.env);
    anyhow::anyhow!(failure.message)
}
