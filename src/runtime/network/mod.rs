//! The frame's side of chapter 5: which bridge and subnet, talking netlink
//! to the host and to a container, and the glue that runs your functions
//! (chapters/05-network/network.rs) when a container starts and ends.
//!
//! # Two namespaces, two sockets
//!
//! A netlink socket talks to the network namespace it was *created* in,
//! whatever the process does afterwards. bocker needs both sides of the
//! cable: the bridge and the host's end are in the host's namespace, the
//! container's end, its address and route are in the container's. So it
//! opens two sockets:
//!
//! * one in bocker's own namespace (the host's), as usual;
//! * one in the container's: a short-lived thread joins the container's
//!   network namespace with setns(2) (a namespace is a property of each
//!   thread), creates the socket there, hands it back and ends. bocker's
//!   main thread never leaves the host's namespace.
//!
//! rtnetlink is asynchronous: it runs on a tokio runtime, a small one with
//! a single thread, which bocker starts only *after* the container's child
//! exists. A process with more than one thread must not fork (see
//! process/mod.rs); the helper thread has ended by then too.

pub mod bridge_owner;
pub mod nat;

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

use std::fs::File;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::TryStreamExt;
use nix::sched::{setns, CloneFlags};
use nix::unistd::Pid;
use rtnetlink::Handle;
use tokio::runtime::Runtime;

use crate::course::exercise;
use crate::errors::{Failure, START_FAILED, USAGE};
use crate::runtime::ContainerConfig;
use crate::spec::{Network, Subnet};
use crate::state::leases::Leases;
use crate::state::{ids, Store};

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
fn valid_link_name(name: &str) -> bool {
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

/// A tokio runtime and a netlink connection to the host's namespace.
pub struct Netlink {
    runtime: Runtime,
    host: Handle,
}

impl Netlink {
    pub fn host() -> Result<Netlink> {
        // current_thread: no worker threads; the work happens in block_on.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the async runtime")?;
        let host = connect(&runtime)?;
        Ok(Netlink { runtime, host })
    }

    pub fn handle(&self) -> &Handle {
        &self.host
    }

    /// A connection to the network namespace of process `pid`.
    pub fn inside(&self, pid: Pid) -> Result<Handle> {
        let namespace = File::open(format!("/proc/{pid}/ns/net"))
            .with_context(|| format!("cannot open the network namespace of process {pid}"))?;
        let runtime = self.runtime.handle().clone();
        std::thread::spawn(move || -> Result<Handle> {
            setns(&namespace, CloneFlags::CLONE_NEWNET)
                .context("cannot join the container's network namespace")?;
            let _inside_the_runtime = runtime.enter();
            let (connection, handle, _) =
                rtnetlink::new_connection().context("cannot open a netlink socket")?;
            runtime.spawn(connection);
            Ok(handle)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the thread that joins the container's network died"))?
    }

    /// Run async netlink work to its end.
    pub fn run<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }
}

fn connect(runtime: &Runtime) -> Result<Handle> {
    let _inside_the_runtime = runtime.enter();
    let (connection, handle, _) =
        rtnetlink::new_connection().context("cannot open a netlink socket")?;
    runtime.spawn(connection);
    Ok(handle)
}

/// Refuse a subnet that the host already routes somewhere else: its
/// containers could not reach those addresses, and their replies to them
/// would leave through the bridge. (The default route, 0.0.0.0/0, covers
/// everything and does not count; nor do routes through our own bridge.)
pub fn check_subnet_is_free(netlink: &Netlink, settings: &Settings, bridge: &str) -> Result<()> {
    let host = netlink.handle();
    let routes: Vec<(Subnet, Option<u32>)> = netlink.run(async {
        let bridge_index = chapter::link_index(host, bridge).await?;
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
            if prefix == 0 || output.is_some() && output == bridge_index {
                continue;
            }
            if let Some(subnet) = Subnet::new(destination.unwrap_or(Ipv4Addr::UNSPECIFIED), prefix)
            {
                found.push((subnet, output));
            }
        }
        anyhow::Ok(found)
    })?;
    if let Some((route, _)) = routes
        .iter()
        .find(|(route, _)| route.overlaps(&settings.subnet))
    {
        bail!(
            "the containers' subnet {} overlaps the host's route to {route}: choose another with BOCKER_SUBNET",
            settings.subnet
        );
    }
    Ok(())
}

/// The contents of /etc/hosts for a container.
pub fn hosts_file(hostname: &str, address: Option<Ipv4Addr>) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    match address {
        Some(address) => text.push_str(&format!("{address}\t{hostname}\n")),
        // No address of its own: its name means itself, as on a machine
        // without a network (Debian's convention).
        None => text.push_str(&format!("127.0.1.1\t{hostname}\n")),
    }
    text
}

