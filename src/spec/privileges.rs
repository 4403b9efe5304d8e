//! Whether bocker runs as root, and what that changes for the files it
//! makes (copies, unpacked layers). Without root, each container gets a
//! user namespace whose root is the user (runtime/userns.rs).

/// Is bocker running without root? Then each container gets a user
/// namespace of its own (the default, as with podman).
pub fn rootless() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// Copies and unpacked layers keep their files' owners, except without
/// root: then everything belongs to the user, who is root inside (the
/// map has one id), and chown(2) to anyone else would be refused.
pub fn keeps_owners() -> bool {
    !rootless()
}

/// Without root, a device node of an image cannot be made (mknod(2) needs
/// CAP_MKNOD on the host): it is left out, with one warning per run, as
/// rootless podman does. The container gets chapter 3's /dev all the same.
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
