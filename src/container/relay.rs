//! Copying the container's output to the terminal and to its log, and
//! waiting for it to end.
//!
//! The container writes into two pipes. We wait on both with poll(2), and
//! on a *pidfd*: a descriptor for the process itself (pidfd_open(2), Linux
//! 5.3) that becomes readable when the process exits. Without it, a program
//! that leaves a background job holding the pipes would keep us waiting
//! after the command itself has finished. A third descriptor, a signalfd,
//! brings the signals bocker forwards to the container (signals.rs).

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{read, Pid};

use super::signals::Forwarder;
use crate::logs::{LogWriter, Stream};

/// One of the container's output pipes.
struct Output {
    pipe: OwnedFd,
    stream: Stream,
    open: bool,
}

/// Relay output until the process `pid` ends; return its exit code.
/// With `to_terminal`, output also goes to our own stdout and stderr.
pub fn relay_until_exit(
    pid: Pid,
    stdout: OwnedFd,
    stderr: OwnedFd,
    log: &mut LogWriter,
    to_terminal: bool,
) -> Result<i32> {
    let mut outputs = [
        Output {
            pipe: stdout,
            stream: Stream::Stdout,
            open: true,
        },
        Output {
            pipe: stderr,
            stream: Stream::Stderr,
            open: true,
        },
    ];
    let mut terminal = Terminal {
        enabled: to_terminal,
    };
    let pidfd = open_pidfd(pid);
    let mut signals = Forwarder::new()?;

    loop {
        // Which outputs are still open, in the order given to poll.
        let watched: Vec<usize> = (0..outputs.len()).filter(|&i| outputs[i].open).collect();
        let mut fds: Vec<PollFd> = watched
            .iter()
            .map(|&i| PollFd::new(outputs[i].pipe.as_fd(), PollFlags::POLLIN))
            .collect();
        fds.push(PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN));
        if let Some(pidfd) = &pidfd {
            fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
        }
        if watched.is_empty() && pidfd.is_none() {
            break;
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => other.context("poll failed")?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);

        for (slot, &i) in watched.iter().enumerate() {
            if ready[slot] {
                pump(&mut outputs[i], log, &mut terminal, false)?;
            }
        }
        if ready[watched.len()] {
            signals.forward_pending(pid);
        }
        let process_ended = pidfd.is_some() && ready[watched.len() + 1];
        if process_ended {
            // Take what is already in the pipes, but do not wait for
            // writers that outlived the command.
            for output in outputs.iter_mut().filter(|o| o.open) {
                set_nonblocking(&output.pipe)?;
                pump(output, log, &mut terminal, true)?;
            }
            break;
        }
    }
    wait_for_exit_code(pid)
}

/// Read from one pipe. Without `drain`, one read (poll said it will not
/// block); with `drain`, read until the pipe is empty.
fn pump(
    output: &mut Output,
    log: &mut LogWriter,
    terminal: &mut Terminal,
    drain: bool,
) -> Result<()> {
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match read(&output.pipe, &mut buffer) {
            Ok(0) => {
                output.open = false;
                return Ok(());
            }
            Ok(n) => {
                log.append(output.stream, &buffer[..n])?;
                terminal.write(output.stream, &buffer[..n]);
                if !drain {
                    return Ok(());
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(e).context("cannot read the container's output"),
        }
    }
}

/// Our own stdout and stderr. If a reader goes away (`bocker run … | head`),
/// we stop forwarding but keep logging, and the container runs on.
struct Terminal {
    enabled: bool,
}

impl Terminal {
    fn write(&mut self, stream: Stream, bytes: &[u8]) {
        if !self.enabled {
            return;
        }
        let result = match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
        };
        if result.is_err_and(|e| e.kind() == ErrorKind::BrokenPipe) {
            self.enabled = false;
        }
    }
}

/// pidfd_open(2). `None` on kernels older than 5.3: then we stop when the
/// pipes close.
fn open_pidfd(pid: Pid) -> Option<OwnedFd> {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn set_nonblocking(fd: &OwnedFd) -> Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// waitpid(2) until the process has ended, and turn its status into a
/// shell-style exit code: the code it passed to exit(), or 128 + N when
/// signal N killed it (137 for SIGKILL).
pub fn wait_for_exit_code(pid: Pid) -> Result<i32> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(128 + signal as i32),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("cannot wait for the container"),
        }
    }
}
