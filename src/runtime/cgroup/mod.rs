//! The frame's side of chapter 4: where a container's cgroup lives, what
//! `run` asked for, and reading back what the kernel counts in it.
//!
//! Chapter 4 is two files. Part one, `chapters/04-cgroups/files.rs`, by
//! hand on the cgroup filesystem: it makes the container's cgroup
//! directory, writes its memory limit, joins it and reads the memory in
//! use. Part two, `chapters/04-cgroups/cgroups.rs`, with cgroups-rs: the
//! other limits, the freezer, removal. This module finds the directories,
//! calls the two parts in order ([`create`], [`join`], [`usage`]) and
//! reads the other counters. Where the two versions of cgroups differ,
//! `v1.rs` and `v2.rs` each say it their way.
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

/// Chapter 4, part one: the cgroup filesystem by hand (std::fs): the
/// directory, the memory limit, joining, the memory in use. Compiled from
/// your `chapters/04-cgroups/files.rs`, or with feature `solved4` from
/// `solutions/`.
#[cfg_attr(
    not(feature = "solved4"),
    path = "../../../chapters/04-cgroups/files.rs"
)]
#[cfg_attr(feature = "solved4", path = "../../../solutions/04-cgroups/files.rs")]
pub mod files;

/// Chapter 4, part two: with the cgroups-rs crate, the other limits (swap,
/// CPU, processes), freezing, removing. Compiled
/// from your exercise, `chapters/04-cgroups/cgroups.rs`, or with feature
/// `solved4` from `solutions/`. (`path` is relative to this folder,
/// `src/runtime/cgroup/`.)
#[cfg_attr(
    not(feature = "solved4"),
    path = "../../../chapters/04-cgroups/cgroups.rs"
)]
#[cfg_attr(feature = "solved4", path = "../../../solutions/04-cgroups/cgroups.rs")]
pub mod chapter;
pub mod devices;
pub mod v1;
pub mod v2;

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cgroups_rs::fs::hierarchies;
use cgroups_rs::fs::{Cgroup, Controllers, Hierarchy};

pub use crate::spec::Limits;

/// The parent of every container's cgroup: `bocker`, or what
/// BOCKER_CGROUP_PARENT says (the tests give each test its own). Without
/// root, inside the subtree delegated to the user ([`delegated_root`]).
pub fn parent() -> String {
    let name = std::env::var("BOCKER_CGROUP_PARENT")
        .ok()
        .filter(|p| !p.is_empty() && !p.contains("..") && !p.starts_with('/'))
        .unwrap_or_else(|| "bocker".to_string());
    if crate::spec::privileges::rootless() {
        if let Some(root) = delegated_root() {
            return format!("{root}/{name}");
        }
    }
    name
}

/// Without root, on cgroup v2: the subtree of the cgroup tree delegated to
/// this user, relative to the hierarchy's root, if there is one.
///
/// systemd delegates one to each user (`user@UID.service`, with
/// `Delegate=yes`): it gives the user the directory and its
/// `cgroup.procs`, `cgroup.subtree_control` and `cgroup.threads`, so that
/// the user may make cgroups below it, enable controllers for them and
/// move their own processes between them. The user's processes live in
/// leaves below it (`init.scope`, `app.slice/…`): v2 lets a cgroup hand
/// controllers to its children only while no process is in it itself.
/// So: the highest cgroup above our own (ourselves left out) whose
/// `cgroup.procs` and `cgroup.subtree_control` we may write, all the way up.
/// (On v1 the trees are root's: none.) Found once per bocker: its own
/// cgroup does not change, and every container path asks.
pub fn delegated_root() -> Option<String> {
    static FOUND: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_delegated_root).clone()
}

fn find_delegated_root() -> Option<String> {
    use nix::unistd::{access, AccessFlags};
    if !hierarchies::is_cgroup2_unified_mode() {
        return None;
    }
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|line| line.strip_prefix("0::/"))?;
    let root = hierarchies::auto().root();
    let writable = |dir: &std::path::Path| {
        ["cgroup.procs", "cgroup.subtree_control"]
            .iter()
            .all(|file| access(&dir.join(file), AccessFlags::W_OK).is_ok())
    };
    let mut delegated = None;
    let mut path = own.trim_end();
    while let Some((above, _)) = path.rsplit_once('/') {
        if !writable(&root.join(above)) {
            break;
        }
        delegated = Some(above.to_string());
        path = above;
    }
    delegated
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
    v1::hierarchy()
}

/// Whether this machine's cgroups can limit which devices a container
/// opens: v1's `devices` controller, or on v2 a BPF program attached to
/// the cgroup (devices.rs).
#[cfg(feature = "stage8")]
pub fn controls_devices() -> bool {
    hierarchy().v2() || v1::controls_devices()
}

/// Limit container `id`'s cgroup to the devices it may use (devices.rs),
/// in the language of this machine's cgroups.
#[cfg(feature = "stage8")]
pub fn restrict_devices(id: &str) -> Result<()> {
    restrict_devices_at(&path_of(id), &devices::ALLOWED)
}

