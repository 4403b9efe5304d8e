//! Root filesystems as btrfs subvolumes: the frame's side of chapter 6.
//!
//! Your three functions (`chapters/06-btrfs/btrfs.rs`) make, snapshot and
//! delete one subvolume; `is_subvolume`, given there, recognises one.
//! Here they are put together:
//!
//! | bocker does              | with your functions                                  |
//! |--------------------------|------------------------------------------------------|
//! | `init DIR` (an image)    | create `rootfs.draft`, copy DIR in, snapshot it read-only as `rootfs`, delete the draft |
//! | `run` (a container)      | snapshot the image's `rootfs`, writable, as the container's `rootfs` |
//! | `commit` (a new image)   | snapshot the container's `rootfs`, read-only, as the image's `rootfs` |
//! | `rm`, the sweep          | delete the subvolumes inside first, then `rootfs`    |
//!
//! Every call starts from a descriptor of a directory we opened with
//! O_NOFOLLOW, and names one entry in it: a container's files are never
//! looked up by a path the container could have changed (a symlink
//! planted where a directory was).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};
use nix::dir::{Dir, Type};
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::Mode;

use super::btrfs as chapter;
use crate::course::exercise::yours;
use crate::errors::START_FAILED;

/// Open the directory `name` of `parent`, refusing a symlink.
fn open_directory(parent: impl AsFd, name: &Path) -> Result<OwnedFd> {
    openat(
        parent.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open {}", name.display()))
}

/// Whether the directory at `path` (a symlink is not) is a subvolume.
pub fn is_subvolume(path: &Path) -> Result<bool> {
    let Ok(dir) = open_directory(AT_FDCWD, path) else {
        return Ok(false);
    };
    chapter::is_subvolume(dir.as_fd())
}

/// An image's root filesystem at `rootfs` (which must not exist): a
/// read-only subvolume, with the files `fill` puts into a writable draft
/// next to it (`rootfs.draft`), which is deleted after.
pub fn make_read_only(rootfs: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let (parent, name) = parent_and_name(rootfs)?;
    let draft = format!("{name}.draft");
    yours(START_FAILED, || {
        chapter::create_subvolume(parent.as_fd(), &draft)
    })?;
    let filled = fill(&rootfs.with_file_name(&draft)).and_then(|()| {
        let source = open_directory(&parent, Path::new(&draft))?;
        yours(START_FAILED, || {
            chapter::snapshot(source.as_fd(), parent.as_fd(), &name, true)
        })
    });
    // The draft goes in any case. On error, `rootfs` (if it was made) goes
    // with the caller's staging directory.
    let deleted = delete_one(&parent, &draft);
    filled.and(deleted)
}

/// `target` (which must not exist): a snapshot of the subvolume
/// `source`, writable for a container, read-only for an image.
pub fn snapshot(source: &Path, target: &Path, read_only: bool) -> Result<()> {
    let (parent, name) = parent_and_name(target)?;
    let source = open_directory(AT_FDCWD, source)?;
    yours(START_FAILED, || {
        chapter::snapshot(source.as_fd(), parent.as_fd(), &name, read_only)
    })
}

/// Delete the subvolume `rootfs` and every subvolume inside it.
///
/// A container is root in its own filesystem: it may have made
/// subvolumes of its own (`btrfs subvolume create /data`). The kernel
/// refuses to delete a subvolume that holds another (ENOTEMPTY), so those
/// go first, the deepest first. Looking for them means reading the whole
/// tree, so it is done only when the first attempt fails.
pub fn delete(rootfs: &Path) -> Result<()> {
    let (parent, name) = parent_and_name(rootfs)?;
    delete_one(&parent, &name)
}

/// The directory that holds `path`, open, and the name of `path` in it.
fn parent_and_name(path: &Path) -> Result<(OwnedFd, String)> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no name", path.display()))?
        .to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))?
        .to_string();
    let parent = open_directory(AT_FDCWD, path.parent().unwrap_or(Path::new("/")))?;
    Ok((parent, name))
}

fn delete_one(parent: &OwnedFd, name: &str) -> Result<()> {
    if yours(START_FAILED, || {
        chapter::delete_subvolume(parent.as_fd(), name)
    })
    .is_ok()
    {
        return Ok(());
    }
    // Most likely ENOTEMPTY: subvolumes inside. Delete them, then try
    // again; a second error is the real one.
    let subvolume = open_directory(parent, Path::new(name))?;
    delete_nested(&subvolume)?;
    yours(START_FAILED, || {
        chapter::delete_subvolume(parent.as_fd(), name)
    })
}

/// Delete every subvolume below the directory `dir` (not `dir` itself).
fn delete_nested(dir: &OwnedFd) -> Result<()> {
    let mut children = Vec::new();
    let mut listing = Dir::from_fd(dir.try_clone()?).context("cannot list a directory")?;
    for entry in listing.iter() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        // d_type says "directory" without a stat; btrfs always fills it.
        if entry.file_type() == Some(Type::Directory) {
            children.push(name);
        }
    }
    for name in children {
        let Ok(child) = open_directory(dir, Path::new(&name)) else {
            continue; // gone, or replaced by a symlink: not ours to follow
        };
        if chapter::is_subvolume(child.as_fd())? {
            delete_one(dir, &name)?;
        } else {
            delete_nested(&child)?;
        }
    }
    Ok(())
}
