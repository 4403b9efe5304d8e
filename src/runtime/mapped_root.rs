//! Without root, work on a container's or an image's files as the
//! container's root would: in a child process that is root of a user
//! namespace mapped like a container's (runtime/userns.rs).
//!
//! From chapter 9 a rootless container has more than one id: root inside
//! is you, and ids 1 to 65536 inside are your subordinate ids outside
//! (/etc/subuid). Its files then belong to those ids: `/var/www` of uid
//! 33 inside is START + 32 outside. You, outside, may neither give a file
//! to such an id (chown(2) needs CAP_CHOWN) nor always read one (a 0600
//! file of uid 33). Root of a user namespace with the same map may do
//! both, for every file whose owner is mapped there: its capabilities
//! count over the ids of its namespace. So bocker forks a child, the child
//! makes a user namespace, bocker maps it as it maps a container, and the
//! child does the work: unpack a pulled image keeping its owners, copy an
//! image for a container, copy a container for `commit`, compare for
//! `diff`, delete for `rm`. (podman does the same: `podman unshare`.)
//!
//! ```text
//!   bocker (uid 1000) ── fork ──▶ child: unshare(CLONE_NEWUSER)
//!                                        "ready" ──▶
//!     uid_map ◀─ "0 1000 1" + "1 100000 65536" (newuidmap)
//!     gid_map ◀─ "0 1000 1" + "1 100000 65536" (newgidmap)
//!     ◀── "go" ──────────────────────────  work(), as root inside
//!     ◀── the result, as JSON, then EOF ──  _exit
//! ```

use std::fs::File;
use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::userns;

/// Run `work` on files that may belong to the container's ids: as this
/// process where that needs nothing (as root, or where the container maps
/// only you), otherwise in a child mapped like a container (see the
/// module's comment). Its result comes back through a pipe, so it must be
/// plain data.
pub fn with_the_containers_ids<T: Serialize + DeserializeOwned>(
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if is_needed() {
        in_a_mapped_child(work)
    } else {
        work()
    }
}

/// Without root, do containers get the user's subordinate ids (chapter
/// 9), so that their files may belong to ids other than the user's?
pub fn is_needed() -> bool {
    userns::rootless() && userns::maps_subordinate_ids()
}

/// Run `work` in a forked child that is root of a new user namespace,
/// mapped from here by [`userns::map_to_ourselves`].
pub fn in_a_mapped_child<T: Serialize + DeserializeOwned>(
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    // The child is a copy of this process's one thread: no lock held by
    // another thread (the allocator's) can be copied locked.
    crate::runtime::process::ensure_single_threaded()?;
    let flags = nix::fcntl::OFlag::O_CLOEXEC;
    let (ready_read, ready_write) = pipe2(flags).context("pipe2 failed")?;
    let (go_read, go_write) = pipe2(flags).context("pipe2 failed")?;
    let (result_read, result_write) = pipe2(flags).context("pipe2 failed")?;
    let parent = Pid::this();
    // SAFETY: bocker has one thread (checked above): the child may
    // allocate and start threads of its own, as the parent would.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            drop((ready_read, go_write, result_read));
            let outcome = (|| -> Result<T> {
                // Killed with bocker: a pull killed midway must not go on
                // writing into a staging folder the next sweep deletes.
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                if nix::unistd::getppid() != parent {
                    bail!("bocker ended before its child started");
                }
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
                    .context("unshare(CLONE_NEWUSER) failed")?;
                File::from(ready_write).write_all(b"r")?;
                // Until the parent says "go", the maps are not written
                // and we are nobody here.
                let mut go = [0u8];
                if File::from(go_read).read(&mut go)? != 1 {
                    bail!("the parent did not map the user namespace");
                }
                // A panic (a `todo!()` of an exercise) must end here: unwound
                // further, it would run the parent's guards in this copy.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                    .unwrap_or_else(|_| Err(anyhow!("bocker's child panicked")))
            })();
            let sent: Result<T, String> = outcome.map_err(|error| format!("{error:#}"));
            let written = serde_json::to_writer(File::from(result_write), &sent);
            let _ = std::io::stdout().flush();
            // SAFETY: _exit ends the child at once, without running the
            // parent's exit handlers or flushing its buffers a second time.
            unsafe { libc::_exit(i32::from(written.is_err())) }
        }
        ForkResult::Parent { child } => {
            drop((ready_write, go_read, result_write));
            let mut ready = [0u8];
            let mapped = match File::from(ready_read).read(&mut ready) {
                Ok(1) => userns::map_to_ourselves(child),
                _ => Err(anyhow!("the child did not start")),
            };
            let mut go = File::from(go_write);
            if mapped.is_ok() {
                let _ = go.write_all(b"g");
            }
            drop(go);
            // Read to the end before waiting: the child may send more than
            // a pipe holds, and exits only once it is read.
            let mut sent = Vec::new();
            let read = File::from(result_read).read_to_end(&mut sent);
            let status = waitpid(child, None).context("waitpid failed")?;
            mapped.context("cannot map the user namespace of bocker's child")?;
            read.context("cannot read what bocker's child sent")?;
            match (status, serde_json::from_slice::<Result<T, String>>(&sent)) {
                (WaitStatus::Exited(_, 0), Ok(result)) => result.map_err(|text| anyhow!(text)),
                (status, _) => bail!(
                    "bocker's child, root of a user namespace with your subordinate ids, \
                     ended without an answer ({status:?})"
                ),
            }
        }
    }
}