/// The cgroup at `path` (relative to the hierarchy's root) to the devices
/// `allowed` (an OCI bundle's rules add to devices.rs's list).
#[cfg(feature = "stage8")]
pub fn restrict_devices_at(path: &str, allowed: &[devices::Rule]) -> Result<()> {
    if hierarchy().v2() {
        v2::restrict_devices(path, allowed)
    } else {
        v1::restrict_devices(path, allowed)
    }
}

/// Remove the parent cgroup (`bocker/`) from every hierarchy where it is
/// empty: after a container's teardown, `system reset` and an OCI
/// `delete`. rmdir(2) refuses a cgroup that still has children, so one in
/// use (by other containers, of any state directory) stays.
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

/// Make sure the parent exists: on v2, with the controllers enabled for
/// its children (v2.rs says why); on v1, in each tree bocker uses.
pub fn prepare_parent() -> Result<()> {
    prepare_parent_at(&parent())
}

/// The same for any parent `path` (relative to the hierarchy's root): an
/// OCI bundle's cgroupsPath has parents of its own.
pub fn prepare_parent_at(path: &str) -> Result<()> {
    let hierarchy = hierarchy();
    if !hierarchy.v2() {
        return v1::prepare_parent(path);
    }
    // Without root, only the delegated subtree is ours to change.
    match delegated_root().filter(|_| crate::spec::privileges::rootless()) {
        Some(top) => v2::prepare_parent_below(hierarchy.root(), &top, path),
        None => v2::prepare_parent(hierarchy.root(), path),
    }
}

/// The directories of container `id`'s cgroup: on v2 its one directory;
/// on v1 one in each tree bocker uses, the memory tree's first.
pub fn directories(id: &str) -> Vec<PathBuf> {
    directories_at(&path_of(id))
}

/// The directories of the cgroup at `path`, relative to the hierarchy's
/// root.
pub fn directories_at(path: &str) -> Vec<PathBuf> {
    let hierarchy = hierarchy();
    if hierarchy.v2() {
        return vec![hierarchy.root().join(path)];
    }
    v1::trees()
        .into_iter()
        .map(|tree| tree.join(path))
        .collect()
}

/// Create container `id`'s cgroup with its `limits`: part one makes each
/// directory and writes the memory limit, then part two's cgroups-rs
/// writes the rest into the same directories (it creates nothing:
/// `Cgroup::load`). The frame reads the limits back. On error nothing is
/// left.
pub fn create(id: &str, limits: &Limits) -> Result<Cgroup> {
    create_at(&path_of(id), limits)
}

