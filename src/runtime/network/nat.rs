//! The way out and the way in (chapter 5): address translation with
//! iptables.
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
//! The `nat` rules (MASQUERADE, DNAT) are chapter 5's optional exercise,
//! `chapters/05-network/extra_nat.rs` (feature `extra5`): its functions
//! say each rule as a [`Rule`], and this file writes them. Without
//! `extra5` the containers reach the host and each other, not beyond, and
//! `run -p` is refused.
//!
//! Why iptables and not netlink? The rules live in the kernel's nf_tables,
//! and could be written over netlink, but not with a well-kept Rust crate
//! today; iptables is what Docker itself runs, it works with both of the
//! kernel's firewall back-ends, and a student can see the rules it made
//! with `iptables -t nat -S`. Every rule carries a comment,
//! `bocker:<bridge>` or `bocker:<container id>`, so the teardown finds a
//! container's rules by its id alone.
//!
//! Each run of an iptables program costs milliseconds (it starts, reads
//! the tables, and a deletion makes it wait for an RCU grace period before
//! it exits): adding the way out rule by rule with `iptables -C`/`-A`, and
//! removing it with `-S`/`-D`, took eleven runs and 40 ms on the course's
//! machine. So bocker reads all the rules with one `iptables-save`, and
//! makes all its changes with one `iptables-restore --noflush`, which
//! applies them as one transaction: all of them, or none.

use std::io::Write;
#[cfg(feature = "extra5")]
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

#[cfg(feature = "extra5")]
use crate::spec::Port;
use crate::spec::Subnet;

/// The tables bocker writes to, in the order a batch lists them.
const TABLES: [&str; 2] = ["nat", "filter"];

// ANCHOR: rule
/// One iptables rule, as the optional exercise says it: the table and
/// chain it goes in, what a packet must match, and what then happens to
/// it. `iptables -t TABLE -A CHAIN MATCHES… -j TARGET…` is the command a
/// person would type; bocker adds a comment (its tag) before `-j`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "extra5"), allow(dead_code))]
pub struct Rule {
    /// `"nat"`: the table whose chains change addresses.
    pub table: &'static str,
    /// `"PREROUTING"`, `"OUTPUT"` or `"POSTROUTING"`.
    pub chain: &'static str,
    /// The matches, word by word, for example `["-p", "tcp", "--dport",
    /// "8080"]` (a port alone; the exercise's rules need more).
    pub matches: Vec<String>,
    /// The target and its options, word by word, without `-j`:
    /// `["DNAT", "--to-destination", "172.30.0.2:80"]`.
    pub target: Vec<String>,
}
// ANCHOR_END: rule

/// Changes for one run of `iptables-restore`.
#[derive(Default)]
struct Batch {
    /// (table, "-A CHAIN …" or "-D CHAIN …")
    lines: Vec<(&'static str, String)>,
}

impl Batch {
    /// Append the rule `spec` to `chain` of `table`.
    fn add(&mut self, table: &'static str, chain: &str, spec: &[&str]) {
        self.lines
            .push((table, format!("-A {chain} {}", spec.join(" "))));
    }

    /// Append `rule` (from the optional exercise), tagged with `tag`.
    /// A table bocker does not write to is refused: its rule would be
    /// left out of the batch without a word.
    #[cfg(feature = "extra5")]
    fn add_rule(&mut self, rule: Rule, tag: &str) -> Result<()> {
        let Some(table) = TABLES.into_iter().find(|t| *t == rule.table) else {
            bail!(
                "a rule for table {:?}: bocker writes only to {TABLES:?}",
                rule.table
            );
        };
        let mut spec: Vec<&str> = rule.matches.iter().map(String::as_str).collect();
        spec.extend(["-m", "comment", "--comment", tag, "-j"]);
        spec.extend(rule.target.iter().map(String::as_str));
        self.add(table, rule.chain, &spec);
        Ok(())
    }

    /// Delete every rule of the tables that carries the comment `tag`,
    /// as `saved` (iptables-save's output) shows them.
    fn delete_tagged(&mut self, saved: &str, tag: &str) {
        for (table, rule) in rules_tagged(saved, tag) {
            if let Some(rest) = rule.strip_prefix("-A ") {
                self.lines.push((table, format!("-D {rest}")));
            }
        }
    }

