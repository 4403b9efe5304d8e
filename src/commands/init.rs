//! `bocker init DIR`: make an image from a directory.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::errors::Failure;
use crate::state::copy::copy_tree;
use crate::state::records::{self, ImageRecord};
use crate::state::Store;

pub fn init(root: &Path, directory: &Path) -> Result<u8> {
    if !directory.is_dir() {
        bail!(Failure::new(
            1,
            format!("No directory named '{}' exists", directory.display())
        ));
    }
    let source = directory
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", directory.display()))?;
    let store = Store::create(root)?;
    let state_root = store.root().canonicalize()?;
    if source.starts_with(&state_root) {
        bail!(
            "{} is inside bocker's own state directory",
            source.display()
        );
    }

    let staged = store.stage_image()?;
    // The state directory may be inside the source (`init /`): never copy
    // bocker's own images and containers into an image.
    copy_tree(&source, &staged.dir.join("rootfs"), &[&state_root])?;
    let record = ImageRecord {
        id: staged.id.clone(),
        source: source.display().to_string(),
        created: records::now(),
    };
    store.commit_image(staged, &record)?;
    writeln!(std::io::stdout(), "Created: {}", record.id)?;
    Ok(0)
}
