//! `bocker rm ID…`: remove images and containers.
//!
//! Like Docker, a failure on one id does not stop the others; the exit code
//! is 1 if any failed.

use std::io::Write;

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::ids;
use crate::records::Status;
use crate::store::Store;

pub fn rm(store: &Store, wanted: &[String]) -> Result<u8> {
    let mut all_removed = true;
    for id in wanted {
        match remove_one(store, id) {
            Ok(removed) => writeln!(std::io::stdout(), "Removed: {removed}")?,
            Err(error) => {
                eprintln!("bocker: {error:#}");
                all_removed = false;
            }
        }
    }
    Ok(if all_removed { 0 } else { 1 })
}

fn remove_one(store: &Store, wanted: &str) -> Result<String> {
    if ids::looks_like(ids::IMAGE_PREFIX, wanted) {
        let image = store.image(wanted)?;
        store.remove_entry(&image.id)?;
        return Ok(image.id);
    }
    let container = store
        .container(wanted)
        .map_err(|_| Failure::new(1, format!("No image or container named '{wanted}' exists")))?;
    if container.status == Status::Running {
        bail!("Container '{wanted}' is running: wait for it to exit before removing it");
    }
    store.remove_entry(&container.id)?;
    Ok(container.id)
}
