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
                // In a user namespace of its own, root may not make device
                // nodes (and the kernel would not open one on a filesystem
                // mounted there): the host's node, bound on an empty file.
                Err(Errno::EPERM) => bind_hosts_node(&dev, name)?,
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

/// Bind the host's /dev/`name` onto a new empty file `name` in `dev` (the
/// host's /dev is still there: this runs before pivot_root). The mount
/// keeps the host's filesystem, where device nodes open.
fn bind_hosts_node(dev: &std::os::fd::OwnedFd, name: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    let target = nix::fcntl::openat(
        dev,
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o666),
    )
    .with_context(|| format!("cannot make /dev/{name}"))?;
    let onto = format!("/proc/self/fd/{}", target.as_raw_fd());
    nix::mount::mount(
        Some(format!("/dev/{name}").as_str()),
        onto.as_str(),
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind the host's /dev/{name}"))
}
