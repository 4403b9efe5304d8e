//! Running a chapter's session (its `transcripts/session.sh`, through
//! scripts/lib/transcript-session.sh) as a student's root shell would, but
//! out of the machine's way: in a private mount and network namespace, with
//! a scratch folder of its own over /tmp.
//!
//! The scratch folder ([`Work`]) is on disk, under /var/tmp, not in a tmpfs:
//! the containers' root mount shows the disk it is on (chapter 3's
//! /proc/mounts). It holds the builds, the programs, the new transcripts,
//! and each chapter's /tmp. However the run ends (done, an error, Ctrl-C),
//! dropping it stops what the sessions left running and removes it.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{say, signals};

/// The run's scratch folder, /var/tmp/bocker-transcripts.XXXXXX:
///
/// ```text
/// bin/NAME          the builds of bocker, by name
/// build-NAME.json   what cargo said when it made one
/// programs/NAME     chapter 1's escape, chapter 8's attacks
/// tests/NAME.out    what a test suite printed
/// new/chapters/NN-topic/transcripts/*.txt   the transcripts made
/// repo/             where the sessions see the project
/// tmp-NN-topic/     a chapter's /tmp
/// repo6/            chapter 6's stand-in for a checkout (strace)
/// ```
pub struct Work {
    pub root: PathBuf,
}

