//! Docker's lifecycle verbs on containers that exist: `start` (a created
//! or stopped container runs again: its same root filesystem, its same
//! name), `restart` (stop, then start) and `kill -s SIGNAL`.
//!
//! `start` reuses `run -d`'s monitor (run/detach.rs): a process that takes
//! the container's keeper lock, starts its command, relays its output to
//! the log and records its exit. The record says the same container again:
//! its id, name, command, limits and network; a container on the bridge
//! gets an address again, as its old one went back to the pool when it
//! stopped.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use super::running;
use crate::errors::Failure;
use crate::runtime::process::pidfd::PidFd;
use crate::state::Store;

pub fn start(store: &Store, wanted: &[String], attach: bool) -> Result<u8> {
    if attach {
        return match wanted {
            [one] => start_attached(store, one),
            _ => Err(Failure::new(
                crate::errors::USAGE,
                "start -a takes one container: its output is printed",
            )
            .into()),
        };
    }
    super::for_each_named(wanted, |name| {
        let container = store.container(name)?;
        if container.is_running() {
            // Docker's start of a running container changes nothing.
            writeln!(std::io::stdout(), "{}", container.id)?;
            return Ok(());
        }
        super::run::start_in_background(store, container, true)?;
        Ok(())
    })
}

/// `start -a`: start it, then print what it prints from then on (the log
/// from where it ended before the start, so nothing is missed), and end
/// with its exit code.
fn start_attached(store: &Store, name: &str) -> Result<u8> {
    let container = store.container(name)?;
    if container.is_running() {
        return super::attach::attach(store, name);
    }
    let log = store.container_paths(&container.id).log;
    let from = crate::state::log_reader::end_of(&log)?;
    super::run::start_in_background(store, container.clone(), false)?;
    super::attach::follow_to_the_end(store, &container.id, from)
}

pub fn restart(store: &Store, wanted: &[String], grace_seconds: u64) -> Result<u8> {
    super::for_each_named(wanted, |name| {
        let container = store.container(name)?;
        super::stop::stop_one(store, &container, Duration::from_secs(grace_seconds));
        store.event("restart", &container, &[]);
        let stopped = store.container(&container.id)?;
        super::run::start_in_background(store, stopped, true)?;
        Ok(())
    })
}

/// Docker's `kill [-s SIGNAL] CONTAINER…` (SIGKILL by default): the
/// signal goes to each container's first process, by a pidfd.
pub fn kill(store: &Store, wanted: &[String], signal: Option<&str>) -> Result<u8> {
    let signal = super::oci::parse_signal(signal.unwrap_or("KILL"))?;
    super::for_each_named(wanted, |name| {
        let container = running::container(store, name)?;
        let first = container
            .first_process()
            .and_then(|first| PidFd::open(&first))
            .ok_or_else(|| Failure::new(1, format!("container {} is not running", container.id)))?;
        first.signal(signal)?;
        store.event(
            "kill",
            &container,
            &[("signal", signal.as_str().to_string())],
        );
        writeln!(std::io::stdout(), "{}", container.id)?;
        Ok(())
    })
}
