//! Chapter 9 — without root: the container's user namespace and its maps.
//!
//! Your exercise: the four functions with a `todo!()`. The frame calls
//! them from the parent (src/runtime/userns.rs) while the child waits in
//! its new namespaces. `cargo test --features stage9` checks them.

// Until you use them, the parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::fs;
use std::process::Command;

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

/// One line of a uid_map or gid_map: ids `inside` to `inside + count - 1`
/// in the namespace are ids `outside` to `outside + count - 1` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

// ANCHOR: container_map
/// A container's map: root inside is `me` outside, one id; with
/// `subordinate` ids (START, COUNT), the ids 1 to COUNT inside are those.
pub fn container_map(me: u32, subordinate: Option<(u32, u32)>) -> Vec<IdRange> {
    todo!("chapter 9: root inside is `me`; with subordinate ids, 1..=COUNT inside are START.. outside — see chapters/09-userns/README.md, section 'The maps'")
}
// ANCHOR_END: container_map

// ANCHOR: write_single_id_maps
/// From outside, without help: map root in `pid`'s user namespace to our
/// own `uid` and `gid`. First setgroups "deny", or the kernel refuses the
/// gid_map of an ordinary user; then one line in each map.
pub fn write_single_id_maps(pid: Pid, uid: u32, gid: u32) -> Result<()> {
    todo!("chapter 9: write /proc/PID/setgroups, uid_map, gid_map from outside — see chapters/09-userns/README.md, section 'One id, no helper'")
}
// ANCHOR_END: write_single_id_maps

// ANCHOR: subordinate_ids
/// The ids that `listing`, the text of /etc/subuid (or /etc/subgid), gives
/// the user called `name` whose id is `id`: from the first line
/// `NAME:START:COUNT` (or `ID:START:COUNT`) that names them, (START, COUNT).
pub fn subordinate_ids(listing: &str, name: &str, id: u32) -> Option<(u32, u32)> {
    todo!("chapter 9: find the first line NAME:START:COUNT or ID:START:COUNT of the user — see chapters/09-userns/README.md, section 'Subordinate ids'")
}
// ANCHOR_END: subordinate_ids

// ANCHOR: run_map_helpers
/// Maps with ranges of subordinate ids, written by the set-user-ID helpers
/// (Debian's uidmap): `newuidmap PID INSIDE OUTSIDE COUNT …`, then
/// `newgidmap` the same way. They check each range against /etc/subuid
/// and /etc/subgid, then write /proc/PID/uid_map and gid_map as root.
pub fn run_map_helpers(pid: Pid, uid_map: &[IdRange], gid_map: &[IdRange]) -> Result<()> {
    todo!("chapter 9: run newuidmap and newgidmap with PID and the ranges — see chapters/09-userns/README.md, section 'Ranges, through the helpers'")
}
// ANCHOR_END: run_map_helpers
