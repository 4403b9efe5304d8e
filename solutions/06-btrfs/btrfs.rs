//! Chapter 6 — btrfs: images and containers become subvolumes, and a
//! container's root is a snapshot of its image, made in one ioctl(2)
//! whatever the image's size.
//!
//! Your exercise. Read `chapters/06-btrfs/README.md` (or the chapter in
//! the book), fill in the three functions, then run:
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
/// `struct btrfs_ioctl_vol_args`: 8 + 4088 = 4096 bytes.
#[repr(C)]
pub struct VolArgs {
    pub fd: i64,
    pub name: [u8; 4087 + 1],
}

/// `struct btrfs_ioctl_vol_args_v2`: 8 × 3 + 32 + 4040 = 4096 bytes. Its
/// two unions are taken as the member this file uses: `unused` (four
/// u64, as large as the union) and `name`.
#[repr(C)]
pub struct VolArgsV2 {
    pub fd: i64,
    pub transid: u64,
    pub flags: u64,
    pub unused: [u64; 4],
    pub name: [u8; 4039 + 1],
}

/// BTRFS_SUBVOL_RDONLY: the snapshot can never be written to.
pub const SUBVOL_RDONLY: u64 = 1 << 1;

// _IOW(0x94, NR, struct): the program writes the struct, the kernel reads it.
nix::ioctl_write_ptr!(btrfs_subvol_create, 0x94, 14, VolArgs);
nix::ioctl_write_ptr!(btrfs_snap_destroy, 0x94, 15, VolArgs);
nix::ioctl_write_ptr!(btrfs_snap_create_v2, 0x94, 23, VolArgsV2);
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
    let args = VolArgs {
        fd: 0,
        name: name_field(name)?,
    };
    // SAFETY: `parent` is an open descriptor and `args` lives for the call.
    unsafe { btrfs_subvol_create(parent.as_raw_fd(), &args) }
        .with_context(|| format!("cannot create the subvolume {name}"))?;
    Ok(())
}
// ANCHOR_END: create_subvolume

// ANCHOR: snapshot
/// `btrfs subvolume snapshot [-r] SOURCE PARENT/NAME`: a new subvolume
/// `name` in `parent` that shares every block with the subvolume `source`.
pub fn snapshot(source: BorrowedFd, parent: BorrowedFd, name: &str, read_only: bool) -> Result<()> {
    let args = VolArgsV2 {
        fd: i64::from(source.as_raw_fd()),
        transid: 0,
        flags: if read_only { SUBVOL_RDONLY } else { 0 },
        unused: [0; 4],
        name: name_field(name)?,
    };
    // SAFETY: both descriptors are open and `args` lives for the call.
    unsafe { btrfs_snap_create_v2(parent.as_raw_fd(), &args) }
        .with_context(|| format!("cannot make the snapshot {name}"))?;
    Ok(())
}
// ANCHOR_END: snapshot

// ANCHOR: delete_subvolume
/// `btrfs subvolume delete PARENT/NAME`: delete the subvolume `name` of
/// the directory `parent`, with every file in it.
pub fn delete_subvolume(parent: BorrowedFd, name: &str) -> Result<()> {
    let args = VolArgs {
        fd: 0,
        name: name_field(name)?,
    };
    // SAFETY: `parent` is an open descriptor and `args` lives for the call.
    unsafe { btrfs_snap_destroy(parent.as_raw_fd(), &args) }
        .with_context(|| format!("cannot delete the subvolume {name}"))?;
    Ok(())
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
