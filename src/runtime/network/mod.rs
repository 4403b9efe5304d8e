//! The frame's side of chapter 5: the glue that runs your functions
//! (chapters/05-network/network.rs) when a container starts and ends.
//!
//! * `settings`: which bridge and subnet (BOCKER_BRIDGE, BOCKER_SUBNET),
//!   the veth ends' names, a subnet the host already routes refused;
//! * `netlink`: a netlink connection to the host, and one to a container;
//! * `bookkeeping`: what the state directory keeps about each bridge
//!   (leases, pairs still draining, the way out, published ports) and the
//!   lock around it;
//! * `bridge_owner`: which state directory owns a bridge, and `system
//!   reset` deleting the one it made;
//! * `nat`: the way out and published ports (iptables), with the rules of
//!   chapter 5's optional exercise (`extra_nat`, feature `extra5`);
//! * `etc_files`: the container's /etc/hosts and /etc/resolv.conf.

pub mod bookkeeping;
pub mod bridge_owner;
pub mod etc_files;
pub mod nat;
pub mod netlink;
pub mod pasta;
pub mod settings;

/// Chapter 5: a bridge, a veth pair, an address and a route, over netlink
/// with the rtnetlink crate. Compiled from your exercise,
/// `chapters/05-network/network.rs`, or with feature `solved5` from
/// `solutions/`. (`path` is relative to this folder, `src/runtime/network/`.)
#[cfg_attr(
    not(feature = "solved5"),
    path = "../../../chapters/05-network/network.rs"
)]
#[cfg_attr(feature = "solved5", path = "../../../solutions/05-network/network.rs")]
pub mod chapter;

/// Chapter 5's optional exercise: the `nat` rules of the way out
/// (MASQUERADE) and of published ports (DNAT), as [`nat::Rule`]s. Compiled
/// with feature `extra5` from `chapters/05-network/extra_nat.rs`, or with
/// `solved-extra5` from `solutions/`.
#[cfg(feature = "extra5")]
#[cfg_attr(
    not(feature = "solved-extra5"),
    path = "../../../chapters/05-network/extra_nat.rs"
)]
#[cfg_attr(
    feature = "solved-extra5",
    path = "../../../solutions/05-network/extra_nat.rs"
)]
pub mod extra_nat;

use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

pub use bookkeeping::{all_leases, Draining};
use bookkeeping::{
    bridge_dir, leases_on, link_exists, wait_until_gone, with_lock, KERNEL_CLEANUP_WAIT,
};
pub use etc_files::{hosts_file, resolv_conf};
use netlink::Netlink;
use settings::{check_subnet_is_free, host_end, temporary_end, Settings};

use crate::course::exercise;
use crate::errors::{Failure, START_FAILED, USAGE};
use crate::runtime::ContainerConfig;
use crate::spec::Network;
use crate::state::leases::Leases;
use crate::state::Store;

/// Set container `config.id` up from the outside, as its `--net` asks:
/// `none` gets `lo` up, `bridge` a veth pair, an address, a route and its
/// published ports. (`host` and `container:` need nothing: the child
/// shares an existing namespace.)
pub fn set_up(config: &ContainerConfig, pid: Pid) -> Result<()> {
    match &config.network {
        Network::Host | Network::Container(_) => Ok(()),
        // Without root (outside.rs calls pasta::connect instead).
        Network::Pasta => Ok(()),
        Network::None => {
            let netlink = Netlink::host()?;
            let inside = netlink.inside(pid)?;
            netlink.run(chapter::bring_up_loopback(&inside))
        }
        Network::Bridge => {
            let settings = Settings::from_environment()?;
            let bridge = settings
                .bridge
                .clone()
                .context("bridge networking is off (BOCKER_BRIDGE=none)")?;
            let address = config
                .address
                .context("the container has no address on the bridge")?;
            let (gateway, prefix) = (settings.subnet.gateway(), settings.subnet.prefix());
            let netlink = Netlink::host()?;
            let inside = netlink.inside(pid)?;
            let host = netlink.handle();
            let (host_end, temporary) = (host_end(&config.id), temporary_end(&config.id));
            netlink.run(async {
                let made_by_us =
                    bridge_owner::about_to_make(host, &bridge, &config.state_root).await?;
                let index = chapter::ensure_bridge(host, &bridge, gateway, prefix).await?;
                bridge_owner::mark_as_ours(host, &bridge, &config.state_root).await?;
                if made_by_us {
                    bridge_owner::record_made_here(&config.state_root, &bridge)?;
                }
                chapter::add_veth_pair(host, &host_end, &temporary, index, pid).await?;
                chapter::bring_up_loopback(&inside).await?;
                chapter::configure_container_end(&inside, &temporary, address, prefix, gateway)
                    .await
            })?;
            // The way out, once per bridge: the first container installs it
            // (each `iptables` run costs milliseconds), the last removes it.
            with_lock(&config.state_root, || {
                let installed = bridge_dir(&config.state_root, &bridge).join("outbound");
                if !installed.exists() {
                    nat::ensure_outbound(&bridge, &settings.subnet)?;
                    std::fs::write(&installed, "").context("cannot record the way out")?;
                }
                Ok(())
            })?;
            if config.ports.is_empty() {
                return Ok(());
            }
            publish(config, &bridge, address)
        }
    }
}

