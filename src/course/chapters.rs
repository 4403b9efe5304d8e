//! Where the chapters plug into the frame.
//!
//! Each chapter is one module. With feature `stageN` the module is compiled;
//! it is read from `chapters/` (your exercise) unless feature `solvedN` asks
//! for the reference in `solutions/`. The frame only calls a chapter's code
//! when that chapter's feature is on, so a chapter you have not reached yet
//! can never stop you.
//!
//! `path` is relative to this file's folder, `src/course/`.

/// Chapter 1: change the root directory with `chroot(2)`.
#[cfg(feature = "stage1")]
#[cfg_attr(not(feature = "solved1"), path = "../../chapters/01-chroot/chroot.rs")]
#[cfg_attr(feature = "solved1", path = "../../solutions/01-chroot/chroot.rs")]
pub mod chroot;

/// Chapter 2: new namespaces with `clone(2)`, joining them with `setns(2)`.
#[cfg(feature = "stage2")]
#[cfg_attr(
    not(feature = "solved2"),
    path = "../../chapters/02-namespaces/namespaces.rs"
)]
#[cfg_attr(
    feature = "solved2",
    path = "../../solutions/02-namespaces/namespaces.rs"
)]
pub mod namespaces;

/// Chapter 3: a private mount tree, `pivot_root(2)`, /proc, /dev, /sys, /tmp.
#[cfg(feature = "stage3")]
#[cfg_attr(not(feature = "solved3"), path = "../../chapters/03-mounts/mounts.rs")]
#[cfg_attr(feature = "solved3", path = "../../solutions/03-mounts/mounts.rs")]
pub mod mounts;
