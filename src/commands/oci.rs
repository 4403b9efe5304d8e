//! The OCI runtime verbs (runtime/oci/): `create`, `start`, `state`,
//! `kill`, `delete`, as runc spells them, for podman and containerd.
//! Their errors also go to `--log`, where engines look for them.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Result};
use nix::sys::signal::Signal;

use crate::cli::{Command, OciGlobalArgs};
use crate::errors::{Failure, USAGE};
use crate::runtime::oci::exec::{self, ExecOptions};
use crate::runtime::oci::{self, CreateOptions};
use crate::state::oci::OciStore;

/// Bocker's `pause` given one OCI container's id, or `exec` given one:
/// runc's verbs of the same names. (The OCI verbs of their own, and `ps
/// ID`, commands/mod.rs sends here by name.)
pub fn names_an_oci_container(root: &Path, command: &Command) -> bool {
    match command {
        Command::Pause { containers } => match containers.as_slice() {
            [id] => is_oci_container(root, id),
            _ => false,
        },
        Command::Exec(args) => is_oci_container(root, &args.container),
        Command::Update { containers, .. } => match containers.as_slice() {
            [id] => is_oci_container(root, id),
            _ => false,
        },
        // Docker's start and kill, unless they name an OCI container.
        #[cfg(feature = "docker")]
        Command::Start { ids, .. } => ids.first().is_some_and(|id| is_oci_container(root, id)),
        #[cfg(feature = "docker")]
        Command::Kill { args, .. } => args.first().is_some_and(|id| is_oci_container(root, id)),
        _ => false,
    }
}

/// `id` names an OCI container of this state root (Bocker's verbs `pause`
/// and `exec` share their names with runc's).
fn is_oci_container(root: &Path, id: &str) -> bool {
    crate::state::oci::check_id(id).is_ok() && root.join("oci").join(id).join("state.json").exists()
}

pub fn dispatch(root: &Path, global: &OciGlobalArgs, command: Command) -> Result<u8> {
    let result = run(root, global, command);
    if let (Err(error), Some(log)) = (&result, &global.log) {
        write_log(log, &global.log_format, &format!("{error:#}"));
    }
    result
}

fn run(root: &Path, global: &OciGlobalArgs, command: Command) -> Result<u8> {
    if !matches!(global.log_format.as_str(), "text" | "json") {
        bail!(Failure::new(USAGE, "--log-format: text or json"));
    }
    if global.systemd_cgroup {
        bail!(Failure::new(
            USAGE,
            "--systemd-cgroup: bocker manages cgroups itself (cgroupfs); use the cgroupfs manager"
        ));
    }
    let store = OciStore::open(root);
    match command {
        Command::Create(args) => {
            if args.no_pivot {
                bail!(Failure::new(
                    USAGE,
                    "--no-pivot: bocker always uses pivot_root"
                ));
            }
            let options = CreateOptions {
                bundle: args.bundle,
                pid_file: args.pid_file,
                console_socket: args.console_socket,
            };
            oci::create(&store, &args.id, &options)?;
        }
        Command::Start { ids, .. } => match ids.as_slice() {
            [id] => oci::start(&store, id)?,
            _ => bail!(Failure::new(USAGE, "start takes one OCI container id")),
        },
        Command::State { id } => {
            let state = oci::state(&store, &id)?;
            writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&state)?
            )?;
        }
        Command::Kill { all, args, .. } => {
            let (id, signal) = match args.as_slice() {
                [id] => (id, "SIGTERM"),
                [id, signal] => (id, signal.as_str()),
                _ => bail!(Failure::new(
                    USAGE,
                    "kill takes an OCI container's ID [SIGNAL]"
                )),
            };
            oci::kill(&store, id, parse_signal(signal)?, all)?;
        }
        Command::Delete { force, id } => oci::delete(&store, &id, force)?,
        Command::Pause { containers } => oci::set_paused(&store, &containers[0], true)?,
        Command::Resume { id } => oci::set_paused(&store, &id, false)?,
        Command::Update {
            limits,
            resources,
            containers,
        } => {
            // runc's rule: with --resources, the limit flags are ignored;
            // bocker refuses the mix rather than drop them silently.
            let asked = match resources {
                Some(file) if limits.any_given() => bail!(Failure::new(
                    USAGE,
                    format!(
                        "update: --resources {} or the limit flags, not both",
                        file.display()
                    )
                )),
                Some(file) => oci::bundle::read_resources(&file)?,
                None => oci::bundle::ResourceUpdate {
                    limits: crate::commands::run::limits(&limits, false)?,
                    swap: None,
                },
            };
            oci::update::update(&store, &containers[0], &asked)?;
        }
        Command::Features => {
            let features = serde_json::to_string_pretty(&oci::features())?;
            writeln!(std::io::stdout(), "{features}")?;
        }
        Command::Ps {
            format,
            id: Some(id),
            ..
        } => {
            let pids = oci::processes(&store, &id)?;
            let mut out = std::io::stdout();
            match format.as_deref().unwrap_or("table") {
                "json" => writeln!(out, "{}", serde_json::to_string(&pids)?)?,
                "table" => {
                    writeln!(out, "PID")?;
                    for pid in pids {
                        writeln!(out, "{pid}")?;
                    }
                }
                other => bail!(Failure::new(
                    USAGE,
                    format!(
                        "ps --format {}: table or json",
                        crate::escape::printable(other)
                    )
                )),
            }
        }
        Command::Exec(args) => {
            if args.interactive {
                bail!(Failure::new(
                    USAGE,
                    "exec -i: an OCI container's process reads the stdin bocker gets"
                ));
            }
            let options = ExecOptions {
                process: args.oci.process,
                args: args.command,
                detach: args.oci.detach,
                pid_file: args.oci.pid_file,
                tty: args.tty,
                console_socket: args.oci.console_socket,
            };
            return exec::exec(&store, &args.container, &options);
        }
        _ => unreachable!("not an OCI verb"),
    }
    Ok(0)
}

/// `KILL`, `SIGKILL`, `kill` or `9`.
pub(super) fn parse_signal(text: &str) -> Result<Signal> {
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number)
            .map_err(|_| Failure::new(USAGE, format!("unknown signal {number}")).into());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| {
        Failure::new(
            USAGE,
            format!("unknown signal '{}'", crate::escape::printable(text)),
        )
        .into()
    })
}

/// One line in `log`: text, or JSON as runc writes it (`level`, `msg`,
/// `time`).
fn write_log(log: &Path, format: &str, message: &str) {
    let line = if format == "json" {
        let seconds = crate::state::records::now() / 1_000_000_000;
        serde_json::json!({"level": "error", "msg": message, "time": seconds}).to_string()
    } else {
        format!("bocker: {message}")
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}
