//! A whole pull, step by step:
//!
//! ```text
//! GET /v2/<repo>/manifests/<tag>      → an index, or one image's manifest
//!   (an index) choose our platform,
//!   GET /v2/<repo>/manifests/<digest> → the image's manifest
//! GET /v2/<repo>/blobs/<config>       → the config: Cmd, Env, WorkingDir…
//! GET /v2/<repo>/blobs/<layer> …      → the layers, in parallel,
//!                                       applied in order as they arrive
//! ```
//!
//! The protocol steps are the chapter's (`registry::chapter`, from chapters/07-registry/registry.rs);
//! this module strings them together, keeps the layers (`blobs`), and
//! builds the image in a staging directory that becomes the image only at
//! the end: a pull that fails at any point leaves no image behind.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest, Platform};

use super::auth::Credentials;
use super::blobs::{self, Blobs, Download};
use super::chapter;
use super::media_types::{self, Compression};
use super::progress::{short, Progress};
use super::reference::{Reference, DOCKER_HUB};
use super::{platform, ImageRoot, Manifest, Registry};
use crate::course::exercise::yours;
use crate::state::records::ImageDefaults;

/// Docker Hub mirrors to try first, `host[,host…]` (Docker's
/// `registry-mirrors`): a classroom behind one address soon reaches Docker
/// Hub's limit on anonymous pulls; a mirror in the school serves them all.
pub const MIRROR_VARIABLE: &str = "BOCKER_REGISTRY_MIRROR";

/// Layers downloaded at the same time.
const PARALLEL_DOWNLOADS: usize = 3;

/// An image config larger than this is refused.
const MAX_CONFIG_SIZE: u64 = 8 << 20;

/// What a pull found: the image's manifest digest and its defaults.
/// (Plain data: without root it comes back from the child that pulled,
/// runtime/mapped_root.rs.)
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Pulled {
    pub digest: String,
    pub defaults: ImageDefaults,
}

/// Find the image `reference` for `wanted`, and build its files in
/// `rootfs` (an empty directory). The mirrors are tried first for Docker
/// Hub images.
pub fn pull(
    state_root: &Path,
    reference: &Reference,
    wanted: &Platform,
    platform_asked: bool,
    credentials: Option<Credentials>,
    rootfs: &Path,
) -> Result<Pulled> {
    let progress = Progress::new();
    let (mut registry, manifest) = resolve(reference, wanted, credentials, &progress)?;
    let image: ImageManifest =
        serde_json::from_slice(&manifest.bytes).context("the image manifest is not valid JSON")?;
    progress.say(&format!("{}: manifest {}", reference, manifest.digest));

    let config = fetch_config(&mut registry, image.config())?;
    check_platform(&config, wanted, platform_asked, &progress)?;
    for layer in image.layers() {
        let media_type = layer.media_type().to_string();
        if media_types::layer_compression(&media_type).is_none() {
            bail!(
                "layer {} has a media type bocker cannot read: {media_type}",
                layer.digest()
            );
        }
    }
    let blobs = Blobs::open(state_root)?;
    apply_layers(&registry, &blobs, image.layers(), rootfs, &progress)?;
    Ok(Pulled {
        digest: manifest.digest,
        defaults: defaults_of(&config),
    })
}

/// The image manifest for `wanted`, from the first registry that has it:
/// a mirror, or the image's own registry.
fn resolve(
    reference: &Reference,
    wanted: &Platform,
    credentials: Option<Credentials>,
    progress: &Progress,
) -> Result<(Registry, Manifest)> {
    if reference.registry == DOCKER_HUB {
        let mirrors = std::env::var(MIRROR_VARIABLE).unwrap_or_default();
        for mirror in mirrors.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            let mirror = mirror
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let mut registry = Registry::new(mirror, &reference.repository, credentials.clone());
            match image_manifest(&mut registry, reference, wanted) {
                Ok(manifest) => return Ok((registry, manifest)),
                Err(error) => progress.say(&format!(
                    "mirror {mirror}: {}; trying the next",
                    first_line(&error)
                )),
            }
        }
    }
    let mut registry = Registry::new(&reference.api_host(), &reference.repository, credentials);
    let manifest = image_manifest(&mut registry, reference, wanted)?;
    Ok((registry, manifest))
}

