//! Chapter 7's frame: talking to an image registry (the OCI distribution
//! API, version 2) and turning what it sends into an image.
//!
//! * `reference`: `busybox:1.36` → which registry, repository and tag;
//! * `client` and `auth`: HTTP requests, with the passwords registries
//!   ask for (and `token`, the optional exercise: the tokens);
//! * `platform`: which os/architecture this machine runs;
//! * `image_root`: writing a layer's files inside an image, and nowhere
//!   else;
//! * `blobs`: the downloaded layers, kept by digest;
//! * `pull`: the whole pull, in order. The protocol steps themselves are
//!   the chapter's exercise (`chapters/07-registry/registry.rs`).

pub mod auth;
pub mod blobs;
/// Chapter 7: the registry protocol (the manifest, a platform, blobs
/// checked by digest) and layers with their whiteouts. Compiled from your
/// exercise, `chapters/07-registry/registry.rs`, or with feature `solved7`
/// from `solutions/`. (`path` is relative to this folder, `src/registry/`.)
#[cfg_attr(
    not(feature = "solved7"),
    path = "../../chapters/07-registry/registry.rs"
)]
#[cfg_attr(feature = "solved7", path = "../../solutions/07-registry/registry.rs")]
pub mod chapter;
pub mod client;
pub mod image_root;
pub mod media_types;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod reference;
/// Chapter 7's optional exercise: the bearer-token challenge. Compiled
/// with feature `extra7`, from your `chapters/07-registry/extra_token.rs`,
/// or with `solved-extra7` from `solutions/`.
#[cfg(feature = "extra7")]
#[cfg_attr(
    not(feature = "solved-extra7"),
    path = "../../chapters/07-registry/extra_token.rs"
)]
#[cfg_attr(
    feature = "solved-extra7",
    path = "../../solutions/07-registry/extra_token.rs"
)]
pub mod token;

pub use client::{Fetched, Registry};
pub use image_root::ImageRoot;

/// A manifest as the registry sent it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The Content-Type of the answer, such as
    /// `application/vnd.oci.image.index.v1+json`.
    pub media_type: String,
    /// `sha256:` and the hex sha256 of `bytes`: the manifest's name.
    pub digest: String,
    /// The JSON document, exactly as received (its digest is over these
    /// bytes, so they are never re-serialised).
    pub bytes: Vec<u8>,
}
