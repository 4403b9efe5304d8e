//! `bocker stats`: what containers use, as their cgroups count it.
//!
//! CPU % is the CPU time a container used during an interval, divided by
//! the interval (100% = one CPU busy all the time, as in `docker stats`).
//! MEM USAGE is read by your chapter 4 `memory_usage` (files.rs).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::running;
use crate::errors;
use crate::runtime::cgroup;
use crate::state::records::Status;
use crate::state::Store;
use crate::table;

pub fn stats(store: &Store, wanted: &[String], no_stream: bool) -> Result<u8> {
    // Which containers: those named, or every running one.
    let ids: Vec<(String, String)> = if wanted.is_empty() {
        store
            .containers()?
            .into_iter()
            .flatten()
            .filter(|c| c.status == Status::Running)
            .map(|c| (c.id, c.name.unwrap_or_default()))
            .collect()
    } else {
        let mut found = Vec::new();
        for name in wanted {
            match running::container(store, name) {
                Ok(c) => found.push((c.id, c.name.unwrap_or_default())),
                Err(error) => {
                    errors::print(&error);
                    return Ok(1);
                }
            }
        }
        found
    };
    let clear_screen = !no_stream && std::io::stdout().is_terminal();
    loop {
        let interval = if no_stream {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(1)
        };
        let rows = sample(&ids, interval)?;
        let mut out = std::io::stdout().lock();
        if clear_screen {
            // ANSI: cursor home, clear the screen.
            write!(out, "\x1b[H\x1b[2J")?;
        }
        table::print(
            &mut out,
            &[
                "CONTAINER_ID",
                "NAME",
                "CPU %",
                "CPU TIME",
                "MEM USAGE / LIMIT",
                "MEM PEAK",
                "PIDS",
            ],
            &rows,
        )?;
        out.flush()?;
        if no_stream || rows.is_empty() {
            return Ok(0);
        }
    }
}

/// Read every container's counters twice, `interval` apart. A container
/// whose cgroup goes meanwhile is left out; one whose counters cannot be
/// read is an error (an unfinished exercise, for instance).
fn sample(ids: &[(String, String)], interval: Duration) -> Result<Vec<Vec<String>>> {
    let mut groups = Vec::new();
    for (id, name) in ids {
        let Some(group) = cgroup::existing(id) else {
            continue;
        };
        match cgroup::usage(&group) {
            Ok(before) => groups.push((id, name, group, before)),
            Err(_) if !group.exists() => {}
            Err(error) => return Err(error),
        }
    }
    let started = Instant::now();
    std::thread::sleep(interval);
    let wall = started.elapsed().as_nanos().max(1) as f64;
    let mut rows = Vec::new();
    for (id, name, group, before) in &groups {
        // Gone meanwhile: its cgroup was removed.
        if !group.exists() {
            continue;
        }
        let now = match cgroup::usage(group) {
            Ok(now) => now,
            Err(_) if !group.exists() => continue,
            Err(error) => return Err(error),
        };
        let cpu_percent = (now.cpu_ns.saturating_sub(before.cpu_ns)) as f64 / wall * 100.0;
        rows.push(vec![
            id.to_string(),
            name.to_string(),
            format!("{cpu_percent:.1}%"),
            format!("{:.2}s", now.cpu_ns as f64 / 1e9),
            format!(
                "{} / {}",
                bytes(now.memory),
                now.memory_limit.map_or("-".to_string(), bytes)
            ),
            now.memory_peak.map_or("-".to_string(), bytes),
            now.pids.to_string(),
        ]);
    }
    Ok(rows)
}

/// 1536 → "1.5KiB".
fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{value:.1}{}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(bytes(64 << 20), "64.0MiB");
    }
}
