//! A btrfs filesystem in a file, for a state directory that is not on
//! btrfs (chapter 6).
//!
//! ```text
//! /var/lib/bocker/
//! ├── btrfs.img      a sparse file holding a btrfs filesystem
//! ├── btrfs/         where it is mounted: images/ and containers/ live here
//! └── names/ ...
//! ```
//!
//! A file is not a disk, and mount(2) wants a block device. A *loop
//! device* (/dev/loopN) is a block device whose blocks are those of a
//! file: the kernel turns each read or write of block N into a read or
//! write of the file at N × the block size.
//!
//! 1. `/dev/loop-control`, ioctl LOOP_CTL_GET_FREE: the number N of a free
//!    loop device.
//! 2. `/dev/loopN`, ioctl LOOP_CONFIGURE: its blocks are now our file's
//!    (before Linux 5.8: LOOP_SET_FD, then LOOP_SET_STATUS64).
//!    The flag LO_FLAGS_AUTOCLEAR detaches the file again when the last
//!    user of the device lets go: when the filesystem is unmounted, or,
//!    if bocker is killed before it mounts, when the kernel closes its
//!    descriptors. So no loop device is ever left behind.
//! 3. mount(2) of /dev/loopN, type btrfs, on `btrfs/`.
//!
//! The loop driver (and so `losetup`) does the same. The file is made by
//! `mkfs.btrfs` once, under a hidden name, and renamed into place only
//! when it is complete.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::stat;
use nix::sys::statfs::{statfs, BTRFS_SUPER_MAGIC};

/// The file that holds the filesystem, in the state directory.
pub const FILE: &str = "btrfs.img";
/// Where it is mounted, in the state directory.
pub const MOUNT_POINT: &str = "btrfs";

/// The size of a new file: it is sparse, so it takes room on the disk only
/// as it fills. Smaller when the disk has less room left.
const LARGEST: u64 = 16 << 30;
/// mkfs.btrfs refuses a filesystem smaller than about 110 MiB.
const SMALLEST: u64 = 256 << 20;

