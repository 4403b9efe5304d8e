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

#[cfg(feature = "stage5")]
pub mod bridge_owner;
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
#[cfg(feature = "stage5")]
pub mod nat;
#[cfg(feature = "stage5")]
pub mod network;
pub mod outside;
pub mod ports;
pub mod process;
pub mod relay;
pub mod rootfs;
pub mod sealed;
#[cfg(feature = "stage8")]
pub mod security;
pub mod signals;
pub mod spawn;
#[cfg(feature = "stage5")]
pub mod subnet;
pub mod teardown;
#[cfg(feature = "stage7")]
pub mod user;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::state::records::ContainerRecord;
use crate::state::Store;

/// How a container is networked (`run --net`): the seed's four modes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// A network namespace of its own, with only the loopback interface
    /// (chapter 2; chapter 5 brings `lo` up).
    #[default]
    None,
    /// The host's network namespace: its interfaces, addresses and ports.
    Host,
    /// A namespace of its own, plugged into the host's bridge with a veth
    /// pair, with an address of the bridge's subnet (chapter 5).
    Bridge,
    /// The network namespace of another container, by id (chapter 5).
    Container(String),
}

impl Network {
    /// `--net MODE`: `none`, `host`, and from chapter 5 `bridge` and
    /// `container:NAME`.
    pub fn parse(text: &str) -> Result<Network, String> {
        match text {
            "none" => Ok(Network::None),
            "host" => Ok(Network::Host),
            #[cfg(feature = "stage5")]
            "bridge" => Ok(Network::Bridge),
            #[cfg(feature = "stage5")]
            other if other.starts_with("container:") && other.len() > "container:".len() => {
                Ok(Network::Container(other["container:".len()..].to_string()))
            }
            other => Err(format!(
                "unknown network mode '{other}' (expected {})",
                if cfg!(feature = "stage5") {
                    "bridge, none, host or container:NAME"
                } else {
                    "none or host"
                }
            )),
        }
    }
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
    /// With `--net bridge`: the container's address (chapter 5).
    pub address: Option<Ipv4Addr>,
    /// Published ports, `-p 8080:80` (chapter 5).
    pub ports: Vec<ports::Port>,
    /// With `--net container:NAME`: that container's first process, whose
    /// network namespace the child joins (chapter 5).
    pub join_network_of: Option<process::ProcessId>,
    /// The state directory (chapter 5 keeps a lock and the leases there).
    pub state_root: PathBuf,
    pub stdin: Stdin,
    /// Run a small init as pid 1, which starts the command (`--init`).
    pub init: bool,
    /// Memory, CPU and process limits (from chapter 4).
    pub limits: limits::Limits,
    /// The directory to start in, and the user to run as (a pulled
    /// image's WorkingDir and User, chapter 7).
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// What the container may do (chapter 8).
    #[cfg(feature = "stage8")]
    pub profile: security::Profile,
}

impl ContainerConfig {
    /// The one place a config is made: from the container's record. `run`
    /// uses it for the container's command, `exec` for one more process.
    pub fn new(store: &Store, record: &ContainerRecord, stdin: Stdin) -> ContainerConfig {
        // The container whose network namespace to join, if it still runs.
        let join_network_of = match &record.network {
            Network::Container(other) => store
                .container_record(other)
                .ok()
                .and_then(|other| other.first_process()),
            _ => None,
        };
        ContainerConfig {
            id: record.id.clone(),
            argv: command::argv_for(&record.command),
            rootfs: store.container_paths(&record.id).rootfs,
            hostname: record.hostname.clone(),
            extra_env: record.env.clone(),
            network: record.network.clone(),
            address: record.address,
            ports: record.ports.clone(),
            join_network_of,
            state_root: store.root().to_path_buf(),
            stdin,
            init: record.init,
            limits: record.limits.clone(),
            workdir: record.workdir.clone(),
            user: record.user.clone(),
            #[cfg(feature = "stage8")]
            profile: security::profile(&record.security, cgroup::controls_devices()),
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
        cfg!(feature = "stage2") && matches!(self.network, Network::None | Network::Bridge)
    }
}
