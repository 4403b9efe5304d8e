//! Chapter 7: an image pulled from a registry says how to run it (its
//! config's Entrypoint, Cmd, Env, WorkingDir and User), and is named by the
//! reference it was pulled with.

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::registry::reference::Reference;
use crate::state::records::{ImageDefaults, ImageRecord};
use crate::state::Store;

/// The image `wanted`: an `img_…` id, or the reference an image was pulled
/// with (`busybox`, `localhost:5000/app:v1`): the newest such image.
pub fn find_image(store: &Store, wanted: &str) -> Result<ImageRecord> {
    if store.image_exists(wanted) || wanted.starts_with(crate::state::ids::IMAGE_PREFIX) {
        return store.image(wanted); // Bocker's "No image named … exists"
    }
    let Ok(reference) = Reference::parse(wanted) else {
        return store.image(wanted); // Bocker's "No image named … exists"
    };
    let full = reference.to_string();
    let found = store
        .images()?
        .into_iter()
        .filter(|image| matches(image, &reference, &full))
        .max_by_key(|image| image.created);
    match found {
        Some(image) => Ok(image),
        None => bail!(Failure::new(
            1,
            format!(
                "No image named '{}' exists (pull it first: bocker pull {})",
                crate::escape::printable(wanted),
                crate::escape::printable(wanted)
            )
        )),
    }
}

/// Whether `image` was pulled as `reference` (`full`, its full form): the
/// same name and tag, or, for `name@sha256:…`, the same manifest digest.
fn matches(image: &ImageRecord, reference: &Reference, full: &str) -> bool {
    let Some(digest) = &image.digest else {
        return false; // made by init or commit
    };
    let Ok(pulled_as) = Reference::parse(&image.source) else {
        return false;
    };
    match &reference.digest {
        Some(wanted) => {
            wanted == digest
                && pulled_as.registry == reference.registry
                && pulled_as.repository == reference.repository
        }
        None => image.source == full || pulled_as.same_name(reference),
    }
}

/// The words to run: as Docker does, the Entrypoint first, then the typed
/// command, or the image's Cmd when none was typed.
pub fn command_for(image: &ImageRecord, typed: &[String]) -> Result<Vec<String>> {
    let defaults = image.defaults.clone().unwrap_or_default();
    let arguments = if typed.is_empty() {
        &defaults.cmd
    } else {
        typed
    };
    let words: Vec<String> = defaults
        .entrypoint
        .iter()
        .chain(arguments)
        .cloned()
        .collect();
    if words.is_empty() {
        bail!(Failure::new(
            2,
            format!(
                "no command given, and image {} names none (no Cmd or Entrypoint): \
                 bocker run IMAGE COMMAND…",
                image.id
            )
        ));
    }
    Ok(words)
}

/// The image's variables, then those given with `-e`, which win.
pub fn env_for(image: &ImageRecord, given: Vec<(String, String)>) -> Vec<(String, String)> {
    let defaults: ImageDefaults = image.defaults.clone().unwrap_or_default();
    let mut env: Vec<(String, String)> = defaults
        .env
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .filter(|(key, _)| !given.iter().any(|(k, _)| k == key))
        .collect();
    env.extend(given);
    env
}
