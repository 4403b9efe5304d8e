//! The frame's side of chapter 4: where a container's cgroup lives, what
//! `run` asked for, and reading back what the kernel counts in it.
//!
//! Chapter 4 (`chapters/04-cgroups/cgroups.rs`) creates the cgroup,
//! applies the limits, moves processes in, freezes and removes it. This
//! module only finds things and reads them.
//!
//! # Which hierarchy
//!
//! cgroups-rs's `hierarchies::auto()` looks at /sys/fs/cgroup: if it is a
//! cgroup2 mount, the machine is cgroup v2 only ("unified"), and there is
//! one tree. Otherwise it uses the v1 trees, one per controller, mounted
//! at /sys/fs/cgroup/memory, /sys/fs/cgroup/cpu, … A *hybrid* machine has
//! both: v1 trees for the controllers, and an extra cgroup2 tree (often at
//! /sys/fs/cgroup/unified) that holds no controller. auto() then picks v1,
//! which is right: that is where the controllers are.

/// Chapter 4: cgroups, with the cgroups-rs crate: making a container's
/// cgroup with its limits, joining it, freezing it, removing it. Compiled
/// from your exercise, `chapters/04-cgroups/cgroups.rs`, or with feature
/// `solved4` from `solutions/`. (`path` is relative to this folder,
/// `src/runtime/cgroup/`.)
#[cfg_attr(
    not(feature = "solved4"),
    path = "../../../chapters/04-cgroups/cgroups.rs"
)]
#[cfg_attr(feature = "solved4", path = "../../../solutions/04-cgroups/cgroups.rs")]
pub mod chapter;

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cgroups_rs::fs::hierarchies::{self, V1};
use cgroups_rs::fs::{Cgroup, Controllers, Hierarchy};

pub use crate::spec::Limits;

/// The parent of every container's cgroup: `bocker`, or what
/// BOCKER_CGROUP_PARENT says (the tests give each test its own).
pub fn parent() -> String {
    std::env::var("BOCKER_CGROUP_PARENT")
        .ok()
        .filter(|p| !p.is_empty() && !p.contains("..") && !p.starts_with('/'))
        .unwrap_or_else(|| "bocker".to_string())
}

/// The cgroup path of container `id`, relative to the hierarchy's root.
pub fn path_of(id: &str) -> String {
    format!("{}/{id}", parent())
}

/// The hierarchy to use on this machine (see the module's comment).
pub fn hierarchy() -> Box<dyn Hierarchy> {
    if hierarchies::is_cgroup2_unified_mode() {
        return hierarchies::auto();
    }
    Box::new(OnlyOurControllers(v1_mounts()))
}

/// Where the v1 trees are mounted. `V1::new()` reads and parses
/// /proc/self/mountinfo; a `run` asks two dozen times (to make, join,
/// read and remove the cgroup), so it is read once per process. The
/// cgroup mounts of the host do not move while bocker runs, and the child
/// uses its copy before it changes any mount of its own.
fn v1_mounts() -> V1 {
    static MOUNTS: std::sync::OnceLock<V1> = std::sync::OnceLock::new();
    MOUNTS.get_or_init(V1::new).clone()
}

/// The v1 controllers bocker uses. A v1 host mounts a tree for every
/// controller it has (and systemd one of its own, `name=systemd`), and
/// cgroups-rs would make the container's directory in each of them. Only
/// these are needed: fewer directories to make and remove, and none in
/// trees that belong to someone else.
/// From chapter 8, `devices` too: which device nodes the container may
/// open.
const V1_CONTROLLERS: &[&str] = if cfg!(feature = "stage8") {
    &["memory", "cpu", "cpuacct", "pids", "freezer", "devices"]
} else {
    &["memory", "cpu", "cpuacct", "pids", "freezer"]
};

/// A v1 hierarchy that shows cgroups-rs only [`V1_CONTROLLERS`].
#[derive(Debug)]
struct OnlyOurControllers(V1);

