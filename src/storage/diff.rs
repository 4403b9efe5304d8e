//! What a container changed in its root filesystem, against its image:
//! `bocker diff`, in Docker's format.
//!
//! ```text
//! C /root            changed (a directory: something below it changed)
//! A /root/notes      added
//! D /etc/motd        deleted
//! ```
//!
//! Both trees are walked side by side, one directory at a time, from
//! descriptors opened with O_NOFOLLOW and with fstatat(AT_SYMLINK_NOFOLLOW):
//! the container's files are the container's, and a symlink in them is a
//! name to compare, never a way out to the host's files.
//!
//! What counts as a change: the type, permissions, owner, device number,
//! a symlink's target, a file's size and modification time. A snapshot
//! (chapter 6) keeps every inode as it was, its change time (ctime)
//! included, and no program can set a ctime back: so for a snapshot a
//! different ctime is a change too, even if someone reset the mtime.
//! A copy gets new ctimes everywhere, so for a copy it is not compared.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{fstatat, FileStat, Mode, SFlag};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Added,
    Changed,
    Deleted,
}

impl Kind {
    pub fn letter(self) -> char {
        match self {
            Kind::Added => 'A',
            Kind::Changed => 'C',
            Kind::Deleted => 'D',
        }
    }
}

/// One line of `bocker diff`: a path inside the container, and its change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    pub path: PathBuf,
}

/// The changes in `container` against `image`, in path order. With
/// `compare_ctime`, a different ctime counts (see the module's comment).
/// The paths in `leave_out` (absolute, inside the container) and what is
/// below them are not compared at all.
pub fn changes(
    image: &Path,
    container: &Path,
    compare_ctime: bool,
    leave_out: &[&str],
) -> Result<Vec<Change>> {
    let old = open_directory(AT_FDCWD, image.as_os_str())
        .with_context(|| format!("cannot open {}", image.display()))?;
    let new = open_directory(AT_FDCWD, container.as_os_str())
        .with_context(|| format!("cannot open {}", container.display()))?;
    let mut walk = Walk {
        compare_ctime,
        leave_out: leave_out.iter().map(PathBuf::from).collect(),
        found: Vec::new(),
    };
    walk.compare_directories(&old, &new, Path::new("/"))?;
    Ok(walk.found)
}

struct Walk {
    compare_ctime: bool,
    leave_out: Vec<PathBuf>,
    found: Vec<Change>,
}

