//! Chapter 8 — locking the container in: fewer capabilities, no new
//! privileges, a seccomp filter, and the kernel's most dangerous files
//! hidden or read-only.
//!
//! Your exercise. Read `chapters/08-security/README.md` (or the chapter in
//! the book), fill in the five functions, then run:
//!
//! ```text
//! cargo test --features stage8
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::collections::BTreeMap;
use std::fs;

use anyhow::{Context, Result};
use caps::{CapSet, CapsHashSet};
use nix::mount::{mount, MsFlags};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The system calls the filter refuses, nearly all of which Docker's
/// default profile refuses too (it allows name_to_handle_at and adjtimex):
/// each lets a process reach beyond its namespaces (mount, pivot_root,
/// setns, unshare), into the kernel itself (modules, kexec, bpf, perf),
/// or at things namespaces do not separate (the keyring, the clock, swap).
pub const BLOCKED_SYSCALLS: &[(&str, libc::c_long)] = &[
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("acct", libc::SYS_acct),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("adjtimex", libc::SYS_adjtimex),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("fsopen", libc::SYS_fsopen),
    ("fsmount", libc::SYS_fsmount),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("quotactl", libc::SYS_quotactl),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("syslog", libc::SYS_syslog),
    ("vhangup", libc::SYS_vhangup),
];

/// The flags that make clone(2) create namespaces.
pub const NAMESPACE_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWCGROUP,
];

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
/// The seccomp filter, as a BPF program: every call in
/// [`BLOCKED_SYSCALLS`], and clone(2) with any of [`NAMESPACE_FLAGS`],
/// fail with EPERM; everything else is allowed.
pub fn seccomp_program() -> Result<BpfProgram> {
    todo!("chapter 8: build a seccomp filter that fails BLOCKED_SYSCALLS and clone with NAMESPACE_FLAGS with EPERM, allowing the rest — see chapters/08-security/README.md, section 'A seccomp filter'")
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
/// ignores MS_RDONLY on the first call: the kernel wants the remount.)
pub fn make_read_only(path: &str) -> Result<()> {
    todo!("chapter 8: bind path onto itself, then remount the bind read-only — see chapters/08-security/README.md, section 'Masked and read-only paths'")
}
// ANCHOR_END: make_read_only