/// The same for the cgroup at `path` (relative to the hierarchy's root),
/// whose parent exists.
pub fn create_at(path: &str, limits: &Limits) -> Result<Cgroup> {
    use crate::course::exercise::yours;
    use crate::errors::START_FAILED;
    let v2 = hierarchy().v2();
    let mut made = Vec::new();
    let result = (|| -> Result<Cgroup> {
        for dir in directories_at(path) {
            let mut attempt = yours(START_FAILED, || files::make_cgroup(&dir));
            // The last container's teardown removes an empty parent
            // (teardown.rs): if that happened between our prepare_parent
            // and here, make the parent again, once.
            if attempt.is_err() && dir.parent().is_some_and(|parent| !parent.exists()) {
                if let Some((parent, _)) = path.rsplit_once('/') {
                    prepare_parent_at(parent)?;
                }
                attempt = yours(START_FAILED, || files::make_cgroup(&dir));
            }
            attempt?;
            made.push(dir);
        }
        let group = Cgroup::load(hierarchy(), path);
        if let Some(bytes) = limits.memory {
            let memory = directory(&group, Controllers::Mem)
                .context("this machine's cgroups have no memory controller")?;
            yours(START_FAILED, || files::set_memory_limit(&memory, bytes, v2))?;
        }
        group
            .apply(&chapter::resources(limits, v2))
            .with_context(|| format!("cannot set the limits of cgroup {path}"))?;
        verify_limits(&group, limits)?;
        Ok(group)
    })();
    if result.is_err() {
        // The kernel refuses rmdir while a process is inside: none is yet.
        for dir in made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// Change a running container's limits from `old` to `new` (`update`):
/// a cgroup's files can be written at any time, and the kernel applies a
/// new memory limit at once (reclaiming, or OOM-killing, if the container
/// is above it). The memory limit through part one, the rest through part
/// two's cgroups-rs, then read back.
pub fn change_limits(group: &Cgroup, old: &Limits, new: &Limits) -> Result<()> {
    if !group.v2() && new.memory > old.memory {
        // v1 refuses a memory limit above the memory+swap limit: when
        // raising, raise memory+swap first.
        let memory: Option<&cgroups_rs::fs::memory::MemController> = group.controller_of();
        if let (Some(bytes), Some(memory)) = (new.memory, memory) {
            let _ = memory.set_memswap_limit(bytes as i64);
        }
    }
    if let (Some(bytes), Some(dir)) = (new.memory, directory(group, Controllers::Mem)) {
        crate::course::exercise::yours(1, || files::set_memory_limit(&dir, bytes, group.v2()))?;
    }
    group.apply(&chapter::resources(new, group.v2()))?;
    verify_limits(group, new)
}

/// Move the calling process into container `id`'s cgroup, with part one's
/// join_cgroup: on v1 into its directory in every tree.
pub fn join(id: &str) -> Result<()> {
    join_at(&path_of(id))
}

/// Move the calling process into the cgroup at `path`.
pub fn join_at(path: &str) -> Result<()> {
    let v2 = hierarchy().v2();
    for dir in directories_at(path) {
        chapter_step(|| files::join_cgroup(&dir, v2))?;
    }
    Ok(())
}

/// Move process `pid` (not the caller) into the cgroup at `path`, in
/// every tree: for a child in a user namespace of its own, which may not
/// write the host's cgroup files itself (its root is an ordinary user out
/// here). Writing a pid into `cgroup.procs` moves that process.
pub fn move_process_at(path: &str, pid: i32) -> Result<()> {
    for dir in directories_at(path) {
        let procs = dir.join("cgroup.procs");
        fs::write(&procs, pid.to_string())
            .with_context(|| format!("cannot move process {pid} into {}", dir.display()))?;
    }
    Ok(())
}

/// Run a step of the student's: a todo!() panic becomes an error naming
/// it (the one-line report), so the caller decides what to do.
fn chapter_step<T>(step: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::course::exercise::catch_panic(step).map_err(anyhow::Error::msg)?
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
            v2::MEMORY_LIMIT
        } else {
            v1::MEMORY_LIMIT
        };
        let now: u64 = read(dir(Controllers::Mem)?.join(file))?
            .parse()
            .unwrap_or(0);
        let page = 4096;
        if now / page != bytes / page {
            bail!(
                "the kernel did not take the memory limit {bytes} (the cgroup's {file} is {now}: is the container using more than that already?)"
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

/// Every pid in the cgroup at `path`: its `cgroup.procs` (v1: in the
/// first controller's tree; every tree has the same processes).
pub fn pids_at(path: &str) -> Vec<i32> {
    let Some(dir) = directories_at(path).into_iter().next() else {
        return Vec::new();
    };
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Container `id`'s cgroup, if it exists.
pub fn existing(id: &str) -> Option<Cgroup> {
    existing_at(&path_of(id))
}

/// The cgroup at `path`, if it exists.
pub fn existing_at(path: &str) -> Option<Cgroup> {
    let group = Cgroup::load(hierarchy(), path);
    group.exists().then_some(group)
}

/// The directory of `cgroup` that holds `controller`'s files: in v2 the
/// cgroup's one directory, in v1 the one in that controller's tree.
pub fn directory(cgroup: &Cgroup, controller: Controllers) -> Option<PathBuf> {
    let hierarchy = hierarchy();
    let base = if hierarchy.v2() {
        hierarchy.root()
    } else {
        v1::mount_point(controller)?
    };
    Some(base.join(cgroup.path()))
}

/// Is every process of `cgroup` frozen?
pub fn is_frozen(cgroup: &Cgroup) -> bool {
    let Some(dir) = directory(cgroup, Controllers::Freezer) else {
        return false;
    };
    if cgroup.v2() {
        v2::is_frozen(&dir)
    } else {
        v1::is_frozen(&dir)
    }
}

/// How many times the kernel's OOM killer killed a process of `cgroup`.
pub fn oom_kills(cgroup: &Cgroup) -> u64 {
    let Some(dir) = directory(cgroup, Controllers::Mem) else {
        return 0;
    };
    let kills = if cgroup.v2() {
        v2::oom_kills(&dir)
    } else {
        v1::oom_kills(&dir)
    };
    kills.unwrap_or(0)
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
/// kernel adding up, and bocker reading. The memory in use is read by
/// part one's memory_usage; the rest by the frame.
pub fn usage(cgroup: &Cgroup) -> Result<Usage> {
    let memory_dir = directory(cgroup, Controllers::Mem);
    let mut usage = if cgroup.v2() {
        v2::usage(&memory_dir)
    } else {
        v1::usage(
            &memory_dir,
            &directory(cgroup, Controllers::CpuAcct),
            &directory(cgroup, Controllers::Pids),
        )
    };
    let memory_dir = memory_dir.context("this machine's cgroups have no memory controller")?;
    usage.memory = chapter_step(|| files::memory_usage(&memory_dir, cgroup.v2()))?;
    Ok(usage)
}

/// The number after `key` in a file of "key value" lines.
fn counter(path: &std::path::Path, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::chapter::weight_of;

    #[test]
    fn weight_of_keeps_the_landmarks_and_rounds_up_as_runc_does() {
        assert_eq!(weight_of(2), 1);
        assert_eq!(weight_of(1024), 100, "v1's default is v2's default");
        assert_eq!(weight_of(262_144), 10_000);
        assert_eq!(weight_of(512), 59, "58.17, rounded up");
        assert_eq!(weight_of(2048), 174, "173.2, rounded up");
    }
}
