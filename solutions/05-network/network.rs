//! Chapter 5 — network: the container gets a network card of its own, a
//! cable to a bridge on the host, an address and a route, all over
//! netlink with the rtnetlink crate.
//!
//! The reference solution. Compare it with your
//! `chapters/05-network/network.rs`.

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
    // ip link add NAME type bridge — unless it is there already. Another
    // bocker may create it between our look and our request: EEXIST is
    // an answer too.
    if link_index(host, name).await?.is_none() {
        let created = host
            .link()
            .add(LinkBridge::new(name).build())
            .execute()
            .await;
        if let Err(error) = created {
            if errno(&error) != Some(libc::EEXIST) {
                return Err(error).with_context(|| format!("cannot create bridge {name}"));
            }
        }
    }
    let index = link_index(host, name)
        .await?
        .with_context(|| format!("bridge {name} vanished"))?;
    // ip addr add GATEWAY/PREFIX dev NAME — EEXIST if it has it.
    let added = host
        .address()
        .add(index, gateway.into(), prefix)
        .execute()
        .await;
    if let Err(error) = added {
        if errno(&error) != Some(libc::EEXIST) {
            return Err(error).with_context(|| format!("cannot give {name} its address"));
        }
    }
    // ip link set NAME up
    host.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .with_context(|| format!("cannot bring {name} up"))?;
    Ok(index)
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
    // ip link add CONTAINER_END netns PID type veth peer name HOST_END:
    // the pair is born with one end in each namespace. (Made on the host
    // and then moved with `ip link set … netns`, it costs the kernel far
    // more: a move waits for RCU grace periods, 20 ms or so.)
    host.link()
        .add(
            LinkVeth::new(container_end, host_end)
                .setns_by_pid(pid.as_raw() as u32)
                .build(),
        )
        .execute()
        .await
        .with_context(|| format!("cannot create the veth pair {host_end}"))?;
    // ip link set HOST_END master BRIDGE up: the host's end becomes a port
    // of the bridge.
    let host_index = link_index(host, host_end)
        .await?
        .with_context(|| format!("{host_end} vanished"))?;
    host.link()
        .set(
            LinkUnspec::new_with_index(host_index)
                .controller(bridge)
                .up()
                .build(),
        )
        .execute()
        .await
        .with_context(|| format!("cannot plug {host_end} into the bridge"))?;
    Ok(())
}
// ANCHOR_END: add_veth_pair

// ANCHOR: bring_up_loopback
/// Bring `lo` up in the namespace `inside` talks to: a new network
/// namespace has it, down.
pub async fn bring_up_loopback(inside: &Handle) -> Result<()> {
    let index = link_index(inside, "lo")
        .await?
        .context("the namespace has no lo")?;
    inside
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .context("cannot bring lo up")
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
    let index = link_index(inside, temporary)
        .await?
        .with_context(|| format!("{temporary} is not in the container"))?;
    // ip link set TEMPORARY name eth0 (a link can be renamed while down)
    inside
        .link()
        .set(
            LinkUnspec::new_with_index(index)
                .name(CONTAINER_INTERFACE.to_string())
                .build(),
        )
        .execute()
        .await
        .context("cannot rename the container's link to eth0")?;
    // ip addr add ADDRESS/PREFIX dev eth0
    inside
        .address()
        .add(index, address.into(), prefix)
        .execute()
        .await
        .context("cannot give eth0 its address")?;
    // ip link set eth0 up
    inside
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .context("cannot bring eth0 up")?;
    // ip route add default via GATEWAY: the kernel finds that the gateway
    // is on eth0's subnet, and sends through eth0.
    inside
        .route()
        .add(
            RouteMessageBuilder::<Ipv4Addr>::new()
                .gateway(gateway)
                .build(),
        )
        .execute()
        .await
        .context("cannot add the default route")
}
// ANCHOR_END: configure_container_end

// ANCHOR: remove_veth
/// Remove the veth pair whose host end is `host_end` (deleting one end
/// deletes the other). Nothing to do if it is gone already.
pub async fn remove_veth(host: &Handle, host_end: &str) -> Result<()> {
    let Some(index) = link_index(host, host_end).await? else {
        return Ok(());
    };
    match host.link().del(index).execute().await {
        // Gone meanwhile: its container's namespace died and took it.
        Err(error) if errno(&error) == Some(libc::ENODEV) => Ok(()),
        other => other.with_context(|| format!("cannot delete {host_end}")),
    }
}
// ANCHOR_END: remove_veth
