//! cgroup v2: one tree for every controller.
//!
//! A v2 host mounts a single hierarchy at /sys/fs/cgroup, and a
//! container's cgroup is one directory in it, /sys/fs/cgroup/bocker/ID,
//! with the files of every controller enabled for it (`memory.max`,
//! `pids.max`, `cgroup.freeze`, …).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{counter, Usage};

/// The file that holds a cgroup's memory limit ("max" for none).
pub const MEMORY_LIMIT: &str = "memory.max";

/// The file where the OOM killer's kills are counted (`oom_kill N`).
pub const OOM_EVENTS: &str = "memory.events";

/// Make sure the parent exists and that the controllers are enabled for
/// its children.
///
/// In v2, a cgroup only gets a controller's files (memory.max, …) if its
/// parent lists that controller in `cgroup.subtree_control`, and so on up
/// to the root. cgroups-rs tries to enable them when it creates a cgroup,
/// but ignores failures; a cgroup without memory.max would then fail later
/// with an obscure error. So the frame writes these files itself, from the
/// root down, and says what went wrong.
pub fn prepare_parent(root: PathBuf, parent: &str) -> Result<()> {
    let available = fs::read_to_string(root.join("cgroup.controllers"))
        .context("cannot read the root cgroup's controllers")?;
    let wanted: Vec<&str> = available
        .split_whitespace()
        .filter(|c| ["cpu", "memory", "pids", "cpuset", "io"].contains(c))
        .collect();
    // The root, then each level down to the parent itself: the
    // containers' cgroups are the parent's children.
    let mut dir = root;
    enable_controllers(&dir, &wanted)?;
    for part in parent.split('/') {
        dir.push(part);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        enable_controllers(&dir, &wanted)?;
    }
    Ok(())
}

/// Add each of `controllers` to `dir`/cgroup.subtree_control, if missing.
fn enable_controllers(dir: &Path, controllers: &[&str]) -> Result<()> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&file).unwrap_or_default();
    for controller in controllers {
        if enabled.split_whitespace().any(|c| c == *controller) {
            continue;
        }
        fs::write(&file, format!("+{controller}")).with_context(|| {
            format!(
                "cannot enable the {controller} controller in {}",
                file.display()
            )
        })?;
    }
    Ok(())
}

/// Is every process of the cgroup in `dir` frozen? Not "was a freeze
/// asked for": `cgroup.freeze` says that; `cgroup.events` says whether it
/// is done.
pub fn is_frozen(dir: &Path) -> bool {
    counter(&dir.join("cgroup.events"), "frozen") == Some(1)
}

/// What the kernel counts, from the cgroup's one directory.
pub fn usage(dir: &Option<PathBuf>) -> Usage {
    let number = |file: &str| -> Option<u64> {
        fs::read_to_string(dir.as_ref()?.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Usage {
        memory: number("memory.current").unwrap_or(0),
        memory_peak: number("memory.peak"), // Linux 5.19
        memory_limit: number(MEMORY_LIMIT), // "max": None
        cpu_ns: dir
            .as_ref()
            .and_then(|dir| counter(&dir.join("cpu.stat"), "usage_usec"))
            .map_or(0, |us| us * 1000),
        pids: number("pids.current").unwrap_or(0),
    }
}

/// The number after `oom_kill` in `OOM_EVENTS`.
pub fn oom_kills(dir: &Path) -> Option<u64> {
    counter(&dir.join(OOM_EVENTS), "oom_kill")
}
