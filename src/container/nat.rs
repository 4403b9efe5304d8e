//! The way out and the way in (chapter 5): address translation with the
//! `iptables` command.
//!
//! * **Out.** A container's packets leave the host with the container's
//!   address as source, an address of a private subnet that nothing
//!   outside the host knows how to answer. A MASQUERADE rule in the `nat`
//!   table's POSTROUTING chain rewrites that source to the host's own
//!   address on the way out (and the kernel's connection tracking rewrites
//!   the replies back). Forwarding between interfaces must also be on
//!   (/proc/sys/net/ipv4/ip_forward), and allowed in the `filter` table's
//!   FORWARD chain, which some hosts (one with Docker, say) set to DROP.
//! * **In.** `-p 8080:80` publishes a container's port: a DNAT rule
//!   rewrites the destination of packets for the host's port 8080 to the
//!   container's address and port 80. One rule in PREROUTING for packets
//!   that arrive from elsewhere, one in OUTPUT for connections the host
//!   itself makes to one of its own addresses.
//!
//! Why the `iptables` command and not netlink? The rules live in the
//! kernel's nf_tables, and could be written over netlink, but not with a
//! well-kept Rust crate today; `iptables` is what Docker itself runs, it
//! works with both of the kernel's firewall back-ends, and a student can
//! see the rules it made with `iptables -t nat -S`. Every rule carries a
//! comment, `bocker:<bridge>` or `bocker:<container id>`, so the teardown
//! finds a container's rules by its id alone.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::ports::Port;
use super::subnet::Subnet;

/// Run `iptables ARGS…`. `-w`: wait for the kernel's xtables lock instead
/// of failing when another iptables holds it.
fn iptables(args: &[&str]) -> Result<std::process::Output> {
    Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .context("cannot run iptables (install the iptables package)")
}

/// Add the rule `spec` to `chain` of `table`, unless it is there already
/// (`-C` checks).
fn ensure_rule(table: &str, chain: &str, spec: &[&str]) -> Result<()> {
    let mut check = vec!["-t", table, "-C", chain];
    check.extend_from_slice(spec);
    if iptables(&check)?.status.success() {
        return Ok(());
    }
    let mut add = vec!["-t", table, "-A", chain];
    add.extend_from_slice(spec);
    let out = iptables(&add)?;
    if !out.status.success() {
        bail!(
            "iptables -t {table} -A {chain} {} failed: {}",
            spec.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Remove every rule of `table` whose comment is exactly `tag`.
fn remove_rules_tagged(table: &str, tag: &str) -> Result<()> {
    let listing = iptables(&["-t", table, "-S"])?;
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        // `-S` prints each rule as the arguments that would add it:
        // "-A CHAIN spec…", the comment in quotes. Ours have no spaces, so
        // dropping the quotes gives back the words to delete it with.
        let Some(rule) = line.strip_prefix("-A ") else {
            continue;
        };
        let words: Vec<String> = rule
            .split_whitespace()
            .map(|w| w.replace('"', ""))
            .collect();
        let tagged = words
            .windows(2)
            .any(|pair| pair[0] == "--comment" && pair[1] == tag);
        if !tagged {
            continue;
        }
        let mut delete = vec!["-t", table, "-D"];
        delete.extend(words.iter().map(String::as_str));
        let out = iptables(&delete)?;
        if !out.status.success() {
            bail!(
                "iptables -t {table} -D {} failed: {}",
                words.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

fn bridge_tag(bridge: &str) -> String {
    format!("bocker:{bridge}")
}

fn container_tag(id: &str) -> String {
    format!("bocker:{id}")
}

/// The way out for containers of `bridge`: forwarding on, MASQUERADE for
/// their subnet, FORWARD allowed to and from the bridge.
pub fn ensure_outbound(bridge: &str, subnet: &Subnet) -> Result<()> {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
        .context("cannot turn IP forwarding on (/proc/sys/net/ipv4/ip_forward)")?;
    let tag = bridge_tag(bridge);
    let subnet = subnet.to_string();
    let comment = ["-m", "comment", "--comment", tag.as_str()];
    let masquerade = [
        &["-s", subnet.as_str(), "!", "-o", bridge, "-j", "MASQUERADE"][..],
        &comment,
    ]
    .concat();
    ensure_rule("nat", "POSTROUTING", &masquerade)?;
    let out = [&["-i", bridge, "-j", "ACCEPT"][..], &comment].concat();
    ensure_rule("filter", "FORWARD", &out)?;
    let back = [
        &[
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT",
        ][..],
        &comment,
    ]
    .concat();
    ensure_rule("filter", "FORWARD", &back)
}

/// Undo [`ensure_outbound`] (the last container of the bridge is gone).
pub fn remove_outbound(bridge: &str) -> Result<()> {
    let tag = bridge_tag(bridge);
    remove_rules_tagged("nat", &tag)?;
    remove_rules_tagged("filter", &tag)
}

/// Publish `ports` of container `id`, whose address is `address`.
pub fn publish(id: &str, address: Ipv4Addr, ports: &[Port]) -> Result<()> {
    let tag = container_tag(id);
    for port in ports {
        let to = format!("{address}:{}", port.container);
        let host_port = port.host.to_string();
        let container_port = port.container.to_string();
        let comment = ["-m", "comment", "--comment", tag.as_str()];
        let dnat = [
            &[
                "-p",
                port.protocol.as_str(),
                "-m",
                "addrtype",
                "--dst-type",
                "LOCAL",
                "--dport",
                host_port.as_str(),
                "-j",
                "DNAT",
                "--to-destination",
                to.as_str(),
            ][..],
            &comment,
        ]
        .concat();
        // From elsewhere, and from the host itself.
        ensure_rule("nat", "PREROUTING", &dnat)?;
        ensure_rule("nat", "OUTPUT", &dnat)?;
        let address = address.to_string();
        let forward = [
            &[
                "-d",
                address.as_str(),
                "-p",
                port.protocol.as_str(),
                "--dport",
                container_port.as_str(),
                "-j",
                "ACCEPT",
            ][..],
            &comment,
        ]
        .concat();
        ensure_rule("filter", "FORWARD", &forward)?;
    }
    Ok(())
}

/// Remove what [`publish`] made for container `id`.
pub fn unpublish(id: &str) -> Result<()> {
    let tag = container_tag(id);
    remove_rules_tagged("nat", &tag)?;
    remove_rules_tagged("filter", &tag)
}
