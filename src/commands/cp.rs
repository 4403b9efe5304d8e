//! `bocker cp CONTAINER:PATH HOST_PATH` and `bocker cp HOST_PATH
//! CONTAINER:PATH`: copy files out of a container or into it.
//!
//! The container's files are its own, and it may be running: any path
//! inside it may be a symlink, or become one, that points at the host's
//! files (`/leak -> /etc/shadow`). Followed from the host, such a link
//! would make `cp` read the host's secret, or write where the container
//! could never reach (runc's and Docker's `cp` had such holes). So the
//! container side is opened only with openat2(2) and RESOLVE_IN_ROOT: the
//! kernel resolves the path as if the container's root were `/`, every
//! symlink included, and can never step out of it. What is below that
//! point is copied through descriptors with O_NOFOLLOW (storage/copy.rs):
//! a link is copied as a link, never followed. The host side is the
//! user's own, and is taken as given.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, Mode, SFlag};

use crate::errors::{Failure, USAGE};
use crate::runtime::mapped_root::with_the_containers_ids;
use crate::state::Store;
use crate::storage::copy::copy_into;
use crate::storage::rootfs::{fd_folder, open_inside};

pub fn cp(store: &Store, source: &str, destination: &str) -> Result<u8> {
    let (from, to) = (side(store, source)?, side(store, destination)?);
    let copied = match (from, to) {
        (Side::Container(rootfs, inside), Side::Host(host)) => {
            with_the_containers_ids(|| copy_out(&rootfs, &inside, &host))
        }
        (Side::Host(host), Side::Container(rootfs, inside)) => {
            with_the_containers_ids(|| copy_in(&host, &rootfs, &inside))
        }
        _ => bail!(Failure::new(
            USAGE,
            "cp copies between a container and the host: one of the two paths must be CONTAINER:PATH"
        )),
    };
    copied?;
    Ok(0)
}

enum Side {
    Host(PathBuf),
    /// The container's root on the host, and a path inside it.
    Container(PathBuf, PathBuf),
}

/// `NAME:PATH` names a container's path if NAME is a container; anything
/// else is a path on the host.
fn side(store: &Store, text: &str) -> Result<Side> {
    if let Some((name, path)) = text.split_once(':') {
        if let Ok(container) = store.container(name) {
            let inside = Path::new(path);
            if !inside.is_absolute() {
                bail!(Failure::new(
                    USAGE,
                    format!("'{path}': a path in the container must be absolute")
                ));
            }
            let rootfs = store.container_paths(&container.id).rootfs;
            return Ok(Side::Container(rootfs, inside.to_path_buf()));
        }
    }
    Ok(Side::Host(PathBuf::from(text)))
}

/// `/proc/self/fd/N`: the path that leads to exactly what `fd` holds.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn file_type(fd: &OwnedFd) -> Result<SFlag> {
    Ok(SFlag::from_bits_truncate(
        fstat(fd)?.st_mode & SFlag::S_IFMT.bits(),
    ))
}

/// Where a copy of something called `name` goes for the destination
/// `to`: into it if it is a folder that exists (as cp(1) does), else `to`.
fn target_on_host(to: &Path, name: &Path) -> PathBuf {
    match name.file_name() {
        Some(base) if to.is_dir() => to.join(base),
        _ => to.to_path_buf(),
    }
}

fn copy_out(rootfs: &Path, inside: &Path, to: &Path) -> Result<()> {
    let source = open_inside(rootfs, inside, OFlag::O_PATH)?;
    let target = target_on_host(to, inside);
    match file_type(&source)? {
        SFlag::S_IFDIR => {
            std::fs::create_dir(&target)
                .with_context(|| format!("cannot create {}", target.display()))?;
            return copy_into(&fd_folder(&source), &target, &[]);
        }
        SFlag::S_IFREG => {}
        // A fifo would make the read wait for ever; a device node would
        // read the host's device.
        _ => bail!(Failure::new(
            1,
            format!("{} is not a regular file or a folder", inside.display())
        )),
    }
    // Opened again through /proc/self/fd: the very file just looked at,
    // not the path resolved a second time (which the container may have
    // changed meanwhile).
    let reader = nix::fcntl::open(
        &fd_path(&source),
        OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot read {} in the container", inside.display()))?;
    let mut reader = File::from(reader);
    let mode = reader.metadata()?.permissions();
    let mut writer =
        File::create(&target).with_context(|| format!("cannot write {}", target.display()))?;
    std::io::copy(&mut reader, &mut writer)?;
    writer.set_permissions(mode)?;
    Ok(())
}

fn copy_in(from: &Path, rootfs: &Path, inside: &Path) -> Result<()> {
    let source =
        std::fs::metadata(from).with_context(|| format!("cannot read {}", from.display()))?;
    // Into a folder that exists inside: under the source's own name.
    let inside = match open_inside(rootfs, inside, OFlag::O_PATH | OFlag::O_DIRECTORY) {
        Ok(_) => inside.join(from.file_name().context("the host path has no name")?),
        Err(_) => inside.to_path_buf(),
    };
    let name = match inside.components().next_back() {
        Some(Component::Normal(name)) => name.to_os_string(),
        _ => bail!(Failure::new(
            USAGE,
            format!("'{}': no file name to copy to", inside.display())
        )),
    };
    let parent = inside.parent().unwrap_or(Path::new("/"));
    let parent_fd = open_inside(rootfs, parent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
    let target = fd_path(&parent_fd).join(&name);
    if source.is_dir() {
        // mkdir never follows a symlink that is there already: it fails.
        std::fs::create_dir(&target)
            .or_else(|error| match error.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(error),
            })
            .with_context(|| format!("cannot create {} in the container", inside.display()))?;
        let made = open_inside(
            rootfs,
            &inside,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        )?;
        return copy_into(from, &fd_folder(&made), &[]);
    }
    let mut reader = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    // O_NOFOLLOW: a symlink the container left at the name is refused,
    // never written through.
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&target)
        .with_context(|| {
            format!(
                "cannot write {} in the container (a symlink there is not followed)",
                inside.display()
            )
        })?;
    std::io::copy(&mut reader, &mut writer)?;
    writer.set_permissions(source.permissions())?;
    Ok(())
}
