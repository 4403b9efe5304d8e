//! The state directory: every image and container bocker knows about.
//!
//! ```text
//! /var/lib/bocker/                 (or --root DIR, or $BOCKER_ROOT)
//! ├── images/
//! │   └── img_3f9c0a1b2d4e/
//! │       ├── image.json           the record
//! │       └── rootfs/              the files of the image
//! ├── containers/
//! │   └── ps_81d2e4f0a9b7/
//! │       ├── container.json       the record
//! │       ├── container.log        everything the command printed
//! │       └── rootfs/              the container's own root filesystem
//! └── names/
//!     └── web                      "ps_81d2e4f0a9b7": who has the name
//! ```
//!
//! Nothing is ever half there. A new image or container is built under a
//! hidden name (`.tmp-PID-…`) and renamed into place, record included, once
//! it is complete. A removed one is first renamed to `.trash-PID-…`, then
//! deleted. What a killed bocker leaves behind keeps these hidden names, and
//! the next command sweeps it away (runtime/sweep.rs).

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};

use super::ids;
use super::keeper_lock::KeeperLock;
use super::names::Names;
use super::records::{self, ContainerRecord, Durability, ImageRecord};
use crate::errors::Failure;
use crate::storage::rootfs;

pub struct Store {
    root: PathBuf,
    /// Where `images/` and `containers/` are: `root`, or from chapter 6
    /// the mount point of a btrfs file (see `storage/`).
    data: PathBuf,
    /// How a removed image's or container's directory is deleted:
    /// [`delete_tree`], or the runtime's (see [`Store::deleting_with`]).
    delete: fn(&Path) -> Result<()>,
}

/// Where a container lives on disk.
pub struct ContainerPaths {
    pub dir: PathBuf,
    pub record: PathBuf,
    pub rootfs: PathBuf,
    pub log: PathBuf,
}

impl ContainerPaths {
    fn in_dir(dir: PathBuf) -> ContainerPaths {
        ContainerPaths {
            record: dir.join("container.json"),
            rootfs: dir.join("rootfs"),
            log: dir.join("container.log"),
            dir,
        }
    }
}

/// A container record that could not be read (a truncated file, say).
#[derive(Debug)]
pub struct Unreadable {
    pub id: String,
    pub reason: String,
}

impl Store {
    /// Open the state directory, creating it if needed. For the commands
    /// that make something: `init` and `run`.
    pub fn create(root: &Path) -> Result<Store> {
        make_private_directory(root)?;
        make_private_directory(&root.join("names"))?;
        let data = crate::storage::data_dir(root, true)?;
        for sub in ["images", "containers"] {
            make_private_directory(&data.join(sub))?;
        }
        Store::open_existing(root)
    }

    /// Open a state directory that must exist already. A read-only command
    /// given a mistyped `--root` says so, instead of making a new tree.
    pub fn open_existing(root: &Path) -> Result<Store> {
        let data = if root.is_dir() {
            crate::storage::data_dir(root, false)?
        } else {
            root.to_path_buf()
        };
        let complete = data.join("containers").is_dir() && data.join("images").is_dir();
        if !complete && root.join("names").is_dir() {
            // names/ is made first: this is bocker's, and the bocker that
            // was making it was killed before images/ and containers/.
            // Finish it, as the sweep finishes what killed commands left.
            for sub in ["images", "containers"] {
                make_private_directory(&data.join(sub))?;
            }
        } else if !complete {
            bail!(Failure::new(
                1,
                format!(
                    "no state directory at {} (bocker init or bocker run creates one; check --root or BOCKER_ROOT)",
                    root.display()
                )
            ));
        }
        // Stores made by an older bocker have no names/ yet.
        let _ = fs::DirBuilder::new().mode(0o700).create(root.join("names"));
        Ok(Store {
            root: root.to_path_buf(),
            data,
            delete: delete_tree,
        })
    }

    /// The same store, deleting directories with `delete`: without root,
    /// the runtime's (runtime/userns.rs), which can also delete files of
    /// the container's subordinate ids.
    pub fn deleting_with(self, delete: fn(&Path) -> Result<()>) -> Store {
        Store { delete, ..self }
    }

