//! Naming a process by a descriptor instead of its number.
//!
//! A pid is a number the kernel hands out again once its process is gone
//! and collected. `kill(pid)` or `open("/proc/PID/…")` after checking
//! that the process is alive races with that: in between, the container
//! may end and another process, of the host, get its number.
//!
//! A *pidfd* (pidfd_open(2), Linux 5.3) is a descriptor that names one
//! process for as long as the descriptor is open, whatever happens to the
//! number. bocker opens one for a container's first process, checks once
//! that it is the process the record names (its start time, field 22 of
//! /proc/PID/stat), and from then on acts through the descriptor:
//! pidfd_send_signal(2) signals exactly that process, setns(2) with a pidfd
//! (Linux 5.8) joins exactly its namespaces.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::spec::ProcessId;

pub struct PidFd(OwnedFd);

impl PidFd {
    /// A pidfd for `process`, if it still exists (a zombie counts: its
    /// number cannot be handed out again until it is collected).
    pub fn open(process: &ProcessId) -> Option<PidFd> {
        // SAFETY: pidfd_open reads no memory of ours; it returns a new
        // descriptor (close-on-exec) or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, process.pid, 0) };
        if raw < 0 {
            return None; // ESRCH: no process has that number any more
        }
        // SAFETY: the kernel just gave us this descriptor; nothing else
        // owns it.
        let pidfd = PidFd(unsafe { OwnedFd::from_raw_fd(raw as i32) });
        // The descriptor names whichever process had the number when it
        // was opened. It is ours if that process started when the record
        // says: checked now, after opening, the answer holds for as long
        // as the descriptor does.
        let now = ProcessId::of(process.pid)?;
        (now.start_time == process.start_time).then_some(pidfd)
    }

    /// A pidfd for `child`, a child of ours that we have not collected
    /// yet: its number cannot go to anyone else meanwhile.
    pub fn of_child(child: nix::unistd::Pid) -> nix::Result<PidFd> {
        // SAFETY: as in `open`.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
        Errno::result(raw).map(|raw| {
            // SAFETY: a new descriptor of ours.
            PidFd(unsafe { OwnedFd::from_raw_fd(raw as i32) })
        })
    }

    /// Send `signal` to the process, not to whoever has its number.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        self.send(signal as i32)
    }

    /// Has the process not been collected yet? (Signal 0 checks, and sends
    /// nothing.) While it has not, its number is still its own: a file
    /// opened under /proc/PID meanwhile was that process's.
    pub fn still_there(&self) -> bool {
        self.send(0).is_ok()
    }

    fn send(&self, signal: i32) -> nix::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_send_signal reads no memory of ours (no siginfo:
        // a null pointer); the descriptor is open.
        let result = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        Errno::result(result).map(drop)
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<PidFd> for OwnedFd {
    fn from(pidfd: PidFd) -> OwnedFd {
        pidfd.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_names_this_process_and_refuses_another_start_time() {
        let me = ProcessId::myself().unwrap();
        let pidfd = PidFd::open(&me).expect("a pidfd for this process");
        assert!(pidfd.still_there());
        let impostor = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(
            PidFd::open(&impostor).is_none(),
            "a process that started at another time is another process"
        );
    }

    #[test]
    fn a_collected_process_is_not_there_any_more() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let process = ProcessId::of(child.id() as i32);
        let pidfd = process.as_ref().and_then(PidFd::open);
        child.wait().unwrap();
        // It may have ended before we opened it: then there is no pidfd.
        if let Some(pidfd) = pidfd {
            assert!(!pidfd.still_there());
            assert_eq!(pidfd.signal(Signal::SIGTERM), Err(Errno::ESRCH));
        }
    }
}
