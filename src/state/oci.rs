//! The containers made through the OCI runtime interface (`bocker
//! create`, as podman and containerd call it): one directory each under
//! `ROOT/oci/`, apart from Bocker's own containers, since an engine owns
//! their images, names and logs.
//!
//! ```text
//!   ROOT/oci/ID/state.json   what `state` needs: pid, bundle, cgroup
//!   ROOT/oci/ID/exec.fifo    while created: `start` writes a byte into
//!                            it, and the waiting process goes on to execve
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::records::{self, Durability};
use crate::errors::{Failure, USAGE};
use crate::spec::{Limits, ProcessId};

/// One OCI container, as written down.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OciRecord {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// The container's process: none until `create` has made it.
    pub process: Option<ProcessId>,
    /// Its cgroup, relative to the hierarchy's root.
    pub cgroup_path: String,
    pub annotations: BTreeMap<String, String>,
    /// Nanoseconds since the epoch.
    pub created: u64,
    /// The limits its cgroup has now (`update` changes them).
    #[serde(default)]
    pub limits: Limits,
    /// Memory and swap together, where swap is allowed (-1: no limit).
    #[serde(default)]
    pub memory_swap: Option<i64>,
    /// config.json's hooks: `start` runs poststart, `delete` poststop.
    #[serde(default)]
    pub hooks: crate::spec::hooks::Hooks,
    /// Whether it has a user namespace of its own (`exec` joins it too).
    #[serde(default)]
    pub user_namespace: bool,
}

/// The OCI containers of one state root.
pub struct OciStore {
    dir: PathBuf,
}

impl OciStore {
    /// `root`/oci. Nothing is made until a container is (`make_dir`).
    pub fn open(root: &Path) -> OciStore {
        OciStore {
            dir: root.join("oci"),
        }
    }

    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub fn fifo_of(&self, id: &str) -> PathBuf {
        self.dir_of(id).join("exec.fifo")
    }

    /// Make container `id`'s directory; refused if it exists.
    pub fn make_dir(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        // Only root may look inside.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let dir = self.dir_of(id);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!(Failure::new(
                    USAGE,
                    format!("container {id} already exists")
                ))
            }
            Err(e) => Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }

    pub fn write(&self, record: &OciRecord) -> Result<()> {
        records::write_atomically(
            &self.dir_of(&record.id).join("state.json"),
            record,
            Durability::Crash,
        )
    }

    /// Container `id`'s record; a clear error if there is none.
    pub fn read(&self, id: &str) -> Result<OciRecord> {
        check_id(id)?;
        let path = self.dir_of(id).join("state.json");
        if !path.exists() {
            bail!(Failure::new(
                USAGE,
                format!("container {id} does not exist")
            ));
        }
        records::read(&path)
    }

    /// Forget container `id`: its directory goes.
    pub fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        match fs::remove_dir_all(self.dir_of(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove the state of {id}"))
            }
            _ => Ok(()),
        }
    }
}

/// An id names a directory: letters, digits and `_ + - .` only (runc's
/// rule), never `.` or `..`.
pub fn check_id(id: &str) -> Result<()> {
    let fine = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if !fine {
        bail!(Failure::new(
            USAGE,
            format!(
                "invalid container id '{}': letters, digits and _ + - . only",
                crate::escape::printable(id)
            )
        ));
    }
    Ok(())
}
