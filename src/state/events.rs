//! What happened to containers, for `bocker events`: one JSON line per
//! event in `events.log` of the state directory, in Docker's shape
//! (`{"Type":"container","Action":"start","Actor":{"ID":…,"Attributes":
//! {…}},"time":…,"timeNano":…}`), appended by whichever bocker did it:
//! `create`, `start`, `die` (with its exitCode), `oom`, `stop`, `kill`,
//! `pause`, `unpause`, `rename`, `destroy`.
//!
//! Each line goes out in one write(2) on a file opened with O_APPEND, so
//! lines of two bockers never mix. At 1 MiB the file becomes
//! `events.log.1` (the one before is dropped): enough for a day's work,
//! and a bound on the disk it takes.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::records::ContainerRecord;

const FILE: &str = "events.log";
const MOST: u64 = 1 << 20;

/// The events of the state directory `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// The file before, once `events.log` was full.
pub fn older(root: &Path) -> PathBuf {
    root.join(format!("{FILE}.1"))
}

/// Record `action` for `container`, with `extra` attributes
/// (`exitCode`, `signal`, `oldName`). An event that cannot be written is
/// lost, not an error of the verb that caused it.
pub fn record(root: &Path, action: &str, container: &ContainerRecord, extra: &[(&str, String)]) {
    let mut attributes = serde_json::Map::new();
    attributes.insert("image".into(), container.image.clone().into());
    if let Some(name) = &container.name {
        attributes.insert("name".into(), name.clone().into());
    }
    for (key, value) in extra {
        attributes.insert((*key).into(), value.clone().into());
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let event = json!({
        "Type": "container",
        "Action": action,
        "Actor": {"ID": container.id, "Attributes": Value::Object(attributes)},
        "time": nanos / 1_000_000_000,
        "timeNano": nanos,
    });
    let _ = append(root, &event);
}

fn append(root: &Path, event: &Value) -> std::io::Result<()> {
    let path = path(root);
    if fs::metadata(&path).is_ok_and(|meta| meta.len() > MOST) {
        fs::rename(&path, older(root))?;
    }
    let mut line = serde_json::to_vec(event)?;
    line.push(b'\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?
        .write_all(&line)
}
