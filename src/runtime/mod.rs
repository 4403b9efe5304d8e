//! The runtime: starting a container, the pipeline every chapter adds a
//! step to, and undoing it.
//!
//! ```text
//!   bocker (parent)                          container process (child)
//!   ───────────────                          ─────────────────────────
//!   make pipes for stdin, stdout, stderr
//!   make the handshake pipes
//!   create the child ──── fork / clone ────▶ die if the parent dies
//!                                            wait for "go"
//!   set-up from outside (outside.rs:
//!   chapter 4's cgroup, chapter 5's
//!   network)
//!   send "go" ─────────────────────────────▶ a session of its own
//!                                            stdin, stdout, stderr: the pipes
//!                                            hostname (chapter 2)
//!                                            enter the root (chapters 1, 3)
//!                                            mark every other descriptor
//!                                            close-on-exec
//!                                            execve(the command)
//!   read the outcome ◀──────────────────────  nothing if execve worked,
//!                                            else why it failed
//!   relay output to terminal and log
//!   wait for the exit status
//!   teardown (teardown.rs): undo what
//!   the set-up from outside made
//! ```
//!
//! The child is a copy of bocker until `execve` replaces it. Until then it
//! only makes plain system calls, and it never returns into bocker's own
//! code: it ends in `execve` or `_exit`.
//!
//! # Where things are
//!
//! | folder or file | what it holds | chapters plugged in |
//! |---|---|---|
//! | `config.rs` | [`ContainerConfig`]: what the child needs | |
//! | `process/` | making the child, its descriptors, the handshake, what it does before execve, the relay of its output | 1 (chroot), 2 (namespaces), 3 (mounts) |
//! | `init/` | `run --init`'s pid 1, and the sealed copy of bocker it and `exec` run from | |
//! | `exec.rs` | `bocker exec`: joining a running container | |
//! | `cgroup/` | where a container's cgroup is (v1 and v2 apart), what it counts | 4 (cgroups) |
//! | `network/` | netlink, the bridge's owner, NAT, address leases, /etc/hosts | 5 (network) |
//! | `security/` | which capabilities, filter and masks apply, and their order | 8 (security) |
//! | `outside.rs` | the parent's set-up while the child waits for "go" | |
//! | `teardown.rs` | undoing it all, from the container's id alone | |
//! | `sweep.rs` | cleaning up after a bocker that was killed midway | |
//! | `kernel.rs` | the oldest Linux bocker runs on, checked at start | |
//!
//! Chapter 6's btrfs plugs into `storage/`, chapter 7's registry protocol
//! into `registry/`: they make files, not processes.

#[cfg(feature = "stage4")]
pub mod cgroup;
pub mod config;
#[cfg(feature = "stage2")]
pub mod exec;
pub mod init;
pub mod kernel;
pub mod mapped_root;
#[cfg(feature = "stage5")]
pub mod network;
#[cfg(feature = "oci")]
pub mod oci;
pub mod outside;
pub mod process;
#[cfg(feature = "stage8")]
pub mod security;
pub mod sweep;
pub mod teardown;
pub mod userns;

pub use config::{ContainerConfig, Stdin, TerminalSize};
