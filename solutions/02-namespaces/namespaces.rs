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
/// copy of our memory, so this stack is only the child's from then on.
/// Untouched pages cost nothing, so be generous.
const CHILD_STACK_SIZE: usize = 1024 * 1024;

/// The cloned child's stack: [`CHILD_STACK_SIZE`] bytes of memory of their
/// own, from mmap(2), and below them one page that may not be touched at
/// all (PROT_NONE), the *guard page*.
///
/// A stack grows down. A child that needs more than its stack reaches the
/// guard page, and the kernel kills it with SIGSEGV at once, loudly. A
/// stack in an ordinary buffer (a `Vec`) has no such page: the child would
/// go on writing over whatever lies below it, and fail later, somewhere
/// else, for no visible reason. (This is what the kernel does for every
/// thread's stack too.)
///
/// ```text
///   high addresses   ┌──────────────────────┐ ◀─ the child starts here
///                    │ CHILD_STACK_SIZE     │    and grows down
///                    │ (read, write)        │
///                    ├──────────────────────┤
///                    │ guard page (nothing) │ ◀─ touching it: SIGSEGV
///   low addresses    └──────────────────────┘
/// ```
pub struct ChildStack {
    mapping: std::ptr::NonNull<std::ffi::c_void>,
    length: usize,
}

impl ChildStack {
    pub fn new() -> Result<ChildStack> {
        use anyhow::Context as _;
        use nix::sys::mman::{mmap_anonymous, mprotect, MapFlags, ProtFlags};
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |size| size as usize);
        let length = CHILD_STACK_SIZE + page;
        let size = std::num::NonZeroUsize::new(length).context("an empty stack")?;
        // SAFETY: a new private mapping, at an address the kernel chooses:
        // it touches no memory of ours.
        let mapping = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_STACK,
            )
        }
        .context("mmap of the child's stack failed")?;
        let stack = ChildStack { mapping, length };
        // SAFETY: the lowest page of our own mapping; nothing uses it.
        unsafe { mprotect(stack.mapping, page, ProtFlags::PROT_NONE) }
            .context("cannot make the stack's guard page")?;
        Ok(stack)
    }

    /// The usable part, above the guard page, for `clone`.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let page = self.length - CHILD_STACK_SIZE;
        // SAFETY: the mapping is ours, readable and writable from `page`
        // on, for CHILD_STACK_SIZE bytes, for as long as `self` lives.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.mapping.as_ptr().cast::<u8>().add(page),
                CHILD_STACK_SIZE,
            )
        }
    }
}

impl Drop for ChildStack {
    /// The parent's copy goes; the child's copy of the mapping is its own.
    fn drop(&mut self) {
        // SAFETY: our mapping, of this length, no longer used by us.
        let _ = unsafe { nix::sys::mman::munmap(self.mapping, self.length) };
    }
}

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
    let mut stack = ChildStack::new()?;
    // SIGCHLD: the signal the kernel sends us when the child ends. With it,
    // waitpid(2) treats the child like one made by fork(2).
    // SAFETY: bocker is single-threaded when it calls this (the frame
    // checks), and the stack is ours alone; the child does not share our
    // memory (no CLONE_VM), it runs on its own copy of the mapping.
    let pid = unsafe {
        clone(
            Box::new(child),
            stack.as_mut_slice(),
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
