//! Chapter 8: what a container may do, and the order in which the limits
//! are put on.
//!
//! ```text
//! child, still root with every capability
//!   mounts: /proc, /dev, /sys (chapter 3), then masked and read-only paths
//!   (the cgroup and the network were set up from the outside already)
//!   capabilities dropped to the default set          ─┐ what the process
//!   the image's user (setuid: a non-root user keeps   │ can do from now on
//!     no capabilities at all)                         │
//!   no_new_privs: execve never grants more           ─┘
//!   seccomp filter: the calls that remain dangerous, last: it would
//!     refuse the mounts above
//!   execve(command)
//! ```
//!
//! The chapter's functions do each step (`chapter`, below);
//! this module decides which apply (`--cap-add`, `--privileged`,
//! `--security-opt`) and calls them in this order, for `run`, `exec` and
//! the command of `run --init`.

/// Chapter 8: capabilities, no_new_privs, seccomp, masked paths: each step
/// of locking the container in. Compiled from your exercise,
/// `chapters/08-security/security.rs`, or with feature `solved8` from
/// `solutions/`. (`path` is relative to this folder, `src/runtime/security/`.)
#[cfg_attr(
    not(feature = "solved8"),
    path = "../../../chapters/08-security/security.rs"
)]
#[cfg_attr(
    feature = "solved8",
    path = "../../../solutions/08-security/security.rs"
)]
pub mod chapter;
pub mod seccomp;

use std::collections::HashSet;
use std::str::FromStr;

use anyhow::{bail, Result};
use caps::{CapSet, Capability, CapsHashSet};
use nix::mount::MsFlags;
use serde::{Deserialize, Serialize};

use crate::course::exercise;
use crate::errors::{Failure, START_FAILED, USAGE};
use crate::spec::seccomp::SeccompProfile;
pub use crate::spec::SecurityOptions;

/// Docker's default capabilities: what a root process in a container
/// keeps. Everything else (SYS_ADMIN, SYS_MODULE, NET_ADMIN,
/// DAC_READ_SEARCH, SYS_PTRACE, …) is gone.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

/// Files and directories of the kernel that tell too much about the host
/// or let a process act on it: hidden (a file reads empty, a directory is
/// an empty read-only tmpfs).
pub const MASKED_PATHS: [&str; 13] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/sysrq-trigger",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Kernel settings a container may read but never write: /proc/sys holds
/// the whole machine's (core_pattern, which names a program the kernel
/// runs *on the host* when a process dumps core, among them).
pub const READ_ONLY_PATHS: [&str; 4] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"];

/// What the child does, worked out by the parent from the options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The capabilities kept (names, CAP_…).
    pub capabilities: Vec<String>,
    /// Only the devices of a minimal /dev may be opened (v1 cgroups).
    pub devices_limited: bool,
    pub hide_kernel_files: bool,
    pub no_new_privs: bool,
    /// The seccomp profile to apply (bocker's default, or the one given
    /// with --security-opt seccomp=FILE); none: unconfined.
    pub seccomp: Option<SeccompProfile>,
}

/// Read `run`'s flags; a clear usage error for a bad one.
pub fn options_from_flags(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
    security_opt: &[String],
) -> Result<SecurityOptions> {
    for name in cap_add.iter().chain(cap_drop) {
        capabilities_named(name)?;
    }
    let mut options = SecurityOptions {
        cap_add: cap_add.to_vec(),
        cap_drop: cap_drop.to_vec(),
        privileged,
        ..SecurityOptions::default()
    };
    for option in security_opt {
        match option.as_str() {
            "no-new-privileges=false" => options.new_privileges_allowed = true,
            "no-new-privileges" | "no-new-privileges=true" => {
                options.new_privileges_allowed = false
            }
            "seccomp=unconfined" => options.seccomp_unconfined = true,
            other if other.starts_with("seccomp=") => {
                options.seccomp_profile = Some(read_seccomp_profile(&other["seccomp=".len()..])?)
            }
            other => bail!(Failure::new(
                USAGE,
                format!(
                    "unknown --security-opt '{}': bocker knows no-new-privileges=true|false, \
                         seccomp=unconfined and seccomp=FILE",
                    crate::escape::printable(other)
                )
            )),
        }
    }
    Ok(options)
}

