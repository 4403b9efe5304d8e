//! Copying a directory tree exactly, as `cp -a` does.
//!
//! Until chapter 6 replaces copies with btrfs snapshots, `init` copies a
//! directory into the store and `run` copies the image for each container.
//! A root filesystem needs more than file contents to work: the same modes
//! (setuid `su`, sticky `/tmp`), owners, symbolic links (`/bin/sh ->
//! busybox`), hard links (kept as links, not duplicated), device nodes and
//! fifos, and modification times.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

/// Copy the tree at `from` to `to`, which must not exist yet.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut copier = Copier::default();
    copier
        .copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

/// Remembers files with several names, keyed by (device, inode), so that
/// the second name becomes a hard link to the first copy.
#[derive(Default)]
struct Copier {
    first_copy_of: HashMap<(u64, u64), PathBuf>,
}

impl Copier {
    fn copy(&mut self, from: &Path, to: &Path) -> Result<()> {
        // lstat(2): look at the entry itself, not at what a symlink points to.
        let meta = fs::symlink_metadata(from)
            .with_context(|| format!("cannot read {}", from.display()))?;
        let kind = meta.file_type();

        if kind.is_dir() {
            fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
            for entry in fs::read_dir(from)? {
                let entry = entry?;
                self.copy(&entry.path(), &to.join(entry.file_name()))?;
            }
        } else if kind.is_symlink() {
            // Copy the link's text as it is: `/bin/sh -> busybox` must keep
            // pointing inside the image, not at the host's files.
            symlink(fs::read_link(from)?, to)
                .with_context(|| format!("cannot create link {}", to.display()))?;
        } else {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1 {
                if let Some(first) = self.first_copy_of.get(&key) {
                    fs::hard_link(first, to)
                        .with_context(|| format!("cannot link {}", to.display()))?;
                    return Ok(());
                }
                self.first_copy_of.insert(key, to.to_path_buf());
            }
            if kind.is_file() {
                fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
            } else {
                // Character and block devices, fifos and sockets: mknod(2)
                // makes a new node of the same type and device number.
                let node_type = SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
                let mode = Mode::from_bits_truncate(meta.mode() & 0o7777);
                mknod(to, node_type, mode, meta.rdev())
                    .with_context(|| format!("cannot create node {}", to.display()))?;
            }
        }
        copy_owner_mode_and_times(to, &meta)
    }
}

/// The last step for every entry, after its contents are in place: a
/// read-only directory can still be filled, and chown(2) runs before chmod
/// because changing the owner clears the setuid and setgid bits.
fn copy_owner_mode_and_times(to: &Path, meta: &fs::Metadata) -> Result<()> {
    let is_symlink = meta.file_type().is_symlink();
    // lchown: like chown(2), but on a symlink itself, not its target.
    lchown(to, Some(meta.uid()), Some(meta.gid()))
        .with_context(|| format!("cannot set the owner of {}", to.display()))?;
    if !is_symlink {
        // A symlink's own mode means nothing on Linux and cannot be changed.
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let accessed = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let modified = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        AT_FDCWD,
        to,
        &accessed,
        &modified,
        UtimensatFlags::NoFollowSymlink,
    )
    .with_context(|| format!("cannot set the times of {}", to.display()))?;
    Ok(())
}
