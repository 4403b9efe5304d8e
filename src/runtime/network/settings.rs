//! Which bridge and subnet the containers use, how the two ends of a
//! container's cable are named, and a subnet the host routes elsewhere
//! refused.

use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};
use futures_util::TryStreamExt;

use super::chapter;
use super::netlink::Netlink;
use crate::spec::Subnet;

/// Where containers on the bridge live: BOCKER_BRIDGE (default
/// `bocker0`; `none` turns bridge networking off, as dockerd's
/// `--bridge=none`) and BOCKER_SUBNET (default 172.30.0.0/16).
#[derive(Debug, Clone)]
pub struct Settings {
    pub bridge: Option<String>,
    pub subnet: Subnet,
}

pub const DEFAULT_BRIDGE: &str = "bocker0";
pub const DEFAULT_SUBNET: &str = "172.30.0.0/16";

impl Settings {
    pub fn from_environment() -> Result<Settings> {
        let bridge = std::env::var("BOCKER_BRIDGE").unwrap_or_else(|_| DEFAULT_BRIDGE.to_string());
        let bridge = match bridge.as_str() {
            "none" => None,
            name if valid_link_name(name) => Some(name.to_string()),
            other => bail!("invalid BOCKER_BRIDGE '{other}': a link name has 1 to 15 letters, digits, '-' or '_'"),
        };
        let subnet = std::env::var("BOCKER_SUBNET")
            .unwrap_or_else(|_| DEFAULT_SUBNET.to_string())
            .parse()
            .map_err(|e: String| anyhow::anyhow!(e))?;
        Ok(Settings { bridge, subnet })
    }
}

/// The kernel's limit is 15 bytes (IFNAMSIZ, 16 with the final NUL).
pub(super) fn valid_link_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The host's end of container `id`'s cable: `bk` and 12 hex digits
/// (`ps_` is dropped: 14 characters fit in 15).
pub fn host_end(id: &str) -> String {
    format!("bk{}", id.trim_start_matches("ps_"))
}

/// The container's end until it is renamed `eth0` inside: made from the
/// id, like the host's end, so that one left half-configured is easy to
/// trace back to its container.
pub fn temporary_end(id: &str) -> String {
    format!("bc{}", id.trim_start_matches("ps_"))
}

/// Refuse a subnet that the host already routes somewhere else: its
/// containers could not reach those addresses, and their replies to them
/// would leave through the bridge. (The default route, 0.0.0.0/0, covers
/// everything and does not count; nor do routes through our own bridge.)
pub fn check_subnet_is_free(netlink: &Netlink, settings: &Settings, bridge: &str) -> Result<()> {
    let host = netlink.handle();
    let (routes, bridge_index) = netlink.run(async {
        let request = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new().build();
        let mut stream = host.route().get(request).execute();
        let mut found = Vec::new();
        while let Some(route) = stream
            .try_next()
            .await
            .context("cannot list the host's routes")?
        {
            if route.header.table != 254 {
                continue; // only the main table (254); "local" holds the host's own addresses
            }
            let prefix = route.header.destination_prefix_length;
            let destination = route.attributes.iter().find_map(|a| match a {
                rtnetlink::packet_route::route::RouteAttribute::Destination(
                    rtnetlink::packet_route::route::RouteAddress::Inet(address),
                ) => Some(*address),
                _ => None,
            });
            let output = route.attributes.iter().find_map(|a| match a {
                rtnetlink::packet_route::route::RouteAttribute::Oif(index) => Some(*index),
                _ => None,
            });
            if prefix == 0 {
                continue;
            }
            if let Some(subnet) = Subnet::new(destination.unwrap_or(Ipv4Addr::UNSPECIFIED), prefix)
            {
                found.push((subnet, output));
            }
        }
        // The bridge's index after the routes, not before: a bocker that
        // makes the bridge meanwhile also adds its route, which would then
        // look like the host's own.
        let bridge_index = chapter::link_index(host, bridge).await?;
        anyhow::Ok((found, bridge_index))
    })?;
    if let Some((route, _)) = routes.iter().find(|(route, output)| {
        route.overlaps(&settings.subnet) && (output.is_none() || *output != bridge_index)
    }) {
        bail!(
            "the containers' subnet {} overlaps the host's route to {route}: choose another with BOCKER_SUBNET",
            settings.subnet
        );
    }
    Ok(())
}