/// `--security-opt seccomp=FILE`: a profile in Docker's (or the OCI
/// runtime spec's) JSON, checked now so that a bad one is a usage error,
/// not a failed start.
fn read_seccomp_profile(path: &str) -> Result<SeccompProfile> {
    let refused = |why: String| {
        Failure::new(
            USAGE,
            format!(
                "--security-opt seccomp={}: {why}",
                crate::escape::printable(path)
            ),
        )
    };
    let text = std::fs::read(path).map_err(|e| refused(e.to_string()))?;
    let profile: SeccompProfile = serde_json::from_slice(&text)
        .map_err(|e| refused(format!("not a seccomp profile: {e}")))?;
    seccomp::check(&profile).map_err(refused)?;
    Ok(profile)
}

/// The profile `options` give, on a machine whose cgroups can
/// (`devices_controlled`) or cannot limit device access.
pub fn profile(options: &SecurityOptions, devices_controlled: bool) -> Profile {
    // What bocker itself holds: a container can never get more (some
    // machines give root less than every capability). Without root, the
    // container's root gets, inside its user namespace, what the bounding
    // set allows (runtime/userns.rs).
    let held_set = if crate::runtime::userns::rootless() {
        CapSet::Bounding
    } else {
        CapSet::Permitted
    };
    let held = caps::read(None, held_set).unwrap_or_default();
    let mut keep: CapsHashSet = if options.privileged {
        held.clone()
    } else {
        DEFAULT_CAPABILITIES.into_iter().collect()
    };
    for name in &options.cap_add {
        keep.extend(capabilities_named(name).unwrap_or_default());
    }
    for name in &options.cap_drop {
        for capability in capabilities_named(name).unwrap_or_default() {
            keep.remove(&capability);
        }
    }
    if !options.privileged && !devices_controlled {
        // A machine whose cgroups cannot limit devices (v1 without its
        // `devices` controller): a container that can mknod could make a
        // node for the host's disk and open it. No mknod, even when asked
        // for (after --cap-add, on purpose).
        keep.remove(&Capability::CAP_MKNOD);
    }
    keep.retain(|capability| held.contains(capability));
    let mut capabilities: Vec<String> = keep.iter().map(|c| c.to_string()).collect();
    capabilities.sort();
    Profile {
        capabilities,
        devices_limited: !options.privileged,
        hide_kernel_files: !options.privileged,
        no_new_privs: !options.privileged && !options.new_privileges_allowed,
        seccomp: (!options.privileged && !options.seccomp_unconfined).then(|| {
            options
                .seccomp_profile
                .clone()
                .unwrap_or_else(seccomp::default::profile)
        }),
    }
}

/// `NET_ADMIN`, `cap_net_admin`, `CAP_NET_ADMIN`, or `ALL`.
fn capabilities_named(name: &str) -> Result<HashSet<Capability>> {
    if name.eq_ignore_ascii_case("all") {
        return Ok(caps::runtime::thread_all_supported());
    }
    let canonical = caps::to_canonical(name);
    match Capability::from_str(&canonical) {
        Ok(capability) => Ok(HashSet::from([capability])),
        Err(_) => bail!(Failure::new(
            USAGE,
            format!(
                "unknown capability '{}' (names as in capabilities(7): NET_ADMIN, SYS_PTRACE, …)",
                crate::escape::printable(name)
            )
        )),
    }
}

/// Your code, in the child: any failure, an unfinished exercise included,
/// is a failed start.
fn yours(step: impl FnOnce() -> Result<()>) -> Result<(), Failure> {
    exercise::yours(START_FAILED, step).map_err(|error| Failure::start_failed(&error))
}