/// The manifest of one image: the one `reference` names, or, if that is
/// an index, its entry for `wanted`.
fn image_manifest(
    registry: &mut Registry,
    reference: &Reference,
    wanted: &Platform,
) -> Result<Manifest> {
    let repository = reference.repository.clone();
    let first = yours(1, || {
        chapter::fetch_manifest(registry, &repository, reference.manifest_reference())
    })?;
    let manifest = if media_types::is_index(&first.media_type) {
        let index: ImageIndex =
            serde_json::from_slice(&first.bytes).context("the image index is not valid JSON")?;
        let chosen = yours(1, || chapter::choose_platform(&index, wanted))?;
        let digest = chosen.digest().to_string();
        let manifest = yours(1, || {
            chapter::fetch_manifest(registry, &repository, &digest)
        })?;
        if manifest.digest != digest {
            bail!(
                "the registry sent manifest {} for {digest}",
                manifest.digest
            );
        }
        manifest
    } else {
        first
    };
    if !media_types::is_image(&manifest.media_type) {
        bail!(
            "{reference}: the registry sent a manifest of type '{}', which bocker cannot read \
             (it reads OCI and Docker schema 2 manifests)",
            crate::escape::printable(&manifest.media_type)
        );
    }
    Ok(manifest)
}

/// The image's config blob: what to run, with which variables, as whom.
fn fetch_config(registry: &mut Registry, descriptor: &Descriptor) -> Result<ImageConfiguration> {
    let path = format!(
        "/v2/{}/blobs/{}",
        registry.repository(),
        descriptor.digest()
    );
    // Held in memory: refuse a config said to be larger than any real one
    // (copy_verified then stops at the size the manifest gives).
    if descriptor.size() > MAX_CONFIG_SIZE {
        bail!("the image config is larger than {MAX_CONFIG_SIZE} bytes: refusing it");
    }
    let mut fetched = registry.get(&path, &[])?;
    let mut bytes = Vec::new();
    yours(1, || {
        chapter::copy_verified(&mut fetched.body, &mut bytes, descriptor)
    })?;
    serde_json::from_slice(&bytes).context("the image config is not valid JSON")
}

/// An image that is not an index has one platform, named in its config.
/// If it is not the one asked for with --platform, refuse it; if it is not
/// this machine's, say so (it may still run, through an emulator).
fn check_platform(
    config: &ImageConfiguration,
    wanted: &Platform,
    asked: bool,
    progress: &Progress,
) -> Result<()> {
    let same = config.os() == wanted.os() && config.architecture() == wanted.architecture();
    if same {
        return Ok(());
    }
    let image = format!("{}/{}", config.os(), config.architecture());
    if asked {
        bail!(
            "the image is for {image}, not {}, and has no other platforms",
            platform::display(wanted)
        );
    }
    progress.say(&format!(
        "warning: the image is for {image}, this machine is {}: it may not run here",
        platform::display(wanted)
    ));
    Ok(())
}

fn defaults_of(config: &ImageConfiguration) -> ImageDefaults {
    let Some(config) = config.config() else {
        return ImageDefaults::default();
    };
    ImageDefaults {
        entrypoint: config.entrypoint().clone().unwrap_or_default(),
        cmd: config.cmd().clone().unwrap_or_default(),
        env: config.env().clone().unwrap_or_default(),
        working_dir: config.working_dir().clone().filter(|d| !d.is_empty()),
        user: config.user().clone().filter(|u| !u.is_empty()),
    }
}

