//! The small JSON records kept for each image and container.
//!
//! A record is rewritten as a whole: we write a temporary file next to it
//! (flushed to disk first for images, see [`Durability`]) and `rename(2)`
//! it over the old one. Rename within one directory is atomic, so a reader
//! sees either the old record or the new one, never half of each, even if
//! bocker is killed in the middle.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::spec::{
    CgroupNamespace, Limits, Liveness, LogOptions, Network, Port, ProcessId, RestartPolicy,
    SecurityOptions, Volume,
};

/// `images/<id>/image.json`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: String,
    /// Where the image came from: the directory given to `init`.
    pub source: String,
    /// Nanoseconds since the Unix epoch (fine enough to order listings).
    pub created: u64,
    /// A pulled image's manifest digest, `sha256:…` (chapter 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What a pulled image's config asks for (chapter 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<ImageDefaults>,
    /// Without root, from chapter 9: may files of the image belong to the
    /// user's subordinate ids (a pull or a commit, runtime/mapped_root.rs)?
    /// Then a container's copy of it is made as root of a user namespace
    /// with those ids; an image of the user's own files (`init`) is copied
    /// as the user, which is quicker.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subordinate_owners: bool,
}

/// The part of an image's config that `run` uses: what to run, in which
/// directory, as whom, with which variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDefaults {
    /// Runs first; the command (typed, or `cmd`) is its arguments.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// The command when none is typed.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// `KEY=VALUE` variables.
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `uid`, `uid:gid`, `name` or `name:group`.
    #[serde(default)]
    pub user: Option<String>,
}

/// The life of a container, as recorded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Its directory is ready; its process is being started.
    Created,
    /// Its process was started and had not ended when last seen.
    Running,
    /// Its process ended; `exit_code` says how, if it is known.
    Exited,
}

/// `containers/<id>/container.json`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: Option<String>,
    pub image: String,
    /// The command as the user typed it (one word per element).
    pub command: Vec<String>,
    pub hostname: String,
    /// Variables given with `-e` (and, from chapter 7, the image's), kept
    /// for `exec`.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// The directory the command starts in (a pulled image's WorkingDir).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Whom the command runs as (a pulled image's User): `uid[:gid]` or
    /// `name[:group]`, looked up in the container's /etc/passwd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Capabilities, seccomp, no_new_privs (chapter 8).
    #[serde(default)]
    pub security: SecurityOptions,
    /// How the container is networked (from chapter 2).
    #[serde(default)]
    pub network: Network,
    /// Its address on the bridge (chapter 5, `--net bridge`).
    #[serde(default)]
    pub address: Option<std::net::Ipv4Addr>,
    /// Published ports (chapter 5, `-p`).
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Whether a small init process runs as pid 1 (`run --init`).
    #[serde(default)]
    pub init: bool,
    /// Whether its command has a terminal (`run -t`).
    #[serde(default)]
    pub tty: bool,
    /// Memory, CPU and process limits (from chapter 4).
    #[serde(default)]
    pub limits: Limits,
    /// Whether it has a cgroup namespace of its own (chapter 4).
    #[serde(default)]
    pub cgroupns: CgroupNamespace,
    /// How much of its output the log keeps (`--log-opt`).
    #[serde(default)]
    pub log_options: LogOptions,
    /// Nanoseconds since the Unix epoch.
    pub created: u64,
    pub status: Status,
    /// The container's first process, as seen from the host.
    pub pid: Option<i32>,
    /// The kernel's start time of `pid` (field 22 of /proc/PID/stat).
    /// Together with `pid` it names one process, even after pid reuse.
    pub pid_start_time: Option<u64>,
    /// The bocker process that waits for the container and records its
    /// exit: `bocker run` itself, or the monitor of `run -d`. If it is gone
    /// while the record still says running, it was killed: the next
    /// command's sweep cleans up after it.
    #[serde(default)]
    pub keeper: Option<ProcessId>,
    /// Exit code, 128+N when killed by signal N.
    pub exit_code: Option<i32>,
    /// The kernel's OOM killer killed a process of the container (read
    /// from its cgroup's counters before the cgroup was removed).
    #[serde(default)]
    pub oom_killed: bool,
    /// `--rm`: removed when its command exits (kept for `start` of a
    /// container made by `create --rm`).
    #[serde(default)]
    pub auto_remove: bool,
    /// `--restart`: whether its keeper starts it again when it ends.
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// How many times its keeper started it again.
    #[serde(default)]
    pub restart_count: u32,
    /// `stop` ended it: its restart policy does not apply.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// `-v` and `--tmpfs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// `--read-only`: the root filesystem is mounted read-only.
    #[serde(default)]
    pub read_only_root: bool,
}

impl ContainerRecord {
    /// The container's first process, if it was started.
    pub fn first_process(&self) -> Option<ProcessId> {
        Some(ProcessId {
            pid: self.pid?,
            start_time: self.pid_start_time?,
        })
    }

    /// Its first process has exited, or never started. (One on its way
    /// out is not gone yet.)
    pub fn first_process_gone(&self) -> bool {
        self.first_process()
            .is_none_or(|first| first.liveness() == Liveness::Gone)
    }

    /// Recorded as running, and its first process is not gone: it may
    /// not be removed.
    pub fn is_running(&self) -> bool {
        self.status == Status::Running && !self.first_process_gone()
    }

    /// Its keeper, the bocker that waits for it and records its end, has
    /// exited (or was never recorded).
    pub fn keeper_gone(&self) -> bool {
        self.keeper
            .is_none_or(|keeper| keeper.liveness() == Liveness::Gone)
    }
}

/// What a record must survive. Either way a reader sees the old record or
/// the new one, never half of one: the new one is written under another
/// name and renamed over the old, and rename(2) is atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A power cut too: fsync(2) puts the data on the disk before the
    /// rename. For images, which a user keeps for months.
    PowerCut,
    /// bocker being killed, not a power cut. For containers' records,
    /// which describe processes: after a power cut those are gone anyway,
    /// the sweep corrects a record that says "running", and `rm` removes
    /// one that was lost half-written. An fsync on every start would cost
    /// a disk flush (a millisecond or more) for nothing. runc writes its
    /// state.json the same way.
    Crash,
}

/// Write `value` as JSON to `path`, atomically (write, rename).
pub fn write_atomically<T: Serialize>(
    path: &Path,
    value: &T,
    durability: Durability,
) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value)?;
    let mut file = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(&text)?;
    file.write_all(b"\n")?;
    if durability == Durability::PowerCut {
        file.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Read a JSON record.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a valid record", path.display()))
}

/// Nanoseconds since the Unix epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
