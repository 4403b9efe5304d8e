//! What a state directory keeps about each bridge it uses, in files: the
//! address leases, the containers whose veth pair the kernel has yet to
//! delete, whether the way out is installed, who published ports; and the
//! lock that one bocker holds while it changes them.

use std::fs::File;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::settings::{host_end, valid_link_name};
use crate::state::leases::Leases;
use crate::state::{ids, Store};

/// What this state directory keeps about `bridge`:
///
/// ```text
/// network/bridges/<bridge>/
/// ├── leases/<address>   the id of the container that has the address
/// ├── made-here          this state directory made the bridge
/// │                      (`system reset` deletes it)
/// ├── draining/<id>      container <id> has ended, the kernel has yet
/// │                      to delete its veth pair (its lease stays)
/// ├── outbound           the way out (NAT) is installed
/// └── published/<id>     container <id> has published ports
/// ```
pub(super) fn bridge_dir(state_root: &std::path::Path, bridge: &str) -> std::path::PathBuf {
    state_root.join("network").join("bridges").join(bridge)
}

/// The leases the state directory `state_root` holds on `bridge`.
pub fn leases_on(state_root: &std::path::Path, bridge: &str) -> Leases {
    Leases::new(bridge_dir(state_root, bridge).join("leases"))
}

/// The bridges the state directory `state_root` keeps a folder for (only
/// names that are valid link names).
pub(super) fn bridges_of(state_root: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(state_root.join("network").join("bridges")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|bridge| valid_link_name(bridge))
        .collect()
}

/// Every bridge this state directory has leases on, with its leases.
pub fn all_leases(store: &Store) -> Vec<(String, Leases)> {
    bridges_of(store.root())
        .into_iter()
        .map(|bridge| {
            let leases = leases_on(store.root(), &bridge);
            (bridge, leases)
        })
        .collect()
}

/// The containers of a bridge that have ended and whose veth pair the
/// kernel has yet to delete: one empty file per container, named by its id.
pub struct Draining {
    dir: std::path::PathBuf,
}

impl Draining {
    pub fn on(state_root: &std::path::Path, bridge: &str) -> Draining {
        Draining {
            dir: bridge_dir(state_root, bridge).join("draining"),
        }
    }

    pub(super) fn add(&self, id: &str) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(self.dir.join(id), ""))
            .with_context(|| format!("cannot write {}", self.dir.display()))
    }

    pub(super) fn remove(&self, id: &str) {
        let _ = std::fs::remove_file(self.dir.join(id));
    }

    /// Their ids. Only names that look like container ids: a stray file
    /// cannot send the teardown after a link of the host.
    pub fn all(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|id| ids::looks_like(ids::CONTAINER_PREFIX, id))
            .collect()
    }

    /// Those whose veth pair the kernel has deleted by now.
    pub fn gone(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|id| !link_exists(&host_end(id)))
            .collect()
    }
}

/// How long the bridge's last container out waits for the kernel to
/// delete a dead namespace's veth pair before deleting it itself.
pub(super) const KERNEL_CLEANUP_WAIT: Duration = Duration::from_millis(250);

/// Wait until no link called `name` is left in bocker's own network
/// namespace, at most `limit`. Whether it went.
pub(super) fn wait_until_gone(name: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while link_exists(name) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// if_nametoindex(3): one ioctl (SIOCGIFINDEX) on a socket of bocker's
/// own network namespace, much cheaper than a netlink connection. Any
/// answer but "no such device" counts as "still there": the caller then
/// waits, or goes the long way with netlink.
pub(super) fn link_exists(name: &str) -> bool {
    !matches!(
        nix::net::if_::if_nametoindex(name),
        Err(nix::errno::Errno::ENODEV)
    )
}

/// Run `work` holding the state directory's network lock (flock), so that
/// one bocker does not remove the way out while another adds a container.
pub(super) fn with_lock<T>(
    state_root: &std::path::Path,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let dir = state_root.join("network");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = File::options()
        .create(true)
        .write(true)
        .truncate(false)
        .open(dir.join("lock"))
        .context("cannot open the network lock")?;
    // flock(2): released when the file is closed, or when we die.
    let _held = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("cannot take the network lock")?;
    work()
}