/// The ports container `config.id` publishes, at `address` on `bridge`
/// (chapter 5's optional exercise).
#[cfg(feature = "extra5")]
fn publish(config: &ContainerConfig, bridge: &str, address: Ipv4Addr) -> Result<()> {
    // Written before the rules: the teardown looks for rules only where
    // this says there may be some.
    let published = bridge_dir(&config.state_root, bridge).join("published");
    std::fs::create_dir_all(&published)
        .and_then(|()| std::fs::write(published.join(&config.id), ""))
        .context("cannot record the published ports")?;
    nat::publish(&config.id, address, &config.ports)
}

/// Without `extra5`, no port is published (`run -p` is refused before).
#[cfg(not(feature = "extra5"))]
fn publish(_: &ContainerConfig, _: &str, _: Ipv4Addr) -> Result<()> {
    crate::spec::ports::check_available()
}

/// Undo what [`set_up`] made for container `id`, knowing only its id: its
/// published ports, its veth pair, its address, and with the bridge's
/// last address the way out.
///
/// # Who deletes the veth pair
///
/// The kernel does, when the container's network namespace dies, and here
/// it has just died with the container's last process. Its cleanup runs in
/// the background: on the course's machine the pair's names went 3 to 20
/// ms later (the cleanup first waits for an RCU grace period). Deleting the
/// pair ourselves would cost more: an RTM_DELLINK is answered only once the
/// kernel has also waited for the device's last users (15 to 36 ms here).
/// Even waiting for the kernel's cleanup would make a container's end cost
/// up to twice what the rest of its life does (about 10 ms).
///
/// So the teardown does not wait. If the pair is still there, the lease
/// stays, marked *draining*: the address is not handed out again while a
/// device with it may still exist. The next bocker command's sweep gives
/// the lease back once the pair is gone (runtime/sweep.rs).
///
/// One exception: the bridge's last container out. It removes the way out
/// (NAT), and leaves nothing behind for a sweep that may never come: it
/// waits for the kernel to delete the pairs still draining, deletes any
/// that stays (its namespace outlived its container: a `--net container:`
/// joiner holds it) with your `remove_veth`, and gives every lease back.
/// (With the lease of a container that is still starting, or running,
/// the bridge is in use: the way out stays.)
pub fn release(store: &Store, id: &str) -> Result<()> {
    let held: Vec<(String, Leases)> = all_leases(store)
        .into_iter()
        .filter(|(_, leases)| leases.all().iter().any(|(_, owner)| owner == id))
        .collect();
    // A veth pair exists only while its container holds a lease: `run`
    // claims the address before set_up makes the pair, and the lease is
    // given back only once the pair is gone. No lease, nothing to undo
    // (--net none, host, container:). The lease says which bridge the
    // container was on: not today's BOCKER_BRIDGE, which an `rm` may be
    // run without.
    for (bridge, leases) in held {
        // The ports first: their rules send traffic to the address.
        let published = bridge_dir(store.root(), &bridge).join("published").join(id);
        if published.exists() {
            nat::unpublish(id)?;
            let _ = std::fs::remove_file(&published);
        }
        let draining = Draining::on(store.root(), &bridge);
        with_lock(store.root(), || {
            if link_exists(&host_end(id)) {
                draining.add(id)?;
            } else {
                leases.release(id);
                draining.remove(id);
            }
            let ended = draining.all();
            let in_use = leases.all().iter().any(|(_, owner)| !ended.contains(owner));
            if !in_use {
                last_one_out(store.root(), &bridge, &leases, &draining)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// No container on `bridge` runs any more: remove the way out, then wait
/// for the draining pairs to go (or delete them) and give back their
/// leases. The way out goes first: its iptables run takes milliseconds,
/// and meanwhile the kernel goes on deleting the pairs.
fn last_one_out(
    state_root: &std::path::Path,
    bridge: &str,
    leases: &Leases,
    draining: &Draining,
) -> Result<()> {
    // The record first: if we die before the rules are gone, the next
    // first container replaces them (ensure_outbound).
    let _ = std::fs::remove_file(bridge_dir(state_root, bridge).join("outbound"));
    nat::remove_outbound(bridge)?;
    let mut netlink = None;
    for id in draining.all() {
        let end = host_end(&id);
        if !wait_until_gone(&end, KERNEL_CLEANUP_WAIT) {
            let netlink: &Netlink = match &netlink {
                Some(netlink) => netlink,
                None => netlink.insert(Netlink::host()?),
            };
            let host = netlink.handle();
            // Your code: an unfinished exercise becomes an error, not a crash.
            exercise::catch_panic(|| netlink.run(chapter::remove_veth(host, &end)))
                .map_err(|report| Failure::new(START_FAILED, report))??;
        }
        leases.release(&id);
        draining.remove(&id);
    }
    Ok(())
}

/// Claim an address for container `id` on the bridge, after checking that
/// the bridge is on and its subnet free on this host.
pub fn claim_address(store: &Store, id: &str) -> Result<Ipv4Addr> {
    let settings = Settings::from_environment()?;
    let Some(bridge) = &settings.bridge else {
        bail!(Failure::new(
            USAGE,
            "--net bridge: bridge networking is off (BOCKER_BRIDGE=none)"
        ));
    };
    let netlink = Netlink::host()?;
    check_subnet_is_free(&netlink, &settings, bridge)?;
    bridge_owner::check(&netlink, bridge, store.root())?;
    leases_on(store.root(), bridge).claim(&settings.subnet, id)
}

/// Give back the addresses of a container that never started.
pub fn release_address(store: &Store, id: &str) {
    for (_, leases) in all_leases(store) {
        leases.release(id);
    }
}
