//! config.json's `mounts`, made inside the container's root before
//! pivot_root.
//!
//! The destination is a path *inside* the image, and the image is not to
//! be trusted: `/proc` there may be a symlink to `/etc` of the host, or
//! become one while bocker looks (runc's CVE-2021-30465 was such a race).
//! So bocker never mounts onto a path string below the root. It opens the
//! destination one component at a time below the root, reading symlinks
//! itself and walking their targets inside the root (as if the container's
//! root were `/`), creates what is missing below a directory already
//! opened, and mounts onto the descriptor (`/proc/self/fd/N` names
//! exactly the inode the descriptor holds). To open a mount again, it
//! uses openat2(2) with RESOLVE_IN_ROOT (Linux 5.6), which resolves the
//! same way in the kernel.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode, SFlag};

use super::bundle::MountSpec;

/// Make `mount` below `rootfs` (a directory of the host, already a mount
/// point in the container's mount namespace).
pub fn mount_inside(rootfs: &Path, spec: &MountSpec, cgroups: &CgroupView) -> Result<()> {
    let root = nix::fcntl::open(rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
        .with_context(|| format!("cannot open {}", rootfs.display()))?;
    let destination = spec.destination.display();
    // A file bound onto a file needs a file to cover; anything else a
    // directory.
    let file = spec.is_bind()
        && spec
            .source
            .as_ref()
            .is_some_and(|source| source.metadata().is_ok_and(|m| !m.is_dir()));
    let target = open_or_create(&root, &spec.destination, file)
        .with_context(|| format!("cannot make the mount point {destination}"))?;
    let at = fd_path(&target);
    if spec.is_bind() {
        let source = spec
            .source
            .as_deref()
            .context("a bind mount without a source")?;
        bind(&root, &spec.destination, &target, source, spec.flags)?;
    } else {
        let kind = spec.kind.as_str();
        if kind == "cgroup" {
            return mount_cgroups(&root, &target, spec, cgroups);
        }
        let data = (!spec.data.is_empty()).then_some(spec.data.as_str());
        let source = spec
            .source
            .as_deref()
            .map(Path::as_os_str)
            .unwrap_or(kind.as_ref());
        mount(Some(source), at.as_str(), Some(kind), spec.flags, data)
            .with_context(|| format!("cannot mount {kind} on {destination}"))?;
    }
    if !spec.propagation.is_empty() {
        let mounted = reopen(&root, spec)?;
        mount(
            None::<&str>,
            fd_path(&mounted).as_str(),
            None::<&str>,
            spec.propagation,
            None::<&str>,
        )
        .with_context(|| format!("cannot set the propagation of {destination}"))?;
    }
    Ok(())
}

/// The mount just made: the destination opened again, which now gives the
/// new mount's root, not the directory under it.
fn reopen(root: &OwnedFd, spec: &MountSpec) -> Result<OwnedFd> {
    resolve(root, &spec.destination)
        .with_context(|| format!("cannot open {} again", spec.destination.display()))
}

/// `/proc/self/fd/N`: the path that leads to what descriptor N holds.
fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// `path` below `root`, symlinks resolved inside the root (O_PATH: a
/// handle, nothing is read or written through it).
fn resolve(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(root.as_fd(), relative(path), how)
}

/// `/a/b` → `a/b` (RESOLVE_IN_ROOT takes either; this keeps it plain).
fn relative(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}

/// Open `path` below `root`, making each missing directory (and, with
/// `file`, an empty file as the last component), as runc does: one
/// component at a time, each opened without following it (O_NOFOLLOW)
/// below a directory already open inside the root. A symlink met on the
/// way is read and its target walked instead, from the root if it is
/// absolute: the image's `/escape -> /home` leads to the image's /home,
/// made if missing, never the host's.
fn open_or_create(root: &OwnedFd, path: &Path, file: bool) -> Result<OwnedFd> {
    let mut pending: VecDeque<OsString> = components(path);
    let mut here = resolve(root, Path::new("."))?;
    let mut here_path = PathBuf::new();
    let mut links_followed = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            here_path.pop();
            here = resolve(root, &here_path)?;
            continue;
        }
        let last = pending.is_empty();
        let child = match open_no_follow(&here, &name) {
            Ok(child) => child,
            Err(Errno::ENOENT) => {
                let made = if last && file {
                    nix::fcntl::openat(
                        &here,
                        name.as_os_str(),
                        OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_WRONLY
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                } else {
                    mkdirat(&here, name.as_os_str(), Mode::from_bits_truncate(0o755))
                };
                match made {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(error) => bail!(
                        "cannot create {}: {}",
                        here_path.join(&name).display(),
                        error.desc()
                    ),
                }
                open_no_follow(&here, &name)?
            }
            Err(error) => return Err(error.into()),
        };
        let kind = nix::sys::stat::fstat(&child)?.st_mode & SFlag::S_IFMT.bits();
        if kind == SFlag::S_IFLNK.bits() {
            links_followed += 1;
            if links_followed > 40 {
                bail!("{}: too many symlinks", path.display());
            }
            let target = nix::fcntl::readlinkat(&here, name.as_os_str())?;
            let target = Path::new(&target);
            let mut rest = components(target);
            rest.extend(pending.drain(..));
            pending = rest;
            if target.is_absolute() {
                here = resolve(root, Path::new("."))?;
                here_path = PathBuf::new();
            }
            continue;
        }
        here = child;
        here_path.push(&name);
    }
    let kind = nix::sys::stat::fstat(&here)?.st_mode & SFlag::S_IFMT.bits();
    if file && kind == SFlag::S_IFDIR.bits() {
        bail!("{} is a directory, and the source a file", path.display());
    }
    Ok(here)
}

