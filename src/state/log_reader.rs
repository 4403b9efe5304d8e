//! Reading a container's log as `docker logs` does: `--tail N` (the last N
//! lines), `--since TIME`, `-t` (each line with its time) and `-f` (then
//! what the container prints next, until it stops).
//!
//! Following a file that is being rotated (logs.rs) needs care: bocker
//! remembers the file it read by its inode, not its name. When
//! `container.log` is a new file, the one it was reading is now
//! `container.log.1`: first the rest of that one, then the new one from
//! its start. With `max-file=1` the file is emptied in place instead: if
//! it is shorter than where bocker was, bocker reads it from its start;
//! if it has grown past that point again between two looks (a tenth of a
//! second), what it held before that point is missed. One file kept means
//! lines lost; keep two or more to follow a busy container.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::logs::{files_oldest_first, rotated, LogLine, Stream};

/// Which lines to print, and how.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only the last N lines (of what `since` keeps).
    pub tail: Option<usize>,
    /// Only lines read at this time or later.
    pub since: Option<SystemTime>,
    /// Each line after its time, as `2026-12-08T01:26:14.123456789Z hello`.
    pub timestamps: bool,
}

/// Where reading stopped: in the file with inode `inode`, at `offset`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Position {
    inode: u64,
    offset: u64,
}

impl LogQuery {
    fn keeps(&self, line: &LogLine) -> bool {
        let Some(since) = self.since else {
            return true;
        };
        // A line without a time (written by an older bocker) is older.
        line.time
            .as_deref()
            .and_then(|time| humantime::parse_rfc3339(time).ok())
            .is_some_and(|time| time >= since)
    }

    fn write(&self, line: &LogLine, out: &mut impl Write, err: &mut impl Write) -> Result<()> {
        let to: &mut dyn Write = match line.stream {
            Stream::Stdout => out,
            Stream::Stderr => err,
        };
        if self.timestamps {
            write!(to, "{} ", line.time.as_deref().unwrap_or("-"))?;
        }
        to.write_all(line.log.as_bytes())?;
        Ok(())
    }
}

