//! Starting a container: the pipeline every chapter adds a step to.
//!
//! ```text
//!   bocker (parent)                          container process (child)
//!   ───────────────                          ─────────────────────────
//!   make pipes for stdout, stderr
//!   make the handshake pipes
//!   create the child ──── fork / clone ────▶ die if the parent dies
//!                                            wait for "go"
//!   set-up from outside (later chapters:
//!   cgroups, network)
//!   send "go" ─────────────────────────────▶ stdout/stderr onto the pipes
//!                                            enter the root (chapter 1, 3)
//!                                            execve(the command)
//!   read the outcome ◀──────────────────────  nothing if execve worked,
//!                                            else why it failed
//!   relay output to terminal and log
//!   wait for the exit status
//! ```
//!
//! The child is a copy of bocker until `execve` replaces it. Until then it
//! only makes plain system calls, and it never returns into bocker's own
//! code: it ends in `execve` or `_exit`.

pub mod child;
pub mod command;
#[cfg(feature = "stage2")]
pub mod enter;
pub mod exec;
pub mod handshake;
pub mod relay;
pub mod signals;
pub mod spawn;

use std::path::PathBuf;

/// Everything the child needs to become the container.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// The argv to execute inside the container.
    pub argv: Vec<String>,
    /// The container's root filesystem on the host.
    pub rootfs: PathBuf,
    /// The container's hostname (used from chapter 2 on).
    pub hostname: String,
    /// Variables given with `-e KEY=VALUE`.
    pub extra_env: Vec<(String, String)>,
    /// A network namespace of its own (from chapter 2), or the host's
    /// (`--net host`).
    pub new_network: bool,
}
