//! Chapter 8 — locking the container in: fewer capabilities, no new
//! privileges, a seccomp filter, and the kernel's most dangerous files
//! hidden or read-only.
//!
//! Your exercise. Read `chapters/08-security/README.md` (or the chapter in
//! the book), fill in the five functions, then run:
//!
//! ```text
//! cargo test --features stage8 stage8_security
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::collections::BTreeMap;
use std::fs;

use anyhow::{Context, Result};
use caps::{CapSet, CapsHashSet};
use nix::mount::{mount, MsFlags};

use crate::runtime::security::seccomp::bpf::{native_arch, Field, Filter, Program, Test};
use crate::spec::seccomp::ArgCheck;

// ANCHOR: drop_capabilities
/// Keep only the capabilities `keep`: in the bounding set (what this
/// process and its children can ever have), the effective and permitted
/// sets (what it has now); the inheritable and ambient sets (what passes
/// through execve to programs without file capabilities) end up empty.
pub fn drop_capabilities(keep: &CapsHashSet) -> Result<()> {
    todo!("chapter 8: drop every capability not in keep from the bounding set, clear the ambient and inheritable sets, set effective and permitted to keep — see chapters/08-security/README.md, section 'Capabilities'")
}
// ANCHOR_END: drop_capabilities

// ANCHOR: set_no_new_privs
/// From here on, execve never grants more privileges: set-user-ID bits and
/// file capabilities are ignored. It cannot be undone, and children
/// inherit it.
pub fn set_no_new_privs() -> Result<()> {
    todo!("chapter 8: prctl(PR_SET_NO_NEW_PRIVS) — see chapters/08-security/README.md, section 'No new privileges'")
}
// ANCHOR_END: set_no_new_privs

// ANCHOR: seccomp_program
/// A seccomp filter: a call of `calls` gets `matched` when one of its
/// rules holds (a rule: checks that must all hold; no rules at all:
/// whatever the arguments); every other call gets `otherwise`; a call
/// made with another architecture's numbers is killed
/// (SECCOMP_RET_KILL_PROCESS). The allow-list is
/// `matched` SECCOMP_RET_ALLOW, `otherwise` the profile's default
/// (SECCOMP_RET_ERRNO | EPERM).
pub fn seccomp_program(
    calls: &BTreeMap<i64, Vec<Vec<ArgCheck>>>,
    matched: u32,
    otherwise: u32,
) -> Result<Filter> {
    todo!("chapter 8: write the filter: check the arch, load the number, send each of the {} calls to its answer, its rules one after another — see chapters/08-security/README.md, section 'A seccomp filter'", calls.len())
}
// ANCHOR_END: seccomp_program

// ANCHOR: mask_path
/// Hide `path` inside the container: a file gets /dev/null bound over it
/// (it reads empty), a directory an empty read-only tmpfs. A path the
/// kernel does not have is left alone.
pub fn mask_path(path: &str) -> Result<()> {
    todo!("chapter 8: bind /dev/null over the file path, or mount an empty read-only tmpfs on the directory path — see chapters/08-security/README.md, section 'Masked and read-only paths'")
}
// ANCHOR_END: mask_path

// ANCHOR: make_read_only
/// Make `path` read-only inside the container: bind it onto itself (a
/// mount of its own), then remount that bind read-only. (A bind mount
/// ignores MS_RDONLY on the first call: the kernel wants the remount.) A
/// path the kernel does not have is left alone.
pub fn make_read_only(path: &str) -> Result<()> {
    todo!("chapter 8: bind path onto itself, then remount the bind read-only — see chapters/08-security/README.md, section 'Masked and read-only paths'")
}
// ANCHOR_END: make_read_only
