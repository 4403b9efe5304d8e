//! Chapter 9 — without root: the container's user namespace and its maps.
//!
//! The reference solution. Compare it with your
//! `chapters/09-userns/userns.rs`.

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
    let mut map = vec![IdRange {
        inside: 0,
        outside: me,
        count: 1,
    }];
    if let Some((start, count)) = subordinate {
        map.push(IdRange {
            inside: 1,
            outside: start,
            count,
        });
    }
    map
}
// ANCHOR_END: container_map

// ANCHOR: write_single_id_maps
/// From outside, without help: map root in `pid`'s user namespace to our
/// own `uid` and `gid`. First setgroups "deny", or the kernel refuses the
/// gid_map of an ordinary user; then one line in each map.
pub fn write_single_id_maps(pid: Pid, uid: u32, gid: u32) -> Result<()> {
    for (file, text) in [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("0 {uid} 1")),
        ("gid_map", format!("0 {gid} 1")),
    ] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}
// ANCHOR_END: write_single_id_maps

// ANCHOR: subordinate_ids
/// The ids that `listing`, the text of /etc/subuid (or /etc/subgid), gives
/// the user called `name` whose id is `id`: from the first line
/// `NAME:START:COUNT` (or `ID:START:COUNT`) that names them, (START, COUNT).
pub fn subordinate_ids(listing: &str, name: &str, id: u32) -> Option<(u32, u32)> {
    for line in listing.lines() {
        // Three fields split by colons; the helpers skip other lines.
        let fields: Vec<&str> = line.trim().split(':').collect();
        let [owner, start, count] = fields[..] else {
            continue;
        };
        // The whole field names the user: "bob" is not "bobby".
        if owner != name && owner != id.to_string() {
            continue;
        }
        if let (Ok(start), Ok(count)) = (start.parse(), count.parse()) {
            return Some((start, count));
        }
    }
    None
}
// ANCHOR_END: subordinate_ids

// ANCHOR: run_map_helpers
/// Maps with ranges of subordinate ids, written by the set-user-ID helpers
/// (Debian's uidmap): `newuidmap PID INSIDE OUTSIDE COUNT …`, then
/// `newgidmap` the same way. They check each range against /etc/subuid
/// and /etc/subgid, then write /proc/PID/uid_map and gid_map as root.
pub fn run_map_helpers(pid: Pid, uid_map: &[IdRange], gid_map: &[IdRange]) -> Result<()> {
    for (helper, map) in [("newuidmap", uid_map), ("newgidmap", gid_map)] {
        let mut command = Command::new(helper);
        command.arg(pid.to_string());
        for range in map {
            command.args([
                range.inside.to_string(),
                range.outside.to_string(),
                range.count.to_string(),
            ]);
        }
        let out = command
            .output()
            .with_context(|| format!("cannot run {helper} (Debian's package uidmap)"))?;
        if !out.status.success() {
            bail!(
                "{helper} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}
// ANCHOR_END: run_map_helpers
