//! The devices every container has (the runtime spec's "default
//! devices"), made in the /dev that config.json mounts (a tmpfs): the same
//! nodes as chapter 3's /dev, and its links.

use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::symlinkat;

use crate::runtime::process::mounts::DEVICES;

/// (name, target).
const LINKS: [(&str, &str); 6] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", "/proc/kcore"),
];

/// Make the nodes and links missing from `rootfs`/dev (resolved inside
/// the root: the image's `dev` may be a symlink).
pub fn make_default_devices(rootfs: &Path) -> Result<()> {
    let root = nix::fcntl::open(rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
    let how = OpenHow::new()
        .flags(OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let dev = openat2(&root, "dev", how).context("cannot open the container's /dev")?;
    // The umask would take bits off the nodes' 0666.
    let old = nix::sys::stat::umask(Mode::empty());
    let made = (|| -> Result<()> {
        // Chapter 3's list: (name, major, minor), character devices.
        for (name, major, minor) in DEVICES {
            match mknodat(
                &dev,
                name,
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o666),
                makedev(major, minor),
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot make /dev/{name}"))
                }
            }
        }
        for (name, target) in LINKS {
            match symlinkat(target, &dev, name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot make /dev/{name}"))
                }
            }
        }
        Ok(())
    })();
    nix::sys::stat::umask(old);
    made
}
