//! `bocker update --memory … CONTAINER`: change limits while it runs.
//!
//! A cgroup's limits are files, and they can be written at any time: the
//! kernel applies a new memory.max at once (reclaiming, or OOM-killing, if
//! the container is above it).

use std::io::Write;

use anyhow::{Context, Result};

use super::run::limits;
use super::running;
use crate::cli::LimitArgs;
use crate::errors;
use crate::runtime::cgroup;
use crate::state::Store;

pub fn update(store: &Store, flags: &LimitArgs, wanted: &[String]) -> Result<u8> {
    let asked = limits(flags, false)?;
    let mut all_done = true;
    for name in wanted {
        let done = running::with_cgroup(store, name).and_then(|(record, group)| {
            let new = record.limits.updated_with(&asked);
            cgroup::change_limits(&group, &record.limits, &new)
                .with_context(|| format!("cannot change the limits of {}", record.id))?;
            store.update_container(&record.id, |record| {
                record.limits = new;
                Ok(())
            })?;
            Ok(record.id)
        });
        match done {
            Ok(id) => writeln!(std::io::stdout(), "{id}")?,
            Err(error) => {
                errors::print(&error);
                all_done = false;
            }
        }
    }
    Ok(if all_done { 0 } else { 1 })
}
