//! `bocker run IMAGE COMMAND…`: make a container and run a command in it.
//!
//! 1. Give the container its own copy of the image (chapter 6 will make
//!    this a btrfs snapshot).
//! 2. Start the command (`container::spawn`), recording the pid.
//! 3. Relay its output to the terminal and the log until it exits.
//! 4. Record the exit code, and end with the same code.
//!
//! With `-d` (chapter 2), a small monitor process does steps 2 to 4 in the
//! background, and bocker itself returns as soon as the command runs.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::RunArgs;
use crate::container::{command, relay, spawn, ContainerConfig};
use crate::copy::copy_tree;
use crate::errors::{Failure, START_FAILED};
use crate::exercise;
use crate::ids;
use crate::logs::LogWriter;
use crate::records::{self, ContainerRecord, Status};
use crate::store::{process_start_time, Store};

pub fn run(store: &Store, args: RunArgs) -> Result<u8> {
    let image = store.image(&args.image)?;
    if let Some(name) = &args.name {
        check_name(store, name)?;
    }
    let extra_env = parse_env(&args.env)?;

    let (id, paths) = store.create_container_dir()?;
    let mut record = ContainerRecord {
        id: id.clone(),
        name: args.name.clone(),
        image: image.id.clone(),
        command: args.command.clone(),
        hostname: hostname(&args, &id)?,
        env: extra_env.clone(),
        created: records::now(),
        status: Status::Created,
        pid: None,
        pid_start_time: None,
        exit_code: None,
    };
    // The record comes first: if we are killed while copying, `ps` lists
    // the container as Created and `rm` can clean it up.
    store.save_container(&record)?;
    if let Err(error) = copy_tree(&store.image_rootfs(&image.id), &paths.rootfs)
        .and_then(|()| write_hostname_file(&paths.rootfs, &record.hostname))
    {
        let _ = store.remove_entry(&id);
        return Err(error);
    }

    let config = ContainerConfig {
        argv: command::argv_for(&args.command),
        rootfs: paths.rootfs.clone(),
        hostname: record.hostname.clone(),
        extra_env,
        new_network: new_network(&args),
    };
    let mut log = LogWriter::open(&paths.log)?;
    #[cfg(feature = "stage2")]
    if args.namespaces.detach {
        return detach::run_in_background(store, record, &config, log, args.rm);
    }
    let code = start_and_relay(store, &mut record, &config, &mut log, true, args.rm)?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Start the container, record its pid, relay its output until it exits,
/// and record how it ended. Returns the exit code.
fn start_and_relay(
    store: &Store,
    record: &mut ContainerRecord,
    config: &ContainerConfig,
    log: &mut LogWriter,
    to_terminal: bool,
    remove_after: bool,
) -> Result<i32> {
    let started = start(store, record, config, remove_after)?;
    relay_and_finish(store, record, started, log, to_terminal, remove_after)
}

/// Start the container and record it as Running with its pid.
fn start(
    store: &Store,
    record: &mut ContainerRecord,
    config: &ContainerConfig,
    remove_after: bool,
) -> Result<spawn::Started> {
    // A chapter's unfinished todo!() in the parent becomes an error here,
    // so the record still says how the start ended.
    let outcome = exercise::catch_panic(|| spawn::start(config))
        .unwrap_or_else(|report| Err(Failure::new(START_FAILED, report).into()));
    match outcome {
        Ok(started) => {
            record.status = Status::Running;
            record.pid = Some(started.pid.as_raw());
            record.pid_start_time = process_start_time(started.pid.as_raw());
            store.save_container(record)?;
            Ok(started)
        }
        Err(error) => {
            // It never ran: record why it ended, then report.
            let code = error
                .downcast_ref::<Failure>()
                .map_or(1, |f| i32::from(f.code));
            finish(store, record, code, remove_after)?;
            Err(error)
        }
    }
}

/// Relay output until the container exits, then record its exit code.
fn relay_and_finish(
    store: &Store,
    record: &mut ContainerRecord,
    started: spawn::Started,
    log: &mut LogWriter,
    to_terminal: bool,
    remove_after: bool,
) -> Result<i32> {
    let code = relay::relay_until_exit(
        started.pid,
        started.stdout,
        started.stderr,
        log,
        to_terminal,
    )?;
    finish(store, record, code, remove_after)?;
    Ok(code)
}

/// Record the exit code, or remove the container if `--rm` asked for it.
fn finish(store: &Store, record: &mut ContainerRecord, code: i32, remove: bool) -> Result<()> {
    if remove {
        return store.remove_entry(&record.id);
    }
    record.status = Status::Exited;
    record.exit_code = Some(code);
    store.save_container(record)
}

#[cfg(feature = "stage2")]
fn hostname(args: &RunArgs, id: &str) -> Result<String> {
    match &args.namespaces.hostname {
        None => Ok(id.to_string()),
        // The kernel allows up to 64 bytes (HOST_NAME_MAX); we also keep to
        // the characters a DNS name may use.
        Some(name)
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
        {
            Ok(name.clone())
        }
        Some(name) => bail!("invalid hostname '{name}': use up to 64 letters, digits, '-' and '.'"),
    }
}

#[cfg(not(feature = "stage2"))]
fn hostname(_: &RunArgs, id: &str) -> Result<String> {
    Ok(id.to_string())
}

#[cfg(feature = "stage2")]
fn new_network(args: &RunArgs) -> bool {
    args.namespaces.net != crate::cli::NetMode::Host
}

#[cfg(not(feature = "stage2"))]
fn new_network(_: &RunArgs) -> bool {
    false
}

/// `run -d`: a monitor process that outlives bocker.
#[cfg(feature = "stage2")]
mod detach {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    use anyhow::{Context, Result};
    use nix::fcntl::OFlag;
    use nix::unistd::{fork, pipe2, setsid, ForkResult};

    use super::{relay_and_finish, start};
    use crate::container::ContainerConfig;
    use crate::errors::Failure;
    use crate::exercise;
    use crate::logs::LogWriter;
    use crate::records::ContainerRecord;
    use crate::store::Store;

    /// Fork a monitor that starts the container, relays its output to the
    /// log and records its exit. bocker waits only until the command runs
    /// (or has failed to start), prints the id, and returns.
    ///
    /// ```text
    ///   bocker run -d ──fork──▶ monitor ──clone──▶ container
    ///        ▲                    │ started (or why not)
    ///        └──── report pipe ───┘
    ///   prints the id, exits      relays output to the log, waits,
    ///                             records the exit code, exits
    /// ```
    pub fn run_in_background(
        store: &Store,
        mut record: ContainerRecord,
        config: &ContainerConfig,
        mut log: LogWriter,
        remove_after: bool,
    ) -> Result<u8> {
        let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
        let (mut from_monitor, mut to_bocker) = (File::from(read_end), File::from(write_end));

        // Safe: bocker is single-threaded.
        match unsafe { fork() }.context("fork failed")? {
            ForkResult::Child => {
                drop(from_monitor);
                // A session of its own: the terminal's Ctrl-C and hang-up
                // no longer reach the monitor.
                let _ = setsid();
                detach_stdio();
                let outcome = exercise::catch_panic(|| {
                    match start(store, &mut record, config, remove_after) {
                        Ok(started) => {
                            // Closing the pipe with nothing in it says "running".
                            drop(to_bocker);
                            relay_and_finish(
                                store,
                                &mut record,
                                started,
                                &mut log,
                                false,
                                remove_after,
                            )
                            .is_ok()
                        }
                        Err(error) => {
                            let _ = to_bocker.write_all(&encode(&error));
                            false
                        }
                    }
                });
                // Never return into bocker's code: this process is a copy.
                unsafe { libc::_exit(if outcome == Ok(true) { 0 } else { 1 }) }
            }
            ForkResult::Parent { .. } => {
                drop(to_bocker);
                let mut answer = Vec::new();
                from_monitor
                    .read_to_end(&mut answer)
                    .context("cannot hear from the monitor")?;
                if let Some((&code, message)) = answer.split_first() {
                    let message = String::from_utf8_lossy(message).into_owned();
                    return Err(Failure::new(code, message).into());
                }
                writeln!(std::io::stdout(), "{}", record.id)?;
                Ok(0)
            }
        }
    }

    /// An error as one byte of exit code and its one-line message.
    fn encode(error: &anyhow::Error) -> Vec<u8> {
        let code = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<Failure>())
            .map_or(1, |failure| failure.code);
        let mut bytes = vec![code];
        bytes.extend_from_slice(format!("{error:#}").as_bytes());
        bytes
    }

    /// The monitor must let go of bocker's stdin, stdout and stderr, or
    /// whoever reads bocker's output would wait for the monitor to end.
    fn detach_stdio() {
        if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
            for target in 0..=2 {
                unsafe { libc::dup2(null.as_raw_fd(), target) };
            }
        }
    }
}

