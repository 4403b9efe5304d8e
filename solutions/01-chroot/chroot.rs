//! Chapter 1 — chroot: give the container its own `/`.
//!
//! The reference solution. Compare it with your `chapters/01-chroot/chroot.rs`.

use std::path::Path;

use anyhow::{Context, Result};
use nix::unistd::{chdir, chroot};

// ANCHOR: container_env
/// The environment the container's command starts with.
///
/// chroot changes what `/` means, nothing else: the process still carries
/// everything it inherited from bocker, its environment included. Those
/// variables describe the host (`PATH` may name host directories, `HOME`
/// the host's home, and some may hold secrets), so the container gets a
/// fresh, small set instead.
pub fn container_env(hostname: &str) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("HOME".to_string(), "/root".to_string()),
        ("HOSTNAME".to_string(), hostname.to_string()),
    ];
    // The one host variable worth keeping: it describes the terminal that
    // the container's output is shown on, not the host's files.
    if let Ok(term) = std::env::var("TERM") {
        env.push(("TERM".to_string(), term));
    }
    env
}
// ANCHOR_END: container_env

// ANCHOR: enter_root
/// Make `new_root` this process's root directory, and stand in it.
pub fn enter_root(new_root: &Path) -> Result<()> {
    // chroot(2) changes the root directory of the calling process: from now
    // on, paths that start with `/` are looked up under `new_root`. Only
    // root (CAP_SYS_CHROOT) may call it.
    chroot(new_root).with_context(|| format!("chroot to {} failed", new_root.display()))?;
    // chroot does not move the current directory, which is still outside
    // the new root. Step into the new `/`, or relative paths would still
    // reach the host's files.
    chdir("/").context("chdir to the new root failed")?;
    Ok(())
}
// ANCHOR_END: enter_root
