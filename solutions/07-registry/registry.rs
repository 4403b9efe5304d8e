//! Chapter 7 — pulling an image from a registry: the protocol steps of
//! the OCI distribution API, and turning layers into a root filesystem.
//!
//! The reference solution. Compare it with your
//! `chapters/07-registry/registry.rs`.

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
    // A registry holds the same image in several forms; Accept says which
    // we understand. Without the index types, a registry would send one
    // platform's manifest (or nothing); without Docker's types, nothing
    // for images pushed by older tools.
    let accept = [
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST,
    ];
    let path = format!("/v2/{repository}/manifests/{reference}");
    let mut fetched = registry.get(&path, &accept)?;
    let media_type = fetched
        .content_type
        .clone()
        .context("the registry did not say what kind of manifest it sent (no Content-Type)")?;
    let bytes = read_small(&mut fetched.body, MAX_MANIFEST_SIZE, "manifest")?;
    // A manifest's name is the sha256 of its bytes, exactly as sent.
    let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
    // Asked by digest: the registry must send exactly that document.
    if reference.starts_with("sha256:") && reference != digest {
        bail!("the manifest's digest is {digest}, not the {reference} asked for");
    }
    Ok(Manifest {
        media_type,
        digest,
        bytes,
    })
}
// ANCHOR_END: fetch_manifest

// ANCHOR: choose_platform
/// The manifest of `index` for the platform `wanted`.
pub fn choose_platform(index: &ImageIndex, wanted: &Platform) -> Result<Descriptor> {
    for descriptor in index.manifests() {
        // Entries without a platform are not images to run, nor are build
        // attestations (SBOMs, provenance), listed with os "unknown" and an
        // annotation that says what they are.
        let Some(platform) = descriptor.platform() else {
            continue;
        };
        let attestation = descriptor
            .annotations()
            .as_ref()
            .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
        if attestation || platform.os().to_string() == "unknown" {
            continue;
        }
        if platform.os() != wanted.os() || platform.architecture() != wanted.architecture() {
            continue;
        }
        // A variant (arm's v6, v7, v8) counts when both sides name one.
        if let (Some(asked), Some(offered)) = (wanted.variant(), platform.variant()) {
            if asked != offered {
                continue;
            }
        }
        return Ok(descriptor.clone());
    }
    let offered: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .filter(|p| p.os().to_string() != "unknown")
        .map(platform::display)
        .collect();
    bail!(
        "the image has no manifest for {} (it has: {})",
        platform::display(wanted),
        offered.join(", ")
    )
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
    let size = expected.size();
    let mut hasher = Sha256::new();
    // One byte more than announced is enough to know it is too long; a
    // registry must not make us read for ever.
    let mut limited = from.take(size + 1);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let read = limited
            .read(&mut buffer)
            .context("the download broke off")?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        to.write_all(&buffer[..read])?;
        copied += read as u64;
    }
    if copied != size {
        bail!(
            "blob {}: expected {size} bytes, got {copied}",
            expected.digest()
        );
    }
    let actual = format!("sha256:{:x}", hasher.finalize());
    if actual != expected.digest().to_string() {
        bail!(
            "blob digest mismatch: expected {}, got {actual}: the data is not what the manifest names",
            expected.digest()
        );
    }
    Ok(copied)
}
// ANCHOR_END: copy_verified

// ANCHOR: apply_layer
/// Apply one layer (an uncompressed tar stream) on top of `root`.
pub fn apply_layer(layer: &mut dyn Read, root: &mut ImageRoot) -> Result<()> {
    let mut archive = tar::Archive::new(layer);
    // What this layer wrote so far: an opaque whiteout must not remove it.
    let mut written: HashSet<PathBuf> = HashSet::new();
    for entry in archive.entries().context("cannot read the layer")? {
        let mut entry = entry.context("cannot read the layer")?;
        let path = image_path(&entry.path()?)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        if name == ".wh..wh..opq" {
            // Opaque: the directory hides everything lower layers put in it.
            root.empty_directory(&dir, &written)?;
        } else if let Some(hidden) = name.strip_prefix(".wh.") {
            // A whiteout: the file of that name in lower layers is deleted
            // (only there: the spec says a whiteout never hides what its
            // own layer wrote).
            if !written.contains(&dir.join(hidden)) {
                root.remove(&dir, hidden)?;
            }
        } else {
            root.create(&path, &mut entry)?;
            written.insert(path);
        }
    }
    Ok(())
}
// ANCHOR_END: apply_layer
