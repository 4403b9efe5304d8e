//! What the child needs to become the container: the configuration that
//! the pipeline carries from `run` (or `exec`) to the child.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::spec::volumes::{Volume, VolumeSource};
use crate::spec::{command, CgroupNamespace, Limits, Network, Port, ProcessId};
use crate::state::records::ContainerRecord;
use crate::state::Store;

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

/// The size of a container's terminal (`-t`), in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub rows: u16,
    pub columns: u16,
}

impl TerminalSize {
    /// The size of bocker's own terminal (its stdout's, or its stdin's);
    /// 0×0 when neither is one (a program then uses its defaults).
    pub fn of_bockers_terminal() -> TerminalSize {
        use crate::runtime::process::terminal::window_size_of;
        use std::os::fd::AsFd;
        let size = window_size_of(std::io::stdout().as_fd())
            .or_else(|| window_size_of(std::io::stdin().as_fd()));
        TerminalSize {
            rows: size.map_or(0, |size| size.ws_row),
            columns: size.map_or(0, |size| size.ws_col),
        }
    }
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
    /// `-v` and `--tmpfs`: mounted below the root before pivot_root.
    pub volumes: Vec<crate::spec::Volume>,
    /// `--read-only`.
    pub read_only_root: bool,
    /// Variables given with `-e KEY=VALUE`.
    pub extra_env: Vec<(String, String)>,
    pub network: Network,
    /// With `--net bridge`: the container's address (chapter 5).
    pub address: Option<Ipv4Addr>,
    /// Published ports, `-p 8080:80` (chapter 5).
    pub ports: Vec<Port>,
    /// With `--net container:NAME`: that container's first process, whose
    /// network namespace the child joins (chapter 5).
    pub join_network_of: Option<ProcessId>,
    /// The state directory (chapter 5 keeps a lock and the leases there).
    pub state_root: PathBuf,
    pub stdin: Stdin,
    /// `-t` (from chapter 3): a terminal of this size, made in the
    /// container's devpts (process/terminal.rs), as its stdin, stdout and
    /// stderr; `stdin` then says whether bocker passes its input on.
    pub terminal: Option<TerminalSize>,
    /// Run a small init as pid 1, which starts the command (`--init`).
    pub init: bool,
    /// bocker runs without root: the container gets a user namespace of
    /// its own, whose root is the user (runtime/userns.rs).
    pub rootless: bool,
    /// Memory, CPU and process limits (from chapter 4).
    pub limits: Limits,
    /// A cgroup namespace of its own, or the host's (chapter 4).
    pub cgroupns: CgroupNamespace,
    /// The directory to start in, and the user to run as (a pulled
    /// image's WorkingDir and User, chapter 7).
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// What the container may do (chapter 8).
    #[cfg(feature = "stage8")]
    pub profile: super::security::Profile,
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
            volumes: volumes_on_the_host(store, &record.volumes),
            read_only_root: record.read_only_root,
            extra_env: record.env.clone(),
            network: record.network.clone(),
            address: record.address,
            ports: record.ports.clone(),
            join_network_of,
            state_root: store.root().to_path_buf(),
            stdin,
            terminal: record.tty.then(TerminalSize::of_bockers_terminal),
            init: record.init,
            rootless: super::userns::rootless(),
            limits: record.limits.clone(),
            cgroupns: record.cgroupns,
            workdir: record.workdir.clone(),
            user: record.user.clone(),
            #[cfg(feature = "stage8")]
            profile: super::security::profile(&record.security, super::cgroup::controls_devices()),
        }
    }

    /// The same container, another command (for `exec`), with a terminal
    /// of its own if `tty` (`exec -t`).
    pub fn with_command(mut self, words: &[String], tty: bool) -> ContainerConfig {
        self.argv = command::argv_for(words);
        self.init = false;
        self.terminal = tty.then(TerminalSize::of_bockers_terminal);
        self
    }

    /// Does the container get a network namespace of its own? Not with
    /// `--net host`; and before chapter 2 there are no namespaces at all.
    pub fn new_network(&self) -> bool {
        cfg!(feature = "stage2")
            && matches!(
                self.network,
                Network::None | Network::Bridge | Network::Pasta
            )
    }
}

/// `volumes` with each named volume as the bind of its folder.
fn volumes_on_the_host(store: &Store, volumes: &[Volume]) -> Vec<Volume> {
    volumes
        .iter()
        .map(|volume| match &volume.source {
            VolumeSource::Named(name) => Volume {
                source: VolumeSource::Bind(store.volumes().data(name)),
                ..volume.clone()
            },
            _ => volume.clone(),
        })
        .collect()
}
