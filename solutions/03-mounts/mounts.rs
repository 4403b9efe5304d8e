//! Chapter 3 — mounts and /proc: the container gets a mount table of its
//! own, a real new root with pivot_root, and the kernel's pseudo
//! filesystems.
//!
//! The reference solution. Compare it with your
//! `chapters/03-mounts/mounts.rs`.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chdir, pivot_root};

/// The device nodes of a minimal /dev: (name, major, minor). The numbers
/// are fixed by the kernel (Documentation/admin-guide/devices.txt).
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

// ANCHOR: mount_at
/// Mount `fstype` at `target` (created if missing). A small helper so the
/// functions below read as a list of mounts.
pub fn mount_at(fstype: &str, target: &str, flags: MsFlags, options: Option<&str>) -> Result<()> {
    fs::create_dir_all(target).with_context(|| format!("cannot create {target}"))?;
    match mount(Some(fstype), target, Some(fstype), flags, options) {
        Ok(()) => Ok(()),
        // Without root and with --net host, the kernel keeps sysfs for the
        // host's root: the frame binds the host's /sys there instead.
        Err(nix::errno::Errno::EPERM) if fstype == "sysfs" => {
            crate::runtime::process::host_devices::bind_host_sysfs(target, flags)
        }
        Err(error) => Err(error).with_context(|| format!("mounting {fstype} on {target} failed")),
    }
}
// ANCHOR_END: mount_at

// ANCHOR: make_mounts_private
/// Stop mount events from travelling between the container and the host.
pub fn make_mounts_private() -> Result<()> {
    // Our new mount namespace started as a copy of the host's, and on most
    // systems `/` is a *shared* mount: a mount made below it in one
    // namespace appears in its peers too. MS_PRIVATE cuts that link, and
    // MS_REC does it for every mount in the tree.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("making the mount tree private failed")
}
// ANCHOR_END: make_mounts_private

// ANCHOR: switch_root
/// Make `new_root` the root of the container's mount namespace, and let go
/// of the host's root entirely.
pub fn switch_root(new_root: &Path) -> Result<()> {
    // pivot_root(2) wants the new root to be a mount point. Bind-mounting
    // the directory onto itself makes it one.
    mount(
        Some(new_root),
        new_root,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting {} onto itself failed", new_root.display()))?;
    chdir(new_root).context("chdir to the new root failed")?;
    // pivot_root(".", "."): the new root becomes `/`, and the old root is
    // mounted on top of it, at the same place.
    pivot_root(".", ".").context("pivot_root failed")?;
    // Detach the old root (the host's whole tree) from our namespace.
    // MNT_DETACH: do it now, even though it is busy.
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root failed")?;
    chdir("/").context("chdir to / failed")?;
    Ok(())
}
// ANCHOR_END: switch_root

// ANCHOR: mount_pseudo_filesystems
/// Mount /proc, a read-only /sys and an empty /tmp.
pub fn mount_pseudo_filesystems() -> Result<()> {
    let safe = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // A new proc shows the processes of the PID namespace of whoever
    // mounts it: ours. The host's /proc would show the host's.
    mount_at("proc", "/proc", safe, None)?;
    // sysfs describes the machine's devices and the network namespace's
    // interfaces. Read-only: the container must not reconfigure the host.
    mount_at("sysfs", "/sys", safe | MsFlags::MS_RDONLY, None)?;
    // A tmpfs lives in memory and disappears with the container. 1777: all
    // may write, only owners may delete (the sticky bit).
    mount_at(
        "tmpfs",
        "/tmp",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    Ok(())
}
// ANCHOR_END: mount_pseudo_filesystems

// ANCHOR: create_dev
/// Build a minimal /dev: a few device nodes, /dev/pts and /dev/shm, and
/// the links /dev/ptmx, /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr.
pub fn create_dev() -> Result<()> {
    // A tmpfs of our own, so nothing we create lands in the image.
    mount_at("tmpfs", "/dev", MsFlags::MS_NOSUID, Some("mode=755"))?;
    for (name, major, minor) in DEVICES {
        let path = format!("/dev/{name}");
        // mknod(2) makes a character-device node: a name that leads to the
        // kernel driver with this major/minor number.
        let made = mknod(
            path.as_str(),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        );
        match made {
            // mknod applies the umask; set the mode we meant.
            Ok(()) => fs::set_permissions(&path, fs::Permissions::from_mode(0o666))?,
            // Without root (a user namespace) the kernel refuses: the
            // frame binds the host's node there instead.
            Err(nix::errno::Errno::EPERM) => {
                crate::runtime::process::host_devices::bind_host_device(&path)?
            }
            Err(error) => return Err(error).with_context(|| format!("mknod {path} failed")),
        }
    }
    // Pseudo-terminals: a devpts of our own (newinstance), not the host's.
    mount_at(
        "devpts",
        "/dev/pts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=620"),
    )?;
    symlink("pts/ptmx", "/dev/ptmx")?;
    // POSIX shared memory (shm_open) lives in /dev/shm.
    mount_at(
        "tmpfs",
        "/dev/shm",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    // The usual links to the process's own descriptors.
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, link).with_context(|| format!("cannot link {link}"))?;
    }
    Ok(())
}
// ANCHOR_END: create_dev