/// One component, below `dir`, not followed if it is a symlink.
fn open_no_follow(dir: &OwnedFd, name: &OsStr) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// The normal components of `path` (`/`, `.` dropped; `..` kept).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|part| match part {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// What a `cgroup` mount shows: the container's cgroups, seen from its
/// own cgroup namespace (a fresh mount shows them as the root), or from
/// the host's (then the process's own directory of each hierarchy, as
/// /proc/self/cgroup names it, is bound instead, as runc does: a fresh
/// mount would show the whole host's tree).
pub struct CgroupView {
    pub own_namespace: bool,
}

/// A `cgroup` mount: the container's own cgroups, as the host has them.
/// On a v2 host one cgroup2 filesystem. On a v1 host a tmpfs with one
/// mount per hierarchy of the host's (`memory`, `cpu`, `name=systemd`…).
fn mount_cgroups(
    root: &OwnedFd,
    target: &OwnedFd,
    spec: &MountSpec,
    view: &CgroupView,
) -> Result<()> {
    let destination = spec.destination.display();
    let hierarchies = v1_hierarchies();
    if hierarchies.is_empty() {
        let host = Path::new("/sys/fs/cgroup");
        return mount_one_hierarchy(
            root,
            &spec.destination,
            target,
            spec.flags,
            ("cgroup2", None),
            host,
            view,
        )
        .with_context(|| format!("cannot mount the cgroups on {destination}"));
    }
    let writable = spec.flags & !MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        fd_path(target).as_str(),
        Some("tmpfs"),
        writable,
        Some("mode=755"),
    )
    .with_context(|| format!("cannot mount a tmpfs on {destination}"))?;
    for (name, options, version_2) in &hierarchies {
        let inside = spec.destination.join(name);
        let dir = open_or_create(root, &inside, false)?;
        let kind = if *version_2 { "cgroup2" } else { "cgroup" };
        let data = (!*version_2).then_some(options.as_str());
        let host = Path::new("/sys/fs/cgroup").join(name);
        mount_one_hierarchy(root, &inside, &dir, spec.flags, (kind, data), &host, view)
            .with_context(|| format!("cannot mount the {name} cgroups on {}", inside.display()))?;
        // `cpu,cpuacct` is also reached as `cpu` and `cpuacct`.
        if name.contains(',') {
            let tmpfs = reopen(root, spec)?;
            for part in name.split(',') {
                let _ = nix::unistd::symlinkat(name.as_str(), &tmpfs, part);
            }
        }
    }
    if spec.flags.contains(MsFlags::MS_RDONLY) {
        let tmpfs = reopen(root, spec)?;
        let flags = MsFlags::MS_REMOUNT | spec.flags;
        mount(
            None::<&str>,
            fd_path(&tmpfs).as_str(),
            None::<&str>,
            flags,
            Some("mode=755"),
        )
        .with_context(|| format!("cannot make {destination} read-only"))?;
    }
    Ok(())
}