impl Walk {
    /// Compare the directories `old` and `new`, both at `path`. Whether
    /// anything below them changed.
    fn compare_directories(&mut self, old: &OwnedFd, new: &OwnedFd, path: &Path) -> Result<bool> {
        let old_names = names(old)?;
        let new_names = names(new)?;
        let mut changed_below = false;
        for name in old_names.union(&new_names) {
            let child = path.join(name);
            if self.leave_out.contains(&child) {
                continue;
            }
            let before = fstatat(old, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok();
            let after = fstatat(new, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok();
            match (before, after) {
                (None, None) => {} // gone from both while we looked
                (Some(_), None) => {
                    // Deleted: one line, not one for everything it held.
                    self.record(Kind::Deleted, &child);
                    changed_below = true;
                }
                (None, Some(after)) => {
                    self.record(Kind::Added, &child);
                    if is_directory(&after) {
                        self.all_added(new, name, &child)?;
                    }
                    changed_below = true;
                }
                (Some(before), Some(after)) => {
                    let at = self.found.len();
                    let mut changed = self.differ(old, new, name, &before, &after)?;
                    if is_directory(&before) && is_directory(&after) {
                        let old_child = open_directory(old, name.as_os_str())?;
                        let new_child = open_directory(new, name.as_os_str())?;
                        changed |= self.compare_directories(&old_child, &new_child, &child)?;
                    } else if is_directory(&after) {
                        // A file became a directory: all inside is new.
                        self.all_added(new, name, &child)?;
                    }
                    if changed {
                        // The directory's line goes before its contents'.
                        self.found.insert(
                            at,
                            Change {
                                kind: Kind::Changed,
                                path: child,
                            },
                        );
                        changed_below = true;
                    }
                }
            }
        }
        Ok(changed_below)
    }

    /// Record everything below the new directory `name` of `parent` as added.
    fn all_added(&mut self, parent: &OwnedFd, name: &OsString, path: &Path) -> Result<()> {
        let dir = open_directory(parent, name.as_os_str())?;
        for child_name in names(&dir)? {
            let child = path.join(&child_name);
            self.record(Kind::Added, &child);
            let stat = fstatat(&dir, child_name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW);
            if stat.is_ok_and(|stat| is_directory(&stat)) {
                self.all_added(&dir, &child_name, &child)?;
            }
        }
        Ok(())
    }

    /// Whether the entry `name` differs between the directories `old` and
    /// `new` (its own attributes; not what a directory holds).
    fn differ(
        &self,
        old: &OwnedFd,
        new: &OwnedFd,
        name: &OsString,
        before: &FileStat,
        after: &FileStat,
    ) -> Result<bool> {
        let directory = is_directory(before) && is_directory(after);
        let mut differ = before.st_mode != after.st_mode
            || before.st_uid != after.st_uid
            || before.st_gid != after.st_gid
            || before.st_rdev != after.st_rdev;
        if !directory {
            // A directory's size and mtime change whenever an entry comes
            // or goes: the entries themselves tell that.
            differ |= before.st_size != after.st_size
                || (before.st_mtime, before.st_mtime_nsec) != (after.st_mtime, after.st_mtime_nsec);
            if self.compare_ctime {
                differ |= (before.st_ctime, before.st_ctime_nsec)
                    != (after.st_ctime, after.st_ctime_nsec);
            }
        }
        if !differ && is_symlink(before) {
            differ = readlinkat(old, name.as_os_str())? != readlinkat(new, name.as_os_str())?;
        }
        Ok(differ)
    }

    fn record(&mut self, kind: Kind, path: &Path) {
        self.found.push(Change {
            kind,
            path: path.to_path_buf(),
        });
    }
}

fn open_directory(parent: impl AsFd, name: &std::ffi::OsStr) -> Result<OwnedFd> {
    openat(
        parent.as_fd(),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open the directory {}", Path::new(name).display()))
}

/// The entries of a directory, sorted, without `.` and `..`.
fn names(dir: &OwnedFd) -> Result<BTreeSet<OsString>> {
    let mut listing = Dir::from_fd(dir.try_clone()?).context("cannot list a directory")?;
    let mut found = BTreeSet::new();
    for entry in listing.iter() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            found.insert(std::ffi::OsStr::from_bytes(&name).to_os_string());
        }
    }
    Ok(found)
}

fn file_type(stat: &FileStat) -> u32 {
    stat.st_mode & SFlag::S_IFMT.bits()
}

fn is_directory(stat: &FileStat) -> bool {
    file_type(stat) == SFlag::S_IFDIR.bits()
}

fn is_symlink(stat: &FileStat) -> bool {
    file_type(stat) == SFlag::S_IFLNK.bits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn lines(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path.display()))
            .collect()
    }

    #[test]
    fn a_copy_compared_with_its_image() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("image");
        for sub in ["etc", "root", "var/log", "bin"] {
            fs::create_dir_all(image.join(sub)).unwrap();
        }
        fs::write(image.join("etc/passwd"), "root\n").unwrap();
        fs::write(image.join("etc/group"), "root\n").unwrap();
        fs::write(image.join("var/log/old"), "x").unwrap();
        std::os::unix::fs::symlink("busybox", image.join("bin/sh")).unwrap();
        let container = dir.path().join("container");
        crate::storage::copy::copy_tree(&image, &container, &[]).unwrap();
        assert!(
            changes(&image, &container, false, &[]).unwrap().is_empty(),
            "a fresh copy"
        );

        fs::write(container.join("etc/passwd"), "root\neve\n").unwrap();
        fs::remove_file(container.join("etc/group")).unwrap();
        fs::create_dir(container.join("root/dir")).unwrap();
        fs::write(container.join("root/dir/f"), "").unwrap();
        fs::remove_dir_all(container.join("var/log")).unwrap();
        fs::remove_file(container.join("bin/sh")).unwrap();
        std::os::unix::fs::symlink("/bin/bash", container.join("bin/sh")).unwrap();
        fs::write(container.join("hostname"), "made by bocker").unwrap();
        assert_eq!(
            lines(&changes(&image, &container, false, &["/hostname"]).unwrap()),
            [
                "C /bin",
                "C /bin/sh",
                "C /etc",
                "D /etc/group",
                "C /etc/passwd",
                "C /root",
                "A /root/dir",
                "A /root/dir/f",
                "C /var",
                "D /var/log",
            ]
        );
    }
}
