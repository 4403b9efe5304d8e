//! Starting a container: the pipeline every chapter adds a step to.
//!
//! ```text
//!   bocker (parent)                          container process (child)
//!   ───────────────                          ─────────────────────────
//!   make pipes for stdin, stdout, stderr
//!   make the handshake pipes
//!   create the child ──── fork / clone ────▶ die if the parent dies
//!                                            wait for "go"
//!   set-up from outside (outside.rs:
//!   chapter 4's cgroup, chapter 5's
//!   network)
//!   send "go" ─────────────────────────────▶ a session of its own
//!                                            stdin, stdout, stderr: the pipes
//!                                            hostname (chapter 2)
//!                                            enter the root (chapters 1, 3)
//!                                            mark every other descriptor
//!                                            close-on-exec
//!                                            execve(the command)
//!   read the outcome ◀──────────────────────  nothing if execve worked,
//!                                            else why it failed
//!   relay output to terminal and log
//!   wait for the exit status
//!   teardown (teardown.rs): undo what
//!   the set-up from outside made
//! ```
//!
//! The child is a copy of bocker until `execve` replaces it. Until then it
//! only makes plain system calls, and it never returns into bocker's own
//! code: it ends in `execve` or `_exit`.

#[cfg(feature = "stage4")]
pub mod cgroup;
pub mod child;
pub mod command;
pub mod execve;
pub mod fds;
pub mod handshake;
pub mod init;
#[cfg(feature = "stage2")]
pub mod join;
pub mod limits;
pub mod outside;
pub mod process;
pub mod relay;
pub mod rootfs;
pub mod sealed;
pub mod signals;
pub mod spawn;
pub mod teardown;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::state::records::ContainerRecord;
use crate::state::Store;

/// How a container is networked (`run --net`, from chapter 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    // (Plain comments, not doc comments: clap would turn those into a long
    // `--help` page.)
    // A network namespace of its own, with only the loopback interface.
    #[default]
    None,
    // The host's network namespace: its interfaces, addresses and ports.
    Host,
}

/// Where the command's standard input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdin {
    /// /dev/null: reading gives end-of-file at once. The default, so that
    /// a container never gets the user's terminal.
    Null,
    /// A pipe that bocker fills with what it reads on its own stdin
    /// (`-i`, as `docker run -i`).
    Pipe,
}

/// Everything the child needs to become the container.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// The container's id: names what it owns on the host (from chapter 4,
    /// its cgroup; from chapter 5, its network interface).
    pub id: String,
    /// The argv to execute inside the container.
    pub argv: Vec<String>,
    /// The container's root filesystem on the host.
    pub rootfs: PathBuf,
    /// The container's hostname (used from chapter 2 on).
    pub hostname: String,
    /// Variables given with `-e KEY=VALUE`.
    pub extra_env: Vec<(String, String)>,
    pub network: Network,
    pub stdin: Stdin,
    /// Run a small init as pid 1, which starts the command (`--init`).
    pub init: bool,
    /// Memory, CPU and process limits (from chapter 4).
    pub limits: limits::Limits,
}

impl ContainerConfig {
    /// The one place a config is made: from the container's record. `run`
    /// uses it for the container's command, `exec` for one more process.
    pub fn new(store: &Store, record: &ContainerRecord, stdin: Stdin) -> ContainerConfig {
        ContainerConfig {
            id: record.id.clone(),
            argv: command::argv_for(&record.command),
            rootfs: store.container_paths(&record.id).rootfs,
            hostname: record.hostname.clone(),
            extra_env: record.env.clone(),
            network: record.network,
            stdin,
            init: record.init,
            limits: record.limits.clone(),
        }
    }

    /// The same container, another command (for `exec`).
    pub fn with_command(mut self, words: &[String]) -> ContainerConfig {
        self.argv = command::argv_for(words);
        self.init = false;
        self
    }

    /// Does the container get a network namespace of its own? Not with
    /// `--net host`; and before chapter 2 there are no namespaces at all.
    pub fn new_network(&self) -> bool {
        cfg!(feature = "stage2") && self.network != Network::Host
    }
}
