//! cgroup v1: one tree per controller.
//!
//! A v1 host mounts a hierarchy for each controller (or a few together) at
//! /sys/fs/cgroup/CONTROLLER, and a container's cgroup is one directory in
//! each tree it uses: /sys/fs/cgroup/memory/bocker/ID,
//! /sys/fs/cgroup/pids/bocker/ID, … Each tree has its own files, named
//! after its controller (`memory.limit_in_bytes`, `freezer.state`).

use std::fs;
use std::path::PathBuf;

use cgroups_rs::fs::hierarchies::V1;
use cgroups_rs::fs::{Cgroup, Controllers, Hierarchy};

use super::{counter, Usage};

/// The file that holds a cgroup's memory limit.
pub const MEMORY_LIMIT: &str = "memory.limit_in_bytes";

/// The file where the OOM killer's kills are counted (a line `oom_kill N`,
/// since Linux 4.13).
pub const OOM_EVENTS: &str = "memory.oom_control";

/// The v1 controllers bocker uses. A v1 host mounts a tree for every
/// controller it has (and systemd one of its own, `name=systemd`), and
/// cgroups-rs would make the container's directory in each of them. Only
/// these are needed: fewer directories to make and remove, and none in
/// trees that belong to someone else.
/// From chapter 8, `devices` too: which device nodes the container may
/// open.
const CONTROLLERS: &[&str] = if cfg!(feature = "stage8") {
    &["memory", "cpu", "cpuacct", "pids", "freezer", "devices"]
} else {
    &["memory", "cpu", "cpuacct", "pids", "freezer"]
};

/// The v1 hierarchy, limited to [`CONTROLLERS`].
pub fn hierarchy() -> Box<dyn Hierarchy> {
    Box::new(OnlyOurControllers(mounts()))
}

/// Where the v1 trees are mounted. `V1::new()` reads and parses
/// /proc/self/mountinfo; a `run` asks two dozen times (to make, join,
/// read and remove the cgroup), so it is read once per process. The
/// cgroup mounts of the host do not move while bocker runs, and the child
/// uses its copy before it changes any mount of its own.
fn mounts() -> V1 {
    static MOUNTS: std::sync::OnceLock<V1> = std::sync::OnceLock::new();
    MOUNTS.get_or_init(V1::new).clone()
}

/// Where the trees of [`CONTROLLERS`] are mounted, the memory tree's
/// first; a tree that holds two of them (`cpu,cpuacct`) once.
pub fn trees() -> Vec<PathBuf> {
    let mut trees: Vec<PathBuf> = Vec::new();
    for name in CONTROLLERS {
        let controller = match *name {
            "memory" => Controllers::Mem,
            "cpu" => Controllers::Cpu,
            "cpuacct" => Controllers::CpuAcct,
            "pids" => Controllers::Pids,
            "freezer" => Controllers::Freezer,
            _ => Controllers::Devices,
        };
        let Some(tree) = mount_point(controller) else {
            continue;
        };
        let real = fs::canonicalize(&tree).unwrap_or(tree);
        if !trees.contains(&real) {
            trees.push(real);
        }
    }
    trees
}

/// Make the parent `bocker` (and those above it) in every tree.
pub fn prepare_parent(parent: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    for tree in trees() {
        let dir = tree.join(parent);
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the parent cgroup {}", dir.display()))?;
    }
    Ok(())
}

/// Where `controller`'s tree is mounted.
pub fn mount_point(controller: Controllers) -> Option<PathBuf> {
    Some(mounts().get_mount_point(controller)?.0)
}

/// A v1 hierarchy that shows cgroups-rs only [`CONTROLLERS`].
#[derive(Debug)]
struct OnlyOurControllers(V1);

impl Hierarchy for OnlyOurControllers {
    fn subsystems(&self) -> Vec<cgroups_rs::fs::Subsystem> {
        self.0
            .subsystems()
            .into_iter()
            .filter(|s| CONTROLLERS.contains(&s.controller_name().as_str()))
            .collect()
    }
    fn root(&self) -> PathBuf {
        self.0.root()
    }
    fn root_control_group(&self) -> Cgroup {
        self.0.root_control_group()
    }
    fn parent_control_group(&self, path: &str) -> Cgroup {
        self.0.parent_control_group(path)
    }
    fn v2(&self) -> bool {
        false
    }
}

/// Is every process of the cgroup whose freezer directory is `dir`
/// frozen? `freezer.state` says FREEZING while the kernel is at it,
/// FROZEN once it is done.
pub fn is_frozen(dir: &std::path::Path) -> bool {
    fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
}

/// What the kernel counts, from the directories of the memory, cpuacct
/// and pids trees.
pub fn usage(memory: &Option<PathBuf>, cpuacct: &Option<PathBuf>, pids: &Option<PathBuf>) -> Usage {
    Usage {
        memory: 0, // yours: files.rs, memory_usage
        memory_peak: number(memory, "memory.max_usage_in_bytes"),
        // v1 shows "no limit" as a huge number (a page count's worth).
        memory_limit: number(memory, MEMORY_LIMIT).filter(|l| *l < 1 << 62),
        cpu_ns: number(cpuacct, "cpuacct.usage").unwrap_or(0),
        pids: number(pids, "pids.current").unwrap_or(0),
    }
}

/// A file that holds one number.
fn number(dir: &Option<PathBuf>, file: &str) -> Option<u64> {
    fs::read_to_string(dir.as_ref()?.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether this machine's cgroups can limit which devices a container
/// opens: v1's `devices` controller.
#[cfg(feature = "stage8")]
pub fn controls_devices() -> bool {
    std::path::Path::new("/sys/fs/cgroup/devices/devices.allow").exists()
}

/// Limit the cgroup at `cgroup_path` to the devices `allowed` (devices.rs):
/// everything denied (`a` in devices.deny), then each allowed. A node for the host's
/// disk, or /dev/kmsg, made inside, then cannot be opened (EPERM).
/// Written by the frame: cgroups-rs could, but these two files and their
/// one-line rules are worth seeing as they are.
#[cfg(feature = "stage8")]
pub fn restrict_devices(cgroup_path: &str, allowed: &[super::devices::Rule]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = std::path::Path::new("/sys/fs/cgroup/devices").join(cgroup_path);
    fs::write(dir.join("devices.deny"), "a")
        .with_context(|| format!("cannot deny devices in {}", dir.display()))?;
    for rule in allowed.iter().map(|rule| rule.v1_line()) {
        fs::write(dir.join("devices.allow"), &rule)
            .with_context(|| format!("cannot allow '{rule}' in {}", dir.display()))?;
    }
    Ok(())
}

/// The number after `oom_kill` in the memory tree's `OOM_EVENTS`.
pub fn oom_kills(memory: &std::path::Path) -> Option<u64> {
    counter(&memory.join(OOM_EVENTS), "oom_kill")
}
