//! Container logs: everything a container printed, stdout and stderr apart.
//!
//! The log is a file of JSON lines, one per chunk the container wrote, in
//! the order bocker read them:
//!
//! ```text
//! {"stream":"stdout","log":"hello\n"}
//! {"stream":"stderr","log":"oops\n"}
//! ```
//!
//! Keeping the stream name lets `bocker logs` send each chunk back to the
//! stream it came from. Bytes that are not UTF-8 are stored as U+FFFD.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Serialize, Deserialize)]
struct LogLine {
    stream: Stream,
    log: String,
}

/// Appends chunks to a container's log.
pub struct LogWriter {
    file: File,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open log {}", path.display()))?;
        Ok(LogWriter { file })
    }

    /// Record one chunk. The whole line goes out in one write(2) on a file
    /// opened with O_APPEND, so lines never interleave or tear.
    pub fn append(&mut self, stream: Stream, bytes: &[u8]) -> Result<()> {
        let line = LogLine {
            stream,
            log: String::from_utf8_lossy(bytes).into_owned(),
        };
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        self.file
            .write_all(&text)
            .context("cannot write to the container log")
    }
}

/// Write a log back out: stdout chunks to `out`, stderr chunks to `err`.
pub fn replay(path: &Path, out: &mut impl Write, err: &mut impl Write) -> Result<()> {
    let file = match File::open(path) {
        Ok(file) => file,
        // No log yet: the container has printed nothing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
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
    out.flush()?;
    err.flush()?;
    Ok(())
}
