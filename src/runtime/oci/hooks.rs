//! config.json's `hooks`: programs the runtime runs at fixed points of
//! the lifecycle, each given the container's state (the JSON `state`
//! prints) on its stdin. Engines use them to plug things in that the
//! runtime knows nothing of: a GPU's device nodes and libraries
//! (nvidia-container-toolkit), a network set up from outside, a log line.
//!
//! ```text
//!   create ─ clone ─▶ child: cgroup, namespaces, mounts
//!      prestart, createRuntime  ◀── "hooks" ─┤   (host's namespaces: the
//!      (run by create)          ──── go ────▶│    new ones exist, the old
//!                                  createContainer   root is still there)
//!                                            │   (the container's namespaces)
//!                                  pivot_root, masks, lock-in, "ready"
//!   start ── exec.fifo ──────────▶ startContainer  (inside: its root, its user)
//!      poststart (run by start)              execve(process.args)
//!   delete ── cgroup and state gone ─▶ poststop (run by delete)
//! ```
//!
//! A hook that fails (a non-zero exit, a signal, its `timeout` passed)
//! before the command runs fails the container: `create` undoes
//! everything, and a failed startContainer ends the process before its
//! execve. After it (poststart, poststop) a failure is a warning: the
//! container is already running, or already gone.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub use crate::spec::hooks::{Hook, Hooks};

/// Run `hooks` (the ones of `kind`, for its error) one after another,
/// each with `state` on its stdin; the first that fails stops the others.
pub fn run_all(kind: &str, hooks: &[Hook], state: &Value) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, state)
            .with_context(|| format!("hook {kind}[{index}] ({}) failed", hook.path.display()))?;
    }
    Ok(())
}

/// The same, where a failure only warns (poststart, poststop).
pub fn run_all_warning(kind: &str, hooks: &[Hook], state: &Value) {
    if let Err(error) = run_all(kind, hooks, state) {
        crate::errors::warn(&format!("{error:#}"));
    }
}

fn run_one(hook: &Hook, state: &Value) -> Result<()> {
    // The state waits in a pipe, written and closed before the hook
    // starts (it fits: a pipe holds 64 KiB): a hook that never reads its
    // stdin cannot leave us blocked in write(2), or killed by SIGPIPE.
    let stdin = filled_pipe(state.to_string().as_bytes())?;
    // What it prints goes to a file in memory, for the error.
    let mut output = memory_file()?;
    let mut command = Command::new(&hook.path);
    if let Some(argv0) = hook.args.first() {
        command.arg0(argv0).args(&hook.args[1..]);
    }
    command.env_clear();
    for pair in &hook.env {
        if let Some((key, value)) = pair.split_once('=') {
            command.env(key, value);
        }
    }
    let mut child = command
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(output.try_clone()?))
        .stderr(Stdio::from(output.try_clone()?))
        .spawn()
        .context("cannot start it")?;
    let deadline = hook
        .timeout
        .filter(|seconds| *seconds > 0)
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "still running after its timeout of {} s",
                hook.timeout.unwrap_or(0)
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut printed = String::new();
    output.rewind()?;
    let _ = output.read_to_string(&mut printed);
    let last_line = printed.lines().last().unwrap_or("").trim();
    let ended = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "failed".to_string(),
    };
    if last_line.is_empty() {
        bail!("{ended}");
    }
    bail!("{ended}: {}", crate::escape::printable(last_line))
}

/// A pipe whose read end has `bytes` waiting, and whose write end is
/// already closed: the reader gets them, then end-of-file.
fn filled_pipe(bytes: &[u8]) -> Result<OwnedFd> {
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    if bytes.len() > 60 * 1024 {
        bail!("the state is too long for a pipe");
    }
    fs::File::from(write_end).write_all(bytes)?;
    Ok(read_end)
}

/// An anonymous file in memory (memfd_create(2)), gone when closed.
fn memory_file() -> Result<fs::File> {
    // SAFETY: a constant name and flags; the kernel returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"bocker-hook-output".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create failed");
    }
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    Ok(fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}
