//! `update --resources FILE ID`: new limits for a container that exists,
//! as podman's `update` and containerd's shim ask for them. The resources
//! come in config.json's `linux.resources` shape; what is left out (or 0)
//! stays as it was. The cgroup's files are written at once, as Bocker's
//! own `update` does (cgroup::change_limits), and the record keeps the
//! limits, so the next update starts from them.

use anyhow::{Context, Result};

use super::bundle::{swap_beyond, ResourceUpdate};
use super::{allow_swap, require_status, Status};
use crate::runtime::cgroup;
use crate::state::oci::OciStore;

pub fn update(store: &OciStore, id: &str, asked: &ResourceUpdate) -> Result<()> {
    let mut record = store.read(id)?;
    let alive = [Status::Created, Status::Running, Status::Paused];
    require_status(store, &record, &alive, "its limits cannot change")?;
    let group = cgroup::existing_at(&record.cgroup_path)
        .with_context(|| format!("container {id} has no cgroup"))?;
    let new = record.limits.updated_with(&asked.limits);
    // A new swap, or the one the container had if it still fits above
    // the (maybe new) memory limit.
    let limit = new.memory.map(|bytes| bytes as i64);
    let swap = match asked.swap {
        Some(swap) => swap_beyond(limit, Some(swap))?,
        None => record
            .memory_swap
            .filter(|swap| *swap == -1 || Some(*swap) > limit),
    };
    cgroup::change_limits(&group, &record.limits, &new)
        .with_context(|| format!("cannot change the limits of {id}"))?;
    // change_limits leaves no swap beyond the memory limit (the frame's
    // rule); give back what config.json or this update allow.
    if let (Some(limit), Some(swap)) = (new.memory, swap) {
        allow_swap(&record.cgroup_path, limit, swap)?;
    }
    record.limits = new;
    record.memory_swap = swap;
    store.write(&record)
}
