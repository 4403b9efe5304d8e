//! Copying a directory tree exactly, as `cp -a -x` does.
//!
//! Until chapter 6 replaces copies with btrfs snapshots, `init` copies a
//! directory into the store and `run` copies the image for each container.
//! A root filesystem needs more than file contents to work: the same modes
//! (setuid `su`, sticky `/tmp`), owners, symbolic links (`/bin/sh ->
//! busybox`), hard links (kept as links, not duplicated), device nodes and
//! fifos, and modification times.
//!
//! # Why descriptors, not paths
//!
//! `bocker init DIR` runs as root, and DIR may belong to someone else. If
//! we looked at `DIR/a` with lstat ("a regular file") and then opened the
//! path `DIR/a`, its owner could swap `a` for a symlink to `/etc/shadow` in
//! between, and the image would get the host's secret. So every step goes
//! through descriptors: a directory is opened once, and what is inside it
//! is looked up from that descriptor with `openat(2)` and `O_NOFOLLOW`,
//! which refuses to follow a symlink. What we copy is what `fstat(2)` says
//! about the descriptor we hold, not what a path meant a moment earlier.
//! A swapped entry is copied as the link it has become, or the copy fails;
//! it never reads what the link points to.
//!
//! # What is left out
//!
//! Like `cp -x`, the copy stays on the source's filesystem: a directory on
//! which something else is mounted (`/proc`, `/sys`, a USB stick) is copied
//! as an empty directory. And directories the caller names, bocker's own
//! state directory for one, are not copied at all.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{
    fchmod, fchmodat, fstat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags,
    FileStat, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, Gid, Uid};

/// Copy the tree at `from` to `to`, which must not exist yet. Directories
/// in `leave_out` (and what is below them) are not copied.
pub fn copy_tree(from: &Path, to: &Path, leave_out: &[&Path]) -> Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    copy_into(from, to, leave_out)
}

