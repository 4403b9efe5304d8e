//! `bocker pull REFERENCE` (Docker's form) or `bocker pull NAME TAG`
//! (Bocker's): download an image from a registry into a new image.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::init::build_rootfs;
use crate::cli::PullArgs;
use crate::registry::auth::Credentials;
use crate::registry::pull::{self, Pulled};
use crate::registry::reference::Reference;
use crate::runtime::mapped_root::{self, with_the_containers_ids};
use crate::state::records::{self, ImageRecord};

pub fn pull(root: &Path, args: PullArgs) -> Result<u8> {
    // Everything the user typed is checked before anything is made.
    let reference = match &args.tag {
        Some(tag) => Reference::from_name_and_tag(&args.name, tag)?,
        None => Reference::parse(&args.name)?,
    };
    let wanted = pull::wanted_platform(args.platform.as_deref())?;
    let credentials = match &args.user {
        Some(text) => Some(Credentials::parse(text)?),
        None => Credentials::from_docker_config(&reference.registry),
    };

    let store = super::create_store(root)?;
    // The image is built under a hidden name; if anything fails, it goes.
    let staged = store.stage_image()?;
    let mut pulled: Option<Pulled> = None;
    build_rootfs(&staged.dir.join("rootfs"), |rootfs| {
        // Without root, from chapter 9: unpacked by root of a user
        // namespace with the user's subordinate ids, so that a file of
        // uid 33 in the image is uid 33 in the container.
        pulled = Some(with_the_containers_ids(|| {
            pull::pull(
                store.root(),
                &reference,
                &wanted,
                args.platform.is_some(),
                credentials,
                rootfs,
            )
        })?);
        Ok(())
    })?;
    let pulled = pulled.expect("the rootfs was filled");
    let record = ImageRecord {
        id: staged.id.clone(),
        source: reference.to_string(),
        created: records::now(),
        digest: Some(pulled.digest),
        defaults: Some(pulled.defaults),
        subordinate_owners: mapped_root::is_needed(),
    };
    store.commit_image(staged, &record)?;
    writeln!(std::io::stdout(), "Created: {}", record.id)?;
    Ok(0)
}
