//! Container names: `names/<name>` is a small file that holds the id.
//!
//! Two `run --name web` started at the same moment must not both get the
//! name. Checking "is it taken?" and then writing would leave a gap between
//! the two steps. Instead each run writes the id into a private temporary
//! file and then asks the kernel to `link(2)` it as `names/<name>`. link
//! fails with EEXIST if the name exists: the check and the claim are one
//! step, and a name file is never seen half written.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::errors::Failure;

pub struct Names {
    dir: PathBuf,
}

impl Names {
    pub fn new(dir: PathBuf) -> Names {
        Names { dir }
    }

    /// Claim `name` for container `id`; fails if another container has it.
    pub fn claim(&self, name: &str, id: &str) -> Result<()> {
        let draft = self.dir.join(format!(".tmp-{}-{id}", std::process::id()));
        let mut file = fs::File::create(&draft)
            .with_context(|| format!("cannot write {}", draft.display()))?;
        file.write_all(id.as_bytes())?;
        file.sync_all()?;
        let claimed = fs::hard_link(&draft, self.dir.join(name));
        let _ = fs::remove_file(&draft);
        match claimed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => bail!(Failure::new(
                1,
                format!("a container named '{name}' already exists")
            )),
            Err(e) => Err(e).with_context(|| format!("cannot claim the name '{name}'")),
        }
    }

    /// The id of the container called `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if !is_plain_file_name(name) {
            return None;
        }
        fs::read_to_string(self.dir.join(name)).ok()
    }

    /// Give `name` up, if it still belongs to `id`.
    pub fn release(&self, name: &str, id: &str) {
        if self.lookup(name).as_deref() == Some(id) {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    /// Every (name, id) pair, for the sweep.
    pub fn all(&self) -> Vec<(String, String)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.to_string();
                if name.starts_with('.') {
                    return None;
                }
                let id = fs::read_to_string(entry.path()).ok()?;
                Some((name, id))
            })
            .collect()
    }

    /// Drafts of claims whose writer was killed before it could link them.
    pub fn drafts(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .map(|e| e.path())
            .collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A name is used as a file name: it must not be able to name another
/// path (`..`, `a/b`). `run` allows only letters, digits, `_ . -`, starting
/// with a letter or digit, so this only guards lookups of typed names.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}
