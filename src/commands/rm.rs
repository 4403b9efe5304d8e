//! `bocker rm ID…`: remove images and containers.
//!
//! Like Docker, a failure on one id does not stop the others; the exit code
//! is 1 if any failed.

use std::io::Write;

use anyhow::{bail, Result};

use crate::errors;
use crate::errors::Failure;
use crate::runtime::teardown;
use crate::state::ids;
use crate::state::Store;

pub fn rm(store: &Store, wanted: &[String]) -> Result<u8> {
    let mut all_removed = true;
    for id in wanted {
        match remove_one(store, id) {
            Ok(removed) => writeln!(std::io::stdout(), "Removed: {removed}")?,
            Err(error) => {
                errors::print(&error);
                all_removed = false;
            }
        }
    }
    Ok(if all_removed { 0 } else { 1 })
}

fn remove_one(store: &Store, wanted: &str) -> Result<String> {
    if ids::looks_like(ids::IMAGE_PREFIX, wanted) {
        if !store.image_exists(wanted) {
            bail!(Failure::new(1, format!("No image named '{wanted}' exists")));
        }
        if let Err(error) = store.image(wanted) {
            errors::warn(&format!("{error:#}; removing it anyway"));
        }
        store.remove_image(wanted)?;
        return Ok(wanted.to_string());
    }
    let id = store
        .container_id(wanted)
        .ok_or_else(|| Failure::new(1, format!("No image or container named '{wanted}' exists")))?;
    let record = match store.container_record(&id) {
        Ok(container) => {
            if container.is_running() {
                bail!("Container '{wanted}' is running: stop it before removing it");
            }
            Some(container)
        }
        // A damaged record: what the container held is found by its id.
        Err(error) => {
            errors::warn(&format!("{error:#}; removing it anyway"));
            None
        }
    };
    teardown::remove(store, &id)?;
    #[cfg(feature = "docker")]
    if let Some(removed) = &record {
        store.event("destroy", removed, &[]);
    }
    let _ = record;
    Ok(id)
}
