//! Container logs: everything a container printed, stdout and stderr apart.
//!
//! The log is a file of JSON lines, one per line the container wrote (or
//! piece of one: what a read brought that did not end in a newline), in
//! the order bocker read them:
//!
//! ```text
//! {"stream":"stdout","log":"hello\n","time":"2026-12-08T01:26:14.123456789Z"}
//! {"stream":"stderr","log":"oops\n","time":"2026-12-08T01:26:14.125012001Z"}
//! ```
//!
//! Keeping the stream name lets `bocker logs` send each chunk back to the
//! stream it came from; the time (when bocker read it, as Docker's
//! json-file driver writes it) serves `logs --since` and `-t`
//! (log_reader.rs). Bytes that are not UTF-8 are stored as U+FFFD.
//!
//! A log is rotated when it reaches its size (spec/logs.rs):
//!
//! ```text
//! container.log      the newest lines, being written
//! container.log.1    the file before it
//! container.log.2    older still; beyond max-file, files are deleted
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::spec::logs::LogOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Serialize, Deserialize)]
pub(super) struct LogLine {
    pub stream: Stream,
    pub log: String,
    /// RFC 3339 in UTC, with nanoseconds. (Logs written before it have
    /// none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// Appends chunks to a container's log, and rotates it when it is full.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    /// Bytes in the current file.
    size: u64,
    options: LogOptions,
}

impl LogWriter {
    pub fn open(path: &Path, options: LogOptions) -> Result<LogWriter> {
        let file = open_for_append(path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            options,
        })
    }

    /// Record what one read of a pipe brought, a JSON line per line of it:
    /// then a log file can be rotated between any two lines.
    pub fn append(&mut self, stream: Stream, bytes: &[u8]) -> Result<()> {
        for piece in bytes.split_inclusive(|byte| *byte == b'\n') {
            self.append_line(stream, piece)?;
        }
        Ok(())
    }

    /// One JSON line goes out in one write(2) on a file opened with
    /// O_APPEND, so lines never interleave or tear. A line that would take
    /// the file past its size rotates it first.
    fn append_line(&mut self, stream: Stream, bytes: &[u8]) -> Result<()> {
        let line = LogLine {
            stream,
            log: String::from_utf8_lossy(bytes).into_owned(),
            time: Some(humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()),
        };
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        if self.size > 0 && self.size + text.len() as u64 > self.options.max_size {
            self.rotate()?;
        }
        self.file
            .write_all(&text)
            .context("cannot write to the container log")?;
        self.size += text.len() as u64;
        Ok(())
    }

    /// `.1` → `.2`, …, the current file → `.1`, and a new current file.
    /// A rename(2) over the oldest file kept deletes it, in the same step.
    fn rotate(&mut self) -> Result<()> {
        let kept = self.options.max_files.saturating_sub(1);
        if kept == 0 {
            // max-file=1: only the current file, started again.
            self.file
                .set_len(0)
                .context("cannot empty the container log")?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..kept).rev() {
            match fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1)) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    return Err(e).context("cannot rotate the container log")
                }
                _ => {}
            }
        }
        fs::rename(&self.path, rotated(&self.path, 1))
            .context("cannot rotate the container log")?;
        self.file = open_for_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_for_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log {}", path.display()))
}

/// `container.log` → `container.log.N`.
pub(super) fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The log's files, oldest first: the rotated ones from the highest
/// number down, then the current one.
pub(super) fn files_oldest_first(path: &Path) -> Vec<PathBuf> {
    let mut numbers: Vec<u32> = Vec::new();
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return vec![path.to_path_buf()];
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = entry_name
            .strip_prefix(&prefix)
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    let mut files: Vec<PathBuf> = numbers.into_iter().map(|n| rotated(path, n)).collect();
    files.push(path.to_path_buf());
    files
}

/// Write a log back out, its rotated files first: stdout chunks to `out`,
/// stderr chunks to `err`.
pub fn replay(path: &Path, out: &mut impl Write, err: &mut impl Write) -> Result<()> {
    for file in files_oldest_first(path) {
        replay_file(&file, out, err)?;
    }
    out.flush()?;
    err.flush()?;
    Ok(())
}

fn replay_file(path: &Path, out: &mut impl Write, err: &mut impl Write) -> Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        // No log yet: the container has printed nothing. (Or a rotation
        // moved this file on while we listed them.)
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    for line in BufReader::new(file).lines() {
        // A line cut short by a crash does not parse: skip it.
        let Ok(entry) = serde_json::from_str::<LogLine>(&line?) else {
            continue;
        };
        match entry.stream {
            Stream::Stdout => out.write_all(entry.log.as_bytes())?,
            Stream::Stderr => err.write_all(entry.log.as_bytes())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_is_rotated_and_replayed_oldest_first() {
        let dir = std::env::temp_dir().join(format!("bocker-logs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("container.log");
        let options = LogOptions {
            max_size: 160,
            max_files: 3,
        };
        let mut log = LogWriter::open(&path, options).unwrap();
        for n in 0..20 {
            log.append(Stream::Stdout, format!("line {n}\n").as_bytes())
                .unwrap();
        }
        // Each line is about 79 bytes of JSON (with its time): two to a
        // file, three files kept.
        let names: Vec<String> = files_oldest_first(&path)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["container.log.2", "container.log.1", "container.log"]
        );
        for file in files_oldest_first(&path) {
            assert!(fs::metadata(&file).unwrap().len() <= 160);
        }
        let (mut out, mut err) = (Vec::new(), Vec::new());
        replay(&path, &mut out, &mut err).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "line 14\nline 15\nline 16\nline 17\nline 18\nline 19\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
