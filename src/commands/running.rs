//! Finding a running container, for the verbs that act on one.

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::spec::Liveness;
use crate::state::records::{ContainerRecord, Status};
use crate::state::Store;

/// The container `wanted`, if its first process is alive; Bocker's
/// message otherwise.
#[cfg_attr(not(feature = "stage2"), allow(dead_code))]
pub fn container(store: &Store, wanted: &str) -> Result<ContainerRecord> {
    let record = store.container(wanted)?;
    let alive = record.status == Status::Running
        && record
            .first_process()
            .is_some_and(|first| first.liveness() == Liveness::Alive);
    if !alive {
        bail!(Failure::new(
            1,
            format!("Container '{wanted}' exists but is not running")
        ));
    }
    Ok(record)
}

/// The running container `wanted` and its cgroup (chapter 4).
#[cfg(feature = "stage4")]
pub fn with_cgroup(
    store: &Store,
    wanted: &str,
) -> Result<(ContainerRecord, cgroups_rs::fs::Cgroup)> {
    let record = container(store, wanted)?;
    let Some(group) = crate::runtime::cgroup::existing(&record.id) else {
        bail!("Container '{wanted}' has no cgroup (was it started before chapter 4?)");
    };
    Ok((record, group))
}

/// Is the container `record` paused (its cgroup frozen)?
pub fn is_paused(record: &ContainerRecord) -> bool {
    #[cfg(feature = "stage4")]
    {
        crate::runtime::cgroup::existing(&record.id)
            .is_some_and(|group| crate::runtime::cgroup::is_frozen(&group))
    }
    #[cfg(not(feature = "stage4"))]
    {
        let _ = record;
        false
    }
}
