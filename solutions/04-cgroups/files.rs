//! Chapter 4, part one — the cgroup filesystem by hand: a cgroup is a
//! directory, a limit is a number written into a file, joining is writing
//! a pid, and what the kernel counts is read back from another file.
//!
//! The reference solution. Compare it with your
//! `chapters/04-cgroups/files.rs`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

// ANCHOR: make_cgroup
/// Make the cgroup `dir`, such as /sys/fs/cgroup/bocker/ID (v2) or
/// /sys/fs/cgroup/memory/bocker/ID (v1). Its parent exists.
pub fn make_cgroup(dir: &Path) -> Result<()> {
    // mkdir(2) in a cgroup filesystem makes a cgroup: the kernel fills the
    // new directory with the files of its controllers.
    fs::create_dir(dir).with_context(|| format!("cannot create cgroup {}", dir.display()))
}
// ANCHOR_END: make_cgroup

// ANCHOR: set_memory_limit
/// Limit the cgroup `dir` to `bytes` of memory. `v2`: the cgroup is in a
/// cgroup v2 hierarchy; else in v1's memory hierarchy.
pub fn set_memory_limit(dir: &Path, bytes: u64, v2: bool) -> Result<()> {
    // The same number, in bytes, written as decimal text; the two versions
    // name the file differently.
    let file = if v2 {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    fs::write(dir.join(file), bytes.to_string())
        .with_context(|| format!("cannot write {bytes} into {}", dir.join(file).display()))
}
// ANCHOR_END: set_memory_limit

// ANCHOR: join_cgroup
/// Move the calling process into the cgroup `dir`. Its children will be
/// born there. The caller has a single thread.
pub fn join_cgroup(dir: &Path, v2: bool) -> Result<()> {
    // v2: cgroup.procs moves a whole process. v1: tasks moves one thread,
    // the caller's only one (v1's cgroup.procs would do too). Pid 0 means
    // "the process that writes": the kernel then skips a global lock that
    // moving another process takes (and that lock waits milliseconds).
    let file = if v2 { "cgroup.procs" } else { "tasks" };
    fs::write(dir.join(file), "0")
        .with_context(|| format!("cannot join cgroup {} ({file})", dir.display()))
}
// ANCHOR_END: join_cgroup

// ANCHOR: memory_usage
/// The bytes of memory the processes of cgroup `dir` use now.
pub fn memory_usage(dir: &Path, v2: bool) -> Result<u64> {
    let file = if v2 {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    let path = dir.join(file);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} does not hold a number: {text:?}", path.display()))
}
// ANCHOR_END: memory_usage
