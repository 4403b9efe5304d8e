//! `bocker ps`: the CONTAINER_ID / COMMAND table, with status and name.

use anyhow::Result;

use super::running;
use crate::spec::command;
use crate::spec::Liveness;
use crate::state::records::{ContainerRecord, Status};
use crate::state::Store;
use crate::table;

pub fn ps(store: &Store) -> Result<u8> {
    print_containers(store, |_| true)
}

/// The same table, of the containers whose ids are in `ids` only (for
/// `ps --filter`, commands/ps_docker.rs).
#[cfg(feature = "docker")]
pub fn ps_rows(store: &Store, ids: &[String]) -> Result<u8> {
    print_containers(store, |id| ids.iter().any(|wanted| wanted == id))
}

fn print_containers(store: &Store, shown: impl Fn(&str) -> bool) -> Result<u8> {
    // From chapter 5, a column for published ports.
    let with_ports = cfg!(feature = "stage5");
    let rows: Vec<Vec<String>> = store
        .containers()?
        .iter()
        .filter(|entry| match entry {
            Ok(c) => shown(&c.id),
            Err(unreadable) => shown(&unreadable.id),
        })
        .map(|entry| {
            let mut row = match entry {
                Ok(c) => vec![
                    c.id.clone(),
                    command::display(&c.command),
                    status_text(c),
                    c.name.clone().unwrap_or_default(),
                ],
                // Listed all the same, so that it can be found and removed.
                Err(unreadable) => vec![
                    unreadable.id.clone(),
                    "?".to_string(),
                    "Unreadable record".to_string(),
                    String::new(),
                ],
            };
            if with_ports {
                let ports = entry.as_ref().map_or(Vec::new(), |c| {
                    c.ports.iter().map(|p| p.to_string()).collect()
                });
                row.insert(3, ports.join(","));
            }
            row
        })
        .collect();
    let header: &[&str] = if with_ports {
        &["CONTAINER_ID", "COMMAND", "STATUS", "PORTS", "NAME"]
    } else {
        &["CONTAINER_ID", "COMMAND", "STATUS", "NAME"]
    };
    table::print(&mut std::io::stdout().lock(), header, &rows)?;
    Ok(0)
}

/// `Running`, `Exited (0)`; `Paused` while its cgroup is frozen (chapter
/// 4); `Exiting` while pid 1 is on its way out, until its exit code is
/// recorded; `Exited (137) OOM` when the
/// kernel's OOM killer struck; `Exited (?)` when bocker was killed before
/// it could record how the command ended.
pub fn status_text(container: &ContainerRecord) -> String {
    let liveness = container
        .first_process()
        .map_or(Liveness::Gone, |first| first.liveness());
    // Between pid 1's death and the record of its exit code, the bocker
    // that keeps the container is still at work: not yet "Exited (?)".
    let keeper_at_work = !container.keeper_gone();
    match (container.status, liveness, container.exit_code) {
        (Status::Created, _, _) => "Created".to_string(),
        (Status::Running, Liveness::Alive, _) if running::is_paused(container) => {
            "Paused".to_string()
        }
        (Status::Running, Liveness::Alive, _) => "Running".to_string(),
        (Status::Running, Liveness::Exiting, _) => "Exiting".to_string(),
        (Status::Running, Liveness::Gone, _) if keeper_at_work => "Exiting".to_string(),
        (Status::Running, Liveness::Gone, _) | (Status::Exited, _, None) => {
            "Exited (?)".to_string()
        }
        (Status::Exited, _, Some(code)) if container.oom_killed => format!("Exited ({code}) OOM"),
        (Status::Exited, _, Some(code)) => format!("Exited ({code})"),
    }
}

/// Docker's State.Status: created, running, paused or exited.
#[cfg(feature = "docker")]
pub fn docker_state(container: &ContainerRecord) -> &'static str {
    match (container.status, status_text(container).as_str()) {
        (Status::Created, _) => "created",
        (_, "Paused") => "paused",
        (_, "Running" | "Exiting") => "running",
        _ => "exited",
    }
}
