//! Ctrl-C, TERM and HUP end a run cleanly: they are noted, not fatal, and
//! the run stops at the next check, ending what it started (the session's
//! process group, a cargo), then cleaning up as on any error.

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

static CAUGHT: AtomicI32 = AtomicI32::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn note(signal: libc::c_int) {
    CAUGHT.store(signal, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
}

/// From now on, SIGINT, SIGTERM and SIGHUP are noted instead of ending
/// the process.
pub fn catch() -> Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the
        // handler only stores to an atomic, which is async-signal-safe. No
        // SA_RESTART: a blocking wait returns EINTR and the run notices.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(io::Error::last_os_error()).context("sigaction");
        }
    }
    Ok(())
}

/// The signal that asked the run to stop, if one did.
pub fn caught() -> Option<i32> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// An error if a signal asked the run to stop.
pub fn check() -> Result<()> {
    match caught() {
        Some(signal) => bail!("interrupted (signal {signal})"),
        None => Ok(()),
    }
}

/// Wait for `child`; if a signal asks the run to stop meanwhile, send it
/// SIGTERM, wait for it to end, and fail.
pub fn wait(child: &mut Child) -> Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            check()?;
            return Ok(status);
        }
        if caught().is_some() {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            child.wait()?;
            check()?;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for `child`, which leads a process group of its own (so that a
/// terminal's Ctrl-C does not reach it), and let it finish if a signal
/// asks the run to stop: a test suite cut short leaves its containers
/// behind, its tests clean up after themselves. A second signal ends it
/// (SIGTERM to its group). Fails if a signal came.
pub fn wait_letting_finish(child: &mut Child, what: &str) -> Result<ExitStatus> {
    let mut told = false;
    loop {
        if let Some(status) = child.try_wait()? {
            check()?;
            return Ok(status);
        }
        match COUNT.load(Ordering::SeqCst) {
            0 => {}
            1 => {
                if !told {
                    super::say(&format!(
                        "letting {what} finish, so that they clean up after themselves (again to stop them now)"
                    ));
                    told = true;
                }
            }
            _ => {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGTERM) };
                child.wait()?;
                check()?;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
