//! Writing a layer's entries inside an image, and nowhere else.
//!
//! A layer is a tar file someone else made. Its entry names are paths, and
//! a hostile layer uses them to reach the host (the class of bugs behind
//! several CVEs of Docker, containerd and runc):
//!
//! ```text
//! ../../etc/cron.d/evil            a `..` climbs out of the image
//! /etc/cron.d/evil                 an absolute path
//! evil -> /etc, then evil/passwd   a symlink, then a write through it
//! hard link to ../../etc/shadow    a second name for a host file
//! ```
//!
//! So nothing here ever follows a path as a string. Every name is checked
//! (`image_path`: no `..`, not absolute), and every directory on the way
//! is opened from the one before with `openat(2)` and `O_NOFOLLOW`: if a
//! component is a symlink, the kernel refuses to open it and we stop. The
//! last component is created relative to its parent's descriptor, with
//! the `*at` calls, again without following links.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, FchmodatFlags, Mode, SFlag,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::escape::printable;

/// An image's root directory, open, into which layers are applied.
pub struct ImageRoot {
    root: OwnedFd,
    /// Do the files get the owners the layers give (see
    /// `spec::privileges::keeps_owners`)? Asked once per image.
    keep_owners: bool,
}

/// The path of a layer's entry inside the image: `etc/passwd` for the tar
/// names `etc/passwd`, `./etc/passwd` and `etc//passwd`. A name with `..`
/// or a leading `/` is refused: it tries to write outside the image.
pub fn image_path(name: &Path) -> Result<PathBuf> {
    let mut path = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => bail!(
                "the layer has an entry '{}' that points outside the image: refusing it",
                printable(&name.to_string_lossy())
            ),
        }
    }
    Ok(path)
}

impl ImageRoot {
    /// Open the directory `path` (the image's root filesystem, being
    /// made).
    pub fn open(path: &Path) -> Result<ImageRoot> {
        let root = openat(AT_FDCWD, path, directory_flags(), Mode::empty())
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(ImageRoot {
            root,
            keep_owners: crate::spec::privileges::keeps_owners(),
        })
    }

    /// Write one tar entry (file, directory, symlink, hard link, device or
    /// fifo) at `path` (from `image_path`), with its owner and mode. What
    /// was there before (from a lower layer) is replaced, except that a
    /// directory stays a directory: its contents are kept.
    pub fn create<R: Read>(&mut self, path: &Path, entry: &mut tar::Entry<R>) -> Result<()> {
        let shown = printable(&path.to_string_lossy()).into_owned();
        self.create_entry(path, entry)
            .with_context(|| format!("cannot write '{shown}' into the image"))
    }