// <linux/loop.h>
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64`.
#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    size_limit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

/// `struct loop_config`: the file's descriptor, and its settings.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

pub fn file(root: &Path) -> PathBuf {
    root.join(FILE)
}

pub fn mount_point(root: &Path) -> PathBuf {
    root.join(MOUNT_POINT)
}

/// Whether this state directory has a btrfs file.
pub fn exists(root: &Path) -> bool {
    file(root).is_file()
}

/// Whether a btrfs filesystem is mounted on `btrfs/` (and not merely a
/// directory of the state directory, which may be on btrfs itself).
pub fn is_mounted(root: &Path) -> bool {
    let point = mount_point(root);
    let on_btrfs = statfs(&point).is_ok_and(|fs| fs.filesystem_type() == BTRFS_SUPER_MAGIC);
    let own_device = match (stat(&point), stat(root)) {
        (Ok(inner), Ok(outer)) => inner.st_dev != outer.st_dev,
        _ => false,
    };
    on_btrfs && own_device
}

/// Make the file, its filesystem, and mount it. Says so on stderr: the
/// user should know that a file of up to 16 GiB appeared.
pub fn create(root: &Path) -> Result<()> {
    with_lock(root, || {
        if exists(root) {
            return mount_locked(root); // another bocker was first
        }
        let draft = root.join(format!(".tmp-{}-{FILE}", std::process::id()));
        let made = make_filesystem(root, &draft)
            .and_then(|()| std::fs::rename(&draft, file(root)).context("cannot rename it"));
        if let Err(error) = made {
            let _ = std::fs::remove_file(&draft);
            return Err(error);
        }
        mount_locked(root)?;
        crate::errors::warn(&format!(
            "{} is not on btrfs: made a btrfs filesystem in the file {FILE} there, mounted on {MOUNT_POINT}/ \
             (`bocker system reset --force` removes it, with every image and container)",
            root.display()
        ));
        Ok(())
    })
}

/// Mount the file, if it is not mounted (after a reboot, say).
pub fn ensure_mounted(root: &Path) -> Result<()> {
    if is_mounted(root) {
        return Ok(());
    }
    with_lock(root, || mount_locked(root))
}

/// Unmount `btrfs/`; the loop device then detaches by itself
/// (LO_FLAGS_AUTOCLEAR). `Ok(false)` if it was not mounted.
///
/// The kernel detaches it when its last user lets go: the unmount, or a
/// moment later if another program still has the device open (udev or
/// `blkid` probing it, say). So this waits until no loop device is backed
/// by the file any more, at most [`DETACH_WAIT`]: when `system reset`
/// returns, nothing of it is left.
pub fn unmount(root: &Path) -> Result<bool> {
    if !is_mounted(root) {
        return Ok(false);
    }
    let backing = std::fs::canonicalize(file(root)).unwrap_or_else(|_| file(root));
    // EBUSY may only mean that a container stopped a moment ago: the
    // kernel lets go of a dead process's root and mount namespace a
    // little after the process is reaped. Ask again, for a while.
    let deadline = std::time::Instant::now() + DETACH_WAIT;
    loop {
        match umount2(&mount_point(root), MntFlags::empty()) {
            Err(Errno::EBUSY) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            done => {
                done.with_context(|| {
                    format!(
                        "cannot unmount {} (is a shell or a program still using it?)",
                        mount_point(root).display()
                    )
                })?;
                break;
            }
        }
    }
    let deadline = std::time::Instant::now() + DETACH_WAIT;
    while !devices_backed_by(&backing).is_empty() {
        if std::time::Instant::now() >= deadline {
            bail!(
                "{} is unmounted, but {} still backs a loop device (see losetup -l)",
                mount_point(root).display(),
                backing.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Ok(true)
}

/// How long [`unmount`] asks again while the mount is busy, and then
/// waits for the loop device to detach.
const DETACH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The loop devices (`loop3`, …) whose blocks are the file `backing`:
/// /sys/block/loopN/loop/backing_file names it while the device is bound,
/// with " (deleted)" after it once the file is deleted.
fn devices_backed_by(backing: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let wanted = backing.to_string_lossy();
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("loop"))
        .filter(|name| {
            std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file")).is_ok_and(
                |file| {
                    let file = file.trim_end();
                    file == wanted || file.strip_suffix(" (deleted)") == Some(&wanted)
                },
            )
        })
        .collect()
}

fn mount_locked(root: &Path) -> Result<()> {
    if is_mounted(root) {
        return Ok(());
    }
    let point = mount_point(root);
    std::fs::create_dir_all(&point)
        .with_context(|| format!("cannot create {}", point.display()))?;
    let backing = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(file(root))
        .with_context(|| format!("cannot open {}", file(root).display()))?;
    let (device, _held) = attach(&backing)?;
    // While `_held` is open the device stays ours; once mounted, the mount
    // holds it, and closing `_held` at the end of this function is fine.
    mount(
        Some(device.as_path()),
        &point,
        Some("btrfs"),
        // nodev: a device node in an image opens nothing. (Not nosuid:
        // the containers' roots are below, and a set-uid program in an
        // image must work there. Only root may enter the state directory.)
        MsFlags::MS_NODEV,
        None::<&str>,
    )
    .with_context(|| {
        format!(
            "cannot mount {} ({}) on {}",
            file(root).display(),
            device.display(),
            point.display()
        )
    })
}

/// Attach `backing` to a free loop device: its path, and an open
/// descriptor of it.
fn attach(backing: &File) -> Result<(PathBuf, File)> {
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/loop-control")
        .context("cannot open /dev/loop-control (is the loop module loaded?)")?;
    // Another program may take the free device between our two calls:
    // LOOP_CONFIGURE then says EBUSY, and we ask again.
    for _ in 0..16 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let number = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if number < 0 {
            return Err(std::io::Error::last_os_error())
                .context("no free loop device (see `losetup -l`)");
        }
        let path = PathBuf::from(format!("/dev/loop{number}"));
        let device = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut info = LoopInfo64 {
            device: 0,
            inode: 0,
            rdevice: 0,
            offset: 0,
            size_limit: 0,
            number: 0,
            encrypt_type: 0,
            encrypt_key_size: 0,
            flags: LO_FLAGS_AUTOCLEAR,
            file_name: [0; 64],
            crypt_name: [0; 64],
            encrypt_key: [0; 32],
            init: [0; 2],
        };
        let name = b"bocker";
        info.file_name[..name.len()].copy_from_slice(name);
        let config = LoopConfig {
            fd: backing.as_raw_fd() as u32,
            block_size: 0, // the default, 512
            info,
            reserved: [0; 8],
        };
        match configure(&device, &config) {
            Ok(()) => return Ok((path, device)),
            Err(Errno::EBUSY) => continue,
            Err(errno) => {
                return Err(std::io::Error::from(errno))
                    .with_context(|| format!("cannot attach the file to {}", path.display()))
            }
        }
    }
    bail!("no free loop device stayed free long enough")
}

/// Give the loop device `device` its file and settings: LOOP_CONFIGURE
/// does it in one call (Linux 5.8 and later); older kernels answer EINVAL
/// and get the two calls it replaced, LOOP_SET_FD then LOOP_SET_STATUS64.
fn configure(device: &File, config: &LoopConfig) -> Result<(), Errno> {
    let fd = device.as_raw_fd();
    // SAFETY: `config` is a valid loop_config and lives for the call.
    if unsafe { libc::ioctl(fd, LOOP_CONFIGURE, config) } == 0 {
        return Ok(());
    }
    match Errno::last() {
        Errno::EINVAL | Errno::ENOTTY => {}
        errno => return Err(errno),
    }
    // SAFETY: LOOP_SET_FD takes the file's descriptor as its argument.
    if unsafe { libc::ioctl(fd, LOOP_SET_FD, config.fd as libc::c_ulong) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: `config.info` is a valid loop_info64 and lives for the call.
    if unsafe { libc::ioctl(fd, LOOP_SET_STATUS64, &config.info) } != 0 {
        let errno = Errno::last();
        // SAFETY: LOOP_CLR_FD takes no argument; it undoes LOOP_SET_FD.
        unsafe { libc::ioctl(fd, LOOP_CLR_FD, 0) };
        return Err(errno);
    }
    Ok(())
}

/// A sparse file at `draft`, with a btrfs filesystem in it.
fn make_filesystem(root: &Path, draft: &Path) -> Result<()> {
    let room = nix::sys::statvfs::statvfs(root)
        .map(|fs| fs.blocks_available() * fs.fragment_size())
        .unwrap_or(LARGEST);
    let size = LARGEST.min(room);
    if size < SMALLEST {
        bail!(
            "{} has less than 256 MiB free: no room for a btrfs file (BOCKER_STORAGE=copy makes copies instead)",
            root.display()
        );
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(draft)
        .with_context(|| format!("cannot create {}", draft.display()))?;
    // set_len on a new file makes it sparse: no block is written.
    file.set_len(size).context("cannot size the btrfs file")?;
    drop(file);
    // Making a filesystem is not something the runtime does again and
    // again: it happens once per state directory, and mkfs.btrfs knows
    // how to lay one out. (The rest of bocker never runs a tool.)
    let made = Command::new("mkfs.btrfs")
        .args(["-q", "-L", "bocker"])
        .arg(draft)
        .output();
    match made {
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "{} is not on btrfs, and mkfs.btrfs is missing to make a btrfs file: \
             install btrfs-progs, or set BOCKER_STORAGE=copy",
            root.display()
        ),
        Err(e) => Err(e).context("cannot run mkfs.btrfs"),
        Ok(out) if !out.status.success() => bail!(
            "mkfs.btrfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => Ok(()),
    }
}

/// Run `work` holding `btrfs.lock` of the state directory (flock(2)), so
/// that two bockers never make or mount the file twice.
fn with_lock<T>(root: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .mode(0o600)
        .open(root.join("btrfs.lock"))
        .context("cannot open the storage lock")?;
    let _held = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("cannot take the storage lock")?;
    work()
}
