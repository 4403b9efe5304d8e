//! Chapter 4, part one — the cgroup filesystem by hand: a cgroup is a
//! directory, a limit is a number written into a file, joining is writing
//! a pid, and what the kernel counts is read back from another file.
//!
//! Your exercise. Read `chapters/04-cgroups/README.md` (or the chapter in
//! the book), fill in the four functions (std::fs only), then run:
//!
//! ```text
//! cargo test --features stage4 stage4_cgroups
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

// ANCHOR: make_cgroup
/// Make the cgroup `dir`, such as /sys/fs/cgroup/bocker/ID (v2) or
/// /sys/fs/cgroup/memory/bocker/ID (v1). Its parent exists.
pub fn make_cgroup(dir: &Path) -> Result<()> {
    todo!("chapter 4: make the cgroup {dir:?} — see chapters/04-cgroups/README.md, section 'Part one: the exercise'")
}
// ANCHOR_END: make_cgroup

// ANCHOR: set_memory_limit
/// Limit the cgroup `dir` to `bytes` of memory. `v2`: the cgroup is in a
/// cgroup v2 hierarchy; else in v1's memory hierarchy.
pub fn set_memory_limit(dir: &Path, bytes: u64, v2: bool) -> Result<()> {
    todo!("chapter 4: write the memory limit {bytes} into the right file of {dir:?} (cgroup v{}) — see chapters/04-cgroups/README.md, section 'Part one: the exercise'", if v2 { 2 } else { 1 })
}
// ANCHOR_END: set_memory_limit

// ANCHOR: join_cgroup
/// Move the calling process into the cgroup `dir`. Its children will be
/// born there. The caller has a single thread.
pub fn join_cgroup(dir: &Path, v2: bool) -> Result<()> {
    todo!("chapter 4: move this very process into {dir:?} (cgroup v{}) — see chapters/04-cgroups/README.md, section 'Part one: the exercise'", if v2 { 2 } else { 1 })
}
// ANCHOR_END: join_cgroup

// ANCHOR: memory_usage
/// The bytes of memory the processes of cgroup `dir` use now.
pub fn memory_usage(dir: &Path, v2: bool) -> Result<u64> {
    todo!("chapter 4: read the memory in use from the right file of {dir:?} (cgroup v{}) — see chapters/04-cgroups/README.md, section 'Part one: the exercise'", if v2 { 2 } else { 1 })
}
// ANCHOR_END: memory_usage
