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

use crate::runtime::security::seccomp::bpf::{native_arch, Field, Filter, Program, Test};
use crate::spec::seccomp::ArgCheck;

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
    let mut program = Program::new();
    let give_matched = program.new_label();
    let give_otherwise = program.new_label();
    let kill = program.new_label();

    // 1. The arch first: the same number means another call in another
    //    table (i386's 288 is keyctl, x86_64's is accept4).
    let native = program.new_label();
    let arch = native_arch().context("no seccomp filter for this architecture")?;
    program.load(Field::Arch);
    program.jump_if(Test::Equal, arch, native, kill);
    program.place(native);

    // 2. The number: a call without rules goes straight to `matched`, a
    //    call with rules to its own block; any other to `otherwise`.
    program.load(Field::Number);
    let mut targets = Vec::new();
    let mut blocks = Vec::new();
    for (number, rules) in calls {
        if rules.is_empty() {
            targets.push((*number as u32, give_matched));
        } else {
            let block = program.new_label();
            targets.push((*number as u32, block));
            blocks.push((block, rules));
        }
    }
    program.dispatch(&targets, give_otherwise);

    // 3. A call's block: its rules one after another. A check that fails
    //    jumps to the next rule; a rule whose checks all hold returns
    //    `matched`; after the last rule, `otherwise`.
    for (block, rules) in blocks {
        program.place(block);
        for checks in rules {
            let next_rule = program.new_label();
            for check in checks {
                program.check_argument(check, next_rule);
            }
            program.ret(matched);
            program.place(next_rule);
        }
        program.ret(otherwise);
    }

    // 4. The answers the jumps above lead to.
    program.place(give_matched);
    program.ret(matched);
    program.place(give_otherwise);
    program.ret(otherwise);
    program.place(kill);
    program.ret(libc::SECCOMP_RET_KILL_PROCESS);
    program.assemble()
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
/// ignores MS_RDONLY on the first call: the kernel wants the remount.) A
/// path the kernel does not have is left alone.
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
