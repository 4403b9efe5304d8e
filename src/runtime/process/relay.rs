//! Copying the container's output to the terminal and to its log (and,
//! with `-i`, bocker's input to the container), and waiting for it to end.
//!
//! The container writes into two pipes. We wait on both with poll(2), and
//! on a *pidfd*: a descriptor for the process itself (pidfd_open(2), Linux
//! 5.3) that becomes readable when the process exits. Without it, a program
//! that leaves a background job holding the pipes would keep us waiting
//! after the command itself has finished. A signalfd brings the signals
//! bocker forwards to the container (signals.rs).

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{read, write, Pid};

use super::signals::Forwarder;
use crate::state::logs::{LogWriter, Stream};

/// What to relay, for which process.
pub struct Relay<'a> {
    /// The process to wait for (a child of ours).
    pub pid: Pid,
    /// Read ends of its stdout and stderr.
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With `-i`: the write end of its stdin, fed from bocker's stdin.
    pub stdin: Option<OwnedFd>,
    pub log: Option<&'a mut LogWriter>,
    /// Also copy the output to bocker's own stdout and stderr.
    pub to_terminal: bool,
    /// With `-t`: the master of the container's terminal (`stdout` and
    /// `stdin` are copies of it), which gets bocker's window size when it
    /// changes (SIGWINCH).
    pub terminal: Option<OwnedFd>,
}

/// One of the container's output pipes.
struct Output {
    pipe: OwnedFd,
    stream: Stream,
    open: bool,
}

/// bocker's stdin on its way into the container's stdin pipe. What was
/// read waits in `pending` until the pipe takes it: a container that does
/// not read its input must not stop us from relaying its output.
struct Input {
    pipe: Option<OwnedFd>,
    pending: Vec<u8>,
    source_open: bool,
    /// `pipe` is a terminal's master (`-it`), which stays open for the
    /// output: its end of input is the end-of-file character instead.
    terminal: bool,
    /// Whether what was read last ended a line (or nothing was read).
    at_line_start: bool,
}

/// What each descriptor given to poll stands for.
#[derive(Clone, Copy)]
enum Slot {
    Output(usize),
    BockerStdin,
    ContainerStdin,
    Signals,
    ProcessEnded,
}

/// Relay until the process ends; return its exit code.
pub fn relay_until_exit(relay: Relay) -> Result<i32> {
    let Relay {
        pid,
        stdout,
        stderr,
        stdin,
        mut log,
        to_terminal,
        terminal,
    } = relay;
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
    let mut input = Input {
        source_open: stdin.is_some(),
        pipe: stdin,
        pending: Vec::new(),
        terminal: terminal.is_some(),
        at_line_start: true,
    };
    if let Some(pipe) = &input.pipe {
        set_nonblocking(pipe)?;
    }
    let mut own_output = BockersOutput {
        enabled: to_terminal,
    };
    let pidfd = open_pidfd(pid);
    let mut signals = Forwarder::new()?;
    // SAFETY: fd 0 stays open for as long as bocker runs.
    let bocker_stdin = unsafe { BorrowedFd::borrow_raw(0) };

    loop {
        let mut slots: Vec<Slot> = Vec::new();
        let mut fds: Vec<PollFd> = Vec::new();
        for (i, output) in outputs.iter().enumerate().filter(|(_, o)| o.open) {
            slots.push(Slot::Output(i));
            fds.push(PollFd::new(output.pipe.as_fd(), PollFlags::POLLIN));
        }
        if let Some(pipe) = &input.pipe {
            if input.pending.is_empty() && input.source_open {
                slots.push(Slot::BockerStdin);
                fds.push(PollFd::new(bocker_stdin, PollFlags::POLLIN));
            } else if !input.pending.is_empty() {
                slots.push(Slot::ContainerStdin);
                fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLOUT));
            }
        }
        slots.push(Slot::Signals);
        fds.push(PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN));
        if let Some(pidfd) = &pidfd {
            slots.push(Slot::ProcessEnded);
            fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
        } else if outputs.iter().all(|o| !o.open) {
            break; // no pidfd: the pipes closing is the best sign we have
        }

        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            other => other.context("poll failed")?,
        };
        let ready: Vec<Slot> = slots
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(slot, _)| *slot)
            .collect();
        drop(fds);

        let mut process_ended = false;
        for slot in ready {
            match slot {
                Slot::Output(i) => pump(&mut outputs[i], &mut log, &mut own_output, false)?,
                Slot::BockerStdin => input.read_from(bocker_stdin),
                Slot::ContainerStdin => input.write_pending(),
                Slot::Signals => {
                    let resized = signals.forward_pending(pid);
                    if let (true, Some(master)) = (resized, &terminal) {
                        copy_window_size(master);
                    }
                }
                Slot::ProcessEnded => process_ended = true,
            }
        }
        if process_ended {
            // Take what is already in the pipes, but do not wait for
            // writers that outlived the command.
            for output in outputs.iter_mut().filter(|o| o.open) {
                set_nonblocking(&output.pipe)?;
                pump(output, &mut log, &mut own_output, true)?;
            }
            break;
        }
    }
    wait_for_exit_code(pid)
}

