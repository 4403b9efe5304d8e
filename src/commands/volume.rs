//! `bocker volume create|ls|inspect|rm|prune`: named volumes
//! (state/volumes.rs), the folders that `-v NAME:/path` mounts and that
//! outlive their containers.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::cli::VolumeAction;
use crate::errors::{self, Failure};
use crate::spec::volumes::VolumeSource;
use crate::state::Store;

pub fn volume(store: &Store, action: &VolumeAction) -> Result<u8> {
    let volumes = store.volumes();
    let mut out = std::io::stdout().lock();
    match action {
        VolumeAction::Create { name } => {
            // A volume without a name gets random hex digits (Docker's
            // has 64; bocker's, as its ids, 12).
            let name = match name {
                Some(name) => name.clone(),
                None => crate::state::ids::new_id("")?,
            };
            volumes.create(&name)?;
            writeln!(out, "{name}")?;
        }
        VolumeAction::Ls { quiet } => {
            if !quiet {
                writeln!(out, "DRIVER    VOLUME NAME")?;
            }
            for volume in volumes.list() {
                if *quiet {
                    writeln!(out, "{}", volume.name)?;
                } else {
                    writeln!(out, "local     {}", volume.name)?;
                }
            }
        }
        VolumeAction::Inspect { names } => {
            let mut found = Vec::new();
            let mut all = true;
            for name in names {
                match volumes.record(name) {
                    Ok(record) => found.push(json!({
                        "Name": record.name,
                        "Driver": "local",
                        "Mountpoint": volumes.data(name),
                        "CreatedAt": super::inspect::docker_time(record.created),
                        "Scope": "local",
                    })),
                    Err(error) => {
                        errors::print(&error);
                        all = false;
                    }
                }
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&found)?)?;
            return Ok(if all { 0 } else { 1 });
        }
        VolumeAction::Rm { names } => {
            return super::for_each_named(names, |name| {
                remove(store, name)?;
                writeln!(out, "{name}")?;
                Ok(())
            });
        }
        VolumeAction::Prune { force } => {
            if !force {
                anyhow::bail!(Failure::new(
                    crate::errors::USAGE,
                    "volume prune removes every volume no container uses: add --force to do it"
                ));
            }
            writeln!(out, "Deleted Volumes:")?;
            for volume in volumes.list() {
                if users_of(store, &volume.name)?.is_empty() {
                    remove(store, &volume.name)?;
                    writeln!(out, "{}", volume.name)?;
                }
            }
        }
    }
    Ok(0)
}

/// Remove volume `name`, unless a container (running or not) uses it.
fn remove(store: &Store, name: &str) -> Result<()> {
    let users = users_of(store, name)?;
    if let Some(user) = users.first() {
        anyhow::bail!(Failure::new(
            1,
            format!("volume {name} is in use by container {user}: remove the container first")
        ));
    }
    store
        .volumes()
        .remove(name, &|dir: &std::path::Path| store.delete(dir))
}

/// The containers whose `-v` names volume `name`.
fn users_of(store: &Store, name: &str) -> Result<Vec<String>> {
    Ok(store
        .containers()?
        .into_iter()
        .flatten()
        .filter(|container| {
            container
                .volumes
                .iter()
                .any(|volume| volume.source == VolumeSource::Named(name.to_string()))
        })
        .map(|container| container.id)
        .collect())
}