/// Step 1, in the container's new root, while still privileged: hide the
/// masked paths, make the read-only ones so, and let no device node of
/// the image's own files open.
pub fn hide_kernel_files(profile: &Profile) -> Result<(), Failure> {
    if !profile.hide_kernel_files {
        return Ok(());
    }
    // The image's files may hold device nodes (a layer or a copied
    // directory can carry a node for the host's disk). Where the devices
    // cgroup is missing (v2), nothing else would stop them opening: the
    // root is remounted nodev. /dev is a mount of its own (chapter 3), so
    // its nodes still work. (Its other flags stay: `--read-only`'s ro.)
    let kept = crate::runtime::process::mount_flags::of_mount_at("/");
    let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_NODEV | kept;
    nix::mount::mount(None::<&str>, "/", None::<&str>, remount, None::<&str>).map_err(|e| {
        Failure::new(
            START_FAILED,
            format!("cannot remount / nodev: {}", e.desc()),
        )
    })?;
    for path in MASKED_PATHS {
        yours(|| chapter::mask_path(path))?;
    }
    for path in READ_ONLY_PATHS {
        yours(|| chapter::make_read_only(path))?;
    }
    Ok(())
}

/// Step 2, right before execve: capabilities, the user (`become_user`,
/// chapter 7's WorkingDir and User), no_new_privs, seccomp.
pub fn lock_in(
    profile: &Profile,
    become_user: impl FnOnce() -> Result<(), Failure>,
) -> Result<(), Failure> {
    let filters = match &profile.seccomp {
        Some(seccomp) => exercise::catch_panic(|| seccomp::filters(seccomp, &profile.capabilities))
            .map_err(|report| Failure::new(START_FAILED, report))?
            .map_err(|e| Failure::start_failed(&e))?,
        None => Vec::new(),
    };
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it
    // now, while we have it (runc does the same).
    if !profile.no_new_privs {
        install(&filters)?;
    }
    let keep: CapsHashSet = profile
        .capabilities
        .iter()
        .filter_map(|name| Capability::from_str(name).ok())
        .collect();
    yours(|| chapter::drop_capabilities(&keep))?;
    become_user()?;
    if profile.no_new_privs {
        yours(chapter::set_no_new_privs)?;
        install(&filters)?;
    }
    Ok(())
}

/// Install each filter with seccomp(2), in order.
pub fn install(filters: &[seccomp::bpf::Filter]) -> Result<(), Failure> {
    for filter in filters {
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `program` points at `filter`'s instructions, alive for the
        // call; the kernel copies them and keeps no pointer.
        let result = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            )
        };
        if result != 0 {
            let error = std::io::Error::last_os_error();
            return Err(Failure::new(
                START_FAILED,
                format!("cannot install the seccomp filter: {error}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_the_profile() {
        let default = profile(&SecurityOptions::default(), true);
        assert_eq!(default.capabilities.len(), 14);
        assert!(default.no_new_privs && default.hide_kernel_files);
        assert_eq!(default.seccomp, Some(seccomp::default::profile()));
        assert!(!profile(&SecurityOptions::default(), false)
            .capabilities
            .contains(&"CAP_MKNOD".to_string()));
        let options = options_from_flags(
            &["net_admin".into()],
            &["CAP_CHOWN".into()],
            false,
            &[
                "seccomp=unconfined".into(),
                "no-new-privileges=false".into(),
            ],
        )
        .unwrap();
        let given = profile(&options, true);
        assert!(given.capabilities.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!given.capabilities.contains(&"CAP_CHOWN".to_string()));
        assert!(given.seccomp.is_none() && !given.no_new_privs && given.hide_kernel_files);
        assert!(options_from_flags(&["NOPE".into()], &[], false, &[]).is_err());
        assert!(options_from_flags(&[], &[], false, &["apparmor=x".into()]).is_err());
        assert!(options_from_flags(&[], &[], false, &["seccomp=/no/such/file".into()]).is_err());
    }
}
