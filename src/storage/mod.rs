//! Where images and containers keep their files.
//!
//! * `copy`: a copy of a file tree, made through directory descriptors,
//!   never following a symbolic link of the tree (it may be hostile);
//! * `rootfs`: a container's root filesystem: giving it one, taking it
//!   away, and reading or writing a file of its `/etc` safely;
//! * from chapter 6, btrfs: `subvolumes` (the chapter's ioctls, in
//!   `chapters/06-btrfs/btrfs.rs`, plug in here as `btrfs`), `loopback`
//!   (a btrfs filesystem in a file, when the state directory is not on
//!   btrfs) and `diff` (what a container changed).
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

pub mod copy;
pub mod rootfs;

/// Chapter 6: btrfs subvolumes and snapshots, with ioctl(2). Compiled from
/// your exercise, `chapters/06-btrfs/btrfs.rs`, or with feature `solved6`
/// from `solutions/06-btrfs/btrfs.rs`. (`path` is relative to this
/// folder, `src/storage/`.)
#[cfg(feature = "stage6")]
#[cfg_attr(not(feature = "solved6"), path = "../../chapters/06-btrfs/btrfs.rs")]
#[cfg_attr(feature = "solved6", path = "../../solutions/06-btrfs/btrfs.rs")]
pub mod btrfs;
#[cfg(feature = "stage6")]
pub mod diff;
#[cfg(feature = "stage6")]
pub mod loopback;
#[cfg(feature = "stage6")]
pub mod subvolumes;

#[cfg(feature = "stage6")]
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

/// BOCKER_STORAGE: `btrfs` (the default) or `copy`. Without root, copies:
/// a btrfs file needs a loop device and a mount, which only root may make.
pub fn method() -> Result<Method> {
    let rootless = crate::spec::privileges::rootless();
    match std::env::var("BOCKER_STORAGE").as_deref() {
        Err(_) | Ok("") if rootless => Ok(Method::Copy),
        Err(_) | Ok("") => Ok(Method::Btrfs),
        Ok("btrfs") if rootless => {
            bail!("BOCKER_STORAGE=btrfs needs root (a loop device and a mount); without root bocker keeps copies")
        }
        Ok("btrfs") => Ok(Method::Btrfs),
        Ok("copy") => Ok(Method::Copy),
        Ok(other) => bail!("invalid BOCKER_STORAGE '{other}': use btrfs or copy"),
    }
}

/// The directory that holds `images/` and `containers/` for the state
/// directory `root`: `root` itself, or from chapter 6 the btrfs file's
/// mount point. With `may_create` (for `init` and `run`) a btrfs file is
/// made if btrfs is wanted and missing.
#[cfg(not(feature = "stage6"))]
pub fn data_dir(root: &Path, _may_create: bool) -> Result<PathBuf> {
    Ok(root.to_path_buf())
}

/// The directory that holds `images/` and `containers/` for the state
/// directory `root`: `root` itself, or from chapter 6 the btrfs file's
/// mount point. With `may_create` (for `init` and `run`) a btrfs file is
/// made if btrfs is wanted and missing.
#[cfg(feature = "stage6")]
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
#[cfg(feature = "stage6")]
fn holds_copies(root: &Path) -> bool {
    ["images", "containers"]
        .iter()
        .any(|sub| fs::read_dir(root.join(sub)).is_ok_and(|mut entries| entries.next().is_some()))
}
