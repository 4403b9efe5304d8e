//! `bocker run IMAGE COMMAND…`: make a container and run a command in it.
//!
//! 1. Give the container its own copy of the image (chapter 6 will make
//!    this a btrfs snapshot).
//! 2. Start the command (`container::spawn`), recording the pid.
//! 3. Relay its output to the terminal and the log until it exits.
//! 4. Record the exit code, and end with the same code.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::RunArgs;
use crate::container::{command, relay, spawn, ContainerConfig};
use crate::copy::copy_tree;
use crate::errors::Failure;
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
        hostname: id.clone(),
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
    };
    let mut log = LogWriter::open(&paths.log)?;
    let code = match spawn::start(&config) {
        Ok(started) => {
            record.status = Status::Running;
            record.pid = Some(started.pid.as_raw());
            record.pid_start_time = process_start_time(started.pid.as_raw());
            store.save_container(&record)?;
            relay::relay_until_exit(started.pid, started.stdout, started.stderr, &mut log, true)?
        }
        Err(error) => {
            // It never ran: record why it ended, then report.
            let code = error
                .downcast_ref::<Failure>()
                .map_or(1, |f| i32::from(f.code));
            finish(store, &mut record, code, args.rm)?;
            return Err(error);
        }
    };
    finish(store, &mut record, code, args.rm)?;
    Ok(u8::try_from(code).unwrap_or(1))
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

/// Names follow Docker's rule, must be unique, and must not look like an id.
fn check_name(store: &Store, name: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid || ids::looks_like(ids::CONTAINER_PREFIX, name) || ids::looks_like(ids::IMAGE_PREFIX, name) {
        bail!("invalid container name '{name}': use letters, digits, '_', '.' and '-', and do not start with img_ or ps_");
    }
    if store.containers()?.iter().any(|c| c.name.as_deref() == Some(name)) {
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
