//! Chapter 1 — chroot: give the container its own `/`.
//!
//! Your exercise. Read `chapters/01-chroot/README.md` (or the chapter in the
//! book), fill in the two functions, then run:
//!
//! ```text
//! cargo test --features stage1 stage1_chroot
//! ```

use std::path::Path;

use anyhow::Result;

// ANCHOR: container_env
/// The environment the container's command starts with.
///
/// Return PATH, HOME and HOSTNAME for the container (and TERM if bocker has
/// one), not bocker's own variables.
pub fn container_env(hostname: &str) -> Vec<(String, String)> {
    todo!("chapter 1: build the container's environment for hostname {hostname:?} — see chapters/01-chroot/README.md, section 'A clean environment'")
}
// ANCHOR_END: container_env

// ANCHOR: enter_root
/// Make `new_root` this process's root directory, and stand in it.
pub fn enter_root(new_root: &Path) -> Result<()> {
    todo!("chapter 1: chroot into {new_root:?}, then chdir to \"/\" — see chapters/01-chroot/README.md, section 'Entering the new root'")
}
// ANCHOR_END: enter_root
