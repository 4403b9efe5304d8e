//! Chapter 5, the optional exercise — NAT: the rules of the kernel's `nat`
//! table that take a container's packets beyond the host (MASQUERADE) and
//! bring the host's published ports to a container (DNAT).
//!
//! Read `chapters/05-network/extra.md` (or "NAT, optional" in the book),
//! fill in the two functions, then run:
//!
//! ```text
//! cargo test --features stage5,extra5 extra5_nat
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports, dead_code)]

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
    todo!("chapter 5, optional: the MASQUERADE rule for {subnet} leaving by any interface but {bridge} — see chapters/05-network/extra.md, section 'The way out'")
}
// ANCHOR_END: masquerade

// ANCHOR: publish_port
/// The rules that publish `port`: a connection to the host's `port.host`
/// (over `port.protocol`) reaches `address`, port `port.container`.
pub fn publish_port(address: Ipv4Addr, port: &Port) -> Vec<Rule> {
    todo!("chapter 5, optional: the DNAT rules that send the host's port {} to {address}:{} — see chapters/05-network/extra.md, section 'The way in'", port.host, port.container)
}
// ANCHOR_END: publish_port
