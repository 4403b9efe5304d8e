//! IPv4 subnets, as in `172.30.0.0/16`: the range the containers'
//! addresses come from.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: its first address and the length of its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: u32,
    prefix: u8,
}

impl Subnet {
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The bits that name the network (the prefix) set, the rest clear.
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The bridge's own address: the first after the network's.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// How many addresses containers can have: all but the network's,
    /// the gateway's and the broadcast address.
    pub fn host_count(&self) -> u32 {
        let size = 1u64 << (32 - u32::from(self.prefix));
        size.saturating_sub(3) as u32
    }

    /// The `n`-th container address (0-based), after the gateway.
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 2 + n)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & Subnet::mask(self.prefix) == self.network
    }

    /// Do the two networks share an address?
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let shorter = self.prefix.min(other.prefix);
        let mask = Subnet::mask(shorter);
        self.network & mask == other.network & mask
    }

    pub fn new(address: Ipv4Addr, prefix: u8) -> Option<Subnet> {
        (prefix <= 32).then(|| Subnet {
            network: u32::from(address) & Subnet::mask(prefix),
            prefix,
        })
    }
}

impl FromStr for Subnet {
    type Err = String;

    /// `172.30.0.0/16`. The prefix must leave room for a gateway and one
    /// container at least (/30), and the address must be the network's
    /// own (no host bits set), so that a typo is not silently "fixed".
    fn from_str(text: &str) -> Result<Subnet, String> {
        let invalid =
            || format!("invalid subnet '{text}': expected an IPv4 network such as 172.30.0.0/16");
        let (address, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let address: Ipv4Addr = address.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "invalid subnet '{text}': the prefix must be from /8 to /30"
            ));
        }
        let subnet = Subnet::new(address, prefix).ok_or_else(invalid)?;
        if subnet.network() != address {
            return Err(format!(
                "invalid subnet '{text}': did you mean {}/{prefix}?",
                subnet.network()
            ));
        }
        Ok(subnet)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_has_a_gateway_and_room_for_containers() {
        let subnet: Subnet = "172.30.0.0/16".parse().unwrap();
        assert_eq!(subnet.gateway(), Ipv4Addr::new(172, 30, 0, 1));
        assert_eq!(subnet.host(0), Ipv4Addr::new(172, 30, 0, 2));
        assert_eq!(subnet.host_count(), 65533);
        assert!(subnet.contains(Ipv4Addr::new(172, 30, 255, 254)));
        assert!(!subnet.contains(Ipv4Addr::new(172, 31, 0, 1)));
    }

    #[test]
    fn overlapping_networks_are_found_whichever_is_larger() {
        let ours: Subnet = "172.30.0.0/16".parse().unwrap();
        let inside: Subnet = "172.30.7.0/24".parse().unwrap();
        let outside: Subnet = "10.0.0.0/8".parse().unwrap();
        assert!(ours.overlaps(&inside) && inside.overlaps(&ours));
        assert!(!ours.overlaps(&outside));
        let default_route = Subnet::new(Ipv4Addr::UNSPECIFIED, 0).unwrap();
        assert!(ours.overlaps(&default_route));
    }

    #[test]
    fn typos_are_refused_not_fixed() {
        assert!("172.30.0.1/16".parse::<Subnet>().is_err());
        assert!("172.30.0.0".parse::<Subnet>().is_err());
        assert!("172.30.0.0/31".parse::<Subnet>().is_err());
        assert!("bridge".parse::<Subnet>().is_err());
    }
}
