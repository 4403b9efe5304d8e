//! The command line: Bocker's verbs, plus a few of Docker's habits.
//!
//! A flag that belongs to a chapter appears here only once that chapter's
//! feature is compiled in, so `--help` grows as the course goes on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[cfg(feature = "stage2")]
use crate::spec::Network;

#[derive(Debug, Parser)]
#[command(
    name = "bocker",
    version,
    about = "Docker in Rust, one kernel mechanism at a time",
    propagate_version = true,
    // A fixed width keeps --help the same on every terminal (and in tests).
    term_width = 100
)]
pub struct Cli {
    /// Directory that holds images, containers and logs [default:
    /// /var/lib/bocker; without root, ~/.local/share/bocker]
    #[arg(
        long,
        global = true,
        env = "BOCKER_ROOT",
        hide_env_values = true,
        default_value_os_t = default_root(),
        hide_default_value = true,
        value_name = "DIR"
    )]
    pub root: PathBuf,

    #[cfg(feature = "oci")]
    #[command(flatten)]
    pub oci: OciGlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The global flags of runc's command line, which engines pass to any OCI
/// runtime. Hidden from --help (they matter to engines, not to people);
/// `create --help` says what they do.
#[cfg(feature = "oci")]
#[derive(Debug, Args)]
pub struct OciGlobalArgs {
    /// Also write errors to FILE (the OCI verbs; engines read it)
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The format of --log: text or json
    #[arg(
        long = "log-format",
        global = true,
        hide = true,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: String,
    /// Manage cgroups through systemd (refused: bocker writes cgroupfs)
    #[arg(long = "systemd-cgroup", global = true, hide = true)]
    pub systemd_cgroup: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an image from a directory
    Init {
        /// The directory to use as the image's root filesystem
        directory: PathBuf,
    },
    /// List images
    Images {
        /// Show the manifest digest of each pulled image
        #[cfg(feature = "stage7")]
        #[arg(long)]
        digests: bool,
    },
    /// Pull an image from a registry: `pull busybox:1.36`, or Bocker's
    /// `pull busybox 1.36`
    #[cfg(feature = "stage7")]
    #[command(
        after_help = "Registries on this machine (localhost, 127.0.0.1) are reached over \
                            plain HTTP, others over HTTPS unless listed in \
                            BOCKER_INSECURE_REGISTRIES (host:port,…). Docker Hub images are \
                            tried first on the mirrors in BOCKER_REGISTRY_MIRROR (host,…). \
                            Credentials: --user, or those `docker login` saved in \
                            ~/.docker/config.json."
    )]
    Pull(PullArgs),
    /// List containers
    Ps {
        /// OCI: how to print an OCI container's processes: table or json
        #[cfg(all(feature = "oci", not(feature = "docker")))]
        #[arg(short, long, value_name = "FORMAT")]
        format: Option<String>,
        /// Print each container through TEMPLATE ('{{.ID}} {{.Status}}';
        /// 'table …' aligns columns on \t); with an OCI container's ID,
        /// how to print its processes: table or json
        #[cfg(feature = "docker")]
        #[arg(long, value_name = "TEMPLATE")]
        format: Option<String>,
        #[cfg(feature = "docker")]
        #[command(flatten)]
        flags: PsFlags,
        /// OCI: an OCI container's id
        #[cfg(feature = "oci")]
        #[arg(value_name = "ID")]
        id: Option<String>,
    },
    /// Create a container from an image and run a command in it
    #[cfg_attr(
        feature = "stage4",
        command(
            after_help = "Bocker's variables still work: BOCKER_MEM_LIMIT (megabytes) and \
                              BOCKER_CPU_SHARE stand for --memory and --cpu-shares when those \
                              flags are not given."
        )
    )]
    // Boxed: run has many more flags than the other verbs (clippy's
    // large_enum_variant).
    Run(Box<RunArgs>),
    /// Print what a container wrote to stdout and stderr
    Logs {
        #[cfg(feature = "docker")]
        #[command(flatten)]
        flags: LogsFlags,
        /// Container id or name
        container: String,
    },
    /// Run a command inside a running container
    #[cfg(feature = "stage2")]
    Exec(ExecArgs),
    /// Stop a running container: SIGTERM, then SIGKILL after a grace period
    #[cfg(feature = "stage2")]
    Stop {
        /// Seconds to wait after SIGTERM before sending SIGKILL
        #[arg(
            short = 't',
            long = "time",
            default_value_t = 10,
            value_name = "SECONDS"
        )]
        grace: u64,
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Show what containers use: memory, CPU, processes (from their cgroups)
    #[cfg(feature = "stage4")]
    Stats {
        /// Print once and return, instead of every second until Ctrl-C
        #[arg(long)]
        no_stream: bool,
        /// Container ids or names [default: every running container]
        #[arg(value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Freeze every process of containers (the cgroup freezer)
    #[cfg(feature = "stage4")]
    Pause {
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Let the processes of paused containers go on
    #[cfg(feature = "stage4")]
    Unpause {
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Change the limits of running containers
    #[cfg(feature = "stage4")]
    Update {
        #[command(flatten)]
        limits: LimitArgs,
        /// OCI: the new limits as config.json's linux.resources, from FILE
        /// (`-`: standard input), for an OCI container
        #[cfg(feature = "oci")]
        #[arg(short = 'r', long, value_name = "FILE")]
        resources: Option<PathBuf>,
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// List a container's published ports
    #[cfg(feature = "stage5")]
    Port {
        /// Container id or name
        container: String,
    },
    /// Make an image from a container's files: a new one, or IMAGE replaced
    #[cfg(feature = "stage6")]
    Commit {
        /// Container id or name
        container: String,
        /// The image to replace (as Bocker does) [default: make a new image]
        image: Option<String>,
    },
    /// List what a container added (A), changed (C) and deleted (D)
    #[cfg(feature = "stage6")]
    Diff {
        /// Container id or name
        container: String,
    },
    /// Manage the state directory itself
    #[cfg(feature = "stage6")]
    System {
        #[command(subcommand)]
        action: SystemAction,
    },
    /// Remove images and containers
    Rm {
        /// Image ids, container ids or container names
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Show what bocker knows of containers and images, as JSON in
    /// Docker's shape
    #[cfg(feature = "docker")]
    #[command(
        after_help = "--format reads a small part of Go's templates, as Docker's does: \
                      {{.State.Pid}} (a field, then fields of it), {{json .Config}}, \
                      {{upper .Name}}, {{lower .Name}}, and text around them."
    )]
    Inspect {
        /// Print each object through TEMPLATE instead: '{{.State.Pid}}'
        #[arg(short, long, value_name = "TEMPLATE")]
        format: Option<String>,
        /// Look only at containers, or only at images: container or image
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Container ids or names, image ids
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Give a container another name
    #[cfg(feature = "docker")]
    Rename {
        /// Container id or name
        container: String,
        /// Its new name
        new_name: String,
    },
    /// Copy files between a container and the host: `cp CONTAINER:PATH
    /// HOST_PATH` or `cp HOST_PATH CONTAINER:PATH`
    #[cfg(feature = "docker")]
    Cp {
        /// What to copy
        source: String,
        /// Where to
        destination: String,
    },
    /// Print what a running container prints from now on, until it stops
    #[cfg(feature = "docker")]
    Attach {
        /// Container id or name
        container: String,
    },
    /// Write a container's files as a tar stream
    #[cfg(feature = "docker")]
    Export {
        /// Write to FILE instead of the standard output
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Container id or name
        container: String,
    },
    /// List a running container's processes (with host pids)
    #[cfg(feature = "docker")]
    Top {
        /// Container id or name
        container: String,
        /// Docker passes these to ps(1); bocker takes none
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        ps_options: Vec<String>,
    },
    /// Wait until containers stop, then print their exit codes
    #[cfg(feature = "docker")]
    Wait {
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// Manage named volumes: folders that `-v NAME:/path` mounts and that
    /// outlive their containers
    #[cfg(feature = "docker")]
    Volume {
        #[command(subcommand)]
        action: VolumeAction,
    },
    /// Print what happens to containers (start, die, stop…), as it happens
    #[cfg(feature = "docker")]
    Events(EventsFlags),
    /// Show the machine and the state directory: containers, images,
    /// storage, cgroups, security
    #[cfg(feature = "docker")]
    Info {
        /// Print through TEMPLATE instead: '{{.ContainersRunning}}'
        #[arg(short, long, value_name = "TEMPLATE")]
        format: Option<String>,
    },
    /// Show bocker's version, and the chapters compiled into it
    #[cfg(feature = "docker")]
    Version {
        /// Print through TEMPLATE instead: '{{.Version}}'
        #[arg(short, long, value_name = "TEMPLATE")]
        format: Option<String>,
    },
    /// Make a container from an image without starting it (`start` runs
    /// it): Docker's create, which `create` without --bundle is
    #[cfg(feature = "docker")]
    #[command(name = "container-create", hide = true)]
    ContainerCreate(Box<RunArgs>),
    /// OCI: make a container from a bundle (config.json and its root), and
    /// leave it waiting for `start` (without --bundle, with Docker's verbs:
    /// Docker's create IMAGE [COMMAND]…, with run's flags)
    #[cfg(feature = "oci")]
    #[command(
        after_help = "The OCI verbs (create, start, state, kill, delete) are the command line \
                      runc has, for engines such as podman (--runtime) and containerd \
                      (--runc-binary). They also take runc's global flags: --log FILE (errors \
                      are written there too), --log-format text|json, and --systemd-cgroup \
                      (refused: bocker manages cgroups itself)."
    )]
    Create(OciCreateArgs),
    /// Start containers: an OCI container that was created (runc's start),
    /// or a created or stopped container of bocker's, in the background
    #[cfg(feature = "oci")]
    Start {
        /// Then print its output until it stops, and end with its exit code
        #[cfg(feature = "docker")]
        #[arg(short, long)]
        attach: bool,
        /// Container ids (or names)
        #[arg(required = true, value_name = "CONTAINER")]
        ids: Vec<String>,
    },
    /// Stop containers, then start them again
    #[cfg(feature = "docker")]
    Restart {
        /// Seconds to wait after SIGTERM before sending SIGKILL
        #[arg(
            short = 't',
            long = "time",
            default_value_t = 10,
            value_name = "SECONDS"
        )]
        grace: u64,
        /// Container ids or names
        #[arg(required = true, value_name = "CONTAINER")]
        containers: Vec<String>,
    },
    /// OCI: print a container's state as JSON (status, pid, bundle)
    #[cfg(feature = "oci")]
    State {
        /// The container's id
        id: String,
    },
    /// Send a signal: `kill [-s SIGNAL] CONTAINER…` (Docker's, SIGKILL by
    /// default), or an OCI container's `kill [--all] ID [SIGNAL]` (runc's,
    /// SIGTERM by default)
    #[cfg(feature = "oci")]
    Kill {
        /// OCI: to every process of the container, not only its first
        #[arg(short, long)]
        all: bool,
        /// The signal: KILL, SIGKILL or 9
        #[cfg(feature = "docker")]
        #[arg(short, long, value_name = "SIGNAL")]
        signal: Option<String>,
        /// Container ids or names; for an OCI container: ID [SIGNAL]
        #[arg(required = true, value_name = "CONTAINER")]
        args: Vec<String>,
    },
    /// OCI: let a paused container go on (`pause ID` freezes one: the same
    /// verb as Bocker's, for an OCI container's id)
    #[cfg(feature = "oci")]
    Resume {
        /// The container's id
        id: String,
    },
    /// OCI: print what this runtime supports, as JSON
    #[cfg(feature = "oci")]
    Features,
    /// OCI: remove a stopped (or created) container's cgroup and state
    #[cfg(feature = "oci")]
    Delete {
        /// Kill a running container first
        #[arg(short, long)]
        force: bool,
        /// The container's id
        id: String,
    },
}

