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
    prepare_parent_below(root, "", parent)
}

/// The same, leaving the levels above `top` alone: `top` (relative to
/// `root`; "" for the root itself) is the highest cgroup whose
/// `cgroup.subtree_control` is written. Without root that is the subtree
/// delegated to the user (mod.rs's `delegated_root`): above it the files
/// are root's, and what is enabled there is what the user gets.
pub fn prepare_parent_below(root: PathBuf, top: &str, parent: &str) -> Result<()> {
    let mut dir = root;
    for part in top.split('/').filter(|part| !part.is_empty()) {
        dir.push(part);
    }
    let available = fs::read_to_string(dir.join("cgroup.controllers"))
        .with_context(|| format!("cannot read the controllers of {}", dir.display()))?;
    let wanted: Vec<&str> = available
        .split_whitespace()
        .filter(|c| ["cpu", "memory", "pids", "cpuset", "io"].contains(c))
        .collect();
    // `top`, then each level down to the parent itself: the containers'
    // cgroups are the parent's children.
    enable_controllers(&dir, &wanted)?;
    let below = parent
        .strip_prefix(top)
        .unwrap_or(parent)
        .trim_start_matches('/');
    for part in below.split('/').filter(|part| !part.is_empty()) {
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
        memory: 0,                          // yours: files.rs, memory_usage
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

/// Limit the cgroup at `cgroup_path` to the devices `allowed`: load the
/// program devices.rs writes (bpf(2), BPF_PROG_LOAD, of type
/// BPF_PROG_TYPE_CGROUP_DEVICE), and attach it to the cgroup's directory
/// (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE). The attachment holds the program:
/// our descriptors can close, and it goes when the cgroup is removed.
#[cfg(feature = "stage8")]
pub fn restrict_devices(cgroup_path: &str, allowed: &[super::devices::Rule]) -> Result<()> {
    attach_devices_program(&Path::new("/sys/fs/cgroup").join(cgroup_path), allowed)
}

/// Load the devices program and attach it to the cgroup at `dir`.
#[cfg(feature = "stage8")]
fn attach_devices_program(dir: &Path, allowed: &[super::devices::Rule]) -> Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let program = super::devices::v2_program(allowed);
    let license = c"GPL";
    let load = ProgramLoad {
        program_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        instruction_count: program.len() as u32,
        instructions: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgramLoad::default()
    };
    let loaded = bpf(BPF_PROG_LOAD, &load)
        .context("cannot load the devices program (bpf(2), BPF_PROG_LOAD)")?;
    // SAFETY: bpf(2) returned a new descriptor, ours alone.
    let program_fd = unsafe { OwnedFd::from_raw_fd(loaded) };
    let cgroup =
        std::fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let attach = ProgramAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        program_fd: program_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        flags: 0,
    };
    bpf(BPF_PROG_ATTACH, &attach).with_context(|| {
        format!(
            "cannot attach the devices program to {} (bpf(2), BPF_PROG_ATTACH)",
            dir.display()
        )
    })?;
    Ok(())
}

// From <linux/bpf.h>: the two commands, the program's type, where it is
// attached. (The libc crate does not carry bpf(2)'s types.)
#[cfg(feature = "stage8")]
const BPF_PROG_LOAD: libc::c_long = 5;
#[cfg(feature = "stage8")]
const BPF_PROG_ATTACH: libc::c_long = 8;
#[cfg(feature = "stage8")]
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
#[cfg(feature = "stage8")]
const BPF_CGROUP_DEVICE: u32 = 6;

/// The start of `union bpf_attr` as BPF_PROG_LOAD reads it. bpf(2) takes
/// the size we pass: the fields after these count as zero.
#[cfg(feature = "stage8")]
#[derive(Default)]
#[repr(C)]
struct ProgramLoad {
    program_type: u32,
    instruction_count: u32,
    /// Pointers, as 64-bit numbers.
    instructions: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buffer: u64,
}

/// `union bpf_attr` as BPF_PROG_ATTACH reads it.
#[cfg(feature = "stage8")]
#[repr(C)]
struct ProgramAttach {
    target_fd: u32,
    program_fd: u32,
    attach_type: u32,
    flags: u32,
}

/// bpf(2): the new descriptor, or 0, or the error.
#[cfg(feature = "stage8")]
fn bpf<T>(command: libc::c_long, attributes: &T) -> std::io::Result<i32> {
    // SAFETY: `attributes` is a live #[repr(C)] struct of the layout the
    // command reads, and its size is passed; the kernel copies it, and
    // reads the instructions and the license it points at during the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attributes as *const T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if result < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(result as i32)
}
