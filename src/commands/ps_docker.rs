//! `bocker ps` with Docker's flags (the finished runtime): `-a`, `-q`,
//! `--filter KEY=VALUE`, `--format TEMPLATE`.
//!
//! bocker's `ps` lists every container, as Bocker's did; `-a` is taken for
//! Docker's habit and changes nothing. `--filter status=running` lists the
//! running ones only, as Docker's `ps` without `-a` does.
//!
//! Filters: `status=` (created, running, paused, exited), `name=` (part of
//! the name), `id=` (start of the id), `ancestor=` (the image's id),
//! `exited=` (an exit code), `network=` (none, host, bridge…). Several
//! values of one key: any of them; several keys: all of them.
//!
//! `--format` is a template (template.rs) over each container's `ID`,
//! `Image`, `Command`, `CreatedAt`, `State`, `Status`, `Ports`, `Names`,
//! `Networks`; `table ` before it prints a header and aligns the columns
//! that `\t` separates.

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};

use super::filters;
use super::inspect::docker_time;
use super::ps::{docker_state, status_text};
use crate::errors::{Failure, USAGE};
use crate::spec::command;
use crate::state::records::ContainerRecord;
use crate::state::Store;
use crate::table;
use crate::template::Template;

pub fn ps(store: &Store, flags: &crate::cli::PsFlags, format: Option<&str>) -> Result<u8> {
    let filters = filters::parse(&flags.filter, &FILTER_KEYS)?;
    if filters.is_empty() && format.is_none() && !flags.quiet {
        // Bocker's table, read once.
        return super::ps::ps(store);
    }
    let shown: Vec<Value> = store
        .containers()?
        .into_iter()
        .flatten()
        .map(|container| row_of(&container))
        .filter(|row| filters::pass(&filters, |key, value| matches(row, key, value)))
        .collect();
    let Some(text) = format.filter(|_| !flags.quiet) else {
        return print_plain(store, flags.quiet, &shown);
    };
    let mut out = std::io::stdout().lock();
    match text.strip_prefix("table") {
        Some(columns) => print_table(&mut out, columns.trim_start(), &shown)?,
        None => {
            let template = Template::parse(text).map_err(|e| Failure::new(USAGE, e))?;
            for row in &shown {
                writeln!(out, "{}", template.render(row))?;
            }
        }
    }
    Ok(0)
}

/// `-q`: the ids; without `--format`: bocker's own table.
fn print_plain(store: &Store, quiet: bool, shown: &[Value]) -> Result<u8> {
    if !quiet {
        return super::ps::ps_rows(store, &shown_ids(shown));
    }
    let mut out = std::io::stdout().lock();
    for id in shown_ids(shown) {
        writeln!(out, "{id}")?;
    }
    Ok(0)
}

fn shown_ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| row["ID"].as_str().map(str::to_string))
        .collect()
}

/// `table {{.ID}}\t{{.Names}}`: a header made by the same template from
/// the columns' titles, then the rows, aligned on the tabs.
fn print_table(out: &mut impl Write, columns: &str, rows: &[Value]) -> Result<()> {
    let template = Template::parse(columns).map_err(|e| Failure::new(USAGE, e))?;
    let titles = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "State": "STATE", "Status": "STATUS",
        "Ports": "PORTS", "Names": "NAMES", "Networks": "NETWORKS",
    });
    let split = |line: String| line.split('\t').map(str::to_string).collect::<Vec<_>>();
    let header = split(template.render(&titles));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = rows.iter().map(|row| split(template.render(row))).collect();
    table::print(out, &header, &cells)?;
    Ok(())
}

/// What `--format` and the filters see of one container.
fn row_of(container: &ContainerRecord) -> Value {
    let ports: Vec<String> = container.ports.iter().map(|p| p.to_string()).collect();
    json!({
        "ID": container.id,
        "Image": container.image,
        "Command": command::display(&container.command),
        "CreatedAt": docker_time(container.created),
        "State": docker_state(container),
        "Status": status_text(container),
        "Ports": ports.join(", "),
        "Names": container.name.clone().unwrap_or_default(),
        "Networks": container.network.to_string(),
        "ExitCode": container.exit_code,
    })
}

/// What `--filter` takes.
const FILTER_KEYS: [&str; 6] = ["status", "name", "id", "ancestor", "exited", "network"];

/// Does the container of `row` match the filter `key`=`value`?
fn matches(row: &Value, key: &str, value: &str) -> bool {
    let field = |name: &str| row[name].as_str().unwrap_or_default().to_string();
    match key {
        "status" => field("State") == value,
        "name" => field("Names").contains(value),
        "id" => field("ID").starts_with(value),
        "ancestor" => field("Image") == value,
        "exited" => {
            field("State") == "exited" && row["ExitCode"].as_i64() == value.parse::<i64>().ok()
        }
        "network" => field("Networks") == value,
        _ => false,
    }
}
