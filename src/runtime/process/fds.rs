//! File descriptors: the only doors between the container and the host
//! that bocker opens itself.
//!
//! A process inherits every open descriptor of its parent, across fork and
//! across execve, unless the descriptor is marked close-on-exec. Whoever
//! started bocker may have left some open; bocker has its own (pipes, the
//! log, directories it reads). A directory descriptor that reached the
//! container would be a way out of its root: `openat(fd, "..")` climbs the
//! host's tree from there, whatever the container's root is. (This is how
//! runc's CVE-2024-21626 worked: a descriptor of the host's
//! /sys/fs/cgroup leaked into the container.) So the command gets exactly
//! three descriptors, 0, 1 and 2, all of them pipes or /dev/null (with
//! `-t`, all three its own terminal: process/terminal.rs).

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::pipe2;

use crate::runtime::Stdin;

/// Mark every descriptor from 3 up close-on-exec, right before execve.
///
/// close_range(2) (Linux 5.9; the CLOEXEC flag since 5.11) does it in one
/// call, however many there are. We mark instead of closing because one of
/// them must stay open until the very last moment: the handshake's report
/// pipe, which execve itself closes on success and which carries the reason
/// if execve fails.
pub fn close_on_exec_from_3() -> nix::Result<()> {
    // SAFETY: close_range only changes flags of this process's own
    // descriptors; it reads and writes no memory of ours.
    let result =
        unsafe { libc::close_range(3, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    nix::errno::Errno::result(result).map(drop)
}

/// Close every descriptor from 3 up except those in `keep` (for the
/// monitor of `run -d`, which never executes anything).
pub fn close_all_from_3_except(keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|fd| *fd > 2).collect();
    keep.sort_unstable();
    let mut first = 3;
    for fd in keep.into_iter().chain([RawFd::MAX]) {
        if fd > first {
            // SAFETY: as above; closing descriptors this process owns.
            unsafe { libc::close_range(first as u32, (fd - 1) as u32, 0) };
        }
        first = fd.saturating_add(1);
    }
}

/// The container's end of its standard streams, and bocker's.
pub struct Stdio {
    /// For the child: become its fds 0, 1 and 2.
    pub child_stdin: OwnedFd,
    pub child_stdout: OwnedFd,
    pub child_stderr: OwnedFd,
    /// For bocker: what the command writes, and with `-i` where to write
    /// what the command reads.
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With a terminal (`-t`): a connected pair of Unix sockets. The
    /// container's process sends the terminal's master over the child's
    /// end (process/terminal.rs); bocker receives it on its own.
    pub child_terminal_socket: Option<OwnedFd>,
    pub terminal_socket: Option<OwnedFd>,
}

impl Stdio {
    /// The pipes; with `terminal`, the socket pair too, and no stdin pipe:
    /// the terminal will be the command's stdin.
    pub fn new(stdin: Stdin, terminal: bool) -> Result<Stdio> {
        // O_CLOEXEC on every end: only the copies the child makes on 0, 1
        // and 2 (dup2 does not copy the flag) survive into its program.
        let (stdout, child_stdout) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
        let (stderr, child_stderr) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
        let stdin = if terminal { Stdin::Null } else { stdin };
        let (child_stdin, stdin) = match stdin {
            // Opened here, on the host: the container's own root may have
            // no /dev/null (chapter 1 has no /dev at all).
            Stdin::Null => (
                OwnedFd::from(
                    File::options()
                        .read(true)
                        .open("/dev/null")
                        .context("cannot open /dev/null")?,
                ),
                None,
            ),
            Stdin::Pipe => {
                let (read, write) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
                (read, Some(write))
            }
        };
        let (child_terminal_socket, terminal_socket) = if terminal {
            let (child, ours) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .context("cannot create a socket pair")?;
            (Some(child), Some(ours))
        } else {
            (None, None)
        };
        Ok(Stdio {
            child_stdin,
            child_stdout,
            child_stderr,
            stdin,
            stdout,
            stderr,
            child_terminal_socket,
            terminal_socket,
        })
    }

    /// bocker's ends, which the child must close.
    pub fn parents_fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.stdout.as_raw_fd(), self.stderr.as_raw_fd()];
        fds.extend(self.stdin.as_ref().map(|fd| fd.as_raw_fd()));
        fds.extend(self.terminal_socket.as_ref().map(|fd| fd.as_raw_fd()));
        fds
    }

    /// In the child: the pipes become fds 0, 1 and 2. dup2(2) copies a
    /// descriptor onto a chosen number, without O_CLOEXEC, so that the
    /// copies survive execve.
    pub fn connect_in_child(&self) -> nix::Result<()> {
        nix::unistd::dup2_stdin(&self.child_stdin)?;
        nix::unistd::dup2_stdout(&self.child_stdout)?;
        nix::unistd::dup2_stderr(&self.child_stderr)
    }

    /// Split into the child's ends (to drop once the child has its copies)
    /// and bocker's.
    pub fn split(self) -> (ChildEnds, ParentEnds) {
        (
            ChildEnds {
                _fds: [self.child_stdin, self.child_stdout, self.child_stderr],
                _terminal_socket: self.child_terminal_socket,
            },
            ParentEnds {
                stdin: self.stdin,
                stdout: self.stdout,
                stderr: self.stderr,
                terminal_socket: self.terminal_socket,
            },
        )
    }
}

/// The child's ends, held by bocker until the child has its own copies.
pub struct ChildEnds {
    _fds: [OwnedFd; 3],
    _terminal_socket: Option<OwnedFd>,
}

/// bocker's ends of the container's standard streams.
pub struct ParentEnds {
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub terminal_socket: Option<OwnedFd>,
}

impl ParentEnds {
    /// With a terminal: once the command has started, its master takes
    /// the place of the pipes (which its process closed when the terminal
    /// went onto 0, 1 and 2): the command's output comes out of it, and
    /// with `-i` bocker's input goes into it. Returns the master, for the
    /// window's size; None without a terminal.
    pub fn take_terminal(&mut self, interactive: bool) -> Result<Option<OwnedFd>> {
        let Some(socket) = self.terminal_socket.take() else {
            return Ok(None);
        };
        let Some(master) = crate::runtime::process::terminal::receive_master(&socket)? else {
            return Ok(None);
        };
        self.stdout = master.try_clone()?;
        self.stdin = if interactive {
            Some(master.try_clone()?)
        } else {
            None
        };
        Ok(Some(master))
    }
}

/// Make sure descriptors 0, 1 and 2 are open (on /dev/null if they were
/// closed by whoever started bocker). Otherwise the next file bocker opens
/// would get one of those numbers, and a container's output could land in
/// it.
pub fn open_standard_fds() {
    for fd in 0..=2 {
        // F_GETFD fails with EBADF on a descriptor that is not open.
        if nix::fcntl::fcntl(
            // SAFETY: only asks the kernel about the number; nothing is
            // read or written through it.
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
            nix::fcntl::FcntlArg::F_GETFD,
        )
        .is_err()
        {
            // Opened without O_CLOEXEC and kept: the lowest free number is
            // the one that was closed.
            if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
                std::mem::forget(null);
            }
        }
    }
}