    /// The batch in iptables-restore's format: per table, `*TABLE`, its
    /// lines, `COMMIT`.
    fn script(&self) -> String {
        let mut script = String::new();
        for table in TABLES {
            let lines: Vec<&String> = self
                .lines
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, line)| line)
                .collect();
            if lines.is_empty() {
                continue;
            }
            script.push_str(&format!("*{table}\n"));
            for line in lines {
                script.push_str(line);
                script.push('\n');
            }
            script.push_str("COMMIT\n");
        }
        script
    }

    /// `iptables-restore -w --noflush`: `--noflush` changes the rules it
    /// is given and leaves the others alone; `-w` waits for the xtables
    /// lock instead of failing when another iptables holds it.
    fn apply(self) -> Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let script = self.script();
        let mut restore = Command::new("iptables-restore")
            .args(["-w", "--noflush"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run iptables-restore (install the iptables package)")?;
        if let Some(mut stdin) = restore.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .context("cannot write to iptables-restore")?;
        }
        let out = restore
            .wait_with_output()
            .context("cannot run iptables-restore")?;
        if !out.status.success() {
            bail!(
                "iptables-restore failed: {}\n{script}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

/// All the rules, as `iptables-save` prints them.
fn iptables_save() -> Result<String> {
    let out = Command::new("iptables-save")
        .output()
        .context("cannot run iptables-save (install the iptables package)")?;
    if !out.status.success() {
        bail!(
            "iptables-save failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rules of bocker's tables whose comment is exactly `tag`: (table,
/// "-A CHAIN …" as saved). iptables-save prints `*TABLE` before a table's
/// rules, and a comment in quotes: `-m comment --comment "bocker:…"`.
fn rules_tagged(saved: &str, tag: &str) -> Vec<(&'static str, String)> {
    let mut table = None;
    let mut found = Vec::new();
    for line in saved.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = TABLES.into_iter().find(|t| *t == name);
            continue;
        }
        let Some(table) = table else {
            continue;
        };
        if !line.starts_with("-A ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let tagged = words
            .windows(2)
            .any(|pair| pair[0] == "--comment" && pair[1].trim_matches('"') == tag);
        if tagged {
            found.push((table, line.to_string()));
        }
    }
    found
}

fn bridge_tag(bridge: &str) -> String {
    format!("bocker:{bridge}")
}

fn container_tag(id: &str) -> String {
    format!("bocker:{id}")
}

/// The way out for containers of `bridge`: forwarding on, FORWARD allowed
/// to and from the bridge, and with `extra5` MASQUERADE for their subnet.
/// Rules a bocker killed halfway may have left are replaced, in the same
/// transaction.
pub fn ensure_outbound(bridge: &str, subnet: &Subnet) -> Result<()> {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
        .context("cannot turn IP forwarding on (/proc/sys/net/ipv4/ip_forward)")?;
    #[cfg(not(feature = "extra5"))]
    let _ = subnet;
    let tag = bridge_tag(bridge);
    let comment = ["-m", "comment", "--comment", tag.as_str()];
    let mut batch = Batch::default();
    batch.delete_tagged(&iptables_save()?, &tag);
    // The way beyond the host: your rule (the optional exercise).
    #[cfg(feature = "extra5")]
    batch.add_rule(super::extra_nat::masquerade(bridge, subnet), &tag)?;
    batch.add(
        "filter",
        "FORWARD",
        &[&["-i", bridge][..], &comment, &["-j", "ACCEPT"]].concat(),
    );
    batch.add(
        "filter",
        "FORWARD",
        &[
            &[
                "-o",
                bridge,
                "-m",
                "conntrack",
                "--ctstate",
                "RELATED,ESTABLISHED",
            ][..],
            &comment,
            &["-j", "ACCEPT"],
        ]
        .concat(),
    );
    batch.apply()
}

/// Undo [`ensure_outbound`] (the last container of the bridge is gone).
pub fn remove_outbound(bridge: &str) -> Result<()> {
    let mut batch = Batch::default();
    batch.delete_tagged(&iptables_save()?, &bridge_tag(bridge));
    batch.apply()
}

/// Publish `ports` of container `id`, whose address is `address`: your
/// DNAT rules (the optional exercise), and FORWARD allowed to the
/// container's port. (A new container's id is new: no rule carries it
/// yet, nothing to read first.)
#[cfg(feature = "extra5")]
pub fn publish(id: &str, address: Ipv4Addr, ports: &[Port]) -> Result<()> {
    let tag = container_tag(id);
    let comment = ["-m", "comment", "--comment", tag.as_str()];
    let mut batch = Batch::default();
    for port in ports {
        for rule in super::extra_nat::publish_port(address, port) {
            batch.add_rule(rule, &tag)?;
        }
        let address = address.to_string();
        let container_port = port.container.to_string();
        let forward = [
            &["-d", address.as_str(), "-p", port.protocol.as_str()][..],
            &["--dport", container_port.as_str()],
            &comment,
            &["-j", "ACCEPT"],
        ]
        .concat();
        batch.add("filter", "FORWARD", &forward);
    }
    batch.apply()
}

/// Remove what [`publish`] made for container `id`.
pub fn unpublish(id: &str) -> Result<()> {
    let mut batch = Batch::default();
    batch.delete_tagged(&iptables_save()?, &container_tag(id));
    batch.apply()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVED: &str = "\
# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -i bocker0 -m comment --comment \"bocker:bocker0\" -j ACCEPT
-A FORWARD -i other0 -m comment --comment \"bocker:bocker0x\" -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 172.30.0.0/16 ! -o bocker0 -m comment --comment \"bocker:bocker0\" -j MASQUERADE
-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE
COMMIT
*mangle
-A PREROUTING -m comment --comment \"bocker:bocker0\" -j ACCEPT
COMMIT
";

    #[test]
    fn only_rules_with_exactly_the_tag_in_bockers_tables_are_found() {
        let found = rules_tagged(SAVED, "bocker:bocker0");
        assert_eq!(
            found,
            [
                ("filter", "-A FORWARD -i bocker0 -m comment --comment \"bocker:bocker0\" -j ACCEPT".to_string()),
                ("nat", "-A POSTROUTING -s 172.30.0.0/16 ! -o bocker0 -m comment --comment \"bocker:bocker0\" -j MASQUERADE".to_string()),
            ]
        );
    }

    #[test]
    fn a_batch_deletes_and_adds_table_by_table() {
        let mut batch = Batch::default();
        batch.delete_tagged(SAVED, "bocker:bocker0");
        batch.add("nat", "OUTPUT", &["-j", "ACCEPT"]);
        assert_eq!(
            batch.script(),
            "*nat\n\
             -D POSTROUTING -s 172.30.0.0/16 ! -o bocker0 -m comment --comment \"bocker:bocker0\" -j MASQUERADE\n\
             -A OUTPUT -j ACCEPT\n\
             COMMIT\n\
             *filter\n\
             -D FORWARD -i bocker0 -m comment --comment \"bocker:bocker0\" -j ACCEPT\n\
             COMMIT\n"
        );
    }
}
