//! `bocker attach CONTAINER`: print what a running container prints from
//! now on, to stdout and stderr as it came, and end with its exit code.
//!
//! A container started in the background (`run -d`, `start`) has its
//! output relayed to its log by its monitor (run/detach.rs), and its
//! stdin is /dev/null: attach follows the log (state/log_reader.rs), and
//! has no stdin to pass on. Ctrl-C ends the attach, not the container.

use anyhow::Result;

use super::running;
use crate::state::log_reader::{end_of, follow, LogQuery, Position};
use crate::state::records::Status;
use crate::state::Store;

pub fn attach(store: &Store, wanted: &str) -> Result<u8> {
    let container = running::container(store, wanted)?;
    let log = store.container_paths(&container.id).log;
    let from = end_of(&log)?;
    follow_to_the_end(store, &container.id, from)
}

/// Print the log of container `id` from `from` until it stops; its exit
/// code (as `run` in the foreground ends with it).
pub fn follow_to_the_end(store: &Store, id: &str, from: Position) -> Result<u8> {
    let log = store.container_paths(id).log;
    // Until its keeper has recorded the end (a container just started may
    // not be recorded as running yet: Created counts as not ended).
    let running = || {
        store
            .container(id)
            .is_ok_and(|record| record.status != Status::Exited)
    };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    follow(
        &log,
        from,
        &LogQuery::default(),
        &mut out,
        &mut err,
        &running,
    )?;
    let code = store.container(id).ok().and_then(|record| record.exit_code);
    Ok(code.map_or(1, |code| u8::try_from(code).unwrap_or(1)))
}