    /// Delete an image's or a container's directory `dir`, as this store
    /// deletes.
    pub fn delete(&self, dir: &Path) -> Result<()> {
        (self.delete)(dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the images are; the runtime's sweep looks in here for what a
    /// killed bocker left half-built.
    pub fn images_dir(&self) -> PathBuf {
        self.data.join("images")
    }

    /// Where the containers are (see [`Store::images_dir`]).
    pub fn containers_dir(&self) -> PathBuf {
        self.data.join("containers")
    }

    /// The named volumes (`bocker volume`, `-v NAME:/path`).
    pub fn volumes(&self) -> super::volumes::Volumes {
        super::volumes::Volumes::new(&self.root)
    }

    pub fn names(&self) -> Names {
        Names::new(self.root.join("names"))
    }

    // ---------------------------------------------------------------- images

    /// A new image id and a hidden directory to build it in.
    pub fn stage_image(&self) -> Result<Staged<'_>> {
        Staged::new(self, self.images_dir(), ids::IMAGE_PREFIX)
    }

    /// Write the record into the staging directory and move it into place.
    pub fn commit_image(&self, mut staged: Staged<'_>, record: &ImageRecord) -> Result<()> {
        records::write_atomically(&staged.dir.join("image.json"), record, Durability::PowerCut)?;
        fs::rename(&staged.dir, self.images_dir().join(&record.id))
            .context("cannot move the new image into place")?;
        staged.committed = true;
        Ok(())
    }

    /// A hidden directory to build a new version of image `id` in (for
    /// `commit CONTAINER IMAGE`, which replaces the image).
    pub fn stage_new_version_of_image(&self, id: &str) -> Result<Staged<'_>> {
        Staged::with_id(self, self.images_dir(), id.to_string())
    }

    /// Put the new version of an image in place of the old one, in one
    /// step: renameat2(2) with RENAME_EXCHANGE swaps the two directories
    /// atomically. There is always an image `id`, old or new; the old one,
    /// now under the staging name, is then deleted (or swept, if we are
    /// killed first).
    pub fn replace_image(&self, mut staged: Staged<'_>, record: &ImageRecord) -> Result<()> {
        records::write_atomically(&staged.dir.join("image.json"), record, Durability::PowerCut)?;
        nix::fcntl::renameat2(
            nix::fcntl::AT_FDCWD,
            &staged.dir,
            nix::fcntl::AT_FDCWD,
            &self.images_dir().join(&record.id),
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        )
        .context("cannot swap the new image in")?;
        staged.committed = true;
        self.delete(&staged.dir)
            .context("cannot delete the old version of the image")
    }

    pub fn image_rootfs(&self, id: &str) -> PathBuf {
        self.images_dir().join(id).join("rootfs")
    }

