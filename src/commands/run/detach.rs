//! `run -d`: a monitor process that outlives bocker.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::unistd::{fork, pipe2, setsid, ForkResult};

use super::keeper::Keeper;
use crate::course::exercise;
use crate::errors::Failure;
use crate::runtime::process;
use crate::runtime::process::child::exit_now;
use crate::runtime::process::fds;
use crate::runtime::{ContainerConfig, Stdin};
use crate::spec::ProcessId;
use crate::state::logs::LogWriter;
use crate::state::records::ContainerRecord;
use crate::state::store::Staged;
use crate::state::Store;

/// What the monitor sends when the command runs. (A failure starts with
/// its exit code, which is never 0.)
const STARTED: u8 = 0;

/// Fork a monitor that moves the container into place, starts it, relays
/// its output to the log and records its exit. bocker waits only until the
/// command runs (or has failed to start), prints the id, and returns.
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
    staged: Staged<'_>,
    record: ContainerRecord,
    remove_after: bool,
) -> Result<u8> {
    let id = record.id.clone();
    in_background(&id, true, move || {
        prepare(store, staged, record, remove_after)
    })
}

/// `start` (of a created or stopped container): a monitor that takes the
/// container's keeper lock and starts it again, in the same root
/// filesystem, under the same name.
/// With `say_id`, bocker prints the id once it runs (`start`; not
/// `start -a`, which prints the container's output instead).
#[cfg(feature = "docker")]
pub fn start_in_background(store: &Store, record: ContainerRecord, say_id: bool) -> Result<u8> {
    let id = record.id.clone();
    in_background(&id, say_id, move || prepare_again(store, record, 0))
}

/// `--restart` (spec/restart.rs): while the container's policy says so,
/// wait (Docker's back-off), then start it again as `start` does, and
/// watch it. A `stop` (which the record then says) or an `rm` during the
/// wait ends this.
#[cfg(feature = "docker")]
fn start_again_while_the_policy_says(store: &Store, id: &str, ran: std::time::Duration) {
    use crate::spec::restart::next_delay;
    use crate::state::records::Status;
    let (mut ran, mut last_wait) = (ran, None);
    loop {
        let Ok(record) = store.container(id) else {
            return;
        };
        let code = record.exit_code.unwrap_or(-1);
        let policy = record.restart_policy;
        if !policy.starts_again(code, record.restart_count, record.stopped_by_user) {
            return;
        }
        let wait = next_delay(last_wait, ran);
        last_wait = Some(wait);
        std::thread::sleep(wait);
        let Ok(record) = store.container(id) else {
            return;
        };
        if record.stopped_by_user || record.status != Status::Exited {
            return;
        }
        let restarts = record.restart_count + 1;
        let Ok((mut keeper, config, mut log)) = prepare_again(store, record, restarts) else {
            return;
        };
        let started_at = std::time::Instant::now();
        // A failed start is recorded by the keeper as the container's end.
        if let Ok(started) = keeper.start(&config) {
            let _ = keeper.relay_and_finish(started, &mut log, false);
        }
        ran = started_at.elapsed();
    }
}

/// Fork a monitor that runs `prepare` (the container in place, a keeper
/// for it), starts the container, relays its output to the log and
/// records its exit. bocker waits only until the command runs (or has
/// failed to start), prints the id, and returns.
fn in_background<'a>(
    id: &str,
    say_id: bool,
    prepare: impl FnOnce() -> Result<(Keeper<'a>, ContainerConfig, LogWriter)>,
) -> Result<u8> {
    process::ensure_single_threaded()?;
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let (mut from_monitor, to_bocker) = (File::from(read_end), File::from(write_end));

    // SAFETY: bocker is single-threaded (checked above).
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            drop(from_monitor);
            // A session of its own: the terminal's Ctrl-C and hang-up no
            // longer reach the monitor.
            let _ = setsid();
            detach_stdio();
            // Whatever bocker's caller left open is not the monitor's to
            // keep (a pipe held open here would make that caller wait).
            fds::close_all_from_3_except(&[to_bocker.as_raw_fd()]);
            let outcome = exercise::catch_panic(move || monitor(prepare, to_bocker));
            exit_now(if outcome == Ok(true) { 0 } else { 1 })
        }
        ForkResult::Parent { .. } => {
            // The monitor owns what `prepare` holds now (a half-built
            // container's guard): this process's copy must not run it or
            // drop it.
            std::mem::forget(prepare);
            drop(to_bocker);
            let mut answer = Vec::new();
            from_monitor
                .read_to_end(&mut answer)
                .context("cannot hear from the monitor")?;
            match answer.as_slice() {
                [STARTED] => {}
                [] => bail!(
                    "the monitor of {id} died before it could say whether the container started"
                ),
                failure => {
                    bail!(Failure::from_bytes(failure).unwrap_or_else(|| Failure::new(1, "?")))
                }
            }
            if say_id {
                writeln!(std::io::stdout(), "{id}")?;
            }
            Ok(0)
        }
    }
}

