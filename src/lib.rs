//! Bocker in Rust: a container runtime built one chapter at a time.
//!
//! The modules in `src/` are the frame, the part of the runtime the course
//! gives you. They come in layers, and a module uses only modules of its
//! own layer or of the layers below it:
//!
//! ```text
//!   cli, commands/         the command line and one module per verb
//!        │
//!   runtime/   registry/   starting, watching and undoing containers;
//!        │         │       pulling images (chapter 7)
//!   state/                 records, names, leases, logs, keeper locks
//!        │
//!   storage/               images' and containers' files (btrfs from chapter 6)
//!        │
//!   spec/                  plain data: what a container is asked to be
//!
//!   errors, escape, table, template, course/  helpers any layer may use
//! ```
//!
//! So state never reaches up into the runtime: the runtime's sweep and
//! teardown act on the kernel and then ask the state to forget, in that
//! order. A unit test (`layering.rs`) reads the sources and fails if a
//! module names one above it.
//!
//! Each chapter adds one kernel mechanism; its code lives in
//! `chapters/NN-topic/` (the exercise you edit) or `solutions/NN-topic/`
//! (the reference), and is compiled as a module of the folder that uses
//! it: `course/mod.rs` has the table.

pub mod cli;
pub mod commands;
pub mod course;
pub mod errors;
pub mod escape;
#[cfg(feature = "stage7")]
pub mod registry;
pub mod runtime;
pub mod spec;
pub mod state;
pub mod storage;
pub mod table;
pub mod template;

#[cfg(test)]
mod layering;
