//! Chapter 4, part two — the rest of the cgroup with the cgroups-rs
//! crate: swap, CPU and process limits, the freezer, and removal. (Part
//! one, the directory, the memory limit, joining and reading the usage, is
//! `files.rs`.)
//!
//! Your exercise. Read `chapters/04-cgroups/README.md` (or the chapter in
//! the book), fill in the three functions, then run:
//!
//! ```text
//! cargo test --features stage4 stage4_cgroups
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cgroups_rs::fs::freezer::FreezerController;
use cgroups_rs::fs::{Cgroup, MaxValue, Resources};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::runtime::cgroup::{self, Limits};

/// CFS period: the scheduler hands out CPU time in slices of this length
/// (100 ms, the kernel's default). A quota is a share of each period.
pub const CPU_PERIOD_US: u64 = 100_000;

// ANCHOR: wait_for
/// Check `done` every 10 ms, for up to 5 s; an error naming `what` if it
/// never holds. Cgroup changes take effect asynchronously: a freeze, or
/// processes dying of SIGKILL, take a moment.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > Duration::from_secs(5) {
            bail!("timed out waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
// ANCHOR_END: wait_for

// ANCHOR: resources
/// The limits `run` asked for, but the memory limit (your
/// `set_memory_limit` writes that), in the form cgroups-rs applies. `v2`:
/// the hierarchy is cgroup v2 (one tree), not v1 (one tree per controller).
pub fn resources(limits: &Limits, v2: bool) -> Resources {
    todo!("chapter 4: turn {limits:?} into cgroups_rs::fs::Resources (swap, CPU quota, shares (weight_of on v2), pids) for cgroup v{} — see chapters/04-cgroups/README.md, section 'Part two: the rest with cgroups-rs'", if v2 { 2 } else { 1 })
}
// ANCHOR_END: resources

// ANCHOR: weight_of
/// v1's cpu.shares (2 to 262144, default 1024) on v2's cpu.weight scale
/// (1 to 10000, default 100). A straight line through both ranges would
/// turn the default 1024 into 39, less than every other cgroup's 100; this
/// curve, in powers of two, keeps the three landmarks: 2 → 1, 1024 → 100,
/// 262144 → 10000. It is the conversion runc (1.3.2) and crun adopted in
/// 2025, rounded up as they round it (512 → 59).
pub fn weight_of(shares: u64) -> u64 {
    let l = (shares.clamp(2, 262_144) as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}
// ANCHOR_END: weight_of

// ANCHOR: set_frozen
/// Freeze every process of `cgroup` (`frozen`), or let them go on.
pub fn set_frozen(cgroup: &Cgroup, frozen: bool) -> Result<()> {
    todo!("chapter 4: freeze or thaw the cgroup with its FreezerController, then wait until cgroup::is_frozen says so (frozen: {frozen}) — see chapters/04-cgroups/README.md, section 'Part two: the rest with cgroups-rs'")
}
// ANCHOR_END: set_frozen

// ANCHOR: remove_cgroup
/// Kill every process still in `cgroup`, then delete it.
pub fn remove_cgroup(cgroup: &Cgroup) -> Result<()> {
    todo!("chapter 4: kill what is left in the cgroup (cgroup.kill on v2; else freeze, SIGKILL each task, thaw), wait until it is empty, delete it — see chapters/04-cgroups/README.md, section 'Part two: the rest with cgroups-rs'")
}
// ANCHOR_END: remove_cgroup
