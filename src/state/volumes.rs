//! Named volumes: `volumes/NAME/_data` in the state directory, the folder
//! a container mounts for `-v NAME:/path`, and `volumes/NAME/volume.json`,
//! its record (Docker's layout, and its `local` driver: a folder).
//!
//! A volume is made under a hidden name and renamed into place, so that a
//! bocker killed on the way leaves no half volume (the next `create`
//! makes it again); two bockers making the same volume at once both get
//! it, as Docker's `volume create` of an existing name does.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::records::{self, Durability};
use crate::errors::{Failure, USAGE};
use crate::spec::volumes::is_volume_name;

/// `volumes/NAME/volume.json`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    /// Nanoseconds since the Unix epoch.
    pub created: u64,
}

/// The volumes of the state directory `root`.
pub struct Volumes {
    dir: PathBuf,
}

impl Volumes {
    pub fn new(root: &Path) -> Volumes {
        Volumes {
            dir: root.join("volumes"),
        }
    }

    /// The folder a container mounts for volume `name`.
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    pub fn exists(&self, name: &str) -> bool {
        is_volume_name(name) && self.dir.join(name).join("volume.json").is_file()
    }

    /// Make volume `name` if it does not exist yet; whether it was made now.
    pub fn create(&self, name: &str) -> Result<bool> {
        if !is_volume_name(name) {
            bail!(Failure::new(
                USAGE,
                format!("invalid volume name '{name}': letters, digits, '_', '.' and '-', starting with a letter or digit")
            ));
        }
        if self.exists(name) {
            return Ok(false);
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&self.dir)
            .with_context(|| format!("cannot make {}", self.dir.display()))?;
        let draft = self.dir.join(format!(".new-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&draft);
        fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(draft.join("_data"))
            .with_context(|| format!("cannot make {}", draft.display()))?;
        let record = VolumeRecord {
            name: name.to_string(),
            created: records::now(),
        };
        records::write_atomically(&draft.join("volume.json"), &record, Durability::PowerCut)?;
        match fs::rename(&draft, self.dir.join(name)) {
            Ok(()) => Ok(true),
            // Made meanwhile by another bocker: theirs is the volume.
            Err(_) if self.exists(name) => {
                let _ = fs::remove_dir_all(&draft);
                Ok(false)
            }
            Err(error) => {
                let _ = fs::remove_dir_all(&draft);
                Err(error).with_context(|| format!("cannot make the volume {name}"))
            }
        }
    }

    pub fn record(&self, name: &str) -> Result<VolumeRecord> {
        if !self.exists(name) {
            bail!(Failure::new(1, format!("No such volume: {name}")));
        }
        records::read(&self.dir.join(name).join("volume.json"))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Vec<VolumeRecord> {
        let mut found: Vec<VolumeRecord> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| self.record(entry.file_name().to_str()?).ok())
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// Delete volume `name` and its files (the caller checked that no
    /// container uses it): renamed aside first, so that it is gone in one
    /// step, then deleted with `delete` (the store's: without root, files
    /// of subordinate ids too).
    pub fn remove(&self, name: &str, delete: &dyn Fn(&Path) -> Result<()>) -> Result<()> {
        self.record(name)?;
        let trash = self
            .dir
            .join(format!(".trash-{}-{name}", std::process::id()));
        fs::rename(self.dir.join(name), &trash)
            .with_context(|| format!("cannot remove the volume {name}"))?;
        delete(&trash)
    }
}