/// Copy what the tree at `from` holds into the empty directory `to` (a
/// new btrfs subvolume, say), and give `to` the metadata of `from`.
pub fn copy_into(from: &Path, to: &Path, leave_out: &[&Path]) -> Result<()> {
    copy_tree_inner(from, to, leave_out)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

fn copy_tree_inner(from: &Path, to: &Path, leave_out: &[&Path]) -> Result<()> {
    // The top directory is named by the user: following symlinks in its
    // own path is what they asked for.
    let source = open_directory(AT_FDCWD, from.as_os_str())?;
    let source_stat = fstat(&source)?;
    let target = open_directory(AT_FDCWD, to.as_os_str())?;
    let mut copier = Copier {
        device: source_stat.st_dev,
        left_out: leave_out
            .iter()
            .filter_map(|path| nix::sys::stat::stat(*path).ok())
            .map(|stat| (stat.st_dev, stat.st_ino))
            .collect(),
        first_copy_of: HashMap::new(),
        target_root: target.try_clone()?,
        keep_owners: crate::spec::privileges::keeps_owners(),
    };
    copier.copy_directory(&source, &target, Path::new(""))?;
    set_metadata(&target, &source_stat, copier.keep_owners)
}

struct Copier {
    /// The source's filesystem: we do not cross into others.
    device: u64,
    /// (device, inode) of the directories not to copy.
    left_out: Vec<(u64, u64)>,
    /// Files with several names, by (device, inode): the path, relative to
    /// the target, of the first copy, so that the next name becomes a hard
    /// link to it.
    first_copy_of: HashMap<(u64, u64), PathBuf>,
    target_root: OwnedFd,
    /// Do the copies get the owners of the originals (see
    /// `spec::privileges::keeps_owners`)? Asked once per tree.
    keep_owners: bool,
}

impl Copier {
    /// Copy what is inside the directory `source` into `target`.
    /// `relative` is where we are, for messages and hard links.
    fn copy_directory(
        &mut self,
        source: &OwnedFd,
        target: &OwnedFd,
        relative: &Path,
    ) -> Result<()> {
        let names =
            entry_names(source).with_context(|| format!("cannot list {}", shown(relative)))?;
        for name in names {
            let path = relative.join(&name);
            self.copy_entry(source, target, &name, &path)
                .with_context(|| format!("cannot copy {}", shown(&path)))?;
        }
        Ok(())
    }

    fn copy_entry(
        &mut self,
        source_dir: &OwnedFd,
        target_dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
    ) -> Result<()> {
        // What the entry is, without following it if it is a symlink.
        let stat = fstatat(source_dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        match file_type(&stat) {
            SFlag::S_IFDIR => self.copy_subdirectory(source_dir, target_dir, name, path),
            SFlag::S_IFREG => self.copy_file(source_dir, target_dir, name, path),
            SFlag::S_IFLNK => copy_symlink(source_dir, target_dir, name, &stat, self.keep_owners),
            _ => self.copy_node(target_dir, name, path, &stat),
        }
    }

    fn copy_subdirectory(
        &mut self,
        source_dir: &OwnedFd,
        target_dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
    ) -> Result<()> {
        // O_NOFOLLOW: if the entry became a symlink since fstatat, this
        // fails instead of entering whatever directory it points to.
        let source = open_directory(source_dir, name)?;
        let stat = fstat(&source)?;
        if self.left_out.contains(&(stat.st_dev, stat.st_ino)) {
            return Ok(());
        }
        mkdirat(target_dir, name, Mode::from_bits_truncate(0o700))?;
        let target = open_directory(target_dir, name)?;
        if stat.st_dev == self.device {
            self.copy_directory(&source, &target, path)?;
        }
        // Owner, mode and times last: a read-only directory can still be
        // filled, and filling it would change its times.
        set_metadata(&target, &stat, self.keep_owners)
    }

    fn copy_file(
        &mut self,
        source_dir: &OwnedFd,
        target_dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
    ) -> Result<()> {
        // O_NONBLOCK: should the entry have become a fifo, opening it does
        // not wait for a writer.
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC;
        let source =
            openat(source_dir, name, flags, Mode::empty()).map_err(|e| changed_or(e, path))?;
        let stat = fstat(&source)?;
        if file_type(&stat) != SFlag::S_IFREG {
            bail!("{} changed while it was being copied", shown(path));
        }
        if self.link_to_first_copy(target_dir, name, path, &stat)? {
            return Ok(());
        }
        let target = openat(
            target_dir,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )?;
        let (mut reader, mut writer) = (File::from(source), File::from(target));
        // std::io::copy uses copy_file_range(2) between two files: the
        // kernel copies, without the bytes passing through our memory.
        std::io::copy(&mut reader, &mut writer)?;
        set_metadata(&writer, &stat, self.keep_owners)
    }

    /// Device nodes, fifos and sockets: mknod(2) makes a new node of the
    /// same type and device number. The source is never opened: opening a
    /// device can have effects (a tape rewinds).
    fn copy_node(
        &mut self,
        target_dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
        stat: &FileStat,
    ) -> Result<()> {
        if self.link_to_first_copy(target_dir, name, path, stat)? {
            return Ok(());
        }
        let is_device = matches!(file_type(stat), SFlag::S_IFCHR | SFlag::S_IFBLK);
        if is_device && !crate::spec::privileges::makes_device_nodes() {
            crate::spec::privileges::skip_device_node(name);
            return Ok(());
        }
        mknodat(
            target_dir,
            name,
            file_type(stat),
            Mode::from_bits_truncate(0o600),
            stat.st_rdev,
        )?;
        chown_at(target_dir, name, stat, self.keep_owners)?;
        fchmodat(
            target_dir,
            name,
            Mode::from_bits_truncate(stat.st_mode & 0o7777),
            FchmodatFlags::FollowSymlink, // a node, not a link: nothing to follow
        )?;
        set_times_at(target_dir, name, stat)
    }

    /// A file with several names whose first name was copied already
    /// becomes a hard link to that copy. Returns whether it did.
    fn link_to_first_copy(
        &mut self,
        target_dir: &OwnedFd,
        name: &OsStr,
        path: &Path,
        stat: &FileStat,
    ) -> Result<bool> {
        if stat.st_nlink < 2 {
            return Ok(false);
        }
        let key = (stat.st_dev, stat.st_ino);
        if let Some(first) = self.first_copy_of.get(&key) {
            linkat(
                &self.target_root,
                first.as_path(),
                target_dir,
                name,
                AtFlags::empty(),
            )?;
            return Ok(true);
        }
        self.first_copy_of.insert(key, path.to_path_buf());
        Ok(false)
    }
}

/// The names in the open directory `dir`, `.` and `..` left out. (Read
/// through a second descriptor of it: reading moves a descriptor's
/// position.)
pub fn entry_names(dir: &OwnedFd) -> Result<Vec<OsString>> {
    let mut listing = Dir::from_fd(dir.try_clone()?)?;
    Ok(listing
        .iter()
        .filter_map(|entry| entry.ok())
        .map(|entry| OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string())
        .filter(|name| name != "." && name != "..")
        .collect())
}

/// Copy a symlink's text as it is: `/bin/sh -> busybox` must keep pointing
/// inside the image, never at the host's files.
fn copy_symlink(
    source_dir: &OwnedFd,
    target_dir: &OwnedFd,
    name: &OsStr,
    stat: &FileStat,
    keep_owner: bool,
) -> Result<()> {
    let text = readlinkat(source_dir, name)?;
    symlinkat(text.as_os_str(), target_dir, name)?;
    // The link itself, not its target. (A symlink's own mode means nothing
    // on Linux and cannot be changed.)
    chown_at(target_dir, name, stat, keep_owner)?;
    set_times_at(target_dir, name, stat)
}

/// `stat`'s owner on the entry `name` of `dir`, never on what it points
/// to (AT_SYMLINK_NOFOLLOW): for nodes and links, which we do not open.
fn chown_at(dir: &OwnedFd, name: &OsStr, stat: &FileStat, keep_owner: bool) -> Result<()> {
    if !keep_owner {
        return Ok(());
    }
    fchownat(
        dir,
        name,
        Some(Uid::from_raw(stat.st_uid)),
        Some(Gid::from_raw(stat.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// `stat`'s access and modification times on the entry `name` of `dir`,
/// never on what it points to.
fn set_times_at(dir: &OwnedFd, name: &OsStr, stat: &FileStat) -> Result<()> {
    let (accessed, modified) = times(stat);
    utimensat(
        dir,
        name,
        &accessed,
        &modified,
        UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Owner, then mode, then times, on a descriptor we hold. chown(2) comes
/// first because changing the owner clears the setuid and setgid bits.
fn set_metadata(target: &impl AsFd, stat: &FileStat, keep_owner: bool) -> Result<()> {
    if keep_owner {
        fchown(
            target,
            Some(Uid::from_raw(stat.st_uid)),
            Some(Gid::from_raw(stat.st_gid)),
        )?;
    }
    fchmod(target, Mode::from_bits_truncate(stat.st_mode & 0o7777))?;
    let (accessed, modified) = times(stat);
    futimens(target, &accessed, &modified)?;
    Ok(())
}

fn open_directory(dir: impl AsFd, name: &OsStr) -> Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| changed_or(e, Path::new(name)))
}

/// ELOOP and ENOTDIR from O_NOFOLLOW and O_DIRECTORY mean that the entry
/// was swapped for something else between our two looks at it.
fn changed_or(err: nix::errno::Errno, path: &Path) -> anyhow::Error {
    match err {
        nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => {
            anyhow::anyhow!("{} changed while it was being copied", shown(path))
        }
        other => other.into(),
    }
}

fn file_type(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits())
}

fn times(stat: &FileStat) -> (TimeSpec, TimeSpec) {
    (
        TimeSpec::new(stat.st_atime, stat.st_atime_nsec),
        TimeSpec::new(stat.st_mtime, stat.st_mtime_nsec),
    )
}

fn shown(relative: &Path) -> String {
    if relative.as_os_str().is_empty() {
        "the top directory".to_string()
    } else {
        relative.display().to_string()
    }
}
