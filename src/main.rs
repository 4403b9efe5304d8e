//! `bocker`: the command-line entry point.
//!
//! Everything here is the frame that the course gives you. It parses the
//! command line, runs one verb, and turns any error into one line on stderr
//! and a non-zero exit code. The chapters' code lives in `chapters/` and is
//! plugged into the frame next to the code that uses it (see
//! `src/course/mod.rs` for where each chapter goes).

use std::process::ExitCode;

use bocker::runtime::init;
use bocker::runtime::process::fds;

fn main() -> ExitCode {
    bocker::course::exercise::install_panic_hook();
    fds::open_standard_fds();
    // `run --init`: this same program, started as pid 1 of a container.
    let mut args = std::env::args();
    if args.next().as_deref() == Some(init::PROGRAM_NAME) {
        return init::main(args.collect());
    }
    let cli = bocker::cli::parse();
    match bocker::commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => bocker::errors::report(&error),
    }
}
