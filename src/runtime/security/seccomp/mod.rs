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

pub mod bpf;
pub mod default;
pub mod resolve;
pub mod syscalls;

use anyhow::{Context, Result};

use super::chapter;
use crate::runtime::kernel;
use crate::spec::seccomp::{RuleAction, SeccompProfile};
use bpf::{Field, Filter, Program, Test};
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
pub fn filters(profile: &SeccompProfile, capabilities: &[String]) -> Result<Vec<Filter>> {
    let resolved: Resolved = resolve::resolve(profile, &target(capabilities))
        .map_err(|reason| anyhow::anyhow!("the seccomp profile: {reason}"))?;
    let default = resolved.default.context("a profile without a default")?;
    let mut filters = Vec::new();
    if !default.lets_through() {
        // The allow-list: what the profile lets through passes, anything
        // else gets its default.
        filters.push(chapter::seccomp_program(
            &resolved.let_through,
            libc::SECCOMP_RET_ALLOW,
            action(default),
        )?);
    }
    // One filter per other outcome: its calls get it, every other call
    // passes, for the other filters to decide.
    for (outcome, calls) in &resolved.others {
        filters.push(chapter::seccomp_program(
            calls,
            action(*outcome),
            libc::SECCOMP_RET_ALLOW,
        )?);
    }
    if !default.lets_through() {
        if let Some(highest) = resolved.highest_named {
            filters.push(newer_calls_filter(highest)?);
        }
    }
    filters.extend(x32_filter()?);
    Ok(filters)
}

/// The value a filter returns for an outcome: a `SECCOMP_RET_…` action
/// (<linux/seccomp.h>) in the high 16 bits, its data (an errno, or a
/// number for the tracer) in the low 16.
pub fn action(outcome: Outcome) -> u32 {
    let data = outcome.errno & libc::SECCOMP_RET_DATA;
    match outcome.action {
        RuleAction::Allow => libc::SECCOMP_RET_ALLOW,
        RuleAction::Errno => libc::SECCOMP_RET_ERRNO | data,
        RuleAction::Log => libc::SECCOMP_RET_LOG,
        RuleAction::KillThread => libc::SECCOMP_RET_KILL_THREAD,
        RuleAction::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        RuleAction::Trap => libc::SECCOMP_RET_TRAP,
        RuleAction::Trace => libc::SECCOMP_RET_TRACE | data,
        // resolve.rs refuses a profile that asks for it.
        RuleAction::Notify => libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    }
}

/// Calls newer than the profile: a number above `highest` (the highest
/// the profile names) fails with ENOSYS, "no such call". A program then
/// does what it does on an older kernel. Calls of another architecture
/// are left to the allow-list, which kills them.
fn newer_calls_filter(highest: i64) -> Result<Filter> {
    let mut program = Program::new();
    let allow = program.new_label();
    if let Some(arch) = bpf::native_arch() {
        let native = program.new_label();
        let newer = program.new_label();
        program.load(Field::Arch);
        program.jump_if(Test::Equal, arch, native, allow);
        program.place(native);
        program.load(Field::Number);
        program.jump_if(Test::Greater, highest as u32, newer, allow);
        program.place(newer);
        program.ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
    }
    program.place(allow);
    program.ret(libc::SECCOMP_RET_ALLOW);
    program.assemble()
}

/// On x86_64, a kernel built with the x32 ABI accepts every call a second
/// time under its number with bit 30 set (0x40000000). A filter that lists
/// numbers must not mistake `keyctl` called as `0x40000000 | 250` for a
/// number it does not list and so let it through. This one refuses any
/// call with that bit, whatever the kernel. Installed last: its EPERM is
/// the answer such a call gets.
#[cfg(target_arch = "x86_64")]
fn x32_filter() -> Result<Option<Filter>> {
    const X32_BIT: u32 = 0x4000_0000;
    let Some(arch) = bpf::native_arch() else {
        return Ok(None);
    };
    let mut program = Program::new();
    let (native, x32, allow) = (
        program.new_label(),
        program.new_label(),
        program.new_label(),
    );
    program.load(Field::Arch);
    program.jump_if(Test::Equal, arch, native, allow);
    program.place(native);
    program.load(Field::Number);
    program.jump_if(Test::AnyBitSet, X32_BIT, x32, allow);
    program.place(x32);
    program.ret(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);
    program.place(allow);
    program.ret(libc::SECCOMP_RET_ALLOW);
    Ok(Some(program.assemble()?))
}

#[cfg(not(target_arch = "x86_64"))]
fn x32_filter() -> Result<Option<Filter>> {
    Ok(None)
}

#[cfg(test)]
mod tests;
