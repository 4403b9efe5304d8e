//! `bocker rename CONTAINER NEW_NAME`: give a container another name.
//!
//! Three steps, under the container's record lock (state/store.rs):
//! claim the new name (link(2): fails if it is taken), record it, give the
//! old one up. Killed between two steps, the container answers to both
//! names until the next command's sweep, which keeps the one the record
//! gives (runtime/sweep.rs).

use anyhow::Result;

use super::run::check_name;
use crate::errors::Failure;
use crate::state::Store;

pub fn rename(store: &Store, wanted: &str, new_name: &str) -> Result<u8> {
    check_name(new_name)?;
    let container = store.container(wanted)?;
    if container.name.as_deref() == Some(new_name) {
        anyhow::bail!(Failure::new(
            1,
            format!("{} is already called '{new_name}'", container.id)
        ));
    }
    let lock = store.lock_container_record(&container.id)?;
    let names = store.names();
    names.claim(new_name, &container.id)?;
    let mut old_name = None;
    let recorded = store.update_while_locked(&lock, |record| {
        old_name = record.name.replace(new_name.to_string());
        Ok(())
    });
    let renamed = match recorded {
        Ok(record) => record,
        Err(error) => {
            names.release(new_name, &container.id);
            return Err(error);
        }
    };
    if let Some(old) = &old_name {
        names.release(old, &container.id);
    }
    let old = old_name.unwrap_or_default();
    store.event("rename", &renamed, &[("oldName", old)]);
    // Docker's rename prints nothing.
    Ok(0)
}