/// Docker's flags of `ps`.
#[cfg(feature = "docker")]
#[derive(Debug, Args)]
pub struct PsFlags {
    /// Every container (bocker's ps always lists them all, as Bocker's did)
    #[arg(short, long)]
    pub all: bool,
    /// Only the containers' ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Only the containers that match: status=running, name=web, id=ps_1,
    /// ancestor=IMAGE, exited=0, network=bridge
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
}

/// `bocker volume …`
#[cfg(feature = "docker")]
#[derive(Debug, Subcommand)]
pub enum VolumeAction {
    /// Make a volume [default name: 12 random hex digits]
    Create { name: Option<String> },
    /// List the volumes
    Ls {
        /// Only their names
        #[arg(short, long)]
        quiet: bool,
    },
    /// Show volumes as JSON
    Inspect {
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
    /// Remove volumes no container uses
    Rm {
        #[arg(required = true, value_name = "VOLUME")]
        names: Vec<String>,
    },
    /// Remove every volume no container uses
    Prune {
        /// Really remove them
        #[arg(short, long)]
        force: bool,
    },
}

/// `bocker events`' flags.
#[cfg(feature = "docker")]
#[derive(Debug, Args)]
pub struct EventsFlags {
    /// Also the events from TIME on (2026-12-08T10:00:00Z, seconds since
    /// 1970, or a duration ago: 10m) [default: only new ones]
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Stop at TIME instead of waiting for more
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only the matching events: event=die, container=web, image=IMG
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Print each event through TEMPLATE: '{{.Action}} {{.Actor.ID}}'
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,
}

/// Docker's flags of `logs`.
#[cfg(feature = "docker")]
#[derive(Debug, Args)]
pub struct LogsFlags {
    /// Then go on printing what the container writes, until it stops
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines [default: all]
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<String>,
    /// Only lines from TIME on: 2026-12-08T10:00:00Z, seconds since 1970, or
    /// a duration ago (10m, 1h30m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Each line after the time bocker read it
    #[arg(short, long)]
    pub timestamps: bool,
}

/// `bocker system …`
#[cfg(feature = "stage6")]
#[derive(Debug, Subcommand)]
pub enum SystemAction {
    /// Remove every container and image, and the btrfs file with its mount
    Reset {
        /// Really remove everything
        #[arg(short, long)]
        force: bool,
    },
}

/// `bocker pull …`
#[cfg(feature = "stage7")]
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image: busybox, busybox:1.36, ghcr.io/team/app@sha256:…,
    /// localhost:5000/team/app:v1
    #[arg(value_name = "REFERENCE")]
    pub name: String,
    /// A tag, as in Bocker's `pull NAME TAG`
    pub tag: Option<String>,
    /// The platform to pull from a multi-platform image, OS/ARCH[/VARIANT]
    /// [default: this machine's]
    #[arg(long)]
    pub platform: Option<String>,
    /// Credentials for the registry, USER:PASSWORD
    #[arg(long, value_name = "USER:PASSWORD")]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Give the container a name (usable wherever an id is)
    #[arg(long)]
    pub name: Option<String>,