    fn create_entry<R: Read>(&mut self, path: &Path, entry: &mut tar::Entry<R>) -> Result<()> {
        let Some(name) = path.file_name() else {
            // The entry for `./` itself: the root's owner and mode.
            return set_owner_and_mode(&self.root, entry.header(), self.keep_owners);
        };
        let parent = self.open_parent(path, true)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        if kind.is_dir() {
            if !is_directory(&parent, name) {
                remove_entry(&parent, name)?;
                mkdirat(&parent, name, Mode::from_bits_truncate(0o700))?;
            }
            let dir = openat(&parent, name, directory_flags(), Mode::empty())?;
            return set_owner_and_mode(&dir, &header, self.keep_owners);
        }
        // Anything else replaces what was there.
        remove_entry(&parent, name)?;
        if kind.is_file() || kind == tar::EntryType::Continuous {
            let file = openat(
                &parent,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let mut file = File::from(file);
            std::io::copy(entry, &mut file)?;
            set_owner_and_mode(&file, &header, self.keep_owners)?;
            let mtime = TimeSpec::new(header.mtime().unwrap_or(0) as i64, 0);
            futimens(&file, &mtime, &mtime)?;
        } else if kind.is_symlink() {
            // The link's text is stored as it is: it is never followed here,
            // and inside the running container it resolves in the
            // container's own root.
            let target = entry
                .link_name()?
                .context("a symlink without a target")?
                .into_owned();
            symlinkat(target.as_os_str(), &parent, name)?;
            chown_at(&parent, name, &header, self.keep_owners)?;
        } else if kind.is_hard_link() {
            // A second name for a file the image already has: the target
            // is found the same careful way, and linkat(2) without
            // AT_SYMLINK_FOLLOW never follows it.
            let target = entry
                .link_name()?
                .context("a hard link without a target")?
                .into_owned();
            let target = image_path(&target)?;
            let target_name = target.file_name().context("a hard link to the root")?;
            let target_parent = self.open_parent(&target, false)?;
            linkat(&target_parent, target_name, &parent, name, AtFlags::empty()).with_context(
                || format!("cannot link to '{}'", printable(&target.to_string_lossy())),
            )?;
        } else if (kind.is_character_special() || kind.is_block_special())
            && !crate::spec::privileges::makes_device_nodes()
        {
            crate::spec::privileges::skip_device_node(name);
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let node_type = if kind.is_character_special() {
                SFlag::S_IFCHR
            } else if kind.is_block_special() {
                SFlag::S_IFBLK
            } else {
                SFlag::S_IFIFO
            };
            let device = nix::sys::stat::makedev(
                u64::from(header.device_major()?.unwrap_or(0)),
                u64::from(header.device_minor()?.unwrap_or(0)),
            );
            mknodat(
                &parent,
                name,
                node_type,
                Mode::from_bits_truncate(0o600),
                device,
            )?;
            chown_at(&parent, name, &header, self.keep_owners)?;
            // A fresh node of ours, not a link: fchmodat has nothing to follow.
            fchmodat(
                &parent,
                name,
                mode_of(&header),
                FchmodatFlags::FollowSymlink,
            )?;
        }
        // Other kinds (pax headers, GNU extensions) are read by the tar crate
        // itself and never reach us; anything else is skipped.
        Ok(())
    }

    /// Remove `name` from the directory `dir`, and everything below it (a
    /// whiteout, `dir/.wh.NAME`). Nothing there is fine: the lower layers
    /// may not have it. A name that is not one plain name (`..`, `.`, or
    /// with a `/`) is refused: it points outside the directory.
    pub fn remove(&mut self, dir: &Path, name: &str) -> Result<()> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            bail!(
                "the layer has a whiteout of '{}' in '{}', which points outside the image: refusing it",
                printable(name),
                printable(&dir.to_string_lossy())
            );
        }
        let path = image_path(&dir.join(name))?;
        let parent = match self.open_parent(&path, false) {
            Ok(parent) => parent,
            Err(error) if is_missing(&error) => return Ok(()),
            Err(error) => return Err(error),
        };
        remove_entry(&parent, OsStr::new(name))
    }

    /// Empty the directory `dir` of what lower layers put there (an opaque
    /// whiteout, `.wh..wh..opq`), keeping what this layer wrote: the paths
    /// in `written`, and the directories on their way.
    pub fn empty_directory(&mut self, dir: &Path, written: &HashSet<PathBuf>) -> Result<()> {
        let dir_fd = if dir.as_os_str().is_empty() {
            self.root.try_clone()?
        } else {
            let name = dir.file_name().context("a bad directory name")?;
            let parent = match self.open_parent(dir, false) {
                Ok(parent) => parent,
                Err(error) if is_missing(&error) => return Ok(()),
                Err(error) => return Err(error),
            };
            match openat(&parent, name, directory_flags(), Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => return Ok(()),
                Err(error) => return Err(refusal(dir, error)),
            }
        };
        empty_except(&dir_fd, dir, written)
    }

    /// The directory that holds `path`, open. Each directory on the way is
    /// opened with O_NOFOLLOW from the one before; missing ones are made
    /// (a tar need not list a file's directories) when `make` is set.
    fn open_parent(&self, path: &Path, make: bool) -> Result<OwnedFd> {
        let mut dir = self.root.try_clone()?;
        let mut walked = PathBuf::new();
        let parents: Vec<&OsStr> = path
            .parent()
            .map(|p| p.iter().collect())
            .unwrap_or_default();
        for part in parents {
            walked.push(part);
            let next = match openat(&dir, part, directory_flags(), Mode::empty()) {
                Err(Errno::ENOENT) if make => {
                    mkdirat(&dir, part, Mode::from_bits_truncate(0o755))?;
                    openat(&dir, part, directory_flags(), Mode::empty())
                }
                other => other,
            };
            dir = next.map_err(|error| refusal(&walked, error))?;
        }
        Ok(dir)
    }
}

