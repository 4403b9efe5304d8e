//! `bocker ps`: the CONTAINER_ID / COMMAND table, with status and name.

use anyhow::Result;

use crate::container::command;
use crate::records::{ContainerRecord, Status};
use crate::store::Store;
use crate::table;

pub fn ps(store: &Store) -> Result<u8> {
    let rows: Vec<Vec<String>> = store
        .containers()?
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                command::display(&c.command),
                status_text(c),
                c.name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::print(
        &mut std::io::stdout().lock(),
        &["CONTAINER_ID", "COMMAND", "STATUS", "NAME"],
        &rows,
    )?;
    Ok(0)
}

/// `Running`, `Exited (0)`; `Exited (?)` when bocker was killed before it
/// could record how the command ended.
pub fn status_text(container: &ContainerRecord) -> String {
    match (container.status, container.exit_code) {
        (Status::Created, _) => "Created".to_string(),
        (Status::Running, _) => "Running".to_string(),
        (Status::Exited, Some(code)) => format!("Exited ({code})"),
        (Status::Exited, None) => "Exited (?)".to_string(),
    }
}
