//! Chapter 3's mounts in a user namespace (bocker without root).
//!
//! Root inside a user namespace may mount proc, sysfs and tmpfs, but the
//! kernel adds two rules, and the frame works around both for chapter 3:
//!
//! * It refuses mknod(2) of a device (and would not open a node on a
//!   filesystem mounted there). So the host's own nodes are bound in, as
//!   rootless podman and runc do: chapter 3's create_dev binds one where
//!   mknod says EPERM ([`bind_host_device`]).
//! * It mounts a new proc or sysfs only if the mount namespace already
//!   shows one whole (nothing hidden under a mount root inside could not
//!   remove): a new one must not reveal what the host hid. Once pivot_root
//!   has detached the host's tree, none is left.
//!
//! So, before chapter 3's switch_root, a small tmpfs goes on the
//! container's /sys, holding a proc, a sysfs, and the host's device nodes
//! bound onto empty files. switch_root carries it into the new root;
//! chapter 3's own sysfs then covers it: its files are out of the
//! container's sight (its mounts still show in /proc/mounts), but it is in
//! the namespace, where the kernel finds the proc and sysfs it wants, and
//! from where the nodes can be bound again.
//!
//! ```text
//!   before switch_root        ROOTFS/sys   tmpfs: proc/ sysfs/ null zero …
//!   after switch_root         /sys         (the same)   ◀── keep_host_devices
//!   chapter 3's sysfs         /sys         sysfs, on top: the tmpfs hidden
//!   chapter 3's create_dev    /dev/null    EPERM → bound from the kept null
//! ```

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use super::mounts::DEVICES;

/// The host's nodes, by name, opened after switch_root.
static KEPT: OnceLock<Vec<(&'static str, OwnedFd)>> = OnceLock::new();

/// The initial user namespace's inode number: a constant of the kernel
/// (PROC_USER_INIT_INO), what /proc/self/ns/user shows on the host.
const INITIAL_USER_NAMESPACE: &str = "user:[4026531837]";

/// Is this process in a user namespace other than the host's?
pub fn in_user_namespace() -> bool {
    std::fs::read_link("/proc/self/ns/user")
        .is_ok_and(|link| link.as_os_str() != INITIAL_USER_NAMESPACE)
}

/// Before switch_root: the tmpfs on `rootfs`/sys, with a proc, a sysfs
/// and the host's device nodes.
pub fn prepare_under_sys(rootfs: &Path) -> Result<()> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let under = rootfs.join("sys");
    std::fs::create_dir_all(&under)
        .with_context(|| format!("cannot create {}", under.display()))?;
    mount(
        Some("tmpfs"),
        &under,
        Some("tmpfs"),
        flags,
        Some("size=16k"),
    )
    .with_context(|| format!("cannot mount a tmpfs on {}", under.display()))?;
    for (kind, extra) in [("proc", MsFlags::empty()), ("sysfs", MsFlags::MS_RDONLY)] {
        let target = under.join(kind);
        std::fs::create_dir(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        mount(Some(kind), &target, Some(kind), flags | extra, None::<&str>)
            .with_context(|| format!("cannot mount {kind} on {}", target.display()))?;
    }
    for (name, _, _) in DEVICES {
        let target = under.join(name);
        std::fs::File::create(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        let host = format!("/dev/{name}");
        mount(
            Some(host.as_str()),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("cannot bind the host's {host}"))?;
    }
    Ok(())
}

/// After switch_root, before chapter 3 covers /sys: a handle (O_PATH) to
/// each node, for [`bind_host_device`].
pub fn keep_host_devices() -> Result<()> {
    let mut kept = Vec::new();
    for (name, _, _) in DEVICES {
        let path = format!("/sys/{name}");
        let fd = nix::fcntl::open(
            path.as_str(),
            OFlag::O_PATH | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("cannot open {path}"))?;
        kept.push((name, fd));
    }
    let _ = KEPT.set(kept);
    Ok(())
}

/// Make `path` (`/dev/null`, …) the host's node of the same name: an
/// empty file, with the kept node bind-mounted onto it.
pub fn bind_host_device(path: &str) -> Result<()> {
    let name = Path::new(path)
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let Some((_, node)) = KEPT
        .get()
        .into_iter()
        .flatten()
        .find(|(kept, _)| *kept == name)
    else {
        bail!("no host node kept for {path} (is this a user namespace?)");
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {path}"))?;
    let source = format!("/proc/self/fd/{}", node.as_raw_fd());
    mount(
        Some(source.as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind the host's {path}"))
}
