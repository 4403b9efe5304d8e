//! Cleaning up after a bocker that was killed midway.
//!
//! SIGKILL cannot be caught: a bocker killed while it builds an image,
//! removes a container or watches one has no chance to finish. Every such
//! moment leaves a trace the next command can recognise:
//!
//! | trace                                      | what happened                   | the sweep                       |
//! |--------------------------------------------|---------------------------------|---------------------------------|
//! | `.tmp-PID-…` whose PID is gone             | killed while building           | tears down*, deletes            |
//! | `.trash-PID-…` whose PID is gone           | killed while removing           | tears down, deletes             |
//! | `names/N` whose container does not exist   | killed between claim and build  | gives the name back             |
//! | `keeper.lock` that nobody holds            | killed while watching           | kills, tears down, records exit |
//! | lease marked draining, its veth pair gone  | (not a crash: see network/)     | gives the address back          |
//!
//! \* a container's only: its builder may have claimed an address.
//!
//! Each step is safe to repeat and safe next to a bocker that is still at
//! work: it only touches what belongs to a process that no longer exists.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use nix::sys::signal::Signal;

use super::process::pidfd::PidFd;
use super::teardown;
use crate::state::ids;
use crate::state::keeper_lock::{self, Keeper};
use crate::state::records::Status;
use crate::state::store::Store;

pub fn sweep(store: &Store) {
    sweep_directory(store, &store.images_dir());
    sweep_directory(store, &store.containers_dir());
    sweep_names(store);
    #[cfg(feature = "stage5")]
    sweep_leases(store);
    sweep_abandoned_containers(store);
    #[cfg(feature = "stage6")]
    sweep_btrfs_drafts(store);
    sweep_volume_drafts(store);
}

/// Named volumes half made (`.new-PID-NAME`) or half removed
/// (`.trash-PID-NAME`) by a bocker that was killed (state/volumes.rs).
fn sweep_volume_drafts(store: &Store) {
    let dir = store.root().join("volumes");
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let parts = hidden_parts(".new-", &name).or_else(|| hidden_parts(".trash-", &name));
        if parts.is_some_and(|(pid, _)| !process_exists(pid)) {
            let _ = store.delete(&entry.path());
        }
    }
}

/// Drafts of btrfs files (`.tmp-PID-btrfs.img`) whose maker was killed
/// while mkfs.btrfs ran (chapter 6).
#[cfg(feature = "stage6")]
fn sweep_btrfs_drafts(store: &Store) {
    let Ok(entries) = fs::read_dir(store.root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if staging_parts(&name).is_some_and(|(pid, file)| {
            file == crate::storage::loopback::FILE && !process_exists(pid)
        }) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Addresses of containers whose veth pair the kernel has deleted since
/// they ended (chapter 5), and drafts of claims.
#[cfg(feature = "stage5")]
fn sweep_leases(store: &Store) {
    use super::network::{all_leases, Draining};
    for (bridge, leases) in all_leases(store) {
        // Containers that ended while their veth pair was still there: the
        // kernel has deleted it since, so their address can be given back.
        let draining = Draining::on(store.root(), &bridge);
        for id in draining.gone() {
            let _ = teardown::release(store, &id);
        }
        for draft in leases.drafts() {
            let name = draft.file_name().unwrap_or_default().to_string_lossy();
            if staging_parts(&name).is_some_and(|(pid, _)| !process_exists(pid)) {
                let _ = fs::remove_file(&draft);
            }
        }
        // The leases of a `run` killed between its claim and its
        // container's move into place are given back with its staging
        // directory (sweep_directory): `run` makes that directory before
        // it claims an address. Every other lease belongs to a container
        // in place, whose teardown gives it back. So there is no need to
        // read every lease here, in every command.
    }
}

/// Half-built and half-removed entries.
fn sweep_directory(store: &Store, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((remover, id)) = hidden_parts(".trash-", &name) {
            // rm renames first, then deletes: if the remover was killed,
            // finish the job. The teardown runs before the rename, but may
            // have been cut short too. A remover still alive is still
            // deleting: two deletions of one tree would race, each finding
            // files gone under it.
            if process_exists(remover) {
                continue;
            }
            if ids::looks_like(ids::CONTAINER_PREFIX, id) {
                let _ = teardown::release(store, id);
            }
            let _ = store.delete(&entry.path());
        } else if let Some((builder, id)) = staging_parts(&name) {
            if !process_exists(builder) {
                // A container's builder may have claimed an address (or,
                // in a monitor, started more) before it was killed.
                if ids::looks_like(ids::CONTAINER_PREFIX, id) {
                    let _ = teardown::release(store, id);
                }
                let _ = store.delete(&entry.path());
            }
        }
    }
}

/// `.tmp-4242-ps_0123456789ab` → (4242, "ps_0123456789ab").
fn staging_parts(name: &str) -> Option<(i32, &str)> {
    hidden_parts(".tmp-", name)
}

/// A hidden name `PREFIX` + `PID-ID` → (PID, ID).
fn hidden_parts<'a>(prefix: &str, name: &'a str) -> Option<(i32, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, id) = rest.split_once('-')?;
    Some((pid.parse().ok()?, id))
}

fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Names whose container is neither in place nor being built.
fn sweep_names(store: &Store) {
    let names = store.names();
    for draft in names.drafts() {
        let name = draft.file_name().unwrap_or_default().to_string_lossy();
        if staging_parts(&name).is_some_and(|(pid, _)| !process_exists(pid)) {
            let _ = fs::remove_file(&draft);
        }
    }
    let all = names.all();
    if all.is_empty() {
        return;
    }
    // The order matters: a staging directory is renamed into place, so look
    // for it first, then for the container itself. The other way round, a
    // rename between the two looks would hide both. (One look at the
    // staging directories for all names: one per name made the sweep
    // quadratic in the number of containers.)
    let building = ids_being_built(store);
    for (name, id) in all {
        if building.contains(&id) {
            continue;
        }
        if store.container_paths(&id).dir.exists() && !left_by_a_killed_rename(store, &name, &id) {
            continue;
        }
        names.release(&name, &id);
    }
}

/// `rename` claims the new name, records it, then gives the old one up,
/// all while holding the container's record lock. A name of an existing
/// container that its record does not give, and whose lock is free, was
/// left by a rename killed on the way (the old name, or a new one never
/// recorded).
fn left_by_a_killed_rename(store: &Store, name: &str, id: &str) -> bool {
    let named_so = |store: &Store| {
        store
            .container_record(id)
            .is_ok_and(|record| record.name.as_deref() == Some(name))
    };
    if named_so(store) {
        return false;
    }
    // A rename under way holds the lock: not ours to judge.
    match store.try_lock_container_record(id) {
        Ok(Some(_lock)) => store.container_record(id).is_ok() && !named_so(store),
        _ => false,
    }
}

/// The ids of the containers being built right now (their staging
/// directories, `.tmp-PID-ID`).
fn ids_being_built(store: &Store) -> HashSet<String> {
    let Ok(entries) = fs::read_dir(store.containers_dir()) else {
        return HashSet::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            staging_parts(&name).map(|(_, id)| id.to_string())
        })
        .collect()
}

/// Containers whose keeper (the bocker that watched them) was killed: its
/// lock is free (state/keeper_lock.rs). End what still runs of them,
/// release what they held and record that they ended, with an unknown
/// exit code.
///
/// The kernel usually killed their process with the keeper already
/// (PR_SET_PDEATHSIG), but not always: the signal is forgotten when a
/// process changes its user, and the keeper may die in the instant before
/// it is asked for again. So the sweep makes sure: from chapter 4 the
/// teardown kills everything in the container's cgroup (your
/// remove_cgroup: cgroup.kill, or freeze, kill, thaw); before, it kills
/// the container's first process, by a pidfd (from chapter 2 that is pid 1
/// of its namespace, and the kernel then kills the rest of it).
///
/// This runs in every command and looks at every container, so each look
/// is cheap: a container that is not running has no lock file (one failed
/// open), a running one a locked file (open, flock, close). Only an
/// abandoned one has its record read.
fn sweep_abandoned_containers(store: &Store) {
    let Ok(all) = store.container_ids() else {
        return;
    };
    for id in all {
        let Keeper::Gone(taken_over) = keeper_lock::look(&store.container_paths(&id).dir) else {
            continue;
        };
        let Ok(record) = store.container_record(&id) else {
            continue; // unreadable: `rm` removes it
        };
        if matches!(record.status, Status::Created | Status::Running) {
            if let Some(first) = record.first_process() {
                if let Some(process) = PidFd::open(&first) {
                    let _ = process.signal(Signal::SIGKILL);
                }
            }
            let _ = teardown::release(store, &record.id);
            // On its way out still (a pid 1 waits for the rest of its
            // namespace): try again next time (the lock file stays).
            if !record.first_process_gone() {
                continue;
            }
            let recorded = store.update_container(&record.id, |record| {
                record.status = Status::Exited;
                record.exit_code = None;
                Ok(())
            });
            if recorded.is_err() {
                continue;
            }
        }
        taken_over.release();
    }
}
