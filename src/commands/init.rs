//! `bocker init DIR`: make an image from a directory.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::errors::Failure;
use crate::state::records::{self, ImageRecord};
use crate::storage::copy::copy_tree;

pub fn init(root: &Path, directory: &Path) -> Result<u8> {
    if !directory.is_dir() {
        bail!(Failure::new(
            1,
            format!("No directory named '{}' exists", directory.display())
        ));
    }
    let source = directory
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", directory.display()))?;
    let store = super::create_store(root)?;
    let state_root = store.root().canonicalize()?;
    if source.starts_with(&state_root) {
        bail!(
            "{} is inside bocker's own state directory",
            source.display()
        );
    }

    let staged = store.stage_image()?;
    // The state directory may be inside the source (`init /`): never copy
    // bocker's own images and containers into an image.
    make_rootfs(&source, &staged.dir.join("rootfs"), &state_root)?;
    let record = ImageRecord {
        id: staged.id.clone(),
        source: source.display().to_string(),
        created: records::now(),
        digest: None,
        defaults: None,
        subordinate_owners: false,
    };
    store.commit_image(staged, &record)?;
    writeln!(std::io::stdout(), "Created: {}", record.id)?;
    Ok(0)
}

/// The image's root filesystem `rootfs`, with the files of `source` (but
/// not those of the state directory, `leave_out`).
fn make_rootfs(source: &Path, rootfs: &Path, leave_out: &Path) -> Result<()> {
    // Chapter 6: a read-only subvolume, when the store is on btrfs.
    #[cfg(feature = "stage6")]
    if crate::storage::makes_subvolumes(rootfs)? {
        return crate::storage::subvolumes::make_read_only(rootfs, |draft| {
            crate::storage::copy::copy_into(source, draft, &[leave_out])
        });
    }
    copy_tree(source, rootfs, &[leave_out])
}

/// An image's root filesystem `rootfs` (which must not exist), with the
/// files `fill` puts into the empty directory it is given: a read-only
/// subvolume when the store is on btrfs, a plain directory otherwise.
#[cfg(feature = "stage7")]
pub fn build_rootfs(rootfs: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if crate::storage::makes_subvolumes(rootfs)? {
        return crate::storage::subvolumes::make_read_only(rootfs, fill);
    }
    std::fs::create_dir(rootfs).with_context(|| format!("cannot create {}", rootfs.display()))?;
    fill(rootfs)
}