/// O_NOFOLLOW on a symlink gives ELOOP, O_DIRECTORY on a file ENOTDIR:
/// either way the path goes through something that is not a directory,
/// perhaps a link pointing outside. Refuse the whole layer.
fn refusal(walked: &Path, error: Errno) -> anyhow::Error {
    let shown = printable(&walked.to_string_lossy()).into_owned();
    match error {
        Errno::ELOOP | Errno::ENOTDIR => anyhow::anyhow!(
            "'{shown}' is a symlink or not a directory: writing through it could reach outside \
             the image, refusing the layer"
        ),
        Errno::ENOENT => anyhow::Error::new(error).context(format!("'{shown}' does not exist")),
        other => anyhow::Error::new(other).context(format!("cannot open '{shown}'")),
    }
}

fn is_missing(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<Errno>() == Some(&Errno::ENOENT))
}

fn directory_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

fn is_directory(parent: &OwnedFd, name: &OsStr) -> bool {
    fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
}

/// Remove `name` in `parent`, a whole tree if it is a directory; nothing
/// there is fine. A symlink is removed itself, never what it points to.
fn remove_entry(parent: &OwnedFd, name: &OsStr) -> Result<()> {
    if is_directory(parent, name) {
        let dir = openat(parent, name, directory_flags(), Mode::empty())?;
        empty_except(&dir, Path::new(""), &HashSet::new())?;
        unlinkat(parent, name, UnlinkatFlags::RemoveDir)?;
        return Ok(());
    }
    match unlinkat(parent, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Remove every entry of the open directory `dir` (at `path` in the image)
/// whose path is not in `keep` and leads to nothing in `keep`; descend
/// into kept directories to do the same there.
fn empty_except(dir: &OwnedFd, path: &Path, keep: &HashSet<PathBuf>) -> Result<()> {
    for name in crate::storage::copy::entry_names(dir)? {
        let child = path.join(&name);
        let kept = keep.iter().any(|written| written.starts_with(&child));
        if !kept {
            remove_entry(dir, &name)?;
        } else if is_directory(dir, &name) && !keep.is_empty() {
            let sub = openat(dir, name.as_os_str(), directory_flags(), Mode::empty())?;
            empty_except(&sub, &child, keep)?;
        }
    }
    Ok(())
}

/// The mode bits of an entry (permissions, setuid, setgid, sticky).
fn mode_of(header: &tar::Header) -> Mode {
    Mode::from_bits_truncate(header.mode().unwrap_or(0o644) & 0o7777)
}

/// Owner first, then mode: chown(2) clears the setuid and setgid bits.
fn set_owner_and_mode(fd: &impl AsFd, header: &tar::Header, keep_owner: bool) -> Result<()> {
    let uid = header.uid().unwrap_or(0) as u32;
    let gid = header.gid().unwrap_or(0) as u32;
    if keep_owner {
        fchown(fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
    }
    fchmod(fd, mode_of(header))?;
    Ok(())
}

/// The owner of `name` itself (a symlink's, not its target's).
fn chown_at(parent: &OwnedFd, name: &OsStr, header: &tar::Header, keep_owner: bool) -> Result<()> {
    if !keep_owner {
        return Ok(());
    }
    let uid = header.uid().unwrap_or(0) as u32;
    let gid = header.gid().unwrap_or(0) as u32;
    fchownat(
        parent,
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_made_relative_and_dotdot_is_refused() {
        assert_eq!(
            image_path(Path::new("./etc//passwd")).unwrap(),
            Path::new("etc/passwd")
        );
        assert_eq!(image_path(Path::new("./")).unwrap(), Path::new(""));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a/.."] {
            let error = image_path(Path::new(bad)).unwrap_err().to_string();
            assert!(error.contains("outside"), "{bad}: {error}");
        }
    }
}
