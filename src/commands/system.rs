//! `bocker system reset --force`: remove every container and image of the
//! state directory, from chapter 5 the bridge it made, and from chapter 6
//! its btrfs file: unmounted (which frees its loop device), then deleted.

use std::io::Write;

use anyhow::{bail, Context, Result};

use crate::errors::Failure;
use crate::runtime::teardown;
use crate::state::Store;
use crate::storage::loopback;

pub fn reset(store: &Store, force: bool) -> Result<u8> {
    let root = store.root().to_path_buf();
    if !force {
        bail!(Failure::new(
            crate::errors::USAGE,
            format!(
                "system reset removes every image and container in {}: add --force to do it",
                root.display()
            )
        ));
    }
    let containers = store.containers()?;
    for container in containers.iter().flatten() {
        if container.is_running() {
            bail!(Failure::new(
                1,
                format!(
                    "container {} is running: stop it first (nothing was removed)",
                    container.id
                )
            ));
        }
    }
    let mut out = std::io::stdout().lock();
    for container in containers {
        let id = match container {
            Ok(record) => record.id,
            Err(unreadable) => unreadable.id,
        };
        teardown::remove(store, &id)?;
        writeln!(out, "Removed: {id}")?;
    }
    for image in store.images()? {
        store.remove_image(&image.id)?;
        writeln!(out, "Removed: {}", image.id)?;
    }
    // Chapter 5: the bridge, if this state directory made it.
    #[cfg(feature = "stage5")]
    for bridge in crate::runtime::network::bridge_owner::remove_bridges_made_here(&root)? {
        writeln!(out, "Removed: bridge {bridge}")?;
    }
    if loopback::unmount(&root)? {
        writeln!(out, "Unmounted: {}", loopback::mount_point(&root).display())?;
    }
    // Chapter 4: the parent of the containers' cgroups, if no container of
    // another state directory still uses it.
    #[cfg(feature = "stage4")]
    crate::runtime::cgroup::remove_parent_if_empty();
    // Chapter 7: the layers kept by digest.
    #[cfg(feature = "stage7")]
    {
        let blobs = root.join("blobs");
        if blobs.exists() {
            std::fs::remove_dir_all(&blobs)
                .with_context(|| format!("cannot delete {}", blobs.display()))?;
            writeln!(out, "Removed: {}", blobs.display())?;
        }
    }
    if loopback::exists(&root) {
        let file = loopback::file(&root);
        std::fs::remove_file(&file).with_context(|| format!("cannot delete {}", file.display()))?;
        let _ = std::fs::remove_dir(loopback::mount_point(&root));
        writeln!(out, "Removed: {}", file.display())?;
    }
    Ok(0)
}
