//! Address leases: which container has which address of the bridge's
//! subnet (chapter 5).
//!
//! A lease is a file `network/leases/<address>` that holds the container's
//! id. It is claimed the way a name is (state/names.rs): written under a
//! private name, then `link(2)`ed into place, which fails with EEXIST if
//! another container has the address. Two `run`s started at the same
//! moment can never get the same address, and none ever gets the
//! gateway's: only the addresses after it are handed out.
//!
//! Bocker computed an address from digits of the container's id, so two
//! ids could give one address, and one of them the bridge's own.

use std::fs;
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::spec::Subnet;

pub struct Leases {
    dir: PathBuf,
}

impl Leases {
    pub fn new(dir: PathBuf) -> Leases {
        Leases { dir }
    }

    /// Claim a free address of `subnet` for container `id`. The search
    /// starts at a place that depends on the id, so that containers do not
    /// all try the same first addresses: the 100th start costs what the
    /// first did.
    pub fn claim(&self, subnet: &Subnet, id: &str) -> Result<Ipv4Addr> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let count = subnet.host_count();
        let start = id.bytes().fold(0u32, |hash, byte| {
            hash.wrapping_mul(31).wrapping_add(u32::from(byte))
        }) % count;
        let draft = self.dir.join(format!(".tmp-{}-{id}", std::process::id()));
        let mut file = fs::File::create(&draft)
            .with_context(|| format!("cannot write {}", draft.display()))?;
        // No fsync: a lease describes a running container, and after a
        // power cut none is; the sweep gives back leases of containers
        // that are gone (see records::Durability).
        file.write_all(id.as_bytes())?;
        let claimed = (0..count)
            .map(|n| subnet.host((start + n) % count))
            .find_map(
                |address| match fs::hard_link(&draft, self.dir.join(address.to_string())) {
                    Ok(()) => Some(Ok(address)),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => None,
                    Err(e) => Some(Err(e)),
                },
            );
        let _ = fs::remove_file(&draft);
        match claimed {
            Some(Ok(address)) => Ok(address),
            Some(Err(e)) => Err(e).context("cannot claim an address"),
            None => bail!("every address of {subnet} is taken: remove containers, or choose a larger BOCKER_SUBNET"),
        }
    }

    /// Give back every address container `id` holds.
    pub fn release(&self, id: &str) {
        for (address, owner) in self.all() {
            if owner == id {
                let _ = fs::remove_file(self.dir.join(address.to_string()));
            }
        }
    }

    /// Every lease: (address, container id).
    pub fn all(&self) -> Vec<(Ipv4Addr, String)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let address = entry.file_name().to_str()?.parse().ok()?;
                let owner = fs::read_to_string(entry.path()).ok()?;
                Some((address, owner))
            })
            .collect()
    }

    /// Drafts of claims whose writer was killed before it could link them.
    pub fn drafts(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .map(|e| e.path())
            .collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_containers_never_get_one_address_nor_the_gateways() {
        let dir = tempfile::tempdir().unwrap();
        let leases = Leases::new(dir.path().join("leases"));
        let subnet: Subnet = "10.9.8.0/29".parse().unwrap(); // 5 container addresses
        let mut seen = Vec::new();
        for n in 0..5 {
            let address = leases
                .claim(&subnet, &format!("ps_00000000000{n}"))
                .unwrap();
            assert!(subnet.contains(address) && address != subnet.gateway());
            assert!(!seen.contains(&address), "{address} given twice");
            seen.push(address);
        }
        assert!(
            leases.claim(&subnet, "ps_full").is_err(),
            "the subnet is full"
        );
        leases.release("ps_000000000002");
        assert!(
            leases.claim(&subnet, "ps_again").is_ok(),
            "a released address is free again"
        );
    }
}
