//! bocker's integration tests: one test program, `course`, with one module
//! (one file) per chapter.
//!
//! `cargo test --features stageN` compiles the frame's tests and those of
//! chapters 1 to N, and runs them all; a name filter picks some, for
//! instance the chapter's own module: `cargo test --features stage3
//! stage3_mounts` runs the tests in `stage3_mounts.rs`. Every test drives
//! the real `bocker` binary as root (see `support`).

mod support;

mod frame;

#[cfg(feature = "stage1")]
mod stage1_chroot;

#[cfg(feature = "stage2")]
mod stage2_namespaces;

#[cfg(feature = "stage3")]
mod stage3_mounts;

#[cfg(feature = "stage4")]
mod stage4_cgroups;

#[cfg(feature = "stage5")]
mod stage5_network;

#[cfg(feature = "extra5")]
mod extra5_nat;

#[cfg(feature = "stage6")]
mod stage6_btrfs;

#[cfg(feature = "stage7")]
mod stage7_pull;

#[cfg(feature = "stage7")]
mod registry_support;

#[cfg(feature = "extra7")]
mod extra7_token;

#[cfg(feature = "stage8")]
mod stage8_security;

#[cfg(feature = "stage9")]
mod stage9_userns;

#[cfg(feature = "oci")]
mod oci;

#[cfg(feature = "oci")]
mod oci_podman;

#[cfg(feature = "oci")]
mod oci_containerd;

// `run -t` and `exec -t`, with the finished runtime.
#[cfg(feature = "oci")]
mod terminal;

// The rest of Docker's command table.
#[cfg(feature = "docker")]
mod docker_table;

// The finished runtime without root (with chapter 9's maps).
#[cfg(all(feature = "oci", feature = "stage9"))]
mod rootless;
