//! Chapter 5 — network: the container gets a network card of its own, a
//! cable to a bridge on the host, an address and a route, all over
//! netlink with the rtnetlink crate.
//!
//! Your exercise. Read `chapters/05-network/README.md` (or the chapter in
//! the book), fill in the five functions, then run:
//!
//! ```text
//! cargo test --features stage5 stage5_network
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use futures_util::TryStreamExt;
use nix::unistd::Pid;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// What the container's end of the cable is called inside: the name
/// programs expect for a machine's first network card.
pub const CONTAINER_INTERFACE: &str = "eth0";

// ANCHOR: link_index
/// The index of the link called `name` in the namespace `handle` talks to,
/// or `None` if there is none. (The kernel answers a request for a name it
/// does not know with the error ENODEV.)
pub async fn link_index(handle: &Handle, name: &str) -> Result<Option<u32>> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link.map(|link| link.header.index)),
        Err(error) if errno(&error) == Some(libc::ENODEV) => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot look up link {name}")),
    }
}

/// The errno a netlink request failed with, if it did so.
pub fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(-message.raw_code()),
        _ => None,
    }
}
// ANCHOR_END: link_index

// ANCHOR: ensure_bridge
/// Make sure the bridge `name` exists on the host, with the address
/// `gateway`/`prefix` (the containers' gateway), and is up. Its index.
pub async fn ensure_bridge(
    host: &Handle,
    name: &str,
    gateway: Ipv4Addr,
    prefix: u8,
) -> Result<u32> {
    todo!("chapter 5: make sure bridge {name} exists (LinkBridge), has the address {gateway}/{prefix} and is up; return its index — see chapters/05-network/README.md, section 'The bridge'")
}
// ANCHOR_END: ensure_bridge

// ANCHOR: add_veth_pair
/// A veth pair: `host_end` on the host, plugged into the bridge `bridge`
/// and up; `container_end` in the network namespace of process `pid`.
pub async fn add_veth_pair(
    host: &Handle,
    host_end: &str,
    container_end: &str,
    bridge: u32,
    pid: Pid,
) -> Result<()> {
    todo!("chapter 5: create the veth pair {host_end}/{container_end} (LinkVeth), with {container_end} made in the namespace of process {pid}, and {host_end} on the bridge and up — see chapters/05-network/README.md, section 'A cable: the veth pair'")
}
// ANCHOR_END: add_veth_pair

// ANCHOR: bring_up_loopback
/// Bring `lo` up in the namespace `inside` talks to: a new network
/// namespace has it, down.
pub async fn bring_up_loopback(inside: &Handle) -> Result<()> {
    todo!("chapter 5: bring lo up in the container's namespace — see chapters/05-network/README.md, section 'lo'")
}
// ANCHOR_END: bring_up_loopback

// ANCHOR: configure_container_end
/// Inside the container's namespace: rename the cable's end `temporary`
/// to `eth0`, give it `address`/`prefix`, bring it up, and route
/// everything else through `gateway`.
pub async fn configure_container_end(
    inside: &Handle,
    temporary: &str,
    address: Ipv4Addr,
    prefix: u8,
    gateway: Ipv4Addr,
) -> Result<()> {
    todo!("chapter 5: inside, rename {temporary} to eth0, give it {address}/{prefix}, bring it up, add the default route via {gateway} — see chapters/05-network/README.md, section 'Inside the container'")
}
// ANCHOR_END: configure_container_end

// ANCHOR: remove_veth
/// Remove the veth pair whose host end is `host_end` (deleting one end
/// deletes the other). Nothing to do if it is gone already.
pub async fn remove_veth(host: &Handle, host_end: &str) -> Result<()> {
    todo!("chapter 5: delete the veth pair whose host end is {host_end}, if it is still there — see chapters/05-network/README.md, section 'Taking it down'")
}
// ANCHOR_END: remove_veth
