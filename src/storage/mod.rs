//! Where images and containers keep their files (chapter 6).
//!
//! Until chapter 6, a container's root filesystem is a copy of its image:
//! the bigger the image, the slower `run`. From chapter 6 an image is a
//! read-only btrfs subvolume, and a container's root a writable snapshot
//! of it, made in one ioctl whatever the image's size (`subvolumes.rs`).
//!
//! Snapshots need btrfs under the state directory:
//!
//! * a state directory on btrfs is used as it is;
//! * otherwise bocker makes a btrfs filesystem in a file and mounts it
//!   (`loopback.rs`), once, and images and containers live in there;
//! * `BOCKER_STORAGE=copy` keeps copies, as before chapter 6.
//!
//! A state directory that already holds copies (made by an earlier
//! chapter's bocker) keeps them: an image that is not a subvolume is
//! copied, as before.

pub mod diff;
pub mod loopback;
pub mod subvolumes;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use nix::sys::statfs::{statfs, BTRFS_SUPER_MAGIC};

/// How new images and containers get their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Copies, file by file (chapters 1 to 5).
    Copy,
    /// btrfs subvolumes and snapshots (chapter 6).
    Btrfs,
}

/// BOCKER_STORAGE: `btrfs` (the default) or `copy`.
pub fn method() -> Result<Method> {
    match std::env::var("BOCKER_STORAGE").as_deref() {
        Err(_) | Ok("btrfs") | Ok("") => Ok(Method::Btrfs),
        Ok("copy") => Ok(Method::Copy),
        Ok(other) => bail!("invalid BOCKER_STORAGE '{other}': use btrfs or copy"),
    }
}

/// The directory that holds `images/` and `containers/` for the state
/// directory `root`: `root` itself, or the btrfs file's mount point.
/// With `may_create` (for `init` and `run`) a btrfs file is made if btrfs
/// is wanted and missing.
pub fn data_dir(root: &Path, may_create: bool) -> Result<PathBuf> {
    if loopback::exists(root) {
        loopback::ensure_mounted(root)?;
        return Ok(loopback::mount_point(root));
    }
    if !may_create || method()? == Method::Copy || is_on_btrfs(root) {
        return Ok(root.to_path_buf());
    }
    if holds_copies(root) {
        crate::errors::warn(&format!(
            "{} holds images or containers made before chapter 6: new ones are copies too \
             (a new state directory gets btrfs)",
            root.display()
        ));
        return Ok(root.to_path_buf());
    }
    loopback::create(root)?;
    Ok(loopback::mount_point(root))
}

/// Whether a new root filesystem at `path` should be a subvolume: btrfs
/// is wanted, and `path`'s directory is on btrfs.
pub fn makes_subvolumes(path: &Path) -> Result<bool> {
    let dir = path.parent().unwrap_or(path);
    Ok(method()? == Method::Btrfs && is_on_btrfs(dir))
}

/// Whether `path` is on a btrfs filesystem.
pub fn is_on_btrfs(path: &Path) -> bool {
    statfs(path).is_ok_and(|fs| fs.filesystem_type() == BTRFS_SUPER_MAGIC)
}

/// Whether `root/images` or `root/containers` has anything in it.
fn holds_copies(root: &Path) -> bool {
    ["images", "containers"]
        .iter()
        .any(|sub| fs::read_dir(root.join(sub)).is_ok_and(|mut entries| entries.next().is_some()))
}
