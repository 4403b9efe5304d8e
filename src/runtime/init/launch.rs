//! How the container's child hands `bocker-init` its work.
//!
//! Everything in the container can read the init's command line
//! (/proc/1/cmdline). So the command line carries only what the container
//! may know, `bocker-init -- COMMAND…`, and the rest travels in two
//! descriptors at fixed numbers:
//!
//! ```text
//!   fd 3  the handshake's report pipe (write end): why a start failed
//!   fd 4  a sealed memfd holding the arguments as JSON: the root's path
//!         on the host, the working directory, the user, and from
//!         chapter 8 the security profile
//! ```
//!
//! The init checks that each is what it should be before it uses it: a
//! pipe open for writing, a memfd that nobody can change (sealed). Anyone
//! can start bocker under the name `bocker-init`; a stray descriptor 3 or
//! 4 must not be written to, or believed.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, AtFlags, FcntlArg, OFlag, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::{fstat, SFlag};
use serde::{Deserialize, Serialize};

use super::PROGRAM_NAME;
use crate::errors::{Failure, START_FAILED};
use crate::runtime::process::child::{self, ChildPlan};
use crate::runtime::process::{execve, fds};
use crate::runtime::ContainerConfig;

/// Where the init finds the report pipe.
pub const REPORT_FD: RawFd = 3;
/// Where the init finds its arguments.
pub const ARGUMENTS_FD: RawFd = 4;

/// The seals a memfd of arguments carries: no writes, no growing or
/// shrinking, no removing the seals.
fn all_seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE
}

/// What the init needs besides its command, and the container must not
/// see.
#[derive(Debug, Serialize, Deserialize)]
pub struct Arguments {
    /// The container's root filesystem, as the host names it.
    pub rootfs: PathBuf,
    /// A pulled image's WorkingDir and User (chapter 7).
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// Chapter 8's profile: what the init and its command may do.
    #[cfg(feature = "stage8")]
    pub profile: crate::runtime::security::Profile,
}

/// What the parent prepares for a container with `--init`, before the
/// child exists: the sealed copy of bocker to execute, and its arguments.
pub struct Launch {
    pub binary: OwnedFd,
    pub arguments: OwnedFd,
}

impl Launch {
    pub fn prepare(config: &ContainerConfig) -> Result<Launch> {
        let arguments = Arguments {
            rootfs: config.rootfs.clone(),
            workdir: config.workdir.clone(),
            user: config.user.clone(),
            #[cfg(feature = "stage8")]
            profile: config.profile.clone(),
        };
        Ok(Launch {
            binary: super::sealed::sealed_copy()?,
            arguments: sealed_memfd(&serde_json::to_vec(&arguments)?)?,
        })
    }
}

/// A memfd holding `bytes`, sealed: from now on it reads the same for
/// everyone who holds it.
fn sealed_memfd(bytes: &[u8]) -> Result<OwnedFd> {
    let memfd = memfd_create(
        c"bocker-init-arguments",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .context("memfd_create failed")?;
    let mut file = File::from(memfd);
    file.write_all(bytes)
        .context("cannot write the init's arguments")?;
    fcntl(&file, FcntlArg::F_ADD_SEALS(all_seals())).context("cannot seal the init's arguments")?;
    Ok(OwnedFd::from(file))
}

/// In the container's child, instead of entering the root and executing
/// the command: execute the sealed copy of bocker as `bocker-init --
/// COMMAND…`, with the report pipe at fd 3 and the arguments at fd 4.
/// Returns only on failure.
pub fn execute(launch: &Launch, plan: &ChildPlan, env: &[(String, String)]) -> Failure {
    let report = plan.handshake.report_fd();
    let placed = fds::close_on_exec_from_3().and_then(|()| {
        place(
            &[report, launch.arguments.as_raw_fd()],
            &[REPORT_FD, ARGUMENTS_FD],
        )
    });
    if let Err(err) = placed {
        return child::setup_error(err);
    }
    let words = [PROGRAM_NAME.to_string(), "--".to_string()]
        .into_iter()
        .chain(plan.config.argv.iter().cloned());
    let (args, vars) = match (
        execve::to_cstrings(words),
        execve::to_cstrings(env.iter().map(|(key, value)| format!("{key}={value}"))),
    ) {
        (Ok(args), Ok(vars)) => (args, vars),
        (Err(failure), _) | (_, Err(failure)) => return failure,
    };
    // execveat(fd, "", AT_EMPTY_PATH): execute the file the descriptor is.
    let err = nix::unistd::execveat(&launch.binary, c"", &args, &vars, AtFlags::AT_EMPTY_PATH)
        .unwrap_err();
    Failure::new(
        START_FAILED,
        format!("cannot start the container's init: {}", err.desc()),
    )
}

/// Put descriptor `from[i]` at number `to[i]`, open across execve. First
/// every one to a free number of 10 or more, so that moving one cannot
/// overwrite another that already sits at a target number.
fn place(from: &[RawFd], to: &[RawFd]) -> nix::Result<()> {
    let mut moved = Vec::new();
    for fd in from {
        // SAFETY: the descriptors are open, and ours.
        let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
        moved.push(fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(10))?);
    }
    for (fd, target) in moved.into_iter().zip(to) {
        // dup2 leaves the new descriptor without close-on-exec.
        // SAFETY: `fd` is the descriptor F_DUPFD just made; dup2 reads no
        // memory of ours.
        nix::errno::Errno::result(unsafe { libc::dup2(fd, *target) })?;
    }
    Ok(())
}

