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
use nix::sys::signal::Signal;

use crate::errors;
use crate::runtime::process::pidfd::PidFd;
use crate::spec::Liveness;
use crate::state::records::{ContainerRecord, Status};
use crate::state::Store;

pub fn stop(store: &Store, wanted: &[String], grace_seconds: u64) -> Result<u8> {
    let mut all_stopped = true;
    for name in wanted {
        match store.container(name) {
            Ok(container) => {
                stop_one(store, &container, Duration::from_secs(grace_seconds));
                #[cfg(feature = "docker")]
                store.event("stop", &container, &[]);
                writeln!(std::io::stdout(), "{}", container.id)?;
            }
            Err(error) => {
                errors::print(&error);
                all_stopped = false;
            }
        }
    }
    Ok(if all_stopped { 0 } else { 1 })
}

pub(super) fn stop_one(store: &Store, container: &ContainerRecord, grace: Duration) {
    // Asked to end: a restart policy (`run --restart`) must not start it
    // again, now or during its wait before the next start.
    let _ = store.update_container(&container.id, |record| {
        record.stopped_by_user = true;
        Ok(())
    });
    let (Status::Running, Some(first)) = (container.status, container.first_process()) else {
        return; // not running: nothing to do
    };
    // A frozen process cannot act on a signal: thaw a paused container
    // first, as `docker stop` does.
    #[cfg(feature = "stage4")]
    if super::running::is_paused(container) {
        if let Some(group) = crate::runtime::cgroup::existing(&container.id) {
            let _ = crate::runtime::cgroup::chapter::set_frozen(&group, false);
        }
    }
    // The process, by a descriptor: a pid can be reused once its owner is
    // gone, and the signals must reach this process or none. (None: it is
    // gone already, and its keeper is recording the end.)
    if let Some(process) = PidFd::open(&first) {
        // A pid 1 that is already on its way out counts as alive here: it
        // is not gone until the kernel has finished with it.
        let alive = || first.liveness() != Liveness::Gone;
        if alive() {
            let _ = process.signal(Signal::SIGTERM);
        }
        if !wait_until(grace, || !alive()) && alive() {
            let _ = process.signal(Signal::SIGKILL);
            wait_until(Duration::from_secs(5), || !alive());
        }
    }
    // The keeper (`run -d`'s monitor, or a `bocker run` in another shell)
    // reaps the process, releases the cgroup and network, records the exit
    // code, then exits. `stop` returns when the keeper is gone too, as
    // `docker stop` returns only once the container is fully stopped:
    // returning at the exit code would leave a bocker still exiting.
    wait_until(Duration::from_secs(5), || {
        let recorded = store
            .container(&container.id)
            .map_or(true, |c| c.exit_code.is_some());
        recorded && container.keeper_gone()
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
