//! The state directory: every image and container bocker knows about.
//!
//! ```text
//! /var/lib/bocker/                 (or --root DIR, or $BOCKER_ROOT)
//! ├── images/
//! │   └── img_3f9c0a1b2d4e/
//! │       ├── image.json           the record
//! │       └── rootfs/              the files of the image
//! └── containers/
//!     └── ps_81d2e4f0a9b7/
//!         ├── container.json       the record
//!         ├── container.log        everything the command printed
//!         └── rootfs/              the container's own copy of the image
//! ```
//!
//! A new image is built under a hidden name (`.tmp-PID-img_…`) and renamed
//! into place when complete, so `images` never lists half an image. A
//! removed entry is first renamed to `.trash-…` and then deleted. Leftovers
//! of a bocker that was killed midway are swept away the next time the store
//! is opened.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::errors::Failure;
use crate::ids;
use crate::records::{self, ContainerRecord, ImageRecord, Status};

pub struct Store {
    root: PathBuf,
}

/// Where a container lives on disk.
pub struct ContainerPaths {
    pub dir: PathBuf,
    pub record: PathBuf,
    pub rootfs: PathBuf,
    pub log: PathBuf,
}

impl Store {
    /// Open (and if needed create) the state directory.
    pub fn open(root: &Path) -> Result<Store> {
        for dir in [
            root.to_path_buf(),
            root.join("images"),
            root.join("containers"),
        ] {
            // 0700: images and containers may hold secrets; only root looks in.
            match fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(&dir)
            {
                Ok(()) => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot use state directory {}", dir.display()))
                }
            }
        }
        let store = Store {
            root: root.to_path_buf(),
        };
        store.sweep_leftovers();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn images_dir(&self) -> PathBuf {
        self.root.join("images")
    }

    fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    // ---------------------------------------------------------------- images

    /// Reserve a new image id and a hidden staging directory to fill.
    pub fn stage_image(&self) -> Result<(String, PathBuf)> {
        loop {
            let id = ids::new_id(ids::IMAGE_PREFIX)?;
            if self.images_dir().join(&id).exists() {
                continue;
            }
            let staging = self
                .images_dir()
                .join(format!(".tmp-{}-{id}", std::process::id()));
            match fs::DirBuilder::new().mode(0o700).create(&staging) {
                Ok(()) => return Ok((id, staging)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).context("cannot create a new image directory"),
            }
        }
    }

    /// Write the record into the staging directory and move it into place.
    pub fn commit_image(&self, staging: &Path, record: &ImageRecord) -> Result<()> {
        records::write_atomically(&staging.join("image.json"), record)?;
        fs::rename(staging, self.images_dir().join(&record.id))
            .context("cannot move the new image into place")
    }

    pub fn image_rootfs(&self, id: &str) -> PathBuf {
        self.images_dir().join(id).join("rootfs")
    }

    /// All complete images, oldest first.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let mut images: Vec<ImageRecord> = self
            .entries(&self.images_dir(), ids::IMAGE_PREFIX)?
            .into_iter()
            .filter_map(|dir| records::read(&dir.join("image.json")).ok())
            .collect();
        images.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(images)
    }

    /// The image called `id`, or Bocker's message if there is none.
    pub fn image(&self, id: &str) -> Result<ImageRecord> {
        let path = self.images_dir().join(id).join("image.json");
        if !ids::looks_like(ids::IMAGE_PREFIX, id) || !path.exists() {
            bail!(Failure::new(1, format!("No image named '{id}' exists")));
        }
        records::read(&path)
    }

    // ------------------------------------------------------------ containers

    /// Reserve a new container id and create its directory.
    pub fn create_container_dir(&self) -> Result<(String, ContainerPaths)> {
        loop {
            let id = ids::new_id(ids::CONTAINER_PREFIX)?;
            let dir = self.containers_dir().join(&id);
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok((id.clone(), self.container_paths(&id))),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).context("cannot create a new container directory"),
            }
        }
    }

    pub fn container_paths(&self, id: &str) -> ContainerPaths {
        let dir = self.containers_dir().join(id);
        ContainerPaths {
            record: dir.join("container.json"),
            rootfs: dir.join("rootfs"),
            log: dir.join("container.log"),
            dir,
        }
    }

    /// All containers with a readable record, oldest first.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>> {
        let mut containers: Vec<ContainerRecord> = self
            .entries(&self.containers_dir(), ids::CONTAINER_PREFIX)?
            .into_iter()
            .filter_map(|dir| records::read(&dir.join("container.json")).ok())
            .map(refresh_status)
            .collect();
        containers.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(containers)
    }

    /// The container whose id or name is `wanted`, or Bocker's message.
    pub fn container(&self, wanted: &str) -> Result<ContainerRecord> {
        self.containers()?
            .into_iter()
            .find(|c| c.id == wanted || c.name.as_deref() == Some(wanted))
            .ok_or_else(|| Failure::new(1, format!("No container named '{wanted}' exists")).into())
    }

    pub fn save_container(&self, record: &ContainerRecord) -> Result<()> {
        records::write_atomically(&self.container_paths(&record.id).record, record)
    }

    // -------------------------------------------------------------- removal

    /// Remove an image's or a container's directory. It is renamed to a
    /// hidden name first, so it disappears from listings at once; if we are
    /// killed during the (possibly long) delete, the next open finishes it.
    pub fn remove_entry(&self, id: &str) -> Result<()> {
        let parent = if id.starts_with(ids::IMAGE_PREFIX) {
            self.images_dir()
        } else {
            self.containers_dir()
        };
        let trash = parent.join(format!(".trash-{id}"));
        fs::rename(parent.join(id), &trash).with_context(|| format!("cannot remove {id}"))?;
        fs::remove_dir_all(&trash).with_context(|| format!("cannot delete the files of {id}"))
    }

    /// Finish what a killed bocker left: half-built images, half-deleted
    /// entries. A staging directory is only swept once its builder is gone.
    fn sweep_leftovers(&self) {
        for parent in [self.images_dir(), self.containers_dir()] {
            let Ok(entries) = fs::read_dir(&parent) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let abandoned = if name.starts_with(".trash-") {
                    true
                } else if let Some(rest) = name.strip_prefix(".tmp-") {
                    let builder: Option<i32> = rest.split('-').next().and_then(|p| p.parse().ok());
                    builder.is_some_and(|pid| !process_exists(pid))
                } else {
                    false
                };
                if abandoned {
                    // Best effort: another bocker may be sweeping it too.
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }

    /// The directories in `dir` whose names are ids with `prefix`.
    fn entries(&self, dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let listing =
            fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in listing {
            let entry = entry?;
            if ids::looks_like(prefix, &entry.file_name().to_string_lossy()) {
                found.push(entry.path());
            }
        }
        Ok(found)
    }
}

/// A record that says `running` may be stale: the monitor could have been
/// killed before it wrote the exit code. Check the process itself.
fn refresh_status(mut record: ContainerRecord) -> ContainerRecord {
    if record.status == Status::Running {
        let alive = match (record.pid, record.pid_start_time) {
            (Some(pid), Some(start)) => process_start_time(pid) == Some(start),
            _ => false,
        };
        if !alive {
            record.status = Status::Exited;
        }
    }
    record
}

fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks
/// since boot. A recycled pid has a different start time. `None` when there
/// is no such process, or only its zombie (it has exited, and waits for its
/// parent to collect the exit status).
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces,
    // so count fields from the last ')'. Field 3 is the state.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}
