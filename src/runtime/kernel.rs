//! The oldest Linux bocker runs on, checked once, when it starts.
//!
//! bocker uses a few system calls that older kernels do not have, and has
//! no second way for them: falling back would mean code that the tests on
//! a current kernel never run. So it says so, in one line, before it
//! starts anything:
//!
//! | needs | since | for |
//! |---|---|---|
//! | close_range(2) with CLOSE_RANGE_CLOEXEC | 5.11 | a container gets fds 0-2 and no other |
//! | setns(2) with a pidfd | 5.8 | joining a container's namespaces by a descriptor |
//! | pidfd_open(2), pidfd_send_signal(2) | 5.3 | signalling a container, never a reused pid |
//!
//! (A few things have a second way, because they are newer still:
//! cgroup.kill (5.14) falls back to freeze, kill, thaw; LOOP_CONFIGURE
//! (5.8) to LOOP_SET_FD.)

use anyhow::{bail, Result};

use crate::errors::Failure;

/// The oldest kernel bocker runs on: (major, minor).
pub const MINIMUM: (u32, u32) = (5, 11);

/// Refuse to go on under a kernel older than [`MINIMUM`].
pub fn check() -> Result<()> {
    check_release(&release())
}

/// The running kernel's (major, minor).
pub fn version() -> Option<(u32, u32)> {
    version_of(&release())
}

/// uname(2)'s release: `6.1.0-13-amd64`.
fn release() -> String {
    nix::sys::utsname::uname()
        .map(|name| name.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The check, for a release string as uname(2) gives it (`6.1.0-13-amd64`).
pub fn check_release(release: &str) -> Result<()> {
    match version_of(release) {
        Some(version) if version >= MINIMUM => Ok(()),
        _ => bail!(Failure::new(
            1,
            format!(
                "this kernel is {release}; bocker needs Linux {}.{} or newer \
                 (close_range with CLOSE_RANGE_CLOEXEC)",
                MINIMUM.0, MINIMUM.1
            )
        )),
    }
}

/// `6.1.0-13-amd64` → (6, 1).
fn version_of(release: &str) -> Option<(u32, u32)> {
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>());
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_compared_by_major_then_minor() {
        assert_eq!(version_of("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(version_of("5.10.209"), Some((5, 10)));
        assert!(check_release("6.18.0").is_ok());
        assert!(check_release("5.11.0").is_ok());
        assert!(check_release("10.0.1").is_ok());
        let error = check_release("5.10.0-28-amd64").unwrap_err().to_string();
        assert!(error.contains("Linux 5.11 or newer"), "{error}");
        assert!(check_release("4.18.0-553.el8_10.x86_64").is_err());
        assert!(check_release("").is_err());
    }
}