    /// All readable images, oldest first.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let mut images: Vec<ImageRecord> = entries(&self.images_dir(), ids::IMAGE_PREFIX)?
            .into_iter()
            .filter_map(|id| self.image(&id).ok())
            .collect();
        images.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(images)
    }

    /// The image called `id`, or Bocker's message if there is none.
    pub fn image(&self, id: &str) -> Result<ImageRecord> {
        if !self.image_exists(id) {
            bail!(Failure::new(1, format!("No image named '{id}' exists")));
        }
        records::read(&self.images_dir().join(id).join("image.json"))
    }

    pub fn image_exists(&self, id: &str) -> bool {
        ids::looks_like(ids::IMAGE_PREFIX, id) && self.images_dir().join(id).is_dir()
    }

    pub fn remove_image(&self, id: &str) -> Result<()> {
        let trash = self.images_dir().join(trash_name(id));
        fs::rename(self.images_dir().join(id), &trash)
            .with_context(|| format!("cannot remove {id}"))?;
        self.delete(&trash)
            .with_context(|| format!("cannot delete the files of {id}"))
    }

    // ------------------------------------------------------------ containers

    /// A new container id, a hidden directory to build the container in,
    /// and its name, claimed. Dropped before [`Store::commit_container`],
    /// it takes all of it back.
    pub fn stage_container(&self, name: Option<&str>) -> Result<Staged<'_>> {
        let mut staged = Staged::new(self, self.containers_dir(), ids::CONTAINER_PREFIX)?;
        if let Some(name) = name {
            self.names().claim(name, &staged.id)?;
            staged.name = Some(name.to_string());
        }
        Ok(staged)
    }

    /// Write the first record and move the container into place.
    ///
    /// The caller becomes the container's keeper: it gets the keeper's
    /// lock (state/keeper_lock.rs), taken before the move, and holds it
    /// until the container's exit is recorded.
    pub fn commit_container(
        &self,
        mut staged: Staged<'_>,
        record: &ContainerRecord,
    ) -> Result<(ContainerPaths, KeeperLock)> {
        records::write_atomically(&staged.paths().record, record, Durability::Crash)?;
        let mut lock = KeeperLock::take(&staged.dir)?;
        let paths = self.container_paths(&record.id);
        fs::rename(&staged.dir, &paths.dir).context("cannot move the new container into place")?;
        staged.committed = true;
        lock.moved_to(&paths.dir);
        Ok((paths, lock))
    }

    pub fn container_paths(&self, id: &str) -> ContainerPaths {
        ContainerPaths::in_dir(self.containers_dir().join(id))
    }

    /// The ids of the containers in place (not those being built or
    /// removed), in no order.
    pub fn container_ids(&self) -> Result<Vec<String>> {
        entries(&self.containers_dir(), ids::CONTAINER_PREFIX)
    }

    /// Every container, oldest first; unreadable records come last.
    pub fn containers(&self) -> Result<Vec<Result<ContainerRecord, Unreadable>>> {
        let mut readable = Vec::new();
        let mut unreadable = Vec::new();
        for id in self.container_ids()? {
            match self.container_record(&id) {
                Ok(record) => readable.push(record),
                Err(error) => unreadable.push(Unreadable {
                    id,
                    reason: format!("{error:#}"),
                }),
            }
        }
        readable.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        let mut all: Vec<_> = readable.into_iter().map(Ok).collect();
        all.extend(unreadable.into_iter().map(Err));
        Ok(all)
    }

    /// The id of the container whose id or name is `wanted`, if it exists.
    pub fn container_id(&self, wanted: &str) -> Option<String> {
        let id = if ids::looks_like(ids::CONTAINER_PREFIX, wanted) {
            wanted.to_string()
        } else {
            self.names().lookup(wanted)?
        };
        self.container_paths(&id).dir.is_dir().then_some(id)
    }

    /// The container whose id or name is `wanted`, or Bocker's message.
    pub fn container(&self, wanted: &str) -> Result<ContainerRecord> {
        let id = self
            .container_id(wanted)
            .ok_or_else(|| Failure::new(1, format!("No container named '{wanted}' exists")))?;
        self.container_record(&id).map_err(|error| {
            Failure::new(
                1,
                format!("{error:#} (`bocker rm {id}` removes the container)"),
            )
            .into()
        })
    }

    pub fn container_record(&self, id: &str) -> Result<ContainerRecord> {
        records::read(&self.container_paths(id).record)
    }

    /// Record an event of `container` for `bocker events` (state/events.rs).
    #[cfg(feature = "docker")]
    pub fn event(&self, action: &str, container: &ContainerRecord, extra: &[(&str, String)]) {
        super::events::record(&self.root, action, container, extra);
    }

    /// Change container `id`'s record with `change`, holding its record
    /// lock ([`Store::lock_container_record`]); the new record.
    pub fn update_container(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> Result<()>,
    ) -> Result<ContainerRecord> {
        let lock = self.lock_container_record(id)?;
        self.update_while_locked(&lock, change)
    }

    /// Change the record `lock` holds: read, change, write.
    pub fn update_while_locked(
        &self,
        lock: &RecordLock,
        change: impl FnOnce(&mut ContainerRecord) -> Result<()>,
    ) -> Result<ContainerRecord> {
        let mut record = self.container_record(&lock.id)?;
        change(&mut record)?;
        self.save_container(&record)?;
        Ok(record)
    }

    /// Wait for, and take, container `id`'s record lock: an exclusive
    /// flock(2) on `record.lock` in its directory. Two bockers that change
    /// one record at the same moment (the keeper recording the exit,
    /// `rename`, `update`, the sweep) take turns: neither writes back a
    /// copy read before the other's change. The kernel drops the lock if
    /// its holder dies.
    pub fn lock_container_record(&self, id: &str) -> Result<RecordLock> {
        self.record_lock(id, FlockArg::LockExclusive)?
            .context("the record lock was not taken")
    }

    /// The same, but None at once if another bocker holds it.
    pub fn try_lock_container_record(&self, id: &str) -> Result<Option<RecordLock>> {
        self.record_lock(id, FlockArg::LockExclusiveNonblock)
    }

    fn record_lock(&self, id: &str, how: FlockArg) -> Result<Option<RecordLock>> {
        let path = self.container_paths(id).dir.join("record.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match Flock::lock(file, how) {
            Ok(held) => Ok(Some(RecordLock {
                id: id.to_string(),
                _held: held,
            })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, errno)) => {
                Err(errno).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    fn save_container(&self, record: &ContainerRecord) -> Result<()> {
        records::write_atomically(
            &self.container_paths(&record.id).record,
            record,
            Durability::Crash,
        )
    }

    /// Remove a container's directory and its name. Its record is not
    /// needed, so a container whose record is damaged can be removed too.
    /// What the container holds in the kernel (its cgroup, its veth pair)
    /// is the runtime's to release first: `runtime::teardown::remove`
    /// does both, in that order.
    pub fn remove_container(&self, id: &str) -> Result<()> {
        let trash = self.containers_dir().join(trash_name(id));
        fs::rename(self.containers_dir().join(id), &trash)
            .with_context(|| format!("cannot remove {id}"))?;
        self.release_names_of(id);
        self.delete(&trash)
            .with_context(|| format!("cannot delete the files of {id}"))
    }

    /// Give up every name that points at `id`.
    fn release_names_of(&self, id: &str) {
        let names = self.names();
        for (name, owner) in names.all() {
            if owner == id {
                names.release(&name, id);
            }
        }
    }
}

/// A container's record lock, held until dropped (see
/// [`Store::lock_container_record`]).
pub struct RecordLock {
    id: String,
    _held: Flock<fs::File>,
}

/// An image or container being built under a hidden name. If it is
/// dropped before it is committed (an error on the way), it removes what
/// was built and gives its name back.
pub struct Staged<'a> {
    store: &'a Store,
    pub id: String,
    pub dir: PathBuf,
    name: Option<String>,
    committed: bool,
}

