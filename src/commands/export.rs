//! `bocker export CONTAINER [-o FILE]`: the container's files as one tar
//! stream (Docker's export: the files only, no image config, no layers).
//!
//! A running container is paused meanwhile (its cgroup frozen, as for
//! `commit`): it cannot swap a folder for a symlink while bocker walks
//! its tree. The walk never follows a symlink: a link is stored as a link,
//! whatever it points to. Without root, from chapter 9, the tree is read
//! as root of a user namespace mapped like the container's
//! (runtime/mapped_root.rs): files of its other users are readable there.
//! `-o FILE` is written under another name and renamed when whole: a
//! killed export leaves no half tar under FILE.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::commit::paused_while;
use crate::errors::Failure;
use crate::runtime::mapped_root::with_the_containers_ids;
use crate::state::Store;

pub fn export(store: &Store, wanted: &str, output: Option<&Path>) -> Result<u8> {
    let container = store.container(wanted)?;
    if output.is_none() && std::io::stdout().is_terminal() {
        bail!(Failure::new(
            1,
            "refusing to write a tar to a terminal: use -o FILE, or redirect the output"
        ));
    }
    let rootfs = store.container_paths(&container.id).rootfs;
    paused_while(&container, || {
        with_the_containers_ids(|| match output {
            Some(path) => write_file(&rootfs, path),
            None => write_tar(&rootfs, std::io::stdout().lock()),
        })
    })?;
    Ok(0)
}

/// The tar into `path`, through `path.part`.
fn write_file(rootfs: &Path, path: &Path) -> Result<()> {
    let mut part = PathBuf::from(path);
    part.as_mut_os_string().push(".part");
    let file = File::create(&part).with_context(|| format!("cannot write {}", part.display()))?;
    let written = write_tar(rootfs, file)
        .and_then(|()| std::fs::rename(&part, path).context("cannot rename the tar into place"));
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written
}

fn write_tar(rootfs: &Path, to: impl Write) -> Result<()> {
    let mut tar = tar::Builder::new(to);
    // Store symlinks as symlinks, never what they point to.
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Complete);
    tar.append_dir_all("", rootfs)
        .with_context(|| format!("cannot read {}", rootfs.display()))?;
    tar.into_inner()?.flush()?;
    Ok(())
}