/// Names follow Docker's rule, must be unique, and must not look like an id.
fn check_name(store: &Store, name: &str) -> Result<()> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid
        || ids::looks_like(ids::CONTAINER_PREFIX, name)
        || ids::looks_like(ids::IMAGE_PREFIX, name)
    {
        bail!("invalid container name '{name}': use letters, digits, '_', '.' and '-', and do not start with img_ or ps_");
    }
    if store
        .containers()?
        .iter()
        .any(|c| c.name.as_deref() == Some(name))
    {
        bail!("a container named '{name}' already exists");
    }
    Ok(())
}

/// `-e KEY=VALUE` → (KEY, VALUE).
fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => bail!("invalid -e '{pair}': expected KEY=VALUE"),
        })
        .collect()
}

/// Docker shows the container's hostname in /etc/hostname; so do we, if the
/// image has an /etc. O_NOFOLLOW, and the check on /etc, make sure that a
/// symlink planted in the image cannot make us write to a host file.
fn write_hostname_file(rootfs: &Path, hostname: &str) -> Result<()> {
    let etc = rootfs.join("etc");
    match std::fs::symlink_metadata(&etc) {
        Ok(meta) if meta.is_dir() => {}
        _ => return Ok(()),
    }
    let path = etc.join("hostname");
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{hostname}")?;
    Ok(())
}
