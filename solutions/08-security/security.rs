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

use crate::spec::seccomp::{ArgCheck, CompareOp};

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

// ANCHOR: seccomp_condition
/// One check of a profile's rule as a condition seccompiler understands:
/// argument `check.index`, taken as 64 bits, compared with `check.value`.
/// For `MaskedEqual` the check holds when `argument & value == value_two`.
pub fn seccomp_condition(check: &ArgCheck) -> Result<SeccompCondition> {
    let operator = match check.op {
        CompareOp::NotEqual => SeccompCmpOp::Ne,
        CompareOp::Less => SeccompCmpOp::Lt,
        CompareOp::LessOrEqual => SeccompCmpOp::Le,
        CompareOp::Equal => SeccompCmpOp::Eq,
        CompareOp::GreaterOrEqual => SeccompCmpOp::Ge,
        CompareOp::Greater => SeccompCmpOp::Gt,
        // seccompiler puts the mask in the operator, and compares the
        // masked argument with the value: here, `value_two`.
        CompareOp::MaskedEqual => SeccompCmpOp::MaskedEq(check.value),
    };
    let value = match check.op {
        CompareOp::MaskedEqual => check.value_two,
        _ => check.value,
    };
    // Qword: the arguments are registers of 64 bits (clone's flags are an
    // unsigned long); a Dword check would look at half of one.
    Ok(SeccompCondition::new(
        check.index,
        SeccompCmpArgLen::Qword,
        operator,
        value,
    )?)
}
// ANCHOR_END: seccomp_condition

// ANCHOR: seccomp_program
/// A seccomp filter, as a BPF program: a call of `calls` gets `matched`
/// when one of its rules holds (a rule: checks that must all hold; no
/// rules at all: whatever the arguments); every other call gets
/// `otherwise`. The allow-list is `matched` Allow, `otherwise` the
/// profile's default (EPERM).
pub fn seccomp_program(
    calls: &BTreeMap<i64, Vec<Vec<ArgCheck>>>,
    matched: SeccompAction,
    otherwise: SeccompAction,
) -> Result<BpfProgram> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (number, alternatives) in calls {
        // seccompiler's rules combine as a profile's do: a call matches
        // when any of its rules matches, a rule when all its conditions
        // hold. An empty list of rules matches always.
        let mut call_rules = Vec::new();
        for checks in alternatives {
            let conditions = checks
                .iter()
                .map(seccomp_condition)
                .collect::<Result<Vec<_>>>()?;
            call_rules.push(SeccompRule::new(conditions)?);
        }
        rules.insert(*number, call_rules);
    }
    let filter = SeccompFilter::new(
        rules,
        // seccompiler takes the action for calls that match no rule first.
        otherwise,
        matched,
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