impl Hierarchy for OnlyOurControllers {
    fn subsystems(&self) -> Vec<cgroups_rs::fs::Subsystem> {
        self.0
            .subsystems()
            .into_iter()
            .filter(|s| V1_CONTROLLERS.contains(&s.controller_name().as_str()))
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

/// Whether this machine's cgroups can limit which devices a container
/// opens: v1's `devices` controller. (On v2 that takes a BPF program
/// attached to the cgroup, which bocker does not load; see
/// runtime/security/ for what it does instead.)
#[cfg(feature = "stage8")]
pub fn controls_devices() -> bool {
    !hierarchy().v2() && std::path::Path::new("/sys/fs/cgroup/devices/devices.allow").exists()
}

/// The devices a container may use: those chapter 3 makes in its /dev
/// (`c MAJOR:MINOR rwm`: read, write, mknod), pseudo-terminals, and mknod
/// (but not opening) of any other node, as Docker allows.
#[cfg(feature = "stage8")]
const ALLOWED_DEVICES: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",    // null
    "c 1:5 rwm",    // zero
    "c 1:7 rwm",    // full
    "c 1:8 rwm",    // random
    "c 1:9 rwm",    // urandom
    "c 5:0 rwm",    // tty
    "c 5:2 rwm",    // ptmx
    "c 136:* rwm",  // pts/N
    "c 10:200 rwm", // net/tun
];

/// Limit container `id`'s cgroup to [`ALLOWED_DEVICES`] (v1): everything
/// denied (`a` in devices.deny), then each allowed. A node for the host's
/// disk, or /dev/kmsg, made inside, then cannot be opened (EPERM).
/// Written by the frame: cgroups-rs could, but these two files and their
/// one-line rules are worth seeing as they are.
#[cfg(feature = "stage8")]
pub fn restrict_devices(id: &str) -> Result<()> {
    let dir = std::path::Path::new("/sys/fs/cgroup/devices").join(path_of(id));
    fs::write(dir.join("devices.deny"), "a")
        .with_context(|| format!("cannot deny devices in {}", dir.display()))?;
    for rule in ALLOWED_DEVICES {
        fs::write(dir.join("devices.allow"), rule)
            .with_context(|| format!("cannot allow '{rule}' in {}", dir.display()))?;
    }
    Ok(())
}

/// Remove the parent cgroup (`bocker/`) from every hierarchy where it is
/// empty. rmdir(2) refuses a cgroup that still has children, so one in use
/// (by another state directory's containers) stays.
pub fn remove_parent_if_empty() {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if matches!(fields.get(2), Some(&"cgroup") | Some(&"cgroup2")) {
            let _ = fs::remove_dir(std::path::Path::new(fields[1]).join(parent()));
        }
    }
}

