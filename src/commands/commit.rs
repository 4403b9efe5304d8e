//! `bocker commit CONTAINER [IMAGE]`: an image from a container's files
//! (chapter 6).
//!
//! With IMAGE, as in Bocker, the image is replaced by the container's
//! files, under the same id (`Removed: img_…`, then `Created: img_…`).
//! Without, a new image is made. Containers already made from the old
//! image keep their files: each has a snapshot of its own.
//!
//! A running container is paused while its files are snapshotted, as
//! Docker does: a program in the middle of writing two files must not be
//! caught between the two.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::runtime::mapped_root::{self, with_the_containers_ids};
use crate::state::records::{self, ContainerRecord, ImageRecord, Status};
use crate::state::Store;
use crate::storage::copy::{copy_into, copy_tree};
use crate::storage::{self, subvolumes};

pub fn commit(store: &Store, container: &str, image: Option<&str>) -> Result<u8> {
    let record = store.container(container)?;
    if let Some(image) = image {
        // Bocker's message for an image that is not there.
        store.image(image)?;
    }
    let staged = match image {
        Some(id) => store.stage_new_version_of_image(id)?,
        None => store.stage_image()?,
    };
    let source = store.container_paths(&record.id).rootfs;
    let rootfs = staged.dir.join("rootfs");
    paused_while(&record, || {
        with_the_containers_ids(|| make_rootfs(&source, &rootfs))
    })?;
    let image_record = ImageRecord {
        id: staged.id.clone(),
        source: format!("commit of {}", record.id),
        created: records::now(),
        digest: None,
        // A pulled image's defaults (its command, variables…) carry over.
        defaults: store
            .image(&record.image)
            .ok()
            .and_then(|image| image.defaults),
        subordinate_owners: mapped_root::is_needed(),
    };
    let mut out = std::io::stdout().lock();
    if image.is_some() {
        store.replace_image(staged, &image_record)?;
        writeln!(out, "Removed: {}", image_record.id)?;
    } else {
        store.commit_image(staged, &image_record)?;
    }
    writeln!(out, "Created: {}", image_record.id)?;
    Ok(0)
}

/// The new image's root filesystem `rootfs`, from the container's
/// `source`: a read-only snapshot if the container's files are a
/// subvolume, a copy otherwise (a container made before chapter 6).
fn make_rootfs(source: &Path, rootfs: &Path) -> Result<()> {
    if subvolumes::is_subvolume(source)? {
        return subvolumes::snapshot(source, rootfs, true);
    }
    if storage::makes_subvolumes(rootfs)? {
        return subvolumes::make_read_only(rootfs, |draft| copy_into(source, draft, &[]));
    }
    copy_tree(source, rootfs, &[])
}

/// Run `work` with the container's processes frozen, if it runs and is
/// not paused already (then it is thawed again after).
pub(super) fn paused_while<T>(
    record: &ContainerRecord,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    use crate::runtime::cgroup;
    use crate::runtime::cgroup::chapter as cgroups;
    let group = match record.status {
        Status::Running => cgroup::existing(&record.id),
        _ => None,
    };
    let Some(group) = group.filter(|group| !cgroup::is_frozen(group)) else {
        return work();
    };
    if let Err(error) = cgroups::set_frozen(&group, true) {
        bail!(Failure::new(
            1,
            format!("cannot pause {} to copy its files: {error:#}", record.id)
        ));
    }
    let result = work();
    let thawed = cgroups::set_frozen(&group, false);
    let value = result?;
    thawed?;
    Ok(value)
}
