//! `bocker pause` / `bocker unpause`: the cgroup freezer (chapter 4).
//!
//! Freezing stops every process of the container where it is, without a
//! signal it could notice: they simply get no more CPU time until thawed.

use std::io::Write;

use anyhow::{bail, Result};

use super::running;
use crate::errors::{self, Failure};
use crate::runtime::cgroup;
use crate::runtime::cgroup::chapter as cgroups;
use crate::state::Store;

/// Freeze (`frozen`) or thaw each container in `wanted`.
pub fn pause(store: &Store, wanted: &[String], frozen: bool) -> Result<u8> {
    let mut all_done = true;
    for name in wanted {
        match set_one(store, name, frozen) {
            Ok(id) => writeln!(std::io::stdout(), "{id}")?,
            Err(error) => {
                errors::print(&error);
                all_done = false;
            }
        }
    }
    Ok(if all_done { 0 } else { 1 })
}

fn set_one(store: &Store, name: &str, frozen: bool) -> Result<String> {
    let (record, group) = running::with_cgroup(store, name)?;
    match (cgroup::is_frozen(&group), frozen) {
        (true, true) => bail!(Failure::new(
            1,
            format!("Container '{name}' is already paused")
        )),
        (false, false) => bail!(Failure::new(1, format!("Container '{name}' is not paused"))),
        _ => {}
    }
    cgroups::set_frozen(&group, frozen)?;
    #[cfg(feature = "docker")]
    store.event(if frozen { "pause" } else { "unpause" }, &record, &[]);
    Ok(record.id)
}