/// The monitor's work. Returns whether all went well.
fn monitor<'a>(
    prepare: impl FnOnce() -> Result<(Keeper<'a>, ContainerConfig, LogWriter)>,
    to_bocker: File,
) -> bool {
    let (mut keeper, config, mut log) = match prepare() {
        Ok(prepared) => prepared,
        Err(error) => {
            tell(to_bocker, &Failure::from_error(&error).to_bytes());
            return false;
        }
    };
    let started_at = std::time::Instant::now();
    match keeper.start(&config) {
        Ok(started) => {
            tell(to_bocker, &[STARTED]);
            let watched = keeper.relay_and_finish(started, &mut log, false).is_ok();
            #[cfg(feature = "docker")]
            if watched {
                start_again_while_the_policy_says(
                    keeper.store,
                    &keeper.record.id,
                    started_at.elapsed(),
                );
            }
            let _ = started_at;
            watched
        }
        Err(error) => {
            tell(to_bocker, &Failure::from_error(&error).to_bytes());
            false
        }
    }
}

/// Move the container into place, with this monitor as its keeper.
fn prepare<'a>(
    store: &'a Store,
    staged: Staged<'_>,
    mut record: ContainerRecord,
    remove_after: bool,
) -> Result<(Keeper<'a>, ContainerConfig, LogWriter)> {
    record.keeper = ProcessId::myself();
    let (paths, lock) = store.commit_container(staged, &record)?;
    #[cfg(feature = "docker")]
    store.event("create", &record, &[]);
    let log = LogWriter::open(&paths.log, record.log_options)?;
    let config = ContainerConfig::new(store, &record, Stdin::Null);
    let keeper = Keeper {
        store,
        record,
        remove_after,
        lock: Some(lock),
    };
    Ok((keeper, config, log))
}

/// Take the keeper's lock of a container in place (refused if another
/// keeper holds it: it runs), give it an address again if it is on the
/// bridge (its old one went back to the pool when it stopped), and record
/// it as created, with this monitor as its keeper.
/// `restarts`: how many times its restart policy started it so far (0
/// when the user starts it).
#[cfg(feature = "docker")]
fn prepare_again(
    store: &Store,
    record: ContainerRecord,
    restarts: u32,
) -> Result<(Keeper<'_>, ContainerConfig, LogWriter)> {
    let paths = store.container_paths(&record.id);
    let lock = crate::state::keeper_lock::KeeperLock::take(&paths.dir)
        .map_err(|_| Failure::new(1, format!("container {} is running already", record.id)))?;
    let address = super::claim_address(store, &record.id, &record.network)?;
    if address != record.address {
        super::write_etc_files(&paths.rootfs, &record.hostname, address)?;
    }
    let record = store.update_container(&record.id, |record| {
        record.status = crate::state::records::Status::Created;
        record.pid = None;
        record.pid_start_time = None;
        record.exit_code = None;
        record.oom_killed = false;
        record.keeper = ProcessId::myself();
        record.address = address;
        record.restart_count = restarts;
        record.stopped_by_user = false;
        Ok(())
    })?;
    let log = LogWriter::open(&paths.log, record.log_options)?;
    let config = ContainerConfig::new(store, &record, Stdin::Null);
    let keeper = Keeper {
        store,
        remove_after: record.auto_remove,
        record,
        lock: Some(lock),
    };
    Ok((keeper, config, log))
}

/// Send bocker the outcome and close the pipe: bocker reads until
/// end-of-file, so it must not wait for the container's whole life.
fn tell(mut to_bocker: File, bytes: &[u8]) {
    let _ = to_bocker.write_all(bytes);
}

/// The monitor must let go of bocker's stdin, stdout and stderr, or
/// whoever reads bocker's output would wait for the monitor to end.
fn detach_stdio() {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
}
