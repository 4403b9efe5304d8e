//! The command line: Bocker's verbs, plus a few of Docker's habits.
//!
//! A flag that belongs to a chapter appears here only once that chapter's
//! feature is compiled in, so `--help` grows as the course goes on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bocker",
    version,
    about = "Docker in Rust, one kernel mechanism at a time",
    propagate_version = true,
    // A fixed width keeps --help the same on every terminal (and in tests).
    term_width = 100
)]
pub struct Cli {
    /// Directory that holds images, containers and logs
    #[arg(
        long,
        global = true,
        env = "BOCKER_ROOT",
        hide_env_values = true,
        default_value = "/var/lib/bocker",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an image from a directory
    Init {
        /// The directory to use as the image's root filesystem
        directory: PathBuf,
    },
    /// List images
    Images,
    /// List containers
    Ps,
    /// Create a container from an image and run a command in it
    Run(RunArgs),
    /// Print what a container wrote to stdout and stderr
    Logs {
        /// Container id or name
        container: String,
    },
    /// Remove images and containers
    Rm {
        /// Image ids, container ids or container names
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Give the container a name (usable wherever an id is)
    #[arg(long)]
    pub name: Option<String>,

    /// Remove the container when its command exits
    #[arg(long)]
    pub rm: bool,

    /// Set an environment variable in the container
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// The image to run (an img_… id)
    pub image: String,

    /// The command and its arguments. One argument that contains spaces is
    /// run by `/bin/sh -c`, as in Bocker: `bocker run IMG 'echo hi && ls'`
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