    /// Remove the container when its command exits
    #[arg(long)]
    pub rm: bool,

    /// Start it again when it ends: no, on-failure[:N], always or
    /// unless-stopped (with -d, or create)
    #[cfg(feature = "docker")]
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,

    /// Bind a host path into the container: /srv/data:/data[:ro]
    #[cfg(feature = "docker")]
    #[arg(short = 'v', long = "volume", value_name = "HOST:CONTAINER[:ro]")]
    pub volumes: Vec<String>,

    /// Mount, in Docker's long form: type=bind|volume|tmpfs,source=…,target=…[,readonly]
    #[cfg(feature = "docker")]
    #[arg(long = "mount", value_name = "FIELDS")]
    pub mounts: Vec<String>,

    /// Mount a new tmpfs in the container: /scratch[:size=64m]
    #[cfg(feature = "docker")]
    #[arg(long, value_name = "PATH[:OPTIONS]")]
    pub tmpfs: Vec<String>,

    /// Make the container's root filesystem read-only
    #[cfg(feature = "docker")]
    #[arg(long)]
    pub read_only: bool,

    /// Set an environment variable in the container
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Keep stdin open: pass what bocker reads to the command (without it,
    /// the command reads from /dev/null)
    #[arg(short = 'i', long)]
    pub interactive: bool,

    /// Give the command a terminal of its own (with -i: an interactive
    /// shell, `bocker run -it IMG sh`)
    #[cfg(feature = "stage3")]
    #[arg(short = 't', long)]
    pub tty: bool,

    /// How much output the log keeps: max-size=SIZE (10m), max-file=N (3)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,

    #[cfg(feature = "stage2")]
    #[command(flatten)]
    pub namespaces: NamespaceArgs,

    #[cfg(feature = "stage4")]
    #[command(flatten)]
    pub limits: LimitArgs,

    /// A cgroup namespace of its own (private), or the host's (host)
    /// [default: private on cgroup v2, host on v1]
    #[cfg(feature = "stage4")]
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,

    /// Run the command as USER[:GROUP] (names from the image's /etc/passwd,
    /// or numbers) [default: the image's User, or root]
    #[cfg(feature = "stage7")]
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    pub user: Option<String>,

    #[cfg(feature = "stage8")]
    #[command(flatten)]
    pub security: SecurityArgs,

    /// The image to run (an img_… id)
    #[cfg(not(feature = "stage7"))]
    pub image: String,

    /// The image to run: an img_… id, or the reference it was pulled with
    #[cfg(feature = "stage7")]
    pub image: String,

    /// The command and its arguments. One argument that contains spaces is
    /// run by `/bin/sh -c`, as in Bocker: `bocker run IMG 'echo hi && ls'`
    #[cfg(not(feature = "stage7"))]
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,

    /// The command and its arguments [default: the image's own]. One
    /// argument that contains spaces is run by `/bin/sh -c`, as in Bocker:
    /// `bocker run IMG 'echo hi && ls'`
    #[cfg(feature = "stage7")]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `run` flags that come with chapter 8 (capabilities, seccomp).
#[cfg(feature = "stage8")]
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// Give the container a capability it would not have (NET_ADMIN, …,
    /// or ALL)
    #[arg(long = "cap-add", value_name = "CAPABILITY")]
    pub cap_add: Vec<String>,
    /// Take a capability away from the container (or ALL)
    #[arg(long = "cap-drop", value_name = "CAPABILITY")]
    pub cap_drop: Vec<String>,
    /// Every capability, every device, no seccomp filter, the kernel's files
    /// unhidden: the container can take the host over
    #[arg(long)]
    pub privileged: bool,
    /// no-new-privileges=false (set-user-ID programs work again) or
    /// seccomp=unconfined (no filter)
    #[arg(long = "security-opt", value_name = "OPTION")]
    pub security_opt: Vec<String>,
}

/// `run` flags that come with chapter 2 (namespaces).
#[cfg(feature = "stage2")]
#[derive(Debug, Args)]
pub struct NamespaceArgs {
    /// Run in the background; print the container id and return
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// The container's hostname [default: the container id]
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,

