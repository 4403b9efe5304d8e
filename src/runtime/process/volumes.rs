//! `-v`, `--tmpfs` and `--read-only` (spec/volumes.rs), in the child.
//!
//! The mounts go below the container's root after chapter 3 has made the
//! mount tree private and before its pivot_root, while the host's paths
//! are still in reach; they are made as the OCI runtime makes
//! config.json's (runtime/oci/mounts.rs), which walks each path inside
//! the root one component at a time and mounts onto a descriptor: a
//! symlink the image planted (`/data -> /etc`) leads inside the image,
//! never to the host's /etc (runc's CVE-2021-30465). `--read-only` comes
//! last, once chapter 3's own mounts are made: only `/` is remounted
//! read-only; /proc, /dev, /tmp and the volumes are mounts of their own.

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{mount, MsFlags};

use crate::runtime::oci::bundle::MountSpec;
use crate::runtime::oci::mounts::{mount_inside, CgroupView};
use crate::spec::volumes::{Volume, VolumeSource};

/// Mount `volumes` below `rootfs` (before pivot_root).
pub fn mount_all(rootfs: &Path, volumes: &[Volume]) -> Result<()> {
    // Volumes are binds and tmpfs: no cgroup filesystem among them.
    let cgroups = CgroupView {
        own_namespace: false,
    };
    for volume in volumes {
        mount_inside(rootfs, &spec_of(volume), &cgroups)
            .with_context(|| format!("cannot mount the volume {}", volume.target.display()))?;
    }
    Ok(())
}

/// A volume as config.json would give it.
fn spec_of(volume: &Volume) -> MountSpec {
    let read_only = if volume.read_only {
        MsFlags::MS_RDONLY
    } else {
        MsFlags::empty()
    };
    let bind = |source: Option<&Path>| MountSpec {
        destination: volume.target.clone(),
        kind: "bind".to_string(),
        source: source.map(Path::to_path_buf),
        flags: MsFlags::MS_BIND | MsFlags::MS_REC | read_only,
        propagation: MsFlags::empty(),
        data: String::new(),
    };
    match &volume.source {
        VolumeSource::Bind(host) => bind(Some(host)),
        // A named volume is a bind of its folder by now (runtime/config.rs
        // resolves the name); without one, mount_inside says so.
        VolumeSource::Named(_) => bind(None),
        // Docker's tmpfs: no set-user-ID programs, no device nodes.
        VolumeSource::Tmpfs(options) => MountSpec {
            destination: volume.target.clone(),
            kind: "tmpfs".to_string(),
            source: None,
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | read_only,
            propagation: MsFlags::empty(),
            data: options.clone(),
        },
    }
}

/// `--read-only`, after pivot_root: remount `/` read-only. A bind mount's
/// flags change with MS_REMOUNT | MS_BIND; the flags it has already
/// (nosuid, nodev, noexec) are kept, since in a user namespace the kernel
/// refuses to drop them (they are locked).
pub fn make_root_read_only() -> Result<()> {
    let kept = super::mount_flags::of_mount_at("/");
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | kept;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .context("cannot make the root read-only")
}