impl Work {
    pub fn new() -> Result<Work> {
        let parent = Path::new("/var/tmp");
        let mut seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos() as u64;
        for _ in 0..100 {
            let suffix: String = (0..6)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let alphabet =
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
                    alphabet[(seed >> 33) as usize % alphabet.len()] as char
                })
                .collect();
            let root = parent.join(format!("bocker-transcripts.{suffix}"));
            match fs::create_dir(&root) {
                Ok(()) => {
                    fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
                    return Ok(Work { root });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("making a scratch folder in {}", parent.display())
                    })
                }
            }
        }
        anyhow::bail!("could not make a scratch folder in {}", parent.display())
    }

    /// Where the sessions write chapter `dir`'s transcripts.
    pub fn new_transcripts(&self, dir: &str) -> PathBuf {
        self.root.join("new/chapters").join(dir).join("transcripts")
    }

    /// The first of `names` that this run built.
    fn build(&self, names: &[&str]) -> Option<PathBuf> {
        names
            .iter()
            .map(|name| self.root.join("bin").join(name))
            .find(|path| path.exists())
    }

    /// Stop the containers that the sessions left running, found by their
    /// records in the chapters' state folders. (The sessions stop them
    /// themselves, on their way out; this is for a session that could not,
    /// killed with SIGKILL say. The records kept on a chapter's btrfs are
    /// gone with its namespace, and its containers with them.)
    fn stop_leftovers(&self) {
        // Stage 4 and later thaw a paused container before they stop it.
        let Some(stopper) = self.build(&[
            "stage5",
            "stage4",
            "stage3",
            "stage2",
            "reference",
            "stage7",
            "stage6",
        ]) else {
            return;
        };
        for record in glob(
            &self.root,
            &["tmp-*", "*", "containers", "ps_*", "container.json"],
        ) {
            if !fs::read_to_string(&record).is_ok_and(|r| r.contains(r#""status": "running""#)) {
                continue;
            }
            let container = record.parent().expect("a container folder");
            let state = container
                .parent()
                .and_then(Path::parent)
                .expect("a state folder");
            say(&format!("stopping {}, left running", container.display()));
            // From the machine's own network namespace, not the session's:
            // BOCKER_BRIDGE=none, so that whatever this bocker sweeps
            // leaves the machine's bridge and NAT rules alone.
            let _ = Command::new(&stopper)
                .args(["stop", "-t", "0"])
                .arg(container.file_name().expect("an id"))
                .env("BOCKER_ROOT", state)
                .env("BOCKER_BRIDGE", "none")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        self.stop_leftovers();
        // Chapter 6 and 7's btrfs files are reset by their sessions. One
        // that is still here was not: its loop device frees itself once
        // nothing uses its filesystem any more.
        for file in glob(&self.root, &["tmp-*", "*", "btrfs.img"]) {
            say(&format!(
                "warning: {} was not reset (see losetup -l)",
                file.display()
            ));
        }
        if let Err(error) = fs::remove_dir_all(&self.root) {
            say(&format!(
                "warning: could not remove {}: {error}",
                self.root.display()
            ));
        }
    }
}

/// The paths under `root` that match `pattern`, one component at a time;
/// a component is a name, or a prefix followed by `*`.
fn glob(root: &Path, pattern: &[&str]) -> Vec<PathBuf> {
    let mut found = vec![root.to_path_buf()];
    for part in pattern {
        let mut next = Vec::new();
        for dir in found {
            match part.strip_suffix('*') {
                Some(prefix) => {
                    let Ok(entries) = fs::read_dir(&dir) else {
                        continue;
                    };
                    let mut names: Vec<PathBuf> = entries
                        .flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                        .map(|e| e.path())
                        .collect();
                    names.sort();
                    next.extend(names);
                }
                None => {
                    let path = dir.join(part);
                    if path.symlink_metadata().is_ok() {
                        next.push(path);
                    }
                }
            }
        }
        found = next;
    }
    found
}

/// How many chapters' sessions run at once. They are independent (each
/// in namespaces of its own, with a /tmp of its own), and mostly wait:
/// for containers to start and stop, for the kernel, for `sleep`.
const AT_ONCE: usize = 2;

/// Run the sessions of `dirs` (chapter folders), a few at a time, the
/// later chapters first (they take longer). Fails if one does, after
/// ending the others (TERM to each session's process group: their traps
/// stop what they started).
pub fn run_all(repo: &Path, work: &Work, dirs: &[String]) -> Result<()> {
    let mut waiting: Vec<&String> = dirs.iter().collect();
    let mut running: Vec<(&String, Child, Instant)> = Vec::new();
    let mut failed = None;
    while failed.is_none() && (!waiting.is_empty() || !running.is_empty()) {
        while running.len() < AT_ONCE && failed.is_none() {
            let Some(dir) = waiting.pop() else { break };
            match start(repo, work, dir) {
                Ok(child) => running.push((dir, child, Instant::now())),
                Err(error) => failed = Some(error),
            }
        }
        if signals::caught().is_some() {
            break;
        }
        let mut still = Vec::new();
        for (dir, mut child, started) in running {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => {
                    say(&format!(
                        "session of {dir} done in {:.0?}",
                        started.elapsed()
                    ));
                }
                Ok(Some(status)) => {
                    failed.get_or_insert_with(|| {
                        anyhow::anyhow!("chapter {dir}'s session failed ({status})")
                    });
                }
                Ok(None) => still.push((dir, child, started)),
                Err(error) => {
                    failed.get_or_insert_with(|| anyhow::Error::from(error));
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, child, _) in &mut running {
        // SAFETY: kill(2) has no memory-safety preconditions; the child
        // leads its own process group (setsid).
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGTERM) };
        let _ = child.wait();
    }
    if let Some(error) = failed {
        return Err(error);
    }
    signals::check()
}

/// Start chapter `dir`'s session: bash, in a new session (its own process
/// group, which Ctrl-C does not reach: on a signal, xtask sends it TERM),
/// in new mount and network namespaces where every mount is private, the
/// project is bind-mounted read-only on WORK/repo (the current folder;
/// also when it lives under /tmp), and the chapter's scratch folder is
/// mounted over /tmp; with a clean environment, no supplementary groups
/// and the umask 022, whoever started xtask and how.
fn start(repo: &Path, work: &Work, dir: &str) -> Result<Child> {
    let tmp = work.root.join(format!("tmp-{dir}"));
    fs::create_dir(&tmp)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777))?;
    let repo_seen = work.root.join("repo");
    fs::create_dir_all(&repo_seen)?;
    fs::create_dir_all(work.new_transcripts(dir))?;

    let c =
        |path: &Path| CString::new(path.as_os_str().as_bytes()).context("a path with a NUL byte");
    let (c_repo, c_repo_seen, c_tmp) = (c(repo)?, c(&repo_seen)?, c(&tmp)?);
    let (c_root, c_slash_tmp) = (c(Path::new("/"))?, c(Path::new("/tmp"))?);

    let mut command = Command::new("bash");
    command
        .arg(repo_seen.join("scripts/lib/transcript-session.sh"))
        .arg(dir)
        .arg(&work.root)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("TERM", "xterm")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes raw system calls
    // on C strings made before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let check = |result: libc::c_int| {
                if result == -1 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            };
            check(libc::setsid())?;
            // As the book's root shell: no supplementary groups (chapter
            // 1's `id` in a chroot shows the caller's, and sudo gives
            // root `groups=0(root)`), files made rw-r--r--.
            check(libc::setgroups(0, std::ptr::null()))?;
            libc::umask(0o022);
            check(libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET))?;
            let none = std::ptr::null();
            // Every mount private (unshare(1)'s default): nothing made
            // here reaches the machine's mount table.
            check(libc::mount(
                none,
                c_root.as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // The project first, while /tmp is still the machine's.
            check(libc::mount(
                c_repo.as_ptr(),
                c_repo_seen.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                none,
                c_repo_seen.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c_tmp.as_ptr(),
                c_slash_tmp.as_ptr(),
                none,
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
            check(libc::chdir(c_repo_seen.as_ptr()))
        });
    }
    command
        .spawn()
        .context("starting a session (bash, in new namespaces)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_names_and_prefixes() {
        let root = std::env::temp_dir().join(format!("xtask-glob-{}", std::process::id()));
        for dir in [
            "tmp-01/a/containers/ps_1",
            "tmp-02/b/containers/ps_2",
            "tmp-02/b/containers/other",
            "x/a/containers/ps_3",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let found = glob(&root, &["tmp-*", "*", "containers", "ps_*"]);
        let _ = fs::remove_dir_all(&root);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["tmp-01/a/containers/ps_1", "tmp-02/b/containers/ps_2"]
        );
    }
}