    /// Network: `none` (a network namespace with only `lo`) or `host` (share the host's)
    /// [default: none]
    #[cfg(not(feature = "stage5"))]
    #[arg(long, value_name = "MODE", value_parser = Network::parse)]
    pub net: Option<Network>,

    /// Network: `bridge` (a veth pair to the bridge), `none` (only `lo`), `host`
    /// (share the host's), `container:NAME` (share another container's) or, without
    /// root, `pasta` (user-mode networking) [default: bridge, or none if
    /// BOCKER_BRIDGE=none; without root none, or pasta with -p]
    #[cfg(feature = "stage5")]
    #[arg(long, value_name = "MODE", value_parser = Network::parse)]
    pub net: Option<Network>,

    /// Publish a port: HOST_PORT:CONTAINER_PORT[/tcp|udp] (with --net bridge or pasta)
    #[cfg(feature = "stage5")]
    #[arg(short = 'p', long = "publish", value_name = "PORTS")]
    pub publish: Vec<String>,

    /// Run a small init as pid 1 that passes signals on and reaps zombies
    #[arg(long)]
    pub init: bool,
}

/// `bocker exec`'s arguments.
#[cfg(feature = "stage2")]
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open: pass what bocker reads to the command
    #[arg(short = 'i', long)]
    pub interactive: bool,

