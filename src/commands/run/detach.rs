//! `run -d`: a monitor process that outlives bocker.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::unistd::{fork, pipe2, setsid, ForkResult};

use super::{relay_and_finish, start};
use crate::container::ContainerConfig;
use crate::errors::Failure;
use crate::exercise;
use crate::logs::LogWriter;
use crate::records::ContainerRecord;
use crate::store::Store;

/// Fork a monitor that starts the container, relays its output to the
/// log and records its exit. bocker waits only until the command runs
/// (or has failed to start), prints the id, and returns.
///
/// ```text
///   bocker run -d ──fork──▶ monitor ──clone──▶ container
///        ▲                    │ started (or why not)
///        └──── report pipe ───┘
///   prints the id, exits      relays output to the log, waits,
///                             records the exit code, exits
/// ```
pub fn run_in_background(
    store: &Store,
    mut record: ContainerRecord,
    config: &ContainerConfig,
    mut log: LogWriter,
    remove_after: bool,
) -> Result<u8> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (mut from_monitor, mut to_bocker) = (File::from(read_end), File::from(write_end));

    // Safe: bocker is single-threaded.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            drop(from_monitor);
            // A session of its own: the terminal's Ctrl-C and hang-up
            // no longer reach the monitor.
            let _ = setsid();
            detach_stdio();
            let outcome = exercise::catch_panic(|| {
                match start(store, &mut record, config, remove_after) {
                    Ok(started) => {
                        // Closing the pipe with nothing in it says "running".
                        drop(to_bocker);
                        relay_and_finish(store, &mut record, started, &mut log, false, remove_after)
                            .is_ok()
                    }
                    Err(error) => {
                        let _ = to_bocker.write_all(&Failure::from_error(&error).to_bytes());
                        false
                    }
                }
            });
            // Never return into bocker's code: this process is a copy.
            unsafe { libc::_exit(if outcome == Ok(true) { 0 } else { 1 }) }
        }
        ForkResult::Parent { .. } => {
            drop(to_bocker);
            let mut answer = Vec::new();
            from_monitor
                .read_to_end(&mut answer)
                .context("cannot hear from the monitor")?;
            if let Some(failure) = Failure::from_bytes(&answer) {
                return Err(failure.into());
            }
            writeln!(std::io::stdout(), "{}", record.id)?;
            Ok(0)
        }
    }
}

/// The monitor must let go of bocker's stdin, stdout and stderr, or
/// whoever reads bocker's output would wait for the monitor to end.
fn detach_stdio() {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        for target in 0..=2 {
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
    }
}
