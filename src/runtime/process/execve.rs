//! The last step in the child: find the program and `execve(2)` it.
//!
//! `execve` replaces the running program (a copy of bocker) by the one at
//! a path. It takes a path, not a name, so we search `PATH` ourselves, the
//! way a shell does. Searching here, after the root has changed, means the
//! path is looked up *inside* the container.
//!
//! Right before, every descriptor but 0, 1 and 2 is marked close-on-exec
//! (see fds.rs): the program starts with nothing of bocker's or of the
//! host's open.

use std::convert::Infallible;
use std::ffi::CString;

use nix::errno::Errno;
use nix::unistd::execve;

use crate::errors::{Failure, NOT_EXECUTABLE, NOT_FOUND, START_FAILED};

/// Used when the environment has no `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Execute `argv` with environment `env`. Returns only if that failed.
pub fn execute(argv: &[String], env: &[(String, String)]) -> Failure {
    if let Err(err) = super::fds::close_on_exec_from_3() {
        return Failure::new(
            START_FAILED,
            format!("cannot mark descriptors close-on-exec: {}", err.desc()),
        );
    }
    match try_execute(argv, env) {
        Ok(never) => match never {},
        Err(failure) => failure,
    }
}

fn try_execute(argv: &[String], env: &[(String, String)]) -> Result<Infallible, Failure> {
    let program = argv
        .first()
        .filter(|program| !program.is_empty())
        .ok_or_else(|| Failure::new(START_FAILED, "empty command"))?;
    let args = to_cstrings(argv.iter().cloned())?;
    let vars = to_cstrings(env.iter().map(|(key, value)| format!("{key}={value}")))?;

    // A name with a slash is a path: no search.
    if program.contains('/') {
        let err = execve(&to_cstring(program.clone())?, &args, &vars).unwrap_err();
        return Err(explain(program, err));
    }

    let search_path = env
        .iter()
        .find(|(key, _)| key == "PATH")
        .map_or(DEFAULT_PATH, |(_, value)| value.as_str());
    let mut found_but_not_executable = None;
    for dir in search_path.split(':').filter(|dir| !dir.is_empty()) {
        let candidate = to_cstring(format!("{dir}/{program}"))?;
        match execve(&candidate, &args, &vars).unwrap_err() {
            // Not in this directory: try the next one.
            Errno::ENOENT | Errno::ENOTDIR => continue,
            // There, but not executable: remember it, a later one may be.
            Errno::EACCES => found_but_not_executable = Some(Errno::EACCES),
            other => return Err(explain(program, other)),
        }
    }
    Err(explain(
        program,
        found_but_not_executable.unwrap_or(Errno::ENOENT),
    ))
}

/// Turn execve's errno into a message and a shell-style exit code.
fn explain(program: &str, err: Errno) -> Failure {
    match err {
        Errno::ENOENT => Failure::new(
            NOT_FOUND,
            format!("command not found in the container: {program}"),
        ),
        Errno::EACCES => Failure::new(
            NOT_EXECUTABLE,
            format!("permission denied: cannot execute {program} in the container"),
        ),
        Errno::ENOEXEC => Failure::new(
            NOT_EXECUTABLE,
            format!("{program} is not an executable the kernel understands (exec format error)"),
        ),
        other => Failure::new(
            NOT_EXECUTABLE,
            format!("cannot execute {program}: {}", other.desc()),
        ),
    }
}

pub fn to_cstring(text: String) -> Result<CString, Failure> {
    CString::new(text).map_err(|_| Failure::new(START_FAILED, "the command contains a NUL byte"))
}

pub fn to_cstrings(items: impl Iterator<Item = String>) -> Result<Vec<CString>, Failure> {
    items.map(to_cstring).collect()
}
