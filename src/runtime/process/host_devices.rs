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
//! bound onto empty files. switch_root carries it into the new root, where
//! the kernel finds the proc and sysfs it wants. Once chapter 3 has made
//! its own mounts (its sysfs covering the tmpfs), the frame moves that
//! sysfs aside, detaches the tmpfs with all it holds, and moves the sysfs
//! back: the container's mount table is chapter 3's, plus the bound nodes.
//!
//! With `--net host` the kernel refuses even that sysfs: a sysfs shows a
//! network namespace's interfaces, and only that namespace's owner (the
//! host's root) may mount one. The tmpfs then holds the host's own /sys,
//! bound (as rootless podman does), and chapter 3's `mount_at` binds it
//! on /sys, read-only, where mounting a sysfs says EPERM.
//!
//! ```text
//!   before switch_root        ROOTFS/sys   tmpfs: proc/ sysfs/ null zero …
//!   after switch_root         /sys         (the same)   ◀── keep_host_devices
//!   chapter 3's sysfs         /sys         sysfs, on top: the tmpfs hidden
//!   chapter 3's create_dev    /dev/null    EPERM → bound from the kept null
//!   remove_staging            /sys         sysfs alone: the tmpfs detached
//! ```

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;

use super::mounts::DEVICES;

/// What [`keep_host_devices`] opened after switch_root: the staged sysfs
/// and the host's nodes, by name.
struct Kept {
    sysfs: OwnedFd,
    nodes: Vec<(&'static str, OwnedFd)>,
}

static KEPT: OnceLock<Kept> = OnceLock::new();

/// Where the container's sysfs waits while the staging tmpfs under it is
/// detached: a directory in the container's own /dev (a tmpfs chapter 3
/// made), never in the image.
const SYSFS_ASIDE: &str = "/dev/.bocker-sysfs";

/// Before switch_root: the tmpfs on `rootfs`/sys, with a proc, a sysfs
/// (or the host's /sys, see the module's comment) and the host's device
/// nodes.
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
        match mount(Some(kind), &target, Some(kind), flags | extra, None::<&str>) {
            Ok(()) => {}
            // The host's network namespace (--net host): its sysfs is the
            // host root's to mount. Bind the host's, with what is below.
            Err(Errno::EPERM) if kind == "sysfs" => bind(Path::new("/sys"), &target, true)
                .context("cannot bind the host's /sys (for --net host)")?,
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot mount {kind} on {}", target.display()))
            }
        }
    }
    for (name, _, _) in DEVICES {
        let target = under.join(name);
        std::fs::File::create(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        let host = format!("/dev/{name}");
        bind(Path::new(&host), &target, false)
            .with_context(|| format!("cannot bind the host's {host}"))?;
    }
    Ok(())
}

/// After switch_root, before chapter 3 covers /sys: a handle (O_PATH) to
/// the staged sysfs and to each node, for [`bind_host_device`] and
/// [`bind_host_sysfs`]. O_CLOEXEC: the container's program never gets them.
pub fn keep_host_devices() -> Result<()> {
    let open = |path: &str| {
        nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("cannot open {path}"))
    };
    let mut nodes = Vec::new();
    for (name, _, _) in DEVICES {
        nodes.push((name, open(&format!("/sys/{name}"))?));
    }
    let sysfs = open("/sys/sysfs")?;
    let _ = KEPT.set(Kept { sysfs, nodes });
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
        .flat_map(|kept| &kept.nodes)
        .find(|(kept, _)| *kept == name)
    else {
        bail!("no host node kept for {path} (is this a user namespace?)");
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {path}"))?;
    bind(&kept_path(node), Path::new(path), false)
        .with_context(|| format!("cannot bind the host's {path}"))
}

/// Chapter 3's `mount_at("sysfs", …)` where the kernel said EPERM (a
/// user namespace in the host's network namespace): bind the kept sysfs
/// on `target` instead, with `flags` (read-only, nosuid…). A bind mount
/// ignores such flags when it is made; a second call, MS_REMOUNT, sets them.
pub fn bind_host_sysfs(target: &str, flags: MsFlags) -> Result<()> {
    let Some(kept) = KEPT.get() else {
        bail!("no sysfs kept for {target} (is this a user namespace?)");
    };
    bind(&kept_path(&kept.sysfs), Path::new(target), true)?;
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
        None::<&str>,
    )
    .with_context(|| format!("cannot make the sysfs on {target} read-only"))
}

/// After chapter 3's mounts: take the staging tmpfs out of the container.
/// It lies under chapter 3's sysfs, and umount(2) of a path reaches the
/// top mount only: so the sysfs moves aside (MS_MOVE), the tmpfs is
/// detached with everything on it, and the sysfs moves back.
pub fn remove_staging() -> Result<()> {
    std::fs::create_dir(SYSFS_ASIDE).with_context(|| format!("cannot create {SYSFS_ASIDE}"))?;
    let move_mount = |from: &str, to: &str| {
        mount(Some(from), to, None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .with_context(|| format!("cannot move the mount on {from} to {to}"))
    };
    move_mount("/sys", SYSFS_ASIDE)?;
    umount2("/sys", MntFlags::MNT_DETACH).context("cannot detach the staging tmpfs on /sys")?;
    move_mount(SYSFS_ASIDE, "/sys")?;
    std::fs::remove_dir(SYSFS_ASIDE).with_context(|| format!("cannot remove {SYSFS_ASIDE}"))
}

/// The path that reaches what `handle` (an O_PATH descriptor) names.
fn kept_path(handle: &OwnedFd) -> std::path::PathBuf {
    format!("/proc/self/fd/{}", handle.as_raw_fd()).into()
}

/// A bind mount of `source` on `target`; `recursive` (MS_REC) takes the
/// mounts below `source` along.
fn bind(source: &Path, target: &Path, recursive: bool) -> Result<()> {
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(source), target, None::<&str>, flags, None::<&str>)
        .with_context(|| format!("cannot bind {} on {}", source.display(), target.display()))
}
