//! Bocker in Rust: a container runtime built one chapter at a time.
//!
//! The modules in `src/` are the frame: the command line, the state on disk,
//! and the pipeline that starts a container. Each chapter adds one kernel
//! mechanism; its code lives in `chapters/NN-topic/` (the exercise you edit)
//! or `solutions/NN-topic/` (the reference), and `chapters.rs` picks which.

pub mod chapters;
pub mod cli;
pub mod commands;
pub mod container;
pub mod copy;
pub mod errors;
pub mod exercise;
pub mod ids;
pub mod logs;
pub mod records;
pub mod store;
pub mod table;
