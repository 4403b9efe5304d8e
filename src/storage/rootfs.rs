//! The container's root filesystem: giving it one, and taking it away.
//!
//! Until chapter 6 the container gets a full copy of its image. Chapter 6
//! makes it a btrfs snapshot instead, which costs the same for any size of
//! image. Nothing else in bocker needs to know which.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::{Context, Result};
use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};

use super::copy::copy_tree;
#[cfg(feature = "stage6")]
use super::subvolumes;

/// Make `container` (which must not exist) a root filesystem of its own,
/// with the contents of the image's root filesystem `image`.
pub fn create(image: &Path, container: &Path) -> Result<()> {
    // Chapter 6: an image that is a subvolume gets a snapshot, in O(1).
    // (An image made before chapter 6 is a plain directory: a copy.)
    #[cfg(feature = "stage6")]
    if super::method()? == super::Method::Btrfs && subvolumes::is_subvolume(image)? {
        return subvolumes::snapshot(image, container, false);
    }
    copy_tree(image, container, &[])
}

/// Delete a container's or an image's root filesystem.
pub fn remove(rootfs: &Path) -> Result<()> {
    #[cfg(feature = "stage6")]
    if subvolumes::is_subvolume(rootfs)? {
        return subvolumes::delete(rootfs);
    }
    std::fs::remove_dir_all(rootfs).with_context(|| format!("cannot delete {}", rootfs.display()))
}

/// `inside` (a path in the container, absolute) opened below the root
/// filesystem `rootfs` as if `rootfs` were `/`: openat2(2) with
/// RESOLVE_IN_ROOT, so that every symlink on the way, absolute ones
/// included, resolves inside it and never reaches the host's files.
pub fn open_inside(rootfs: &Path, inside: &Path, flags: OFlag) -> Result<OwnedFd> {
    use nix::fcntl::{openat2, OpenHow, ResolveFlag};
    let root = nix::fcntl::open(rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
        .with_context(|| format!("cannot open {}", rootfs.display()))?;
    let relative = inside.strip_prefix("/").unwrap_or(inside);
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(&root, relative, how)
        .with_context(|| format!("cannot open {} in the container", inside.display()))
}

/// `/proc/self/fd/N/.`: the folder `fd` holds, as a path for the copier
/// (which opens its top folder with O_NOFOLLOW: the magic link `N` is then
/// not the last component of the path, `.` is).
pub fn fd_folder(fd: &OwnedFd) -> std::path::PathBuf {
    use std::os::fd::AsRawFd;
    std::path::PathBuf::from(format!("/proc/self/fd/{}/.", fd.as_raw_fd()))
}

/// Write `/etc/NAME` inside a root filesystem, if the image has an `/etc`.
/// Nothing is written if `/etc/NAME` is anything but a regular file or
/// missing (see [`open_etc_file`]).
pub fn write_etc_file(rootfs: &Path, name: &str, contents: &str) -> Result<()> {
    let Some(file) = open_etc_file(rootfs, name, OFlag::O_WRONLY | OFlag::O_CREAT)? else {
        return Ok(());
    };
    let mut file = std::fs::File::from(file);
    file.set_len(0)?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write /etc/{name} in the container"))
}

/// Read `/etc/NAME` of a root filesystem, if it is a regular file (at most
/// 1 MiB of it: it is the image's, and the image may be hostile).
pub fn read_etc_file(rootfs: &Path, name: &str) -> Option<String> {
    let file = open_etc_file(rootfs, name, OFlag::O_RDONLY).ok()??;
    let mut text = String::new();
    std::fs::File::from(file)
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Open `/etc/NAME` inside a root filesystem with `flags`, from the host.
///
/// The image's files are not ours: `/etc`, or `/etc/hostname`, may be a
/// symlink to a host file such as `/etc/shadow` (a link's target is looked
/// up on the host, since this runs on the host). So we go one step at a
/// time from a descriptor of the root, with O_NOFOLLOW, which refuses to
/// follow a symlink: a planted link makes us skip the file, never go
/// through it. `None`: no `/etc`, or `/etc/NAME` is not a regular file.
fn open_etc_file(rootfs: &Path, name: &str, flags: OFlag) -> Result<Option<OwnedFd>> {
    let no_follow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let root = openat(
        AT_FDCWD,
        rootfs,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | no_follow,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open {}", rootfs.display()))?;
    let Ok(etc) = openat(
        &root,
        "etc",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | no_follow,
        Mode::empty(),
    ) else {
        return Ok(None); // no /etc, or not a directory
    };
    // Only a regular file, or none: an image may hold a device node called
    // hostname, and writing to the host's disk through it must not happen,
    // or a FIFO called passwd, on which a read would wait for ever.
    // Looked at before opening (opening some devices has effects), and
    // again on the descriptor we got.
    let is_regular = |stat: &FileStat| stat.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFREG.bits();
    match fstatat(&etc, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) if !is_regular(&stat) => return Ok(None),
        _ => {}
    }
    let file: OwnedFd = match openat(
        &etc,
        name,
        flags | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | no_follow,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(file) => file,
        // ELOOP: a symlink. ENOENT, EISDIR and friends: not a file we may
        // use.
        Err(_) => return Ok(None),
    };
    if !fstat(&file).is_ok_and(|stat| is_regular(&stat)) {
        return Ok(None);
    }
    Ok(Some(file))
}
