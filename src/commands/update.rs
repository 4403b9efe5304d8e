//! `bocker update --memory … CONTAINER`: change limits while it runs.
//!
//! A cgroup's limits are files, and they can be written at any time: the
//! kernel applies a new memory.max at once (reclaiming, or OOM-killing, if
//! the container is above it).

use std::io::Write;

use anyhow::{Context, Result};
use cgroups_rs::fs::memory::MemController;

use super::run::limits;
use super::running;
use crate::cli::LimitArgs;
use crate::errors;
use crate::runtime::cgroup;
use crate::runtime::cgroup::chapter as cgroups;
use crate::state::Store;

pub fn update(store: &Store, flags: &LimitArgs, wanted: &[String]) -> Result<u8> {
    let asked = limits(flags, false)?;
    let mut all_done = true;
    for name in wanted {
        let done = running::with_cgroup(store, name).and_then(|(mut record, group)| {
            let new = record.limits.updated_with(&asked);
            if !group.v2() && new.memory > record.limits.memory {
                // v1 refuses a memory limit above the memory+swap limit:
                // when raising, raise memory+swap first.
                let memory: Option<&MemController> = group.controller_of();
                if let (Some(bytes), Some(memory)) = (new.memory, memory) {
                    let _ = memory.set_memswap_limit(bytes as i64);
                }
            }
            // The memory limit through your part one, the rest through
            // cgroups-rs (your part two's resources leave memory out).
            if let (Some(bytes), Some(dir)) = (
                new.memory,
                cgroup::directory(&group, cgroups_rs::fs::Controllers::Mem),
            ) {
                crate::course::exercise::yours(1, || {
                    cgroup::files::set_memory_limit(&dir, bytes, group.v2())
                })
                .with_context(|| format!("cannot change the limits of {}", record.id))?;
            }
            group
                .apply(&cgroups::resources(&new, group.v2()))
                .with_context(|| format!("cannot change the limits of {}", record.id))?;
            cgroup::verify_limits(&group, &new)?;
            record.limits = new;
            store.save_container(&record)?;
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
