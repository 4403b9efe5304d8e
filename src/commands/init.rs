//! `bocker init DIR`: make an image from a directory.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::copy::copy_tree;
use crate::errors::Failure;
use crate::records::{self, ImageRecord};
use crate::store::Store;

pub fn init(store: &Store, directory: &Path) -> Result<u8> {
    if !directory.is_dir() {
        bail!(Failure::new(
            1,
            format!("No directory named '{}' exists", directory.display())
        ));
    }
    let source = directory
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", directory.display()))?;
    if source.starts_with(store.root().canonicalize()?) {
        bail!(
            "{} is inside bocker's own state directory",
            source.display()
        );
    }

    let (id, staging) = store.stage_image()?;
    let filled = copy_tree(&source, &staging.join("rootfs")).and_then(|()| {
        let record = ImageRecord {
            id: id.clone(),
            source: source.display().to_string(),
            created: records::now(),
        };
        store.commit_image(&staging, &record)
    });
    if let Err(error) = filled {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    writeln!(std::io::stdout(), "Created: {id}")?;
    Ok(0)
}
