//! A container with `process.terminal`: its own pseudo-terminal, made
//! inside the container, and the *master* side handed to the engine.
//!
//! ```text
//!   engine (conmon, the shim)          the container's process
//!   listens on --console-socket  ◀───  opens /dev/ptmx (its devpts):
//!   receives the master (SCM_RIGHTS)     master + /dev/pts/N
//!   reads what the program prints,     sends the master, keeps the slave:
//!   writes what the user types           its controlling terminal, and
//!                                        stdin, stdout, stderr
//! ```
//!
//! The pty is opened from the container's own devpts (mounted with
//! `newinstance`), after pivot_root: the slave's name then means the same
//! inside as in /proc/PID/fd, and the host's /dev/pts is never touched.
//! `create` connects to the socket before the root changes (the socket
//! is a host path) and the process inherits the connection.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

/// In the container, before the user changes: make the pty, send its
/// master over `console`, and make the slave this process's controlling
/// terminal and its stdin, stdout and stderr. `owner`: the process's user,
/// who must be able to use it.
pub fn set_up(console: &OwnedFd, owner: u32) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("cannot open /dev/ptmx in the container")?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname_r(&master)?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("cannot open {name}"))?;
    nix::unistd::fchown(&slave, Some(nix::unistd::Uid::from_raw(owner)), None)?;

    // One descriptor, and the slave's name as the message (runc sends it
    // the same way; the engine may log it).
    let fds = [master.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let payload = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        console.as_raw_fd(),
        &payload,
        &rights,
        MsgFlags::empty(),
        None,
    )
    .context("cannot send the terminal over --console-socket")?;
    drop(master);

    // setsid() came first (child.rs): a session leader without a terminal
    // takes this one with TIOCSCTTY.
    // SAFETY: ioctl on our own descriptor, no memory passed.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(std::io::Error::last_os_error())
            .context("cannot take the terminal (TIOCSCTTY)");
    }
    for target in 0..3 as RawFd {
        // SAFETY: dup2 onto the standard descriptors; the slave stays ours.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(std::io::Error::last_os_error())
                .context("cannot put the terminal on 0, 1, 2");
        }
    }
    Ok(())
}
