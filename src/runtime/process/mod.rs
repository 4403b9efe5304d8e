//! The container's process: made, set up, and watched.
//!
//! * `spawn`: the parent's side of starting a container: pipes, the
//!   child, the set-up from outside, "go", the outcome;
//! * `child`: the child's side, from "go" to execve;
//! * `handshake`: the two pipes between them ("go", and why a start
//!   failed);
//! * `pidfd`: a process named by a descriptor, not by a number that
//!   the kernel may hand out again;
//! * `fds`: the command's standard descriptors, and no others;
//! * `execve`: the last step, and its errors in the container's words;
//! * `signals`: what the child unblocks, what the parent forwards;
//! * `relay`: the command's output to the terminal and the log;
//! * `user`: the working directory and the user of a pulled image
//!   (chapter 7).
//!
//! Chapters 1 to 3 plug in here: each is one module compiled from your
//! exercise in `chapters/`, or with feature `solvedN` from `solutions/`.
//! The frame only calls a chapter's code when that chapter's feature is
//! on, so a chapter you have not reached yet can never stop you. (`path`
//! is relative to this folder, `src/runtime/process/`.)

use std::fs;

use anyhow::{bail, Result};

pub mod child;
pub mod execve;
pub mod fds;
pub mod handshake;
#[cfg(feature = "stage3")]
pub mod host_devices;
pub mod mount_flags;
pub mod pidfd;
pub mod relay;
pub mod signals;
pub mod spawn;
pub mod terminal;
#[cfg(feature = "stage7")]
pub mod user;
/// `-v`, `--tmpfs`, `--read-only` (the finished runtime).
#[cfg(feature = "docker")]
pub mod volumes;

/// Chapter 1: change the root directory with `chroot(2)`.
#[cfg(feature = "stage1")]
#[cfg_attr(
    not(feature = "solved1"),
    path = "../../../chapters/01-chroot/chroot.rs"
)]
#[cfg_attr(feature = "solved1", path = "../../../solutions/01-chroot/chroot.rs")]
pub mod chroot;

/// Chapter 2: new namespaces with `clone(2)`, joining them with `setns(2)`.
#[cfg(feature = "stage2")]
#[cfg_attr(
    not(feature = "solved2"),
    path = "../../../chapters/02-namespaces/namespaces.rs"
)]
#[cfg_attr(
    feature = "solved2",
    path = "../../../solutions/02-namespaces/namespaces.rs"
)]
pub mod namespaces;

/// Chapter 3: a private mount tree, `pivot_root(2)`, /proc, /dev, /sys, /tmp.
#[cfg(feature = "stage3")]
#[cfg_attr(
    not(feature = "solved3"),
    path = "../../../chapters/03-mounts/mounts.rs"
)]
#[cfg_attr(feature = "solved3", path = "../../../solutions/03-mounts/mounts.rs")]
pub mod mounts;

/// fork(2) and clone(2) copy only the calling thread. If another thread
/// held a lock at that moment (the memory allocator's, say), the child's
/// copy stays locked for ever and the child hangs on its first allocation.
/// bocker forks only while it has one thread; this makes a mistake loud
/// (chapter 5 brings an async runtime: start it after the child exists).
pub fn ensure_single_threaded() -> Result<()> {
    let threads = fs::read_dir("/proc/self/task").map(|tasks| tasks.count());
    match threads {
        Ok(1) => Ok(()),
        Ok(n) => bail!(
            "bocker has {n} threads where it is about to fork: the child could deadlock. \
             Create the container's process before starting any thread (an async runtime, say)"
        ),
        Err(e) => bail!("cannot count bocker's threads in /proc/self/task: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_thread_is_refused() {
        // The test harness may run this test on a thread of its own, so
        // count from a thread we start and keep alive meanwhile.
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let helper = std::thread::spawn(move || {
            let _ = wait.recv();
        });
        let error = ensure_single_threaded().unwrap_err().to_string();
        stop.send(()).unwrap();
        helper.join().unwrap();
        assert!(error.contains("threads"), "{error}");
    }
}

/// Chapter functions that need no root, tested without it: `cargo test`
/// runs these as you, before any container starts. Each module is named
/// like its chapter's module in tests/course, so that the page's filter
/// (`cargo test --features stage1 stage1_chroot`) runs these too.
#[cfg(all(test, feature = "stage1"))]
mod stage1_chroot {
    use super::chroot::container_env;

    #[test]
    fn the_containers_environment_is_small_and_its_own() {
        let env = container_env("box");
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get("HOSTNAME"), Some("box"), "container_env: HOSTNAME");
        assert_eq!(get("HOME"), Some("/root"), "container_env: HOME");
        assert!(
            get("PATH").is_some_and(|path| path.split(':').any(|dir| dir == "/bin")),
            "container_env: PATH should list the usual directories, /bin among them"
        );
        let allowed = ["PATH", "HOME", "HOSTNAME", "TERM"];
        let extra: Vec<&str> = env
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k))
            .collect();
        assert!(
            extra.is_empty(),
            "container_env: only {allowed:?}, not the host's {extra:?}"
        );
    }
}

#[cfg(all(test, feature = "stage2"))]
mod stage2_namespaces {
    use nix::sched::CloneFlags;

    use super::namespaces::{clone_flags, ChildStack};

    /// The permissions /proc/self/maps shows for the page holding `address`.
    fn permissions_at(address: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (start, end) = range.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start <= address && address < end).then(|| rest[..4].to_string())
            })
            .unwrap_or_else(|| "not mapped".to_string())
    }

    #[test]
    fn the_childs_stack_has_a_guard_page_below_it() {
        let mut stack = ChildStack::new().unwrap();
        let usable = stack.as_mut_slice();
        let bottom = usable.as_ptr() as usize;
        let top = bottom + usable.len() - 1;
        assert_eq!(permissions_at(top), "rw-p", "the stack itself");
        assert_eq!(permissions_at(bottom), "rw-p", "the stack's last byte");
        assert_eq!(
            permissions_at(bottom - 1),
            "---p",
            "right below the stack: a page nobody may touch, so that a child \
             that overflows its stack dies of SIGSEGV instead of writing over \
             other memory"
        );
    }

    #[test]
    fn five_new_namespaces_or_four_with_the_hosts_network() {
        let four = CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWIPC;
        assert_eq!(
            clone_flags(true),
            four | CloneFlags::CLONE_NEWNET,
            "clone_flags(true): UTS, PID, mount, IPC and network"
        );
        assert_eq!(
            clone_flags(false),
            four,
            "clone_flags(false), for --net host: the same without CLONE_NEWNET"
        );
    }
}
