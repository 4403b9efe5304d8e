//! Bocker's state on disk: the store of images and containers, their
//! records, ids, names, logs and address leases, and the keeper's lock.
//!
//! This layer keeps records; it does not act on the kernel. Tidying up
//! after a bocker that was killed midway needs both (a container's
//! cgroup and veth pair, then its directory): that is the runtime's sweep
//! (runtime/sweep.rs), which every verb runs when it opens the store.

#[cfg(feature = "docker")]
pub mod events;
pub mod ids;
pub mod keeper_lock;
#[cfg(feature = "stage5")]
pub mod leases;
pub mod log_reader;
pub mod logs;
pub mod names;
#[cfg(feature = "oci")]
pub mod oci;
pub mod records;
pub mod store;
pub mod volumes;

pub use store::Store;
