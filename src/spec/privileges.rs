//! Whether bocker runs as root, and what that changes for the files it
//! makes (copies, unpacked layers). Without root, each container gets a
//! user namespace whose root is the user (runtime/userns.rs).

/// The initial user namespace's inode number: a constant of the kernel
/// (PROC_USER_INIT_INO), what /proc/self/ns/user shows on the host.
const INITIAL_USER_NAMESPACE: &str = "user:[4026531837]";

/// Is bocker running without root? Then each container gets a user
/// namespace of its own (the default, as with podman). Root of a user
/// namespace is not root either: it may not make device nodes, loop
/// devices or the host's cgroups (bocker's own child that unpacks a pull
/// is one, runtime/mapped_root.rs; so is bocker run in a rootless
/// container).
pub fn rootless() -> bool {
    !nix::unistd::geteuid().is_root() || in_user_namespace()
}

/// Is this process in a user namespace other than the host's?
pub fn in_user_namespace() -> bool {
    std::fs::read_link("/proc/self/ns/user")
        .is_ok_and(|link| link.as_os_str() != INITIAL_USER_NAMESPACE)
}

/// Copies and unpacked layers keep their files' owners as root does, and
/// as root of a user namespace that maps more ids than one (chapter 9's
/// subordinate ids: chown(2) to any of them works there). Otherwise
/// everything belongs to the user, who is root inside a container that
/// maps one id, and chown(2) to anyone else would be refused.
pub fn keeps_owners() -> bool {
    nix::unistd::geteuid().is_root() && uids_mapped_here() > 1
}

/// How many uids this process's user namespace maps: the sum of the
/// counts (third column) of /proc/self/uid_map. The host's maps them all.
fn uids_mapped_here() -> u64 {
    std::fs::read_to_string("/proc/self/uid_map")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2)?.parse::<u64>().ok())
        .sum()
}

/// May bocker make device nodes (mknod(2) needs CAP_MKNOD in the host's
/// user namespace)? Only as the host's root.
pub fn makes_device_nodes() -> bool {
    !rootless()
}

/// Without root, a device node of an image cannot be made: it is left
/// out, with one warning per run, as rootless podman does. The container
/// gets chapter 3's /dev all the same.
pub fn skip_device_node(name: &std::ffi::OsStr) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        crate::errors::warn(&format!(
            "without root, device nodes of the image are left out ({} and any others)",
            crate::escape::printable(&name.to_string_lossy())
        ));
    }
}