/// Make sure the parent exists and, on v2, that the controllers are
/// enabled for its children.
///
/// In v2, a cgroup only gets a controller's files (memory.max, …) if its
/// parent lists that controller in `cgroup.subtree_control`, and so on up
/// to the root. cgroups-rs tries to enable them when it creates a cgroup,
/// but ignores failures; a cgroup without memory.max would then fail later
/// with an obscure error. So the frame writes these files itself, from the
/// root down, and says what went wrong.
pub fn prepare_parent() -> Result<()> {
    let hierarchy = hierarchy();
    if !hierarchy.v2() {
        return Ok(()); // v1: Cgroup::new creates the parents in every tree
    }
    let root = hierarchy.root();
    let available = fs::read_to_string(root.join("cgroup.controllers"))
        .context("cannot read the root cgroup's controllers")?;
    let wanted: Vec<&str> = available
        .split_whitespace()
        .filter(|c| ["cpu", "memory", "pids", "cpuset", "io"].contains(c))
        .collect();
    // The root, then each level down to the parent itself: the
    // containers' cgroups are the parent's children.
    let parent = parent();
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
fn enable_controllers(dir: &std::path::Path, controllers: &[&str]) -> Result<()> {
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

/// Check that the kernel took `limits`.
///
/// cgroups-rs ignores a failed write of a memory limit (CPU limits it
/// reads back). The kernel refuses one, for instance, when a v1 cgroup
/// already uses more than the new limit and cannot give memory back. So
/// the frame reads the files back itself. Both versions round a memory
/// limit down to whole pages.
pub fn verify_limits(cgroup: &Cgroup, limits: &Limits) -> Result<()> {
    let dir =
        |controller| directory(cgroup, controller).context("the cgroup has no such controller");
    let read = |path: PathBuf| -> Result<String> {
        Ok(fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_string())
    };
    if let Some(bytes) = limits.memory {
        let file = if cgroup.v2() {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        let now: u64 = read(dir(Controllers::Mem)?.join(file))?
            .parse()
            .unwrap_or(0);
        let page = 4096;
        if now / page != bytes / page {
            bail!(
                "the kernel did not take the memory limit {bytes} (the cgroup's {file} is {now};                  is the container using more than that already?)"
            );
        }
    }
    if let Some(pids) = limits.pids {
        let now = read(dir(Controllers::Pids)?.join("pids.max"))?;
        if now != pids.to_string() {
            bail!("the kernel did not take the limit of {pids} processes (pids.max is {now})");
        }
    }
    Ok(())
}

/// Container `id`'s cgroup, if it exists.
pub fn existing(id: &str) -> Option<Cgroup> {
    let group = Cgroup::load(hierarchy(), path_of(id));
    group.exists().then_some(group)
}

/// The directory of `cgroup` that holds `controller`'s files: in v2 the
/// cgroup's one directory, in v1 the one in that controller's tree.
pub fn directory(cgroup: &Cgroup, controller: Controllers) -> Option<PathBuf> {
    let hierarchy = hierarchy();
    let base = if hierarchy.v2() {
        hierarchy.root()
    } else {
        v1_mounts().get_mount_point(controller)?.0
    };
    Some(base.join(cgroup.path()))
}

/// Is every process of `cgroup` frozen? (Not "was a freeze asked for":
/// v2's cgroup.freeze says that; cgroup.events says whether it is done.)
pub fn is_frozen(cgroup: &Cgroup) -> bool {
    let Some(dir) = directory(cgroup, Controllers::Freezer) else {
        return false;
    };
    if cgroup.v2() {
        counter(&dir.join("cgroup.events"), "frozen") == Some(1)
    } else {
        fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
    }
}

/// How many times the kernel's OOM killer killed a process of `cgroup`.
pub fn oom_kills(cgroup: &Cgroup) -> u64 {
    let Some(dir) = directory(cgroup, Controllers::Mem) else {
        return 0;
    };
    // v2: memory.events; v1: memory.oom_control. Both have a line
    // "oom_kill N" (v1 since Linux 4.13).
    let file = if cgroup.v2() {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    counter(&dir.join(file), "oom_kill").unwrap_or(0)
}

/// What the kernel counts for a cgroup, at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Bytes of memory in use, and the most ever used.
    pub memory: u64,
    pub memory_peak: Option<u64>,
    /// The memory limit in force, if any.
    pub memory_limit: Option<u64>,
    /// CPU time used by all its processes, in nanoseconds.
    pub cpu_ns: u64,
    /// How many processes (and threads) it has now.
    pub pids: u64,
}

/// Read `cgroup`'s counters. Each is a plain text file: accounting is the
/// kernel adding up, and bocker reading.
pub fn usage(cgroup: &Cgroup) -> Usage {
    let v2 = cgroup.v2();
    let memory = directory(cgroup, Controllers::Mem);
    let cpu = directory(
        cgroup,
        if v2 {
            Controllers::Cpu
        } else {
            Controllers::CpuAcct
        },
    );
    let pids = directory(cgroup, Controllers::Pids);
    let number = |dir: &Option<PathBuf>, file: &str| -> Option<u64> {
        fs::read_to_string(dir.as_ref()?.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    if v2 {
        Usage {
            memory: number(&memory, "memory.current").unwrap_or(0),
            memory_peak: number(&memory, "memory.peak"), // Linux 5.19
            memory_limit: number(&memory, "memory.max"), // "max": None
            cpu_ns: cpu
                .as_ref()
                .and_then(|dir| counter(&dir.join("cpu.stat"), "usage_usec"))
                .map_or(0, |us| us * 1000),
            pids: number(&pids, "pids.current").unwrap_or(0),
        }
    } else {
        Usage {
            memory: number(&memory, "memory.usage_in_bytes").unwrap_or(0),
            memory_peak: number(&memory, "memory.max_usage_in_bytes"),
            // v1 shows "no limit" as a huge number (a page count's worth).
            memory_limit: number(&memory, "memory.limit_in_bytes").filter(|l| *l < 1 << 62),
            cpu_ns: number(&cpu, "cpuacct.usage").unwrap_or(0),
            pids: number(&pids, "pids.current").unwrap_or(0),
        }
    }
}

/// The number after `key` in a file of "key value" lines.
fn counter(path: &std::path::Path, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}
