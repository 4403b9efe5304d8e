//! The container's /etc/hosts and /etc/resolv.conf: what its name and the
//! names of others resolve to.

use std::net::Ipv4Addr;

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