/// In the init: the report pipe, if fd 3 is a pipe open for writing.
pub fn report_pipe() -> Result<File, Failure> {
    let fd = checked(REPORT_FD, "the report pipe", |fd| {
        let stat = fstat(fd)?;
        let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
        Ok(
            SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFIFO
                && flags & OFlag::O_ACCMODE == OFlag::O_WRONLY,
        )
    })?;
    Ok(File::from(fd))
}

/// In the init: the arguments, if fd 4 is a sealed memfd holding them.
pub fn arguments() -> Result<Arguments, Failure> {
    let fd = checked(ARGUMENTS_FD, "the arguments", |fd| {
        // F_GET_SEALS answers only for a memfd (or tmpfs file); every
        // other file says EINVAL.
        let seals = SealFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GET_SEALS)?);
        Ok(seals.contains(all_seals()))
    })?;
    let mut text = Vec::new();
    let mut file = File::from(fd);
    // From the start: the parent's write left the shared offset at the end.
    file.rewind()
        .map_err(|e| refused(format!("cannot read the arguments: {e}")))?;
    file.take(1 << 20)
        .read_to_end(&mut text)
        .map_err(|e| refused(format!("cannot read the arguments: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| refused(format!("unreadable arguments: {e}")))
}

/// Descriptor `number`, taken over, if it is open and `is_right` says it
/// is the kind expected.
fn checked(
    number: RawFd,
    what: &str,
    is_right: impl FnOnce(BorrowedFd) -> nix::Result<bool>,
) -> Result<OwnedFd, Failure> {
    // F_GETFD on a bare number: fails with EBADF if nothing is open there.
    // SAFETY: fcntl F_GETFD reads no memory of ours.
    if unsafe { libc::fcntl(number, libc::F_GETFD) } < 0 {
        return Err(refused(format!("{what} (fd {number}) is not open")));
    }
    // SAFETY: the descriptor is open (above), and stays open while borrowed.
    let fd = unsafe { BorrowedFd::borrow_raw(number) };
    if !is_right(fd).unwrap_or(false) {
        return Err(refused(format!("fd {number} is not {what}")));
    }
    // Close-on-exec: the command the init starts must not inherit it.
    fcntl(fd, FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC)).map_err(child::setup_error)?;
    // SAFETY: open and checked; from here on only this OwnedFd closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(number) })
}

fn refused(reason: String) -> Failure {
    Failure::new(
        START_FAILED,
        format!(
            "{PROGRAM_NAME}: {reason} (bocker starts this program itself, as a container's pid 1)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arguments_memfd_is_sealed_and_reads_back() {
        let memfd = sealed_memfd(b"{\"x\": 1}").unwrap();
        let seals = SealFlag::from_bits_truncate(fcntl(&memfd, FcntlArg::F_GET_SEALS).unwrap());
        assert!(seals.contains(all_seals()));
        // A sealed memfd refuses writes, even from who made it.
        let mut file = File::from(memfd);
        assert!(file.write_all(b"more").is_err());
    }
}