/// Download the layers (those not in the store yet), several at a time,
/// and apply them in order into `rootfs` as their bytes arrive.
fn apply_layers(
    registry: &Registry,
    blobs: &Blobs,
    layers: &[Descriptor],
    rootfs: &Path,
    progress: &Progress,
) -> Result<()> {
    let mut downloads: Vec<Arc<Download>> = Vec::new();
    let mut to_fetch: Vec<(usize, std::fs::File)> = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let digest = layer.digest().to_string();
        if blobs.has(&digest) {
            progress.say(&format!("{}: already in the store", short(&digest)));
            downloads.push(blobs::stored(blobs.path(&digest)?));
        } else {
            let (file, download) = blobs.begin(&digest)?;
            downloads.push(download);
            to_fetch.push((i, file));
        }
    }
    // Set when applying fails: the downloads still running stop.
    let cancelled = Arc::new(AtomicBool::new(false));
    let next = AtomicUsize::new(0);
    let to_fetch = std::sync::Mutex::new(to_fetch.into_iter().map(Some).collect::<Vec<_>>());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_DOWNLOADS {
            scope.spawn(|| loop {
                let job = {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let mut jobs = to_fetch.lock().unwrap();
                    match jobs.get_mut(i) {
                        Some(job) => job.take(),
                        None => break,
                    }
                };
                let Some((index, file)) = job else { break };
                let layer = &layers[index];
                let download = &downloads[index];
                let outcome = if cancelled.load(Ordering::SeqCst) {
                    Err(anyhow::anyhow!("cancelled"))
                } else {
                    fetch_blob(
                        registry.clone(),
                        layer,
                        download,
                        file,
                        progress,
                        &cancelled,
                    )
                };
                let _ = Blobs::finish(download, outcome);
            });
        }
        let applied = apply_in_order(layers, &downloads, rootfs, progress);
        if applied.is_err() {
            cancelled.store(true, Ordering::SeqCst);
        }
        applied
    })
}

/// Download one blob into its partial file, checking it on the way.
fn fetch_blob(
    mut registry: Registry,
    layer: &Descriptor,
    download: &Arc<Download>,
    file: std::fs::File,
    progress: &Progress,
    cancelled: &Arc<AtomicBool>,
) -> Result<()> {
    let digest = layer.digest().to_string();
    let bar = progress.blob(&digest, layer.size());
    let fetched = registry
        .get(
            &format!("/v2/{}/blobs/{digest}", registry.repository()),
            &[],
        )
        .map(|fetched| fetched.body);
    let mut writer = download.writer(file, bar, Arc::clone(cancelled));
    let outcome = fetched.and_then(|mut body| {
        yours(1, || chapter::copy_verified(&mut body, &mut writer, layer)).map(drop)
    });
    writer.progress.finish(
        match &outcome {
            Ok(()) => "downloaded".to_string(),
            Err(error) => first_line(error),
        }
        .as_str(),
    );
    outcome
}

/// Apply each layer, in order, reading it as its download goes.
fn apply_in_order(
    layers: &[Descriptor],
    downloads: &[Arc<Download>],
    rootfs: &Path,
    progress: &Progress,
) -> Result<()> {
    let mut root = ImageRoot::open(rootfs)?;
    for (layer, download) in layers.iter().zip(downloads) {
        let digest = layer.digest().to_string();
        let following = download.follow()?;
        let compression = media_types::layer_compression(layer.media_type().as_ref());
        let mut reader: Box<dyn Read> = match compression {
            Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(following)),
            Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::new(following)?),
            Some(Compression::None) | None => Box::new(following),
        };
        let applied = yours(1, || chapter::apply_layer(&mut reader, &mut root));
        // The layer is right only if its whole blob arrived and matched
        // its digest, whatever the tar reader saw.
        let downloaded = download.wait();
        downloaded
            .and(applied)
            .with_context(|| format!("layer {}", short(&digest)))?;
        progress.say(&format!("{}: applied", short(&digest)));
    }
    Ok(())
}

fn first_line(error: &anyhow::Error) -> String {
    format!("{error:#}")
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The platform to pull: `--platform`, or this machine's.
pub fn wanted_platform(asked: Option<&str>) -> Result<Platform> {
    match asked {
        Some(text) => platform::parse(text),
        None => Ok(platform::host()),
    }
}