/// Print the log at `path` as `query` asks; where the current file ended.
pub fn print(
    path: &Path,
    query: &LogQuery,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Position> {
    let mut lines = Vec::new();
    let mut end = Position::default();
    for file in files_oldest_first(path) {
        let Some(mut opened) = open(&file)? else {
            continue;
        };
        let (read, consumed) = complete_lines(&mut opened)?;
        lines.extend(read.into_iter().filter(|line| query.keeps(line)));
        if file == path {
            end = Position {
                inode: opened.metadata()?.ino(),
                offset: consumed,
            };
        }
    }
    let skip = query
        .tail
        .map_or(0, |tail| lines.len().saturating_sub(tail));
    for line in &lines[skip..] {
        query.write(line, out, err)?;
    }
    out.flush()?;
    err.flush()?;
    Ok(end)
}

/// Where the log at `path` ends now (to follow it from there on).
/// (Its length: each line goes out in one write(2) with O_APPEND, so the
/// end of the file is the end of a line.)
pub fn end_of(path: &Path) -> Result<Position> {
    Ok(match open(path)? {
        Some(file) => {
            let meta = file.metadata()?;
            Position {
                inode: meta.ino(),
                offset: meta.len(),
            }
        }
        None => Position::default(),
    })
}

/// After [`print`]: print what is added to the log from `from` on, every
/// tenth of a second, until `running()` says no (then once more, for the
/// last lines).
pub fn follow(
    path: &Path,
    from: Position,
    query: &LogQuery,
    out: &mut impl Write,
    err: &mut impl Write,
    running: &dyn Fn() -> bool,
) -> Result<()> {
    let mut at = from;
    loop {
        let still_running = running();
        at = print_new(path, at, query, out, err)?;
        out.flush()?;
        err.flush()?;
        if !still_running {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Print the lines written since `at`; where reading stopped.
fn print_new(
    path: &Path,
    at: Position,
    query: &LogQuery,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<Position> {
    let Some(mut current) = open(path)? else {
        return Ok(at);
    };
    let inode = current.metadata()?.ino();
    let mut offset = at.offset;
    if inode != at.inode {
        // Rotated: finish the file we were reading, now container.log.1.
        if let Some(mut old) = open(&rotated(path, 1))? {
            if old.metadata()?.ino() == at.inode {
                old.seek(SeekFrom::Start(at.offset))?;
                print_lines(&mut old, query, out, err)?;
            }
        }
        offset = 0;
    } else if current.metadata()?.len() < offset {
        // Emptied (max-file=1): from its start.
        offset = 0;
    }
    current.seek(SeekFrom::Start(offset))?;
    let consumed = print_lines(&mut current, query, out, err)?;
    Ok(Position {
        inode,
        offset: offset + consumed,
    })
}

fn print_lines(
    file: &mut File,
    query: &LogQuery,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<u64> {
    let (lines, consumed) = complete_lines(file)?;
    for line in lines.iter().filter(|line| query.keeps(line)) {
        query.write(line, out, err)?;
    }
    Ok(consumed)
}

/// The log lines from where `file` is to its last newline, and how many
/// bytes they took: a line being written is left for the next read.
fn complete_lines(file: &mut File) -> Result<(Vec<LogLine>, u64)> {
    json_lines(file)
}

/// The JSON lines (one value each) from where `file` is to its last
/// newline, and how many bytes they took. A line being written is left
/// for the next read; one that does not parse (cut short by a crash) is
/// skipped. (The logs' and the events' files, state/events.rs.)
pub fn json_lines<T: serde::de::DeserializeOwned>(file: &mut File) -> Result<(Vec<T>, u64)> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let complete = bytes
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |last| last + 1);
    let lines = bytes[..complete]
        .split(|byte| *byte == b'\n')
        .filter_map(|line| serde_json::from_slice::<T>(line).ok())
        .collect();
    Ok((lines, complete as u64))
}

/// The file at `path`, or None if it is not there (no log yet, or a
/// rotation moved it on while we looked).
fn open(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::logs::LogOptions;
    use crate::state::logs::LogWriter;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn tail_since_and_timestamps() {
        let dir = std::env::temp_dir().join(format!("bocker-log-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("container.log");
        let options = LogOptions {
            max_size: 200,
            max_files: 5,
        };
        let mut log = LogWriter::open(&path, options).unwrap();
        for n in 0..6 {
            log.append(Stream::Stdout, format!("out {n}\n").as_bytes())
                .unwrap();
        }
        log.append(Stream::Stderr, b"err\n").unwrap();
        let middle = SystemTime::now();
        log.append(Stream::Stdout, b"late\n").unwrap();

        let (mut out, mut err) = (Vec::new(), Vec::new());
        let query = LogQuery {
            tail: Some(3),
            ..LogQuery::default()
        };
        print(&path, &query, &mut out, &mut err).unwrap();
        assert_eq!(
            text(out),
            "out 5\nlate\n",
            "the last three lines, over the rotated files"
        );
        assert_eq!(text(err), "err\n");

        let (mut out, mut err) = (Vec::new(), Vec::new());
        let query = LogQuery {
            since: Some(middle),
            timestamps: true,
            ..LogQuery::default()
        };
        print(&path, &query, &mut out, &mut err).unwrap();
        let out = text(out);
        let (time, rest) = out.split_once(' ').unwrap();
        assert_eq!(rest, "late\n");
        assert!(humantime::parse_rfc3339(time).unwrap() >= middle, "{out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn following_goes_on_across_a_rotation_and_an_emptied_file() {
        let dir = std::env::temp_dir().join(format!("bocker-log-follow-{}", std::process::id()));
        let path = dir.join("container.log");
        let long = format!("{}\n", "b".repeat(100));
        // (max-file, what is written after the first read, what follow
        // prints in the end.) Two files: "one" fills the first, which is
        // rotated for "two". One file: "one" empties it (the long line
        // took 180 of its 200 bytes), and the file is then shorter than
        // where bocker was.
        let cases = [
            (3, vec!["one\n", "two\n", "three\n"], "one\ntwo\nthree\n"),
            (1, vec!["one\n"], "one\n"),
        ];
        for (max_files, written, followed) in cases {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let options = LogOptions {
                max_size: 200,
                max_files,
            };
            let mut log = LogWriter::open(&path, options).unwrap();
            let first = if max_files == 1 {
                long.as_str()
            } else {
                "before\n"
            };
            log.append(Stream::Stdout, first.as_bytes()).unwrap();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let query = LogQuery::default();
            let at = print(&path, &query, &mut out, &mut err).unwrap();
            for line in written {
                log.append(Stream::Stdout, line.as_bytes()).unwrap();
            }
            follow(&path, at, &query, &mut out, &mut err, &|| false).unwrap();
            assert_eq!(
                text(out),
                format!("{first}{followed}"),
                "max-file={max_files}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
