//! The keeper of a container: the bocker process that starts it, watches
//! it, and records how it ended. `bocker run` itself, or with `-d` the
//! monitor it leaves behind.

use anyhow::Result;

use crate::course::exercise;
use crate::errors::{self, Failure, START_FAILED};
use crate::runtime::process::relay::{self, Relay};
use crate::runtime::process::spawn::{self, Started};
use crate::runtime::process::terminal::RawMode;
use crate::runtime::{teardown, ContainerConfig};
use crate::spec::ProcessId;
use crate::state::keeper_lock::KeeperLock;
use crate::state::logs::LogWriter;
use crate::state::records::{ContainerRecord, Status};
use crate::state::Store;

pub struct Keeper<'a> {
    pub store: &'a Store,
    pub record: ContainerRecord,
    /// `--rm`: remove the container once it has ended.
    pub remove_after: bool,
    /// Held while this process watches the container: the sweep of other
    /// bockers sees it is alive (state/keeper_lock.rs).
    pub lock: Option<KeeperLock>,
}

impl Keeper<'_> {
    /// Start, relay until the end, record. Returns the exit code.
    pub fn start_and_relay(
        &mut self,
        config: &ContainerConfig,
        log: &mut LogWriter,
        to_terminal: bool,
    ) -> Result<i32> {
        let started = self.start(config)?;
        // `-it` from a terminal: raw mode until the command ends.
        let _raw = RawMode::for_command(config, started.terminal.is_some());
        self.relay_and_finish(started, log, to_terminal)
    }

    /// Start the container and record it as Running with its pid. If it
    /// cannot start, record why it ended, then report.
    pub fn start(&mut self, config: &ContainerConfig) -> Result<Started> {
        // A chapter's unfinished todo!() in the parent becomes an error
        // here, so the record still says how the start ended.
        let outcome = exercise::catch_panic(|| spawn::start(config))
            .unwrap_or_else(|report| Err(Failure::new(START_FAILED, report).into()));
        match outcome {
            Ok(started) => {
                let pid = started.pid.as_raw();
                self.record = self.store.update_container(&self.record.id, |record| {
                    record.status = Status::Running;
                    record.pid = Some(pid);
                    record.pid_start_time = ProcessId::of(pid).map(|p| p.start_time);
                    Ok(())
                })?;
                #[cfg(feature = "docker")]
                self.store.event("start", &self.record, &[]);
                Ok(started)
            }
            Err(error) => {
                let code = i32::from(errors::exit_code(&error));
                self.finish(code)?;
                Err(error)
            }
        }
    }

    /// Relay output until the container exits, then record its exit code.
    pub fn relay_and_finish(
        &mut self,
        started: Started,
        log: &mut LogWriter,
        to_terminal: bool,
    ) -> Result<i32> {
        let pid = started.pid;
        let relayed = relay::relay_until_exit(Relay {
            pid,
            stdout: started.stdout,
            stderr: started.stderr,
            stdin: started.stdin,
            log: Some(log),
            to_terminal,
            terminal: started.terminal,
        });
        let code = match relayed {
            Ok(code) => code,
            Err(error) => {
                // Nobody can watch the container any more: end it, and
                // still release what it holds and record its end.
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let code = relay::wait_for_exit_code(pid).unwrap_or(137);
                self.finish(code)?;
                return Err(error);
            }
        };
        self.finish(code)?;
        Ok(code)
    }

    /// Release what the container held, then record the exit code, or
    /// remove the container if `--rm` asked for it.
    fn finish(&mut self, code: i32) -> Result<()> {
        // Before the cgroup goes: did the OOM killer strike? The kernel
        // counts it there; the exit code (137) alone cannot tell a kill by
        // the OOM killer from any other SIGKILL.
        #[cfg(feature = "stage4")]
        let oom_killed = {
            use crate::runtime::cgroup;
            cgroup::existing(&self.record.id).is_some_and(|group| cgroup::oom_kills(&group) > 0)
        };
        #[cfg(not(feature = "stage4"))]
        let oom_killed = false;
        #[cfg(feature = "docker")]
        {
            if oom_killed {
                self.store.event("oom", &self.record, &[]);
            }
            self.store
                .event("die", &self.record, &[("exitCode", code.to_string())]);
        }
        if self.remove_after {
            // The teardown first, then the directory and the name.
            let removed = teardown::remove(self.store, &self.record.id);
            #[cfg(feature = "docker")]
            self.store.event("destroy", &self.record, &[]);
            return removed;
        }
        let released = teardown::release(self.store, &self.record.id);
        // Only the fields the keeper owns: a rename or an update made
        // while the container ran stays.
        self.record = self.store.update_container(&self.record.id, |record| {
            record.status = Status::Exited;
            record.exit_code = Some(code);
            record.oom_killed = oom_killed;
            Ok(())
        })?;
        // Recorded: the container no longer needs a keeper.
        if let Some(lock) = self.lock.take() {
            lock.release();
        }
        released
    }
}
