//! From a seccomp profile to the filters the kernel runs.
//!
//! A profile (spec/seccomp.rs: Docker's JSON) says, call by call, what
//! happens; a filter is a small BPF program that returns one action for a
//! call. bocker installs a few filters, and the kernel runs them all at
//! every call: the strictest answer wins (a kill over an error over
//! "allow"), and between two errors the filter installed last.
//!
//! ```text
//!   1. the allow-list: the calls the profile lets through pass; any
//!      other gets the default (EPERM)
//!   2. one filter per other outcome the profile gives some calls
//!      (clone3: the error ENOSYS, so that the C library falls back to
//!      clone)
//!   (both made by your seccomp_program, chapter 8)
//!   3. calls newer than the profile: a number above the highest it
//!      names gets ENOSYS, not EPERM (runc does the same), so a new C
//!      library that tries a new call falls back to the old one
//!   4. on x86_64, every x32 number refused (see x32_filter)
//! ```
//!
//! `default.rs` is bocker's own profile, `syscalls.rs` turns names into
//! this machine's numbers, `resolve.rs` picks the rules that apply.

pub mod default;
pub mod resolve;
pub mod syscalls;

use anyhow::{Context, Result};
use seccompiler::{sock_filter, BpfProgram, SeccompAction};

use super::chapter;
use crate::runtime::kernel;
use crate::spec::seccomp::{RuleAction, SeccompProfile};
use resolve::{Outcome, Resolved, Target};

/// Check a profile the user gave (`--security-opt seccomp=FILE`) before
/// the container starts: what resolving it would refuse, said now.
pub fn check(profile: &SeccompProfile) -> Result<(), String> {
    resolve::resolve(profile, &target(&[])).map(drop)
}

fn target(capabilities: &[String]) -> Target<'_> {
    Target {
        capabilities,
        arch: syscalls::native_arch(),
        kernel: kernel::version().unwrap_or((0, 0)),
    }
}

/// The filters for `profile`, for a container with `capabilities`, in
/// the order they are to be installed.
pub fn filters(profile: &SeccompProfile, capabilities: &[String]) -> Result<Vec<BpfProgram>> {
    let resolved: Resolved = resolve::resolve(profile, &target(capabilities))
        .map_err(|reason| anyhow::anyhow!("the seccomp profile: {reason}"))?;
    let default = resolved.default.context("a profile without a default")?;
    let mut filters = Vec::new();
    if !default.lets_through() {
        // The allow-list: what the profile lets through passes, anything
        // else gets its default.
        filters.push(chapter::seccomp_program(
            &resolved.let_through,
            SeccompAction::Allow,
            action(default),
        )?);
    }
    // One filter per other outcome: its calls get it, every other call
    // passes, for the other filters to decide.
    for (outcome, calls) in &resolved.others {
        filters.push(chapter::seccomp_program(
            calls,
            action(*outcome),
            SeccompAction::Allow,
        )?);
    }
    if !default.lets_through() {
        if let Some(highest) = resolved.highest_named {
            filters.push(newer_calls_filter(highest));
        }
    }
    filters.extend(x32_filter());
    Ok(filters)
}

/// seccompiler's name for an outcome.
fn action(outcome: Outcome) -> SeccompAction {
    match outcome.action {
        RuleAction::Allow => SeccompAction::Allow,
        RuleAction::Errno => SeccompAction::Errno(outcome.errno),
        RuleAction::Log => SeccompAction::Log,
        RuleAction::KillThread => SeccompAction::KillThread,
        RuleAction::KillProcess => SeccompAction::KillProcess,
        RuleAction::Trap => SeccompAction::Trap,
        RuleAction::Trace => SeccompAction::Trace(outcome.errno),
        // resolve.rs refuses a profile that asks for it.
        RuleAction::Notify => SeccompAction::Errno(libc::ENOSYS as u32),
    }
}

// Classic BPF, as in <linux/filter.h> and <linux/seccomp.h>, for the two
// filters seccompiler cannot say: it compares call numbers one by one,
// and these compare ranges and bits.
const LOAD_WORD_AT: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JUMP_IF_EQUAL: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JUMP_IF_GREATER: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const RETURN: u16 = 0x06; // BPF_RET | BPF_K
const ARCH_OFFSET: u32 = 4; // struct seccomp_data: nr at 0, arch at 4

/// This machine's AUDIT_ARCH_… (what `arch` holds for its own calls).
fn audit_arch() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(0xC000_003E),  // AUDIT_ARCH_X86_64
        "aarch64" => Some(0xC000_00B7), // AUDIT_ARCH_AARCH64
        _ => None,
    }
}

fn step(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Calls newer than the profile: a number above `highest` (the highest
/// the profile names) fails with ENOSYS, "no such call". A program then
/// does what it does on an older kernel. Calls of another architecture
/// are left to the allow-list, which kills them.
fn newer_calls_filter(highest: i64) -> BpfProgram {
    let Some(arch) = audit_arch() else {
        return vec![step(RETURN, 0, 0, libc::SECCOMP_RET_ALLOW)];
    };
    vec![
        step(LOAD_WORD_AT, 0, 0, ARCH_OFFSET),
        step(JUMP_IF_EQUAL, 0, 3, arch), // another arch: allow
        step(LOAD_WORD_AT, 0, 0, 0),     // the call's number
        step(JUMP_IF_GREATER, 0, 1, highest as u32),
        step(RETURN, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        step(RETURN, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

/// A filter written by hand because seccompiler cannot say it: on
/// x86_64, a kernel built with the x32 ABI accepts every call a second
/// time under its number with bit 30 set (0x40000000). A filter that lists
/// numbers would miss `keyctl` called as `0x40000000 | 250`. This one
/// refuses any call with that bit, whatever the kernel. Installed last:
/// its EPERM is the answer such a call gets.
#[cfg(target_arch = "x86_64")]
fn x32_filter() -> Option<BpfProgram> {
    const JUMP_IF_BITS_SET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const X32_BIT: u32 = 0x4000_0000;
    Some(vec![
        step(LOAD_WORD_AT, 0, 0, ARCH_OFFSET),
        step(JUMP_IF_EQUAL, 0, 3, audit_arch()?), // another arch: allow
        step(LOAD_WORD_AT, 0, 0, 0),              // the call's number
        step(JUMP_IF_BITS_SET, 0, 1, X32_BIT),
        step(RETURN, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        step(RETURN, 0, 0, libc::SECCOMP_RET_ALLOW),
    ])
}

#[cfg(not(target_arch = "x86_64"))]
fn x32_filter() -> Option<BpfProgram> {
    None
}

#[cfg(test)]
mod tests;
