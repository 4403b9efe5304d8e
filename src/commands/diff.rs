//! `bocker diff CONTAINER`: what the container added (A), changed (C) and
//! deleted (D) in its files, against its image (chapter 6). The walk
//! itself is in `storage/diff.rs`.

use std::io::Write;

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::escape::printable;
use crate::runtime::mapped_root::with_the_containers_ids;
use crate::state::Store;
use crate::storage::{diff, subvolumes};

/// What bocker itself makes in every container's files: the directories
/// it mounts /dev, /proc, /sys and /tmp on (chapter 3; what the container
/// writes there goes to those filesystems, not to its files), and the
/// files of /etc that name the container (chapters 0 and 5). Docker
/// leaves these out of `docker diff` too.
const MADE_BY_BOCKER: [&str; 7] = [
    "/dev",
    "/proc",
    "/sys",
    "/tmp",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
];

pub fn diff(store: &Store, container: &str) -> Result<u8> {
    let record = store.container(container)?;
    if !store.image_exists(&record.image) {
        bail!(Failure::new(
            1,
            format!(
                "the image {} of {} is gone: there is nothing to compare with",
                record.image, record.id
            )
        ));
    }
    let image = store.image_rootfs(&record.image);
    let rootfs = store.container_paths(&record.id).rootfs;
    // A snapshot keeps the image's inodes, ctime included: a different
    // ctime is then a sure sign of a change.
    let snapshot = subvolumes::is_subvolume(&rootfs)?;
    // The lines are made where the files are read: without root, in a
    // child that may read files of the container's other users.
    let lines = with_the_containers_ids(|| {
        let changes = diff::changes(&image, &rootfs, snapshot, &MADE_BY_BOCKER)?;
        Ok(changes
            .iter()
            .map(|change| {
                let path = change.path.to_string_lossy();
                format!("{} {}", change.kind.letter(), printable(&path))
            })
            .collect::<Vec<String>>())
    })?;
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(0)
}
