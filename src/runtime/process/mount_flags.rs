//! The flags a mount has now, for a remount that must keep them.
//!
//! MS_REMOUNT sets a mount's flags to exactly those given: a remount that
//! means to add one (nodev, ro) drops the others unless it repeats them.
//! In a user namespace the kernel refuses to drop some of them (nosuid,
//! nodev, noexec and ro of a mount it got from the host are locked), and
//! a dropped ro would silently make a read-only root writable again.

use nix::mount::MsFlags;

/// ro, nosuid, nodev and noexec of the mount at `path`, as statvfs(2)
/// says (none if it cannot tell).
pub fn of_mount_at(path: &str) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(stat) = statvfs(path) else {
        return MsFlags::empty();
    };
    let mut flags = MsFlags::empty();
    for (has, flag) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if stat.flags().contains(has) {
            flags |= flag;
        }
    }
    flags
}