/// The host's resolv.conf, for the container. A host that resolves names
/// through a local stub (systemd-resolved's 127.0.0.53) names a server the
/// container cannot reach from its own namespace: then use the list of
/// real servers systemd-resolved keeps, if there is one.
pub fn resolv_conf() -> Option<String> {
    let host = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    let only_local = host
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .all(|server| {
            let server = server.trim();
            server.starts_with("127.") || server == "::1"
        });
    if only_local {
        if let Ok(upstream) = std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return Some(upstream);
        }
    }
    Some(host)
}

/// Set container `config.id` up from the outside, as its `--net` asks:
/// `none` gets `lo` up, `bridge` a veth pair, an address, a route and its
/// published ports. (`host` and `container:` need nothing: the child
/// shares an existing namespace.)
pub fn set_up(config: &ContainerConfig, pid: Pid) -> Result<()> {
    match &config.network {
        Network::Host | Network::Container(_) => Ok(()),
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
            // Written before the rules: the teardown looks for rules only
            // where this says there may be some.
            let published = bridge_dir(&config.state_root, &bridge).join("published");
            std::fs::create_dir_all(&published)
                .and_then(|()| std::fs::write(published.join(&config.id), ""))
                .context("cannot record the published ports")?;
            nat::publish(&config.id, address, &config.ports)
        }
    }
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

/// The containers of a bridge that have ended and whose veth pair the
/// kernel has yet to delete: one empty file per container, named by its id.
pub struct Draining {
    dir: std::path::PathBuf,
}

impl Draining {
    pub fn on(state_root: &std::path::Path, bridge: &str) -> Draining {
        Draining {
            dir: bridge_dir(state_root, bridge).join("draining"),
        }
    }

    fn add(&self, id: &str) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(self.dir.join(id), ""))
            .with_context(|| format!("cannot write {}", self.dir.display()))
    }

    fn remove(&self, id: &str) {
        let _ = std::fs::remove_file(self.dir.join(id));
    }

    /// Their ids. Only names that look like container ids: a stray file
    /// cannot send the teardown after a link of the host.
    pub fn all(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|id| ids::looks_like(ids::CONTAINER_PREFIX, id))
            .collect()
    }

    /// Those whose veth pair the kernel has deleted by now.
    pub fn gone(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|id| !link_exists(&host_end(id)))
            .collect()
    }
}

/// How long the bridge's last container out waits for the kernel to
/// delete a dead namespace's veth pair before deleting it itself.
const KERNEL_CLEANUP_WAIT: Duration = Duration::from_millis(250);

/// Wait until no link called `name` is left in bocker's own network
/// namespace, at most `limit`. Whether it went.
fn wait_until_gone(name: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while link_exists(name) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// if_nametoindex(3): one ioctl (SIOCGIFINDEX) on a socket of bocker's
/// own network namespace, much cheaper than a netlink connection. Any
/// answer but "no such device" counts as "still there": the caller then
/// waits, or goes the long way with netlink.
fn link_exists(name: &str) -> bool {
    !matches!(
        nix::net::if_::if_nametoindex(name),
        Err(nix::errno::Errno::ENODEV)
    )
}

/// What this state directory keeps about `bridge`:
///
/// ```text
/// network/bridges/<bridge>/
/// ├── leases/<address>   the id of the container that has the address
/// ├── made-here          this state directory made the bridge
/// │                      (`system reset` deletes it)
/// ├── draining/<id>      container <id> has ended, the kernel has yet
/// │                      to delete its veth pair (its lease stays)
/// ├── outbound           the way out (NAT) is installed
/// └── published/<id>     container <id> has published ports
/// ```
pub(super) fn bridge_dir(state_root: &std::path::Path, bridge: &str) -> std::path::PathBuf {
    state_root.join("network").join("bridges").join(bridge)
}

/// The leases the state directory `state_root` holds on `bridge`.
pub fn leases_on(state_root: &std::path::Path, bridge: &str) -> Leases {
    Leases::new(bridge_dir(state_root, bridge).join("leases"))
}

/// The bridges the state directory `state_root` keeps a folder for (only
/// names that are valid link names).
pub(super) fn bridges_of(state_root: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(state_root.join("network").join("bridges")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|bridge| valid_link_name(bridge))
        .collect()
}

/// Every bridge this state directory has leases on, with its leases.
pub fn all_leases(store: &Store) -> Vec<(String, Leases)> {
    bridges_of(store.root())
        .into_iter()
        .map(|bridge| {
            let leases = leases_on(store.root(), &bridge);
            (bridge, leases)
        })
        .collect()
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

/// Run `work` holding the state directory's network lock (flock), so that
/// one bocker does not remove the way out while another adds a container.
fn with_lock<T>(state_root: &std::path::Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let dir = state_root.join("network");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = File::options()
        .create(true)
        .write(true)
        .truncate(false)
        .open(dir.join("lock"))
        .context("cannot open the network lock")?;
    // flock(2): released when the file is closed, or when we die.
    let _held = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("cannot take the network lock")?;
    work()
}
