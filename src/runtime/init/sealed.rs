//! A sealed copy of bocker in memory, for the processes of bocker that a
//! container can see.
//!
//! Two of bocker's processes live inside a container's PID namespace:
//! `exec`'s process between its fork and its execve, and the init of
//! `run --init` for the container's whole life. A process in the container
//! can open `/proc/PID/exe` of either. That magic link leads to the file
//! the process runs, wherever it is: if it were bocker's binary on the
//! host, a root process in the container could write into it, and the next
//! `bocker` a user runs on the host would run the container's code. This
//! is runc's CVE-2019-5736.
//!
//! So those processes run from a copy of bocker that nothing can change: a
//! memfd (memfd_create(2): a file that lives in memory only, with no path
//! on any filesystem) that we fill with our own binary and then *seal*
//! (fcntl F_ADD_SEALS): no more writes, no growing or shrinking, and no
//! removing the seals. `/proc/PID/exe` then leads to that memfd, and a
//! write to it fails with EPERM. runc does the same; the price is one copy
//! of the binary in memory per `exec` (about a millisecond for a release
//! build).

use std::ffi::{CStr, CString, OsString};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, AtFlags, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

/// The name the memfd shows in /proc/PID/exe: `/memfd:bocker (deleted)`.
const NAME: &CStr = c"bocker";

/// A sealed, in-memory copy of the running bocker binary. Close-on-exec:
/// it reaches only the process that executes it.
pub fn sealed_copy() -> Result<OwnedFd> {
    let memfd = memfd_create(NAME, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .context("memfd_create failed")?;
    let mut binary = File::open("/proc/self/exe").context("cannot open bocker's own binary")?;
    let mut copy = File::from(memfd);
    // std::io::copy uses copy_file_range(2) or sendfile(2) here: the kernel
    // copies from file to file.
    std::io::copy(&mut binary, &mut copy).context("cannot copy bocker into memory")?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals)).context("cannot seal the copy of bocker")?;
    Ok(OwnedFd::from(copy))
}

/// Is this process running from a sealed copy already?
pub fn running_sealed() -> bool {
    std::fs::read_link("/proc/self/exe")
        .is_ok_and(|target| target.to_string_lossy().starts_with("/memfd:bocker"))
}

/// Execute this same command line again, from a sealed copy. Returns only
/// on failure.
pub fn reexecute_sealed() -> Result<()> {
    if running_sealed() {
        return Ok(());
    }
    crate::runtime::process::ensure_single_threaded()?;
    let binary = sealed_copy()?;
    let args = to_cstrings(std::env::args_os())?;
    let env = to_cstrings(std::env::vars_os().map(|(key, value)| {
        let mut pair = key;
        pair.push("=");
        pair.push(value);
        pair
    }))?;
    // execveat(fd, "", …, AT_EMPTY_PATH) executes the file the descriptor
    // refers to (this is what fexecve(3) does).
    let err = nix::unistd::execveat(&binary, c"", &args, &env, AtFlags::AT_EMPTY_PATH).unwrap_err();
    bail!("cannot execute the sealed copy of bocker: {}", err.desc())
}

fn to_cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|item| CString::new(item.into_vec()).context("an argument contains a NUL byte"))
        .collect()
}
