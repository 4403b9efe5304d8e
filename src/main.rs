//! `bocker`: the command-line entry point.
//!
//! Everything here is the frame that the course gives you. It parses the
//! command line, runs one verb, and turns any error into one line on stderr
//! and a non-zero exit code. The chapters' code lives in `chapters/` and is
//! wired in by `src/chapters.rs`.

use std::process::ExitCode;

use bocker::cli::Cli;
use clap::Parser;

fn main() -> ExitCode {
    bocker::exercise::install_panic_hook();
    let cli = Cli::parse();
    match bocker::commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => bocker::errors::report(&error),
    }
}
