//! Chapter 5, the optional exercise — NAT: the rules of the kernel's `nat`
//! table that take a container's packets beyond the host (MASQUERADE) and
//! bring the host's published ports to a container (DNAT).
//!
//! The reference solution. Compare it with your
//! `chapters/05-network/extra_nat.rs`.

use std::net::Ipv4Addr;

use crate::runtime::network::nat::Rule;
use crate::spec::{Port, Subnet};

/// The words of a rule, as owned strings.
fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

// ANCHOR: masquerade
/// The rule that lets the containers of `bridge` (addresses of `subnet`)
/// reach beyond the host: what they send out of any other interface
/// leaves with the host's address as its source.
pub fn masquerade(bridge: &str, subnet: &Subnet) -> Rule {
    // iptables -t nat -A POSTROUTING -s SUBNET ! -o BRIDGE -j MASQUERADE
    // POSTROUTING: the source is rewritten last, once the route (and so
    // the outgoing interface, and its address) is known. `! -o BRIDGE`:
    // between two containers of the bridge, no translation.
    Rule {
        table: "nat",
        chain: "POSTROUTING",
        matches: words(&["-s", &subnet.to_string(), "!", "-o", bridge]),
        target: words(&["MASQUERADE"]),
    }
}
// ANCHOR_END: masquerade

// ANCHOR: publish_port
/// The rules that publish `port`: a connection to the host's `port.host`
/// (over `port.protocol`) reaches `address`, port `port.container`.
pub fn publish_port(address: Ipv4Addr, port: &Port) -> Vec<Rule> {
    // iptables -t nat -A PREROUTING -p tcp -m addrtype --dst-type LOCAL
    //          --dport HOST -j DNAT --to-destination ADDRESS:CONTAINER
    // and the same in OUTPUT. PREROUTING sees the packets that arrive from
    // elsewhere; the host's own connections skip it and pass OUTPUT.
    // `--dst-type LOCAL`: only packets for one of the host's own
    // addresses, not every packet to port HOST that passes through.
    let to = format!("{address}:{}", port.container);
    let matches = words(&[
        "-p",
        &port.protocol,
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "--dport",
        &port.host.to_string(),
    ]);
    let target = words(&["DNAT", "--to-destination", &to]);
    ["PREROUTING", "OUTPUT"]
        .into_iter()
        .map(|chain| Rule {
            table: "nat",
            chain,
            matches: matches.clone(),
            target: target.clone(),
        })
        .collect()
}
// ANCHOR_END: publish_port
