//! Chapter 6 — btrfs: images and containers become subvolumes, and a
//! container's root is a snapshot of its image, made in one ioctl(2)
//! whatever the image's size.
//!
//! Your exercise. Read `chapters/06-btrfs/README.md` (or the chapter in
//! the book), write the declarations and the three functions, then run:
//!
//! ```text
//! cargo test --features stage6 stage6_btrfs
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::os::fd::{AsRawFd, BorrowedFd};

use anyhow::{bail, Context, Result};
use nix::sys::stat::fstat;
use nix::sys::statfs::{fstatfs, BTRFS_SUPER_MAGIC};

// ANCHOR: ioctls
// EXERCISE: declarations. Your first part: declare here, from the
// kernel's <linux/btrfs.h> (quoted in chapters/06-btrfs/README.md,
// section 'The header'), what the three functions below send:
//   - `VolArgs`, the `#[repr(C)]` struct `btrfs_ioctl_vol_args`;
//   - `VolArgsV2`, the `#[repr(C)]` struct `btrfs_ioctl_vol_args_v2`;
//   - `SUBVOL_RDONLY`, the flag BTRFS_SUBVOL_RDONLY, a `u64`;
//   - with nix's ioctl macros, the three functions btrfs_subvol_create,
//     btrfs_snap_destroy and btrfs_snap_create_v2 (BTRFS_IOC_SUBVOL_CREATE,
//     BTRFS_IOC_SNAP_DESTROY, BTRFS_IOC_SNAP_CREATE_V2).
// ANCHOR_END: ioctls

/// The inode number of the top directory of every subvolume
/// (BTRFS_FIRST_FREE_OBJECTID): each subvolume numbers its own inodes.
pub const SUBVOLUME_TOP_INODE: u64 = 256;

// ANCHOR: name_field
/// `name` as the kernel wants it in `VolArgs::name` or `VolArgsV2::name`:
/// its bytes, then zeros. One name inside the directory, never a path: no
/// `/`, not `.` nor `..`, no NUL, and short enough to leave the final NUL.
pub fn name_field<const N: usize>(name: &str) -> Result<[u8; N]> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        bail!("'{name}' cannot be the name of a subvolume");
    }
    if name.len() >= N {
        bail!("the name '{name}' is too long for a subvolume");
    }
    let mut field = [0u8; N];
    field[..name.len()].copy_from_slice(name.as_bytes());
    Ok(field)
}
// ANCHOR_END: name_field

// ANCHOR: create_subvolume
/// `btrfs subvolume create PARENT/NAME`: a new, empty subvolume `name` in
/// the directory `parent`.
pub fn create_subvolume(parent: BorrowedFd, name: &str) -> Result<()> {
    todo!("chapter 6: create the subvolume {name} in the directory parent (BTRFS_IOC_SUBVOL_CREATE) — see chapters/06-btrfs/README.md, section 'A subvolume'")
}
// ANCHOR_END: create_subvolume

// ANCHOR: snapshot
/// `btrfs subvolume snapshot [-r] SOURCE PARENT/NAME`: a new subvolume
/// `name` in `parent` that shares every block with the subvolume `source`.
pub fn snapshot(source: BorrowedFd, parent: BorrowedFd, name: &str, read_only: bool) -> Result<()> {
    todo!("chapter 6: snapshot the subvolume source as {name} in parent, read-only: {read_only} (BTRFS_IOC_SNAP_CREATE_V2) — see chapters/06-btrfs/README.md, section 'A snapshot'")
}
// ANCHOR_END: snapshot

// ANCHOR: delete_subvolume
/// `btrfs subvolume delete PARENT/NAME`: delete the subvolume `name` of
/// the directory `parent`, with every file in it.
pub fn delete_subvolume(parent: BorrowedFd, name: &str) -> Result<()> {
    todo!("chapter 6: delete the subvolume {name} of parent (BTRFS_IOC_SNAP_DESTROY) — see chapters/06-btrfs/README.md, section 'Deleting a subvolume'")
}
// ANCHOR_END: delete_subvolume

// ANCHOR: is_subvolume
/// Whether the open directory `dir` is the top of a btrfs subvolume.
/// (Given: the frame uses it to tell a snapshot from a copy.)
pub fn is_subvolume(dir: BorrowedFd) -> Result<bool> {
    // fstatfs(2): which filesystem is it on? Any filesystem's directory
    // may have the inode number 256 by chance.
    let on_btrfs = fstatfs(dir)
        .context("cannot tell the filesystem")?
        .filesystem_type()
        == BTRFS_SUPER_MAGIC;
    // fstat(2): every subvolume's top directory is inode 256.
    let top = fstat(dir).context("cannot look at the directory")?.st_ino == SUBVOLUME_TOP_INODE;
    Ok(on_btrfs && top)
}
// ANCHOR_END: is_subvolume
