//! Chapter 7 — pulling an image from a registry: the protocol steps of
//! the OCI distribution API, and turning layers into a root filesystem.
//!
//! Your exercise. Read `chapters/07-registry/README.md` (or the chapter in
//! the book), fill in the four functions, then run:
//!
//! ```text
//! cargo test --features stage7 stage7_pull
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use oci_spec::image::{Descriptor, ImageIndex, Platform};
use sha2::{Digest as _, Sha256};

use crate::registry::client::read_small;
use crate::registry::image_root::image_path;
use crate::registry::media_types::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::registry::platform;
use crate::registry::{ImageRoot, Manifest, Registry};

/// A manifest larger than this is refused (Docker's limit is 4 MiB).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

// ANCHOR: fetch_manifest
/// GET the manifest `reference` (a tag, or a digest) of `repository`.
pub fn fetch_manifest(
    registry: &mut Registry,
    repository: &str,
    reference: &str,
) -> Result<Manifest> {
    todo!("chapter 7: GET /v2/{repository}/manifests/{reference} with an Accept header listing the four manifest types; return its media type, sha256 digest and bytes — see chapters/07-registry/README.md, section 'The manifest'")
}
// ANCHOR_END: fetch_manifest

// ANCHOR: choose_platform
/// The manifest of `index` for the platform `wanted`.
pub fn choose_platform(index: &ImageIndex, wanted: &Platform) -> Result<Descriptor> {
    todo!("chapter 7: find the manifest of index for the platform wanted (os, architecture, variant) — see chapters/07-registry/README.md, section 'One manifest per platform'")
}
// ANCHOR_END: choose_platform

// ANCHOR: copy_verified
/// Copy the blob `expected` from `from` to `to`, and make sure it is the
/// one asked for: no more than its size, and its sha256 as its digest
/// says. Returns the number of bytes copied.
pub fn copy_verified(
    from: &mut dyn Read,
    to: &mut dyn Write,
    expected: &Descriptor,
) -> Result<u64> {
    todo!("chapter 7: copy the blob from `from` to `to`, checking its size and its sha256 against expected — see chapters/07-registry/README.md, section 'Blobs and their digests'")
}
// ANCHOR_END: copy_verified

// ANCHOR: apply_layer
/// Apply one layer (an uncompressed tar stream) on top of `root`.
pub fn apply_layer(layer: &mut dyn Read, root: &mut ImageRoot) -> Result<()> {
    todo!("chapter 7: read the tar entries of layer and write them into root, honouring whiteouts (.wh.NAME and .wh..wh..opq) — see chapters/07-registry/README.md, section 'Layers and whiteouts'")
}
// ANCHOR_END: apply_layer
