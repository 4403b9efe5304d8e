//! The layers we downloaded, kept by digest: `<state root>/blobs/sha256/HEX`.
//!
//! A blob's name is the sha256 of its bytes (content addressing), so a
//! layer two images share is downloaded once, and a file in this store is
//! known to be right: it is only renamed to its name after its digest was
//! checked.
//!
//! While a blob downloads (into `.partial-PID-HEX`), the layer before it
//! may still be being applied. A `Download` lets the applier read a
//! partial file as it grows: it waits when it catches up with the
//! download, and sees the end only when the download is complete and
//! checked. So download, check, decompress and extract overlap, one pass
//! over the data, and never more than a buffer of it in memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::progress::BlobProgress;

pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// The store under `root`, made if missing. Partial files of pulls
    /// that were killed are removed.
    pub fn open(root: &Path) -> Result<Blobs> {
        let dir = root.join("blobs").join("sha256");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let blobs = Blobs { dir };
        blobs.remove_abandoned_partials();
        Ok(blobs)
    }

    /// Where the blob `digest` is (or will be) kept.
    pub fn path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.dir.join(hex_of(digest)?))
    }

    pub fn has(&self, digest: &str) -> bool {
        self.path(digest).is_ok_and(|path| path.is_file())
    }

    /// Begin downloading `digest`: a partial file to write into, and the
    /// `Download` a reader follows.
    pub fn begin(&self, digest: &str) -> Result<(File, Arc<Download>)> {
        let partial = self.dir.join(format!(
            ".partial-{}-{}",
            std::process::id(),
            hex_of(digest)?
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let download = Arc::new(Download {
            partial,
            path: self.path(digest)?,
            state: Mutex::new(State::Running),
            changed: Condvar::new(),
        });
        Ok((file, download))
    }

    /// The download into `download`'s partial file ended with `outcome`:
    /// keep the blob under its name if it was checked, else remove it.
    pub fn finish(download: &Download, outcome: Result<()>) -> Result<()> {
        // Under the lock, so that `follow` never looks for the partial
        // file after its rename.
        let mut state = download.state.lock().unwrap();
        let kept = outcome.and_then(|()| {
            fs::rename(&download.partial, &download.path).context("cannot keep the downloaded blob")
        });
        *state = match &kept {
            Ok(()) => State::Done,
            Err(error) => {
                let _ = fs::remove_file(&download.partial);
                State::Failed(format!("{error:#}"))
            }
        };
        download.changed.notify_all();
        kept
    }

    fn remove_abandoned_partials(&self) {
        let Ok(listing) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(".partial-") else {
                continue;
            };
            let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
            let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// `sha256:HEX` → `HEX`, refusing anything else: a digest names a file
/// here, so it must never hold a `/` or `..`.
fn hex_of(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(hex),
        _ => bail!(
            "unsupported digest '{}' (bocker knows sha256 only)",
            crate::escape::printable(digest)
        ),
    }
}

#[derive(Debug, Clone)]
enum State {
    Running,
    Done,
    Failed(String),
}

/// A blob being downloaded, which a reader can follow.
pub struct Download {
    /// Where the bytes arrive.
    partial: PathBuf,
    /// Where the blob is kept once checked.
    path: PathBuf,
    state: Mutex<State>,
    changed: Condvar,
}

impl Download {
    /// A writer into the partial file that wakes the reader after every
    /// write, and shows progress.
    /// It stops (with an error) once `cancelled` is set.
    pub fn writer(
        self: &Arc<Self>,
        file: File,
        progress: BlobProgress,
        cancelled: Arc<AtomicBool>,
    ) -> DownloadWriter {
        DownloadWriter {
            file,
            download: Arc::clone(self),
            progress,
            cancelled,
        }
    }

    /// Read the blob as it arrives.
    pub fn follow(self: &Arc<Self>) -> Result<Following> {
        let state = self.state.lock().unwrap();
        let path = match &*state {
            State::Done => &self.path,
            State::Running => &self.partial,
            // The download failed (and its partial file is gone): say why.
            State::Failed(why) => bail!("{why}"),
        };
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        drop(state);
        Ok(Following {
            file,
            download: Arc::clone(self),
        })
    }

    /// Wait until the download ends; its error if it failed.
    pub fn wait(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        loop {
            match &*state {
                State::Running => state = self.changed.wait(state).unwrap(),
                State::Done => return Ok(()),
                State::Failed(why) => bail!("{why}"),
            }
        }
    }
}

pub struct DownloadWriter {
    file: File,
    download: Arc<Download>,
    pub progress: BlobProgress,
    cancelled: Arc<AtomicBool>,
}

impl Write for DownloadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The pull failed elsewhere (a layer was refused): stop downloading.
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(io::Error::other("the pull was abandoned"));
        }
        let written = self.file.write(buf)?;
        self.progress.advance(written as u64);
        self.download.changed.notify_all();
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Reads a partial file; at its end, waits for more unless the download
/// is over.
pub struct Following {
    file: File,
    download: Arc<Download>,
}

impl Read for Following {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let read = self.file.read(buf)?;
            if read > 0 || buf.is_empty() {
                return Ok(read);
            }
            let state = self.download.state.lock().unwrap();
            match &*state {
                // The last bytes may have arrived between our read and the
                // end of the download: read once more, then it is the end.
                State::Done => return self.file.read(buf),
                State::Failed(why) => return Err(io::Error::other(why.clone())),
                State::Running => {
                    // Woken by the next write; the timeout only guards
                    // against a wake-up that came before we waited.
                    let _ = self
                        .download
                        .changed
                        .wait_timeout(state, Duration::from_millis(50))
                        .unwrap();
                }
            }
        }
    }
}

/// A blob already in the store, as a Download that is over.
pub fn stored(path: PathBuf) -> Arc<Download> {
    Arc::new(Download {
        partial: path.clone(),
        path,
        state: Mutex::new(State::Done),
        changed: Condvar::new(),
    })
}
