//! Chapter 3 — mounts and /proc: the container gets a mount table of its
//! own, a real new root with pivot_root, and the kernel's pseudo
//! filesystems.
//!
//! Your exercise. Read `chapters/03-mounts/README.md` (or the chapter in the
//! book), fill in the four functions, then run:
//!
//! ```text
//! cargo test --features stage3 stage3_mounts
//! ```

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

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
    todo!("chapter 3: remount / with MS_REC | MS_PRIVATE — see chapters/03-mounts/README.md, section 'Mount propagation'")
}
// ANCHOR_END: make_mounts_private

// ANCHOR: switch_root
/// Make `new_root` the root of the container's mount namespace, and let go
/// of the host's root entirely.
pub fn switch_root(new_root: &Path) -> Result<()> {
    todo!("chapter 3: bind-mount {new_root:?} onto itself, chdir into it, pivot_root(\".\", \".\"), detach the old root, chdir(\"/\") — see chapters/03-mounts/README.md, section 'pivot_root'")
}
// ANCHOR_END: switch_root

// ANCHOR: mount_pseudo_filesystems
/// Mount /proc, a read-only /sys and an empty /tmp.
pub fn mount_pseudo_filesystems() -> Result<()> {
    todo!("chapter 3: mount proc on /proc, sysfs read-only on /sys, tmpfs on /tmp (use mount_at) — see chapters/03-mounts/README.md, section 'The kernel's filesystems'")
}
// ANCHOR_END: mount_pseudo_filesystems

// ANCHOR: create_dev
/// Build a minimal /dev: a few device nodes, /dev/pts and /dev/shm, and
/// the links /dev/ptmx, /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr.
pub fn create_dev() -> Result<()> {
    todo!("chapter 3: a tmpfs on /dev, a node for each of DEVICES, devpts on /dev/pts, tmpfs on /dev/shm, the links ptmx, fd, stdin, stdout, stderr — see chapters/03-mounts/README.md, section 'A minimal /dev'")
}
// ANCHOR_END: create_dev
