//! One bridge, one state directory (chapter 5).
//!
//! Leases live in a state directory (`--root`), but the bridge and its NAT
//! rules belong to the whole machine. Two state directories with
//! containers on one bridge would not see each other's leases, so they
//! could hand out the same address; and the last container of one would
//! remove the way out that the other's containers still use.
//!
//! So the bridge says whose it is. A link has a free-text *alias*
//! (IFLA_IFALIAS; `ip link show` prints it as `alias …`). bocker writes
//! `bocker:<state directory>` there when it plugs a container in, and a
//! second state directory is refused while the first still holds leases
//! on that bridge.
//!
//! A link of that name that is not a bridge at all (BOCKER_BRIDGE=eth0 by
//! mistake) is refused too, before anything touches it: ensure_bridge
//! would give it the gateway's address.
//!
//! A bridge stays when its last container goes, as Docker's docker0 does:
//! the next container needs it. `bocker system reset` deletes it, but only
//! one this state directory made (`made-here`, written when the bridge did
//! not exist before its first container): a bridge that was there before,
//! named with BOCKER_BRIDGE, belongs to whoever made it.

use std::path::Path;

use anyhow::{bail, Context, Result};
use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo};
use rtnetlink::{Handle, LinkUnspec};

use super::bookkeeping::{bridge_dir, bridges_of, leases_on};
use super::chapter::errno;
use super::netlink::Netlink;

const PREFIX: &str = "bocker:";

/// The mark this state directory writes on the bridges it uses.
fn mark(state_root: &Path) -> String {
    let root = std::fs::canonicalize(state_root).unwrap_or_else(|_| state_root.to_path_buf());
    format!("{PREFIX}{}", root.display())
}

/// Refuse `bridge` if it is not a bridge, or if another state
/// directory's containers are on it. (A bridge that does not exist yet
/// belongs to no one.)
pub fn check(netlink: &Netlink, bridge: &str, state_root: &Path) -> Result<()> {
    let Some(link) = netlink.run(look_up(netlink.handle(), bridge))? else {
        return Ok(());
    };
    if !link.is_bridge {
        bail!("BOCKER_BRIDGE names {bridge}, a link of this host that is not a bridge: choose another name");
    }
    let alias = link.alias;
    let Some(owner) = alias.as_deref().and_then(|a| a.strip_prefix(PREFIX)) else {
        return Ok(()); // not marked by bocker: ours to take
    };
    if alias.as_deref() == Some(mark(state_root).as_str()) {
        return Ok(());
    }
    // Their leases, in their state directory.
    if leases_on(Path::new(owner), bridge).all().is_empty() {
        return Ok(()); // their containers are gone: the bridge is free
    }
    bail!(
        "the bridge {bridge} carries the containers of the state directory {owner}: \
         give this one another BOCKER_BRIDGE and BOCKER_SUBNET"
    )
}

/// Write this state directory's mark on `bridge`, if it is not there yet.
pub async fn mark_as_ours(host: &Handle, bridge: &str, state_root: &Path) -> Result<()> {
    let Some(link) = look_up(host, bridge).await? else {
        bail!("the bridge {bridge} is gone");
    };
    let ours = mark(state_root);
    if link.alias.as_deref() == Some(ours.as_str()) {
        return Ok(());
    }
    let message = LinkUnspec::new_with_index(link.index)
        .append_extra_attribute(LinkAttribute::IfAlias(ours))
        .build();
    host.link()
        .set(message)
        .execute()
        .await
        .with_context(|| format!("cannot set the alias of {bridge}"))
}

/// Whether `bridge` is missing, so that ensure_bridge is about to make
/// it. (Only asked while this state directory has no `made-here` for it.)
pub async fn about_to_make(host: &Handle, bridge: &str, state_root: &Path) -> Result<bool> {
    if made_here(state_root, bridge).exists() {
        return Ok(false);
    }
    Ok(look_up(host, bridge).await?.is_none())
}

/// Remember that this state directory made `bridge`.
pub fn record_made_here(state_root: &Path, bridge: &str) -> Result<()> {
    let marker = made_here(state_root, bridge);
    std::fs::write(&marker, "").with_context(|| format!("cannot write {}", marker.display()))
}

fn made_here(state_root: &Path, bridge: &str) -> std::path::PathBuf {
    bridge_dir(state_root, bridge).join("made-here")
}

/// For `system reset`: delete the bridges this state directory made, if
/// they are still marked as its own and carry none of its containers.
/// Returns their names.
pub fn remove_bridges_made_here(state_root: &Path) -> Result<Vec<String>> {
    let made: Vec<String> = bridges_of(state_root)
        .into_iter()
        .filter(|bridge| made_here(state_root, bridge).exists())
        .collect();
    if made.is_empty() {
        return Ok(Vec::new()); // no netlink connection needed
    }
    let netlink = Netlink::host()?;
    let host = netlink.handle();
    let mut removed = Vec::new();
    for bridge in made {
        if !leases_on(state_root, &bridge).all().is_empty() {
            continue; // a container still holds an address on it
        }
        if let Some(link) = netlink.run(look_up(host, &bridge))? {
            // Another state directory took it over since (its mark is on
            // it now), or it is no bridge of ours any more: leave it.
            if !link.is_bridge || link.alias.as_deref() != Some(mark(state_root).as_str()) {
                continue;
            }
            // `ip link del BRIDGE`. Its address and the route to the
            // subnet go with it.
            netlink
                .run(host.link().del(link.index).execute())
                .with_context(|| format!("cannot delete the bridge {bridge}"))?;
            removed.push(bridge.clone());
        }
        let _ = std::fs::remove_file(made_here(state_root, &bridge));
    }
    Ok(removed)
}

/// What bocker needs to know of the link that BOCKER_BRIDGE names.
struct Link {
    index: u32,
    alias: Option<String>,
    is_bridge: bool,
}

/// The link called `name`; `None` if there is no such link.
async fn look_up(host: &Handle, name: &str) -> Result<Option<Link>> {
    let mut links = host.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => {
            let mut found = Link {
                index: link.header.index,
                alias: None,
                is_bridge: false,
            };
            for attribute in link.attributes {
                match attribute {
                    LinkAttribute::IfAlias(alias) => found.alias = Some(alias),
                    // IFLA_LINKINFO holds the kind: "bridge", "veth", ...
                    LinkAttribute::LinkInfo(infos) => {
                        found.is_bridge = infos.contains(&LinkInfo::Kind(InfoKind::Bridge));
                    }
                    _ => {}
                }
            }
            Ok(Some(found))
        }
        Ok(None) => Ok(None),
        // The kernel answers a name it does not know with ENODEV.
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot look up the link {name}")),
    }
}
