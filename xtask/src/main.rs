//! The project's own tasks, run with `cargo xtask TASK` (an alias in
//! .cargo/config.toml). One task so far:
//!
//! `cargo xtask transcripts [--check] [CHAPTER…]` reruns the commands that
//! the book shows and writes what they print to
//! `chapters/NN-*/transcripts/*.txt`; with `--check`, it compares instead.
//! See `transcripts/mod.rs`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod transcripts;

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "The project's own tasks"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Rerun the commands the book shows and write what they print to
    /// chapters/NN-*/transcripts/*.txt (or, with --check, compare).
    Transcripts(transcripts::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.task {
        Task::Transcripts(args) => match transcripts::run(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("transcripts: error: {error:#}");
                match transcripts::signals::caught() {
                    Some(signal) => ExitCode::from(128 + signal as u8),
                    None => ExitCode::FAILURE,
                }
            }
        },
    }
}
