//! A terminal for the container: `bocker run -t` and `exec -t`, and an
//! OCI container's `process.terminal`.
//!
//! A pseudo-terminal (pty) is a pair of character devices. The *slave*
//! side (/dev/pts/N) behaves as a terminal for the program that has it as
//! stdin, stdout and stderr: the kernel's line discipline echoes what is
//! typed, turns Ctrl-C into SIGINT for the foreground job, and tells the
//! program the window's size. The *master* side is what a terminal
//! emulator holds: what is written into it is "typed", and what the
//! program prints comes out of it.
//!
//! ```text
//!   bocker (or an engine)                   the container's process
//!   receives the master (SCM_RIGHTS)  ◀───  opens /dev/ptmx (its devpts):
//!   copies your keys into it,                 master + /dev/pts/N
//!   its output to your terminal             sends the master, keeps the slave:
//!   and the log; SIGWINCH: new size           its controlling terminal, and
//!                                             stdin, stdout, stderr
//! ```
//!
//! The pty is opened in the container's own devpts (chapter 3 mounts one
//! with `newinstance`), after its root is entered: the slave's name means
//! the same inside as in /proc/PID/fd, and the host's /dev/pts is never
//! handed to the container. The container never gets bocker's own
//! terminal either: with it, a program could push keystrokes into your
//! shell (the TIOCSTI ioctl), to run on the host once bocker exits.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, Winsize};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::runtime::{ContainerConfig, Stdin};

/// In the container, after its root is entered and before the user
/// changes: make the pty, set its size, send its master over `socket`,
/// and make the slave this process's controlling terminal and its stdin,
/// stdout and stderr. `owner`: the process's user, who must be able to
/// use it.
pub fn set_up(socket: &OwnedFd, owner: u32, size: Option<Winsize>) -> Result<()> {
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
    if let Some(size) = size {
        set_window_size(master.as_fd(), &size);
    }

    // One descriptor, and the slave's name as the message (runc sends it
    // the same way; an engine may log it).
    let fds = [master.as_raw_fd()];
    let rights = [ControlMessage::ScmRights(&fds)];
    let payload = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &payload,
        &rights,
        MsgFlags::empty(),
        None,
    )
    .context("cannot send the terminal's master")?;
    drop(master);

    // setsid() came first: a session leader without a terminal takes this
    // one with TIOCSCTTY.
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

/// On bocker's side: the master the container sent over `socket`, or None
/// if every sender is gone without sending one (the process failed before:
/// its error comes by the usual way).
pub fn receive_master(socket: &OwnedFd) -> Result<Option<OwnedFd>> {
    let mut name = [0u8; 128];
    let mut buffer = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let message = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut buffer,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.context("cannot receive the terminal's master")?,
        }
    };
    for control in message.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = control {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us.
                return Ok(Some(unsafe { std::os::fd::FromRawFd::from_raw_fd(*fd) }));
            }
        }
    }
    Ok(None)
}

/// The size of the terminal on `fd` (bocker's own stdout or stdin), if it
/// is one.
pub fn window_size_of(fd: BorrowedFd) -> Option<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize into `size`.
    let done = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (done == 0).then_some(size)
}

/// Give the pty `master` a new size. The kernel sends SIGWINCH to the
/// slave's foreground job, which redraws (a shell, `top`, an editor).
pub fn set_window_size(master: BorrowedFd, size: &Winsize) {
    // SAFETY: TIOCSWINSZ reads one struct winsize from `size`.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, size) };
}

/// bocker's own terminal in raw mode, for `-it`: every key goes to the
/// container as it is typed (Ctrl-C as the byte 3, which the container's
/// terminal turns into SIGINT for its foreground job), nothing echoed
/// twice. Dropping it restores the terminal as it was, however bocker ends
/// (an error, a signal it forwards), except SIGKILL: then `reset` does.
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
}

impl RawMode {
    /// `-it` with bocker's stdin a terminal: raw mode while the command
    /// runs. None (nothing changed) otherwise.
    pub fn for_command(config: &ContainerConfig, has_terminal: bool) -> Option<RawMode> {
        if has_terminal && config.stdin == Stdin::Pipe {
            RawMode::enter_on_stdin()
        } else {
            None
        }
    }

    /// Raw mode on bocker's stdin, if it is a terminal.
    fn enter_on_stdin() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode {
            fd: stdin.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: fd 0 stays open for as long as bocker runs.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = termios::tcsetattr(fd, SetArg::TCSADRAIN, &self.saved);
    }
}