impl<'a> Staged<'a> {
    fn new(store: &'a Store, parent: PathBuf, prefix: &str) -> Result<Staged<'a>> {
        loop {
            let id = ids::new_id(prefix)?;
            if parent.join(&id).exists() {
                continue;
            }
            match Staged::with_id(store, parent.clone(), id) {
                Err(e) if is_already_there(&e) => continue,
                other => return other,
            }
        }
    }

    fn with_id(store: &'a Store, parent: PathBuf, id: String) -> Result<Staged<'a>> {
        // The builder's pid in the name tells the sweep whether the
        // builder is still at work.
        let dir = parent.join(format!(".tmp-{}-{id}", std::process::id()));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .context("cannot create a new directory in the store")?;
        Ok(Staged {
            store,
            id,
            dir,
            name: None,
            committed: false,
        })
    }

    /// The container's paths while it is being built.
    pub fn paths(&self) -> ContainerPaths {
        ContainerPaths::in_dir(self.dir.clone())
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let _ = self.store.delete(&self.dir);
        if let Some(name) = &self.name {
            self.store.names().release(name, &self.id);
        }
    }
}

fn is_already_there(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == ErrorKind::AlreadyExists)
}

/// A directory only root may look into (0700: images and containers may
/// hold secrets), with its parents.
fn make_private_directory(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
        .with_context(|| format!("cannot use state directory {}", dir.display()))
}

/// Delete an image's or a container's directory, its root filesystem first
/// (from chapter 6 that is a btrfs subvolume, which needs its own call).
/// The runtime's sweep uses it for what a killed bocker left.
/// The hidden name an entry takes while it is being deleted:
/// `.trash-PID-ID`, with the pid of the bocker that deletes it. Another
/// bocker's sweep then knows the deletion is still under way, and leaves it
/// alone, as long as that pid is alive (runtime/sweep.rs).
fn trash_name(id: &str) -> String {
    format!(".trash-{}-{id}", std::process::id())
}

pub fn delete_tree(dir: &Path) -> Result<()> {
    let rootfs = dir.join("rootfs");
    if fs::symlink_metadata(&rootfs).is_ok() {
        rootfs::remove(&rootfs)?;
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// The ids in `dir` (directory names that are ids with `prefix`).
fn entries(dir: &Path, prefix: &str) -> Result<Vec<String>> {
    let listing = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut found = Vec::new();
    for entry in listing {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if ids::looks_like(prefix, &name) {
            found.push(name);
        }
    }
    Ok(found)
}
