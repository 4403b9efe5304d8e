//! `bocker logs CONTAINER`: replay what the container printed. With the
//! finished runtime, Docker's flags too: `-f`, `--tail N`, `--since TIME`,
//! `-t` (state/log_reader.rs).

use anyhow::Result;

use crate::state::Store;

#[cfg(not(feature = "docker"))]
pub fn logs(store: &Store, wanted: &str) -> Result<u8> {
    let container = store.container(wanted)?;
    let path = store.container_paths(&container.id).log;
    crate::state::logs::replay(
        &path,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )?;
    Ok(0)
}

#[cfg(feature = "docker")]
pub fn logs_as_docker(store: &Store, wanted: &str, flags: &crate::cli::LogsFlags) -> Result<u8> {
    use crate::errors::{Failure, USAGE};
    use crate::state::log_reader::{follow, print, LogQuery};

    let usage = |message: String| Failure::new(USAGE, message);
    let query =
        LogQuery {
            tail: match flags.tail.as_deref() {
                None | Some("all") => None,
                Some(n) => Some(n.parse().map_err(|_| {
                    usage(format!("invalid --tail '{n}': a number of lines, or all"))
                })?),
            },
            since: flags
                .since
                .as_deref()
                .map(since)
                .transpose()
                .map_err(usage)?,
            timestamps: flags.timestamps,
        };
    let container = store.container(wanted)?;
    let path = store.container_paths(&container.id).log;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let end = print(&path, &query, &mut out, &mut err)?;
    if flags.follow {
        // Until its record says it has stopped (read again each time: its
        // keeper writes the exit there).
        let running = || {
            store
                .container(&container.id)
                .is_ok_and(|record| record.is_running())
        };
        follow(&path, end, &query, &mut out, &mut err, &running)?;
    }
    Ok(0)
}

/// `--since` (and `events --until`): an RFC 3339 time, seconds since
/// 1970, or a duration ago.
#[cfg(feature = "docker")]
pub(super) fn since(text: &str) -> Result<std::time::SystemTime, String> {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds >= 0.0 {
            return Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds));
        }
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(SystemTime::now() - ago);
    }
    Err(format!(
        "invalid --since '{text}': a time (2026-12-08T10:00:00Z), seconds since 1970, or a duration ago (10m, 1h30m)"
    ))
}
