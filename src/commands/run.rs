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

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::container::{command, relay, spawn, ContainerConfig};
use crate::copy::copy_tree;
use crate::errors::{self, Failure, START_FAILED};
use crate::exercise;
use crate::logs::LogWriter;
use crate::records::{self, ContainerRecord, Status};
use crate::store::{process_start_time, Store};

#[cfg(feature = "stage2")]
mod detach;
mod options;

pub fn run(store: &Store, args: RunArgs) -> Result<u8> {
    let image = store.image(&args.image)?;
    if let Some(name) = &args.name {
        options::check_name(store, name)?;
    }
    let extra_env = options::parse_env(&args.env)?;

    let (id, paths) = store.create_container_dir()?;
    let mut record = ContainerRecord {
        id: id.clone(),
        name: args.name.clone(),
        image: image.id.clone(),
        command: args.command.clone(),
        hostname: options::hostname(&args, &id)?,
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
        new_network: options::new_network(&args),
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
            let code = i32::from(errors::exit_code(&error));
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
