//! `bocker stop CONTAINER…`: ask politely, then insist.
//!
//! The container's first process is pid 1 of its PID namespace, and the
//! kernel protects a namespace's pid 1 from every signal it has no handler
//! for — SIGTERM included. So we send SIGTERM, give the program a grace
//! period to exit on its own, then send SIGKILL, which pid 1 cannot ignore
//! when it comes from outside its namespace.

use std::io::Write;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::records::{ContainerRecord, Status};
use crate::store::{process_start_time, Store};

pub fn stop(store: &Store, wanted: &[String], grace_seconds: u64) -> Result<u8> {
    let mut all_stopped = true;
    for name in wanted {
        match store.container(name) {
            Ok(container) => {
                stop_one(store, &container, Duration::from_secs(grace_seconds));
                writeln!(std::io::stdout(), "{}", container.id)?;
            }
            Err(error) => {
                eprintln!("bocker: {error:#}");
                all_stopped = false;
            }
        }
    }
    Ok(if all_stopped { 0 } else { 1 })
}

fn stop_one(store: &Store, container: &ContainerRecord, grace: Duration) {
    let (Status::Running, Some(pid), Some(start)) =
        (container.status, container.pid, container.pid_start_time)
    else {
        return; // not running: nothing to do
    };
    // Still the same process? (A pid can be reused once its owner is gone.)
    let alive = || process_start_time(pid) == Some(start);
    let pid = Pid::from_raw(pid);

    if alive() {
        let _ = kill(pid, Signal::SIGTERM);
    }
    if !wait_until(grace, || !alive()) && alive() {
        let _ = kill(pid, Signal::SIGKILL);
        wait_until(Duration::from_secs(5), || !alive());
    }
    // The monitor records the exit code once it has reaped the process.
    wait_until(Duration::from_secs(5), || {
        store
            .container(&container.id)
            .map_or(true, |c| c.exit_code.is_some())
    });
}

/// Poll `done` every 50 ms until it holds or `limit` has passed.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        sleep(Duration::from_millis(50));
    }
    done()
}
