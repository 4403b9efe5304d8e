//! Chapter 2 — namespaces: the container gets its own hostname, process
//! numbers, System V IPC, mount table and network.
//!
//! The reference solution. Compare it with your
//! `chapters/02-namespaces/namespaces.rs`.

use std::fs::File;

use anyhow::{Context, Result};
use nix::sched::{clone, setns, CloneFlags};
use nix::sys::signal::Signal;
use nix::unistd::{fork, sethostname, ForkResult, Pid};

/// Stack for the cloned child. clone(2) without CLONE_VM gives the child a
/// copy of our memory, so this buffer is only the child's from then on.
/// Untouched pages cost nothing, so be generous.
const CHILD_STACK_SIZE: usize = 1024 * 1024;

// ANCHOR: clone_flags
/// The namespaces a new container gets. `new_network` is false for
/// `--net host`, which shares the host's network namespace.
pub fn clone_flags(new_network: bool) -> CloneFlags {
    // UTS: its own hostname. PID: its own process numbers (it is pid 1).
    // NEWNS: its own mount table. IPC: its own System V IPC objects.
    let mut flags = CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC;
    if new_network {
        // NET: its own interfaces, addresses, routes and firewall.
        flags |= CloneFlags::CLONE_NEWNET;
    }
    flags
}
// ANCHOR_END: clone_flags

// ANCHOR: start_child
/// Start `child` in a new process, inside new namespaces `flags`.
/// Returns the child's pid as the host sees it.
pub fn start_child(child: &mut dyn FnMut() -> isize, flags: CloneFlags) -> Result<Pid> {
    let mut stack = vec![0u8; CHILD_STACK_SIZE];
    // SIGCHLD: the signal the kernel sends us when the child ends. With it,
    // waitpid(2) treats the child like one made by fork(2).
    // SAFETY: bocker is single-threaded when it calls this (the frame
    // checks), and the stack is ours alone; the child does not share our
    // memory (no CLONE_VM), it runs on its own copy of the buffer.
    let pid = unsafe {
        clone(
            Box::new(child),
            &mut stack,
            flags,
            Some(Signal::SIGCHLD as i32),
        )
    }
    .context("clone failed (are you root?)")?;
    Ok(pid)
}
// ANCHOR_END: start_child

// ANCHOR: set_hostname
/// Give the container its hostname. Called in the child, which is alone in
/// its new UTS namespace, so the host's hostname does not change.
pub fn set_hostname(hostname: &str) -> Result<()> {
    sethostname(hostname).with_context(|| format!("sethostname({hostname}) failed"))
}
// ANCHOR_END: set_hostname

// ANCHOR: join_namespaces
/// Move the calling process into the namespaces of process `pid`, for
/// `bocker exec`.
pub fn join_namespaces(pid: Pid) -> Result<()> {
    // Open every namespace file first: once we have joined the mount
    // namespace, /proc/PID may not mean the same process any more.
    let kinds = [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ];
    let mut files = Vec::new();
    for (name, flag) in kinds {
        let path = format!("/proc/{pid}/ns/{name}");
        let file = File::open(&path).with_context(|| format!("cannot open {path}"))?;
        files.push((name, file, flag));
    }
    // setns(2) moves us into the namespace the file stands for. The flag
    // makes the kernel check that the file is the kind we expect.
    for (name, file, flag) in files {
        setns(&file, flag).with_context(|| format!("setns into the {name} namespace failed"))?;
    }
    Ok(())
}
// ANCHOR_END: join_namespaces

// ANCHOR: fork_into_pid_namespace
/// After `join_namespaces`, make the process that runs `exec`'s command.
/// In the child, call `command`, which never returns (its `isize` is only
/// there to match `start_child`); in the parent, return the child's pid.
pub fn fork_into_pid_namespace(command: &mut dyn FnMut() -> isize) -> Result<Pid> {
    // setns(CLONE_NEWPID) did not move us: a process keeps the pid it was
    // born with. It only chose where our *next child* is born. So fork:
    // the child is born in the container's PID namespace, as pid 2, 3, …
    // SAFETY: the caller is single-threaded, and the child only makes
    // system calls until it executes the command.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            command();
            // `command` ends in execve or _exit: it never returns.
            unreachable!("exec's command returned into bocker")
        }
    }
}
// ANCHOR_END: fork_into_pid_namespace
