//! Passing Ctrl-C and friends on to the container.
//!
//! Without this, Ctrl-C would kill bocker, and the kernel would then kill
//! the container (PR_SET_PDEATHSIG) before anyone recorded how it ended.
//! Instead, bocker *blocks* SIGINT, SIGTERM and SIGHUP, so they wait in a
//! queue, and reads them from a signalfd(2) in its poll loop. (SIGWINCH,
//! "your terminal changed size", comes the same way: with `-t` it resizes
//! the container's terminal instead.) The first one
//! is forwarded to the container's first process; if another arrives, the
//! container gets SIGKILL. (From chapter 2 the first process is pid 1 of its
//! namespace, which ignores signals it has no handler for: the second
//! Ctrl-C is then the one that stops it.)

use anyhow::{Context, Result};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGWINCH,
    ] {
        set.add(signal);
    }
    set
}

/// Block the forwarded signals in bocker. Call before creating the child:
/// the child inherits the mask and must call [`unblock_all`].
pub fn block_forwarded() -> Result<()> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded()), None)
        .context("cannot block signals")
}

/// In the child, before execve: a blocked signal stays blocked across
/// execve, and the container's programs expect none to be.
pub fn unblock_all() -> nix::Result<()> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

/// In the child, before execve: every signal's action back to the default.
///
/// execve resets a signal that has a handler (the handler's code is gone),
/// but one that is *ignored* stays ignored in the new program. Rust
/// ignores SIGPIPE in every program it starts, bocker and `bocker-init`
/// included, and whoever started bocker may have ignored others. A shell
/// pipeline such as `yes | head -1` relies on SIGPIPE ending `yes` once
/// `head` is gone; ignored, `yes` gets EPIPE and prints an error instead.
/// So the command starts as any program expects: nothing ignored.
/// (`grep SigIgn /proc/self/status` in a container shows it: all zeros.)
pub fn all_to_default() {
    // The kernel's `struct sigaction` with every field zero: handler
    // SIG_DFL, no flags, nothing blocked during a handler. Four words of
    // eight bytes on x86_64 and aarch64.
    let default_action = [0u64; 4];
    for number in 1..=libc::SIGRTMAX() {
        if number == libc::SIGKILL || number == libc::SIGSTOP {
            continue; // their action cannot be changed
        }
        // SAFETY: rt_sigaction reads our zeroed struct (no handler of ours
        // is installed) and writes nothing (no old action asked for). The
        // raw system call, not the C library's signal(): that one refuses
        // the two real-time signals it keeps for itself (32 and 33), which
        // an ignoring parent can have passed on to us all the same. A raw
        // system call is safe in a forked child.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                number,
                default_action.as_ptr(),
                std::ptr::null::<u64>(),
                8, // the size of the kernel's signal set
            )
        };
    }
}

/// Receives the blocked signals and passes them on.
pub struct Forwarder {
    pub fd: SignalFd,
    received: u32,
}

impl Forwarder {
    pub fn new() -> Result<Forwarder> {
        let fd = SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .context("cannot create a signalfd")?;
        Ok(Forwarder { fd, received: 0 })
    }

    /// Read what arrived and pass it on to `pid`. SIGWINCH (bocker's
    /// terminal changed size) is not passed on: returns whether one came,
    /// for the caller to resize the container's terminal (`-t`).
    pub fn forward_pending(&mut self, pid: Pid) -> bool {
        let mut resized = false;
        while let Ok(Some(info)) = self.fd.read_signal() {
            if info.ssi_signo == Signal::SIGWINCH as u32 {
                resized = true;
                continue;
            }
            self.received += 1;
            let signal = if self.received == 1 {
                Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM)
            } else {
                Signal::SIGKILL
            };
            let _ = kill(pid, signal);
        }
        resized
    }
}