    /// Give the command a terminal of its own (an OCI container's goes to
    /// --console-socket)
    #[cfg(feature = "stage3")]
    #[arg(short = 't', long)]
    pub tty: bool,

    #[cfg(feature = "oci")]
    #[command(flatten)]
    pub oci: OciExecArgs,

    /// Container id or name
    pub container: String,

    /// The command and its arguments (one argument with spaces runs
    /// through `/bin/sh -c`)
    #[cfg_attr(
        not(feature = "oci"),
        arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)
    )]
    #[cfg_attr(
        feature = "oci",
        arg(
            required_unless_present = "process",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )
    )]
    pub command: Vec<String>,
}

/// runc's `exec` flags, for an OCI container (engines pass them; a person
/// gives a command instead).
#[cfg(feature = "oci")]
#[derive(Debug, Args)]
pub struct OciExecArgs {
    /// OCI: the process to start, as config.json's `process`
    #[arg(long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// OCI: return once the process has started
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// OCI: write the process's pid here
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// OCI: send the terminal's master side to this Unix socket
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
}

/// Limits of chapter 4 (cgroups), for `run` and `update`.
#[cfg(feature = "stage4")]
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Memory limit, as in 64m or 1g; no swap beyond it
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// CPU time, in CPUs: 0.5 is half of one
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,

    /// Relative CPU weight, 2 to 262144, as cgroup v1's cpu.shares (default 1024)
    #[arg(long, value_name = "SHARES")]
    pub cpu_shares: Option<String>,

    /// At most this many processes
    #[arg(long, value_name = "N")]
    pub pids_limit: Option<String>,
}