/// One hierarchy at `target` (`inside` the root): a fresh mount of
/// `filesystem` (type, options) in the container's cgroup namespace; else
/// its directory in the host's `host` tree, bound (and made read-only
/// with `ro`).
fn mount_one_hierarchy(
    root: &OwnedFd,
    inside: &Path,
    target: &OwnedFd,
    flags: MsFlags,
    filesystem: (&str, Option<&str>),
    host: &Path,
    view: &CgroupView,
) -> Result<()> {
    let (kind, data) = filesystem;
    let at = fd_path(target);
    if view.own_namespace {
        return Ok(mount(Some(kind), at.as_str(), Some(kind), flags, data)?);
    }
    // The process's own cgroup in this hierarchy: `ID:CONTROLLERS:PATH`
    // lines of /proc/self/cgroup (CONTROLLERS empty for v2).
    let controllers = if kind == "cgroup2" {
        ""
    } else {
        data.unwrap_or("")
    };
    let own = std::fs::read_to_string("/proc/self/cgroup")?
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            fields.next();
            Some((fields.next()?, fields.next()?))
        })
        .find(|(listed, _)| *listed == controllers)
        .map(|(_, path)| path.trim_start_matches('/').to_string())
        .with_context(|| format!("/proc/self/cgroup has no line for {kind} {controllers}"))?;
    bind(root, inside, target, &host.join(own), flags)
}

/// Bind `source` onto `target` (`inside` the root), then give the bind
/// `flags`: a new bind takes none but MS_REC, so a remount sets the rest
/// (ro, nosuid…), on the bind itself — opened again by its path, since
/// `target` still holds the directory under it.
fn bind(
    root: &OwnedFd,
    inside: &Path,
    target: &OwnedFd,
    source: &Path,
    flags: MsFlags,
) -> Result<()> {
    let recursive = flags & MsFlags::MS_REC;
    mount(
        Some(source),
        fd_path(target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND | recursive,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind {} onto {}", source.display(), inside.display()))?;
    let rest = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    if !rest.is_empty() {
        let bound = resolve(root, inside)?;
        // What the bind has already stays (nosuid, nodev, noexec: in a user
        // namespace the kernel refuses to drop the host's); ro only if asked.
        let at = fd_path(&bound);
        let kept = crate::runtime::process::mount_flags::of_mount_at(&at) - MsFlags::MS_RDONLY;
        let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | rest | kept;
        mount(
            None::<&str>,
            at.as_str(),
            None::<&str>,
            remount,
            None::<&str>,
        )
        .with_context(|| format!("cannot remount {} with its options", inside.display()))?;
    }
    Ok(())
}

/// The host's cgroup hierarchies under /sys/fs/cgroup, if it has v1 ones:
/// (directory name, mount options naming the controllers, is it the v2
/// one of a hybrid host). Empty on a v2-only host.
fn v1_hierarchies() -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found = Vec::new();
    for line in text.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS … - TYPE SOURCE SUPER_OPTIONS
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split_whitespace().nth(4).unwrap_or("");
        let mut right = right.split_whitespace();
        let (kind, super_options) = (right.next().unwrap_or(""), right.nth(1).unwrap_or(""));
        let Some(name) = mount_point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        let options: Vec<&str> = super_options
            .split(',')
            .filter(|option| !matches!(*option, "rw" | "ro"))
            .collect();
        match kind {
            "cgroup" => found.push((name.to_string(), options.join(","), false)),
            "cgroup2" => found.push((name.to_string(), String::new(), true)),
            _ => {}
        }
    }
    if found.iter().all(|(_, _, version_2)| *version_2) {
        return Vec::new();
    }
    found
}
