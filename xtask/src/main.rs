//! The project's own tasks, run with `cargo xtask TASK` (an alias in
//! .cargo/config.toml). Two tasks:
//!
//! `cargo xtask transcripts [--check] [CHAPTER…]` reruns the commands that
//! the book shows and writes what they print to
//! `chapters/NN-*/transcripts/*.txt`; with `--check`, it compares instead.
//! See `transcripts/mod.rs`.
//!
//! `cargo xtask book-browser` builds the book and checks every page in
//! headless Chromium (console errors, folds, search, box drawings, tables,
//! screenshots). See `book_browser/mod.rs`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod book_browser;
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
    /// Build the book and check every page in headless Chromium: no
    /// console error or failed request, folds open, search finds each
    /// chapter, box drawings aligned, tables fit; two screenshots kept.
    BookBrowser(book_browser::Args),
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
        Task::BookBrowser(args) => match book_browser::run(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("book-browser: error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
