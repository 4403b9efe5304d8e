//! Chapter 4, part two — the rest of the cgroup with the cgroups-rs
//! crate: swap, CPU and process limits, the freezer, and removal. (Part
//! one, the directory, the memory limit, joining and reading the usage, is
//! `files.rs`.)
//!
//! The reference solution. Compare it with your
//! `chapters/04-cgroups/cgroups.rs`.

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
    let mut resources = Resources::default();
    if let Some(bytes) = limits.memory {
        let bytes = bytes as i64;
        // The memory limit itself is yours (files.rs), written before
        // this is applied. Without a swap limit, a container over its memory limit would be
        // swapped out instead of stopped. The two versions count swap
        // differently: v1's memory.memsw.limit_in_bytes is memory + swap,
        // so "no swap" means the same number; v2's memory.swap.max is swap
        // alone, so "no swap" means 0.
        resources.memory.memory_swap_limit = Some(if v2 { 0 } else { bytes });
    }
    if let Some(cpus) = limits.cpus {
        // --cpus 0.5: half of every period.
        resources.cpu.quota = Some((cpus * CPU_PERIOD_US as f64) as i64);
        resources.cpu.period = Some(CPU_PERIOD_US);
    }
    if let Some(shares) = limits.cpu_shares {
        // cgroups-rs writes the number as it is, into cpu.shares (v1) or
        // cpu.weight (v2), and the two scales differ: see weight_of.
        resources.cpu.shares = Some(if v2 { weight_of(shares) } else { shares });
    }
    if let Some(pids) = limits.pids {
        resources.pid.maximum_number_of_processes = Some(MaxValue::Value(pids));
    }
    resources
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
    // The freezer is a controller of its own in v1 (freezer.state) and a
    // file of every cgroup in v2 (cgroup.freeze); cgroups-rs hides the
    // difference.
    let freezer: &FreezerController = cgroup
        .controller_of()
        .context("this cgroup has no freezer")?;
    if frozen {
        freezer.freeze().context("cannot freeze the cgroup")?;
    } else {
        freezer.thaw().context("cannot thaw the cgroup")?;
    }
    // The kernel stops each process at its next safe point: wait until
    // all of them are.
    wait_for(if frozen { "frozen" } else { "thawed" }, || {
        cgroup::is_frozen(cgroup) == frozen
    })
}
// ANCHOR_END: set_frozen

// ANCHOR: remove_cgroup
/// Kill every process still in `cgroup`, then delete it.
pub fn remove_cgroup(cgroup: &Cgroup) -> Result<()> {
    // cgroup.kill (v2, Linux 5.14): the kernel sends SIGKILL to every
    // process of the group, those being forked included.
    let killed_by_the_kernel = cgroup.v2() && cgroup.kill().is_ok();
    if !killed_by_the_kernel {
        // v1 (or an older v2 kernel) has no cgroup.kill. Listing the tasks
        // and killing them one by one would miss a process forked in
        // between: freeze the group first, so nothing runs while we kill,
        // then thaw it so that the SIGKILLs are delivered.
        set_frozen(cgroup, true)?;
        for task in cgroup.tasks() {
            let _ = kill(Pid::from_raw(task.pid as i32), Signal::SIGKILL);
        }
        set_frozen(cgroup, false)?;
    }
    // rmdir fails while a process is inside: wait for the last to go.
    wait_for("the cgroup is empty", || cgroup.procs().is_empty())?;
    cgroup
        .delete()
        .with_context(|| format!("cannot delete cgroup {}", cgroup.path()))
}
// ANCHOR_END: remove_cgroup
