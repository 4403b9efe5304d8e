//! Is a container's keeper still alive? A lock answers.
//!
//! The keeper (the bocker that watches a container: `run` itself, or the
//! monitor of `run -d`) holds an exclusive flock(2) on the file
//! `containers/<id>/keeper.lock` for as long as it watches. The kernel
//! drops a process's locks when it dies, however it dies: SIGKILL
//! included. So a lock nobody holds means the keeper is gone, and the
//! answer cannot be fooled by a pid that the kernel has given to another
//! process since.
//!
//! The sweep runs at the start of every command, and must look at every
//! running container: with the lock, that is three system calls each
//! (open, flock, close) instead of reading and parsing the record and the
//! keeper's /proc entry. Starting the 100th container then costs what the
//! 10th did.
//!
//! ```text
//! containers/<id>/keeper.lock
//!   absent            not running (never started here, or its exit recorded)
//!   present, locked   its keeper watches it
//!   present, free     its keeper died: the sweep tears the container down
//! ```

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

const FILE: &str = "keeper.lock";

/// The lock a keeper holds. Dropping it (or dying) lets go.
pub struct KeeperLock {
    path: PathBuf,
    _held: Flock<File>,
}

impl KeeperLock {
    /// Make and take the lock in a container's directory, while it is
    /// still the hidden staging directory: when the directory appears
    /// under its real name, the lock is already held, so no sweep can see
    /// it free in between. (A lock belongs to the file, not to its name:
    /// the rename that follows does not disturb it.)
    pub fn take(container_dir: &Path) -> Result<KeeperLock> {
        let path = container_dir.join(FILE);
        // O_CLOEXEC (std's default): the container's command, started with
        // execve from a child of the keeper, does not keep it.
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let held = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, errno)| errno)
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(KeeperLock { path, _held: held })
    }

    /// The container's exit is recorded: it no longer needs a keeper.
    /// The file goes first, then (when `self` is dropped) the lock.
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// Where a renamed container's lock is now.
    pub fn moved_to(&mut self, container_dir: &Path) {
        self.path = container_dir.join(FILE);
    }
}

/// What the sweep finds in a container's directory.
pub enum Keeper {
    /// No lock file: the container is not running.
    None,
    /// Locked: a keeper watches the container.
    Alive,
    /// The file is there and nobody holds it: the keeper died. The caller
    /// holds the lock now, as the container's keeper in its place (so that
    /// another sweep leaves the container to it), and
    /// [`KeeperLock::release`]s it once the container's end is recorded.
    Gone(KeeperLock),
}

/// Look at the keeper of the container in `container_dir`.
pub fn look(container_dir: &Path) -> Keeper {
    let path = container_dir.join(FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Keeper::None,
        // Unreadable: say alive, and touch nothing.
        Err(_) => return Keeper::Alive,
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Keeper::Gone(KeeperLock { path, _held: held }),
        // EWOULDBLOCK: another holds it. Any other error: say alive, and
        // touch nothing.
        Err(_) => Keeper::Alive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_means_alive_and_a_dropped_one_gone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(look(dir.path()), Keeper::None));
        let lock = KeeperLock::take(dir.path()).unwrap();
        // flock locks belong to open files: another open of the same file
        // (as the sweep does) conflicts even within one process.
        assert!(matches!(look(dir.path()), Keeper::Alive));
        drop(lock); // as when the keeper dies: the file stays, unlocked
        let Keeper::Gone(taken_over) = look(dir.path()) else {
            panic!("a lock file nobody holds should mean the keeper is gone");
        };
        // While one sweep handles it, another sees it as taken.
        assert!(matches!(look(dir.path()), Keeper::Alive));
        taken_over.release();
        assert!(matches!(look(dir.path()), Keeper::None));
    }

    #[test]
    fn release_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        KeeperLock::take(dir.path()).unwrap().release();
        assert!(matches!(look(dir.path()), Keeper::None));
    }
}
