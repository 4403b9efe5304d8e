//! `bocker events [--since T] [--until T] [--filter K=V] [--format T]`:
//! what happened to containers (state/events.rs), then, until `--until`
//! or Ctrl-C, what happens next.
//!
//! As Docker's: without `--since`, only new events; the filters are
//! `event=` (start, die, stop…), `container=` (id or name), `image=` and
//! `type=container`, several values of one key meaning any of them; the
//! line is `TIME container ACTION ID (image=…, name=…)`, or the
//! `--format` template on the event's JSON (`{{.Action}}`,
//! `{{.Actor.Attributes.name}}`, `{{json .}}`).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde_json::Value;

use super::filters;
use super::logs::since as parse_time;
use crate::errors::{Failure, USAGE};
use crate::state::events;
use crate::template::Template;

pub fn events(root: &Path, flags: &crate::cli::EventsFlags) -> Result<u8> {
    let usage = |error: String| Failure::new(USAGE, error);
    let since = flags
        .since
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(usage)?;
    let until = flags
        .until
        .as_deref()
        .map(parse_time)
        .transpose()
        .map_err(usage)?;
    let template = flags
        .format
        .as_deref()
        .map(Template::parse)
        .transpose()
        .map_err(usage)?;
    let filters = filters::parse(&flags.filter, &["event", "container", "image", "type"])?;
    let show = Show {
        since,
        until,
        filters,
        template,
    };
    let mut out = std::io::stdout().lock();
    // What is recorded: printed if --since asks for it.
    let mut at = Position::default();
    for path in [events::older(root), events::path(root)] {
        if let Some(read) = read_from(&path, 0)? {
            if since.is_some() {
                for event in &read.events {
                    show.print(event, &mut out)?;
                }
            }
            at = Position {
                inode: read.inode,
                offset: read.end,
            };
        }
    }
    out.flush()?;
    // Then what comes, until --until.
    while until.is_none_or(|until| SystemTime::now() < until) {
        std::thread::sleep(Duration::from_millis(100));
        at = print_new(root, at, &show, &mut out)?;
        out.flush()?;
    }
    Ok(0)
}

struct Show {
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    filters: Vec<(String, String)>,
    template: Option<Template>,
}

impl Show {
    fn keeps(&self, event: &Value) -> bool {
        let time = UNIX_EPOCH + Duration::from_nanos(event["timeNano"].as_u64().unwrap_or(0));
        if self.since.is_some_and(|since| time < since)
            || self.until.is_some_and(|until| time > until)
        {
            return false;
        }
        let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
        let matches = |key: &str, value: &str| match key {
            "event" => text(&event["Action"]) == value,
            "container" => {
                text(&event["Actor"]["ID"]).starts_with(value)
                    || text(&event["Actor"]["Attributes"]["name"]) == value
            }
            "image" => text(&event["Actor"]["Attributes"]["image"]) == value,
            "type" => text(&event["Type"]) == value,
            _ => false,
        };
        filters::pass(&self.filters, matches)
    }

    fn print(&self, event: &Value, out: &mut impl Write) -> Result<()> {
        if !self.keeps(event) {
            return Ok(());
        }
        match &self.template {
            Some(template) => writeln!(out, "{}", template.render(event))?,
            None => writeln!(out, "{}", line(event))?,
        }
        Ok(())
    }
}

/// `2026-12-08T01:26:14.123456789Z container start ps_… (image=img_…, name=web)`
fn line(event: &Value) -> String {
    let nanos = event["timeNano"].as_u64().unwrap_or(0);
    let mut attributes: Vec<String> = event["Actor"]["Attributes"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    attributes.sort();
    format!(
        "{} {} {} {} ({})",
        super::inspect::docker_time(nanos),
        event["Type"].as_str().unwrap_or_default(),
        event["Action"].as_str().unwrap_or_default(),
        event["Actor"]["ID"].as_str().unwrap_or_default(),
        attributes.join(", ")
    )
}

/// Where reading stopped: in the file with this inode, at this offset.
#[derive(Debug, Default, Clone, Copy)]
struct Position {
    inode: u64,
    offset: u64,
}

struct Found {
    events: Vec<Value>,
    inode: u64,
    /// After the last complete line.
    end: u64,
}

/// The complete lines of `path` from `offset` on; None if it is not there.
fn read_from(path: &Path, offset: u64) -> Result<Option<Found>> {
    let Ok(mut file) = File::open(path) else {
        return Ok(None);
    };
    let inode = file.metadata()?.ino();
    file.seek(SeekFrom::Start(offset))?;
    let (events, taken) = crate::state::log_reader::json_lines::<Value>(&mut file)?;
    Ok(Some(Found {
        events,
        inode,
        end: offset + taken,
    }))
}

/// Print what was added since `at`: if events.log is a new file (the old
/// one became events.log.1 when full), the rest of the old one first.
fn print_new(root: &Path, at: Position, show: &Show, out: &mut impl Write) -> Result<Position> {
    let current = events::path(root);
    let Ok(inode) = std::fs::metadata(&current).map(|meta| meta.ino()) else {
        return Ok(at);
    };
    let mut offset = at.offset;
    if inode != at.inode {
        if let Some(rest) = read_from(&events::older(root), at.offset)? {
            if rest.inode == at.inode {
                for event in &rest.events {
                    show.print(event, out)?;
                }
            }
        }
        offset = 0;
    }
    let Some(read) = read_from(&current, offset)? else {
        return Ok(at);
    };
    for event in &read.events {
        show.print(event, out)?;
    }
    Ok(Position {
        inode: read.inode,
        offset: read.end,
    })
}
