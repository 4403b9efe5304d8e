//! The handshake between bocker and the container's child process.
//!
//! Two pipes. The parent writes one byte on `go` once its set-up from the
//! outside is done (chapter 4 puts the child in a cgroup there, chapter 5
//! gives it a network); the child waits for that byte before it goes on.
//!
//! The child's answer travels on `report`, a pipe marked close-on-exec
//! (`O_CLOEXEC`): if `execve` succeeds, the kernel closes it and the parent
//! reads end-of-file with no data, which means "the command is running".
//! If anything fails first, the child writes an exit code and a message, so
//! the parent can print `command not found` instead of guessing.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;

use crate::errors::{Failure, START_FAILED};

/// The parent's ends: it writes `go` and reads `report`.
pub struct ParentSide {
    go: File,
    report: File,
}

/// The child's ends: it reads `go` and writes `report`.
pub struct ChildSide {
    go: File,
    report: File,
}

/// Make both pipes. Call before creating the child, which inherits them.
pub fn new() -> Result<(ParentSide, ChildSide)> {
    let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    Ok((
        ParentSide {
            go: File::from(go_write),
            report: File::from(report_read),
        },
        ChildSide {
            go: File::from(go_read),
            report: File::from(report_write),
        },
    ))
}

impl ParentSide {
    /// The raw descriptors, which the child must close on its side.
    pub fn raw_fds(&self) -> [RawFd; 2] {
        [self.go.as_raw_fd(), self.report.as_raw_fd()]
    }

    /// Tell the child to go on, then wait for its outcome: `Ok` once the
    /// command is executing, or the child's reason for failing.
    pub fn release_and_wait(mut self) -> Result<()> {
        self.go
            .write_all(b"g")
            .context("the container process died before it started")?;
        drop(self.go);
        let mut answer = Vec::new();
        self.report
            .read_to_end(&mut answer)
            .context("cannot read the container's start report")?;
        match Failure::from_bytes(&answer) {
            None => Ok(()),
            Some(failure) => Err(failure.into()),
        }
    }
}

impl ChildSide {
    /// Block until the parent says go. End-of-file means the parent died.
    pub fn wait_for_go(&mut self) -> Result<(), Failure> {
        let mut byte = [0u8; 1];
        match self.go.read(&mut byte) {
            Ok(1) => Ok(()),
            _ => Err(Failure::new(
                START_FAILED,
                "bocker went away before the start",
            )),
        }
    }

    /// Send the reason for failing (only called when exec did not happen).
    pub fn report(&mut self, failure: &Failure) {
        send_report(&mut self.report, failure);
    }

    /// The report pipe's descriptor, for `run --init`, whose init carries
    /// it across its own execve (see runtime/init/).
    pub fn report_fd(&self) -> RawFd {
        self.report.as_raw_fd()
    }
}

/// Write a failure on the report pipe.
pub fn send_report(report: &mut File, failure: &Failure) {
    // Nothing more we can do if even this fails: the exit code remains.
    let _ = report.write_all(&failure.to_bytes());
}