#[cfg(feature = "stage4")]
impl LimitArgs {
    /// Was any limit flag given (--memory, --cpus, …)?
    pub fn any_given(&self) -> bool {
        self.memory.is_some()
            || self.cpus.is_some()
            || self.cpu_shares.is_some()
            || self.pids_limit.is_some()
    }
}

/// `create`'s flags, as runc has them.
#[cfg(feature = "oci")]
#[derive(Debug, Args)]
pub struct OciCreateArgs {
    /// The bundle: a directory with config.json and the root filesystem
    #[arg(short, long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Write the container's pid here
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// With process.terminal: send the terminal's master side to this
    /// Unix socket (SCM_RIGHTS), as runc does
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Use chroot-like mount moves instead of pivot_root (refused)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// The container's id
    pub id: String,
}

/// The command line, as clap reads it. One verb has two meanings: with
/// `--bundle`, `create` is the OCI runtime's (an engine's call, as runc
/// has it); without, from the finished runtime on, Docker's `create IMAGE
/// [COMMAND]…`, which is `container-create` here (Docker's long name for
/// it: `docker container create`).
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    #[cfg(feature = "docker")]
    let args = with_dockers_create(args);
    Cli::parse_from(args)
}

/// `create` without `--bundle` (or `-b`) becomes `container-create`.
#[cfg(feature = "docker")]
fn with_dockers_create(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if let Some(verb) = verb_position(&args) {
        if args[verb] == "create" && !names_a_bundle(&args[verb + 1..]) {
            args[verb] = "container-create".into();
        }
    }
    args
}

/// Is there a `--bundle DIR` (or `-b DIR`) among the flags before the
/// first word that is not one: the container's id, or Docker's image?
/// (What follows Docker's image is the command, whose own `-b` is not
/// ours.)
#[cfg(feature = "docker")]
fn names_a_bundle(after_verb: &[std::ffi::OsString]) -> bool {
    let oci_flags_with_a_value = [
        "--pid-file",
        "--console-socket",
        "--log",
        "--log-format",
        "--root",
    ];
    let mut words = after_verb.iter().map(|arg| arg.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--bundle" || word.starts_with("--bundle=") || word.starts_with("-b") {
            return true;
        }
        if !word.starts_with('-') {
            return false;
        }
        if oci_flags_with_a_value.contains(&word.as_ref()) {
            words.next();
        }
    }
    false
}

/// Where the verb is: the first word after bocker's global flags (and
/// their values).
#[cfg(feature = "docker")]
fn verb_position(args: &[std::ffi::OsString]) -> Option<usize> {
    let with_a_value = ["--root", "--log", "--log-format"];
    let mut at = 1;
    while let Some(arg) = args.get(at) {
        let arg = arg.to_string_lossy();
        if with_a_value.contains(&arg.as_ref()) {
            at += 2;
        } else if arg.starts_with('-') {
            at += 1;
        } else {
            return Some(at);
        }
    }
    None
}

/// The state directory without --root or BOCKER_ROOT: /var/lib/bocker for
/// root; without root, the user's own, $XDG_DATA_HOME/bocker (by default
/// ~/.local/share/bocker), as rootless podman keeps its storage.
fn default_root() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/bocker");
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data_home.join("bocker")
}

#[cfg(all(test, feature = "docker"))]
mod tests {
    use super::*;

    fn create_becomes(line: &str) -> String {
        let args: Vec<std::ffi::OsString> = line.split_whitespace().map(Into::into).collect();
        let args = with_dockers_create(args);
        args[verb_position(&args).unwrap()]
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn create_is_runcs_with_a_bundle_and_dockers_without() {
        for oci in [
            "bocker create --bundle /b id",
            "bocker --root /r --log /l create --pid-file /p -b /b id",
            "bocker create --pid-file /p --console-socket /s --bundle=/b id",
        ] {
            assert_eq!(create_becomes(oci), "create", "{oci}");
        }
        for docker in [
            "bocker create busybox",
            "bocker --root /r create --name web -e A=b busybox ls -b",
            "bocker create busybox sh -c 'x --bundle y'",
        ] {
            assert_eq!(create_becomes(docker), "container-create", "{docker}");
        }
    }
}
