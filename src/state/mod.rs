//! Bocker's state on disk: the store of images and containers, their
//! records, ids, names and logs, and the sweep that tidies up after a
//! bocker that was killed midway.

pub mod copy;
pub mod ids;
pub mod keeper_lock;
#[cfg(feature = "stage5")]
pub mod leases;
pub mod logs;
pub mod names;
pub mod records;
pub mod store;
mod sweep;

pub use store::Store;
