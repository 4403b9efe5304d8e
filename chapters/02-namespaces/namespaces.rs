//! Chapter 2 — namespaces: the container gets its own hostname, process
//! numbers, System V IPC, mount table and network.
//!
//! Your exercise. Read `chapters/02-namespaces/README.md` (or the chapter
//! in the book), fill in the five functions, then run:
//!
//! ```text
//! cargo test --features stage2 stage2_namespaces
//! ```

// Until you write the bodies, some parameters are unused.
#![allow(unused_variables)]

use anyhow::Result;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

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
    todo!("chapter 2: return the CLONE_NEW* flags for UTS, PID, mount and IPC, plus NET when new_network is {new_network} — see chapters/02-namespaces/README.md, section 'Which namespaces'")
}
// ANCHOR_END: clone_flags

// ANCHOR: start_child
/// Start `child` in a new process, inside new namespaces `flags`.
/// Returns the child's pid as the host sees it.
pub fn start_child(child: &mut dyn FnMut() -> isize, flags: CloneFlags) -> Result<Pid> {
    todo!("chapter 2: clone(2) a child that runs `child` on a stack of its own (a ChildStack: {CHILD_STACK_SIZE} bytes and a guard page), with {flags:?} and SIGCHLD — see chapters/02-namespaces/README.md, section 'clone'")
}
// ANCHOR_END: start_child

// ANCHOR: set_hostname
/// Give the container its hostname. Called in the child, which is alone in
/// its new UTS namespace, so the host's hostname does not change.
pub fn set_hostname(hostname: &str) -> Result<()> {
    todo!("chapter 2: set the hostname to {hostname:?} with sethostname(2) — see chapters/02-namespaces/README.md, section 'A hostname of its own'")
}
// ANCHOR_END: set_hostname

// ANCHOR: join_namespaces
/// Move the calling process into the namespaces of process `pid`, for
/// `bocker exec`.
pub fn join_namespaces(pid: Pid) -> Result<()> {
    todo!("chapter 2: open /proc/{pid}/ns/{{ipc,uts,net,pid,mnt}} and setns(2) into each — see chapters/02-namespaces/README.md, section 'Joining: setns'")
}
// ANCHOR_END: join_namespaces

// ANCHOR: fork_into_pid_namespace
/// After `join_namespaces`, make the process that runs `exec`'s command.
/// In the child, call `command`, which never returns (its `isize` is only
/// there to match `start_child`); in the parent, return the child's pid.
pub fn fork_into_pid_namespace(command: &mut dyn FnMut() -> isize) -> Result<Pid> {
    todo!("chapter 2: fork(2); the child calls `command`, the parent returns the child's pid — see chapters/02-namespaces/README.md, section 'The PID namespace is different'")
}
// ANCHOR_END: fork_into_pid_namespace