impl Input {
    /// Read what bocker's stdin has; end-of-file closes the container's
    /// stdin, so that it sees end-of-file too.
    fn read_from(&mut self, source: BorrowedFd) {
        let mut buffer = [0u8; 64 * 1024];
        match read(source, &mut buffer) {
            Ok(0) => self.source_ended(),
            Ok(n) => {
                self.pending.extend_from_slice(&buffer[..n]);
                self.at_line_start = buffer[n - 1] == b'\n';
            }
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
            Err(_) => self.source_ended(),
        }
    }

    fn source_ended(&mut self) {
        self.source_open = false;
        if self.terminal {
            // `echo hi | bocker run -it IMG cat`: closing our copy of the
            // master would not end the input (the output keeps it open).
            // The terminal's end-of-file character does, as Ctrl-D typed
            // at the start of a line: the program's read returns 0. (In
            // the middle of a line, a first Ctrl-D only hands the line
            // over: one more then ends the input.)
            if !self.at_line_start {
                self.pending.push(0x04);
            }
            self.pending.push(0x04);
        } else if self.pending.is_empty() {
            self.pipe = None; // closing our end: the container reads end-of-file
        }
    }

    fn write_pending(&mut self) {
        let Some(pipe) = &self.pipe else {
            self.pending.clear();
            return;
        };
        match write(pipe, &self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
                if self.pending.is_empty() && !self.source_open {
                    self.pipe = None;
                }
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            // EPIPE: the container closed its stdin; stop feeding it.
            Err(_) => {
                self.pipe = None;
                self.pending.clear();
            }
        }
    }
}

/// Read from one pipe. Without `drain`, one read (poll said it will not
/// block); with `drain`, read until the pipe is empty.
fn pump(
    output: &mut Output,
    log: &mut Option<&mut LogWriter>,
    own_output: &mut BockersOutput,
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
                if let Some(writer) = log {
                    if let Err(error) = writer.append(output.stream, &buffer[..n]) {
                        // A full disk must not cost the container its
                        // watcher: the relay goes on, and the teardown
                        // still runs at the end. Said once.
                        crate::errors::warn(&format!(
                            "{error:#}: from now on the container's output is not logged"
                        ));
                        *log = None;
                    }
                }
                own_output.write(output.stream, &buffer[..n]);
                if !drain {
                    return Ok(());
                }
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(()),
            // A terminal's master reads EIO, not end-of-file, once every
            // descriptor of its slave is closed: the command has ended.
            Err(Errno::EIO) => {
                output.open = false;
                return Ok(());
            }
            Err(e) => return Err(e).context("cannot read the container's output"),
        }
    }
}

/// Our own stdout and stderr. If a reader goes away (`bocker run … | head`),
/// we stop forwarding but keep logging, and the container runs on.
struct BockersOutput {
    enabled: bool,
}

impl BockersOutput {
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

/// bocker's terminal changed size: give the container's the same. (The
/// kernel then sends SIGWINCH to the program in the container.)
fn copy_window_size(master: &OwnedFd) {
    use super::terminal::{set_window_size, window_size_of};
    let size = window_size_of(std::io::stdout().as_fd())
        .or_else(|| window_size_of(std::io::stdin().as_fd()));
    if let Some(size) = size {
        set_window_size(master.as_fd(), &size);
    }
}

/// pidfd_open(2). `None` on kernels older than 5.3: then we stop when the
/// pipes close.
fn open_pidfd(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor
    // or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
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
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("cannot wait for the container"),
        }
    }
}
