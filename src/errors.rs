//! Errors and exit codes.
//!
//! Every failure ends as one line on stderr, `bocker: what went wrong`, and
//! a non-zero exit code. Most errors exit with 1. A few follow the shell's
//! conventions so that scripts can tell them apart:
//!
//! | code | meaning                                                  |
//! |------|----------------------------------------------------------|
//! | 125  | the container could not be started (bocker's own fault)  |
//! | 126  | the command was found but could not be executed          |
//! | 127  | the command was not found inside the container           |
//! | 2    | the command line itself was wrong (usage errors)         |
//!
//! Text that came from the user (a name, a path) may hold a newline or a
//! terminal escape: it is printed escaped, so an error stays one line.

use std::fmt;
use std::process::ExitCode;

use crate::escape::printable;

/// An error that carries the exit code the process should end with.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The container could not be started because of `error`.
    pub fn start_failed(error: &anyhow::Error) -> Self {
        // `{:#}` prints the whole chain of causes on one line.
        Failure::new(START_FAILED, format!("{error:#}"))
    }

    /// Any error as a Failure: its exit code, its chain as the message.
    pub fn from_error(error: &anyhow::Error) -> Self {
        Failure::new(exit_code(error), format!("{error:#}"))
    }

    /// How a failure travels through a pipe between two of bocker's
    /// processes: one byte of exit code, then the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![self.code];
        bytes.extend_from_slice(self.message.as_bytes());
        bytes
    }

    /// The failure in `bytes`; `None` for no bytes at all (no failure).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&code, message) = bytes.split_first()?;
        Some(Failure::new(code, String::from_utf8_lossy(message)))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Exit code for "the command line is wrong", as clap uses.
pub const USAGE: u8 = 2;
/// Exit code for "bocker itself could not start the container".
pub const START_FAILED: u8 = 125;
/// Exit code for "found, but not executable" (as in a shell).
pub const NOT_EXECUTABLE: u8 = 126;
/// Exit code for "command not found" (as in a shell).
pub const NOT_FOUND: u8 = 127;

/// Print `error` as one line and pick the exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    // `bocker images | head` closes our stdout early. That is not an error
    // worth a message: stop quietly, as `ls | head` does.
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    print(error);
    ExitCode::from(exit_code(error))
}

/// Print `error` as one line on stderr: `bocker: what went wrong`.
pub fn print(error: &anyhow::Error) {
    // `{:#}` prints the whole chain of causes on one line, joined by ": ".
    eprintln!("bocker: {}", printable(&format!("{error:#}")));
}

/// Print a warning: something was wrong, and bocker carried on.
pub fn warn(message: &str) {
    eprintln!("bocker: warning: {}", printable(message));
}

/// The exit code `error` asks for: that of the Failure in its chain, or 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .map_or(1, |failure| failure.code)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_survives_its_trip_through_a_pipe() {
        let failure = Failure::new(NOT_FOUND, "command not found in the container: bash");
        let back = Failure::from_bytes(&failure.to_bytes()).unwrap();
        assert_eq!(
            (back.code, back.message.as_str()),
            (NOT_FOUND, failure.message.as_str())
        );
        assert!(Failure::from_bytes(&[]).is_none(), "no bytes: no failure");
    }

    #[test]
    fn the_exit_code_is_the_failures_anywhere_in_the_chain() {
        let error =
            anyhow::Error::new(Failure::new(NOT_EXECUTABLE, "no")).context("while starting");
        assert_eq!(exit_code(&error), NOT_EXECUTABLE);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
    }
}
