//! Chapter 8 — locking the container in: fewer capabilities, no new
//! privileges, a seccomp filter, and the kernel's most dangerous files
//! hidden or read-only.
//!
//! The reference solution. Compare it with your
//! `chapters/08-security/security.rs`.

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
    // The bounding set first, one capability at a time
    // (prctl(PR_CAPBSET_DROP)): it needs CAP_SETPCAP, which we still have.
    for capability in caps::runtime::thread_all_supported() {
        if !keep.contains(&capability) {
            caps::drop(None, CapSet::Bounding, capability)
                .with_context(|| format!("cannot drop {capability} from the bounding set"))?;
        }
    }
    // Ambient and inheritable: nothing. (Inheritable capabilities left
    // set let a non-root program with file capabilities gain them:
    // CVE-2022-24769.)
    caps::clear(None, CapSet::Ambient).context("cannot clear the ambient set")?;
    caps::clear(None, CapSet::Inheritable).context("cannot clear the inheritable set")?;
    // capset(2): effective must stay within permitted, so lower effective
    // first, then permitted.
    caps::set(None, CapSet::Effective, keep).context("cannot set the effective set")?;
    caps::set(None, CapSet::Permitted, keep).context("cannot set the permitted set")?;
    Ok(())
}
// ANCHOR_END: drop_capabilities

// ANCHOR: set_no_new_privs
/// From here on, execve never grants more privileges: set-user-ID bits and
/// file capabilities are ignored. It cannot be undone, and children
/// inherit it.
pub fn set_no_new_privs() -> Result<()> {
    nix::sys::prctl::set_no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS) failed")
}
// ANCHOR_END: set_no_new_privs

// ANCHOR: seccomp_program
/// The seccomp filter, as a BPF program: every call in
/// [`BLOCKED_SYSCALLS`], and clone(2) with any of [`NAMESPACE_FLAGS`],
/// fail with EPERM; everything else is allowed.
pub fn seccomp_program() -> Result<BpfProgram> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    // No conditions: the call matches whatever its arguments.
    for (_, number) in BLOCKED_SYSCALLS {
        rules.insert(*number, vec![]);
    }
    // clone: matches if its first argument (the flags) has any namespace
    // flag. A rule is true when all its conditions are; the call matches
    // when any rule is: one rule per flag, "flags & FLAG == FLAG".
    let mut clone_rules = Vec::new();
    for flag in NAMESPACE_FLAGS {
        let flag = flag as u64;
        let condition = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )?;
        clone_rules.push(SeccompRule::new(vec![condition])?);
    }
    rules.insert(libc::SYS_clone, clone_rules);
    let filter = SeccompFilter::new(
        rules,
        // No rule matched: let the call through.
        SeccompAction::Allow,
        // A rule matched: fail with EPERM ("Operation not permitted"), as
        // if we lacked the privilege, instead of killing the program.
        SeccompAction::Errno(libc::EPERM as u32),
        TargetArch::try_from(std::env::consts::ARCH)?,
    )?;
    Ok(filter.try_into()?)
}
// ANCHOR_END: seccomp_program

// ANCHOR: mask_path
/// Hide `path` inside the container: a file gets /dev/null bound over it
/// (it reads empty), a directory an empty read-only tmpfs. A path the
/// kernel does not have is left alone.
pub fn mask_path(path: &str) -> Result<()> {
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(());
    };
    if metadata.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0"),
        )
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    }
    .with_context(|| format!("cannot mask {path}"))
}
// ANCHOR_END: mask_path

// ANCHOR: make_read_only
/// Make `path` read-only inside the container: bind it onto itself (a
/// mount of its own), then remount that bind read-only. (A bind mount
/// ignores MS_RDONLY on the first call: the kernel wants the remount.)
pub fn make_read_only(path: &str) -> Result<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind {path} onto itself"))?;
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .with_context(|| format!("cannot make {path} read-only"))
}
// ANCHOR_END: make_read_only
