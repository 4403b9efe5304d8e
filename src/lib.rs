//! Bocker in Rust: a container runtime built one chapter at a time.
//!
//! The modules in `src/` are the frame, the part of the runtime the course
//! gives you:
//!
//! * `cli`, `commands/`: the command line and one module per verb;
//! * `state/`: images, containers, their records, names and logs on disk;
//! * `container/`: the pipeline that starts a container, and undoes it;
//! * `storage/`: from chapter 6, images and containers as btrfs subvolumes;
//! * `registry/`: from chapter 7, pulling images from a registry;
//! * `course/`: which chapter's code is compiled in (`chapters.rs`), and the
//!   one-line report of an unfinished exercise.
//!
//! Each chapter adds one kernel mechanism; its code lives in
//! `chapters/NN-topic/` (the exercise you edit) or `solutions/NN-topic/`
//! (the reference), and `course/chapters.rs` picks which.

pub mod cli;
pub mod commands;
pub mod container;
pub mod course;
pub mod errors;
pub mod escape;
#[cfg(feature = "stage7")]
pub mod registry;
pub mod state;
#[cfg(feature = "stage6")]
pub mod storage;
pub mod table;
