//! Undoing what a container holds on the host.
//!
//! One function, [`release`], called from four places: when the
//! container's command ends, when its start fails, by `rm` (through
//! [`remove`]), and by the sweep that cleans up after a bocker that was
//! killed (sweep.rs). So it must work from
//! the id alone, without the record (which may be damaged), and be safe to
//! run twice: each step removes its object if it is there, and is content
//! if it is not.

use anyhow::Result;

use crate::state::Store;

/// Release everything container `id` holds on the host.
pub fn release(store: &Store, id: &str) -> Result<()> {
    // Chapter 4: the cgroup, and whatever still runs in it. The step is
    // the chapter's own code: an unfinished exercise must not crash `ps`
    // (which sweeps), so a todo!() here becomes an error.
    #[cfg(feature = "stage4")]
    if let Some(group) = super::cgroup::existing(id) {
        use super::cgroup::chapter as cgroups;
        use crate::course::exercise;
        use crate::errors::{Failure, START_FAILED};
        exercise::catch_panic(|| cgroups::remove_cgroup(&group))
            .map_err(|report| Failure::new(START_FAILED, report))??;
        // And bocker's parent, `bocker/`, if this was its last container:
        // nothing of bocker's stays in the host's cgroups once no container
        // runs. (A `run` that made its cgroup meanwhile keeps it.)
        super::cgroup::remove_parent_if_empty();
    }
    // Chapter 5: the veth pair, the published ports, the address lease.
    #[cfg(feature = "stage5")]
    super::network::release(store, id)?;
    let _ = (store, id);
    Ok(())
}

/// Remove container `id` for good: release what it holds on the host,
/// then its directory and name (`Store::remove_container`). In that order:
/// if bocker is killed in between, the directory is still there, and `rm`
/// or the sweep can release again from the id alone.
pub fn remove(store: &Store, id: &str) -> Result<()> {
    release(store, id)?;
    store.remove_container(id)
}
