//! Published ports: `run -p 8080:80` (chapter 5's optional exercise makes
//! them reachable: feature `extra5`).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::errors::{Failure, USAGE};

/// A published port: `-p 8080:80/tcp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub host: u16,
    pub container: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// Publishing a port is chapter 5's optional exercise: without feature
/// `extra5` it is not in the runtime, and `-p` says so in one line.
pub fn check_available() -> Result<()> {
    if cfg!(feature = "extra5") {
        return Ok(());
    }
    bail!(Failure::new(
        USAGE,
        "-p: publishing a port is chapter 5's optional exercise (NAT, chapters/05-network/extra.md); build bocker with --features extra5"
    ))
}

impl Port {
    /// `8080:80`, `8080:80/udp`: a port to publish, if publishing is in
    /// this build (see [`check_available`]).
    pub fn parse(text: &str) -> Result<Port> {
        check_available()?;
        Port::read(text)
    }

    /// `8080:80`, `8080:80/udp`.
    pub fn read(text: &str) -> Result<Port> {
        let invalid = || {
            Failure::new(
                USAGE,
                format!("invalid -p '{text}': expected HOST_PORT:CONTAINER_PORT, as in 8080:80 or 5353:53/udp"),
            )
        };
        let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        let (host, container) = ports.split_once(':').ok_or_else(invalid)?;
        let number = |p: &str| p.parse::<u16>().ok().filter(|n| *n > 0);
        match (number(host), number(container), protocol) {
            (Some(host), Some(container), "tcp" | "udp") => Ok(Port {
                host,
                container,
                protocol: protocol.to_string(),
            }),
            _ => Err(invalid().into()),
        }
    }
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{}/{}", self.host, self.container, self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_like_dockers() {
        assert_eq!(
            Port::read("8080:80").unwrap(),
            Port {
                host: 8080,
                container: 80,
                protocol: "tcp".into()
            }
        );
        assert_eq!(Port::read("5353:53/udp").unwrap().protocol, "udp");
        for bad in ["80", "0:80", "8080:80/sctp", "a:b", "70000:80"] {
            assert!(Port::read(bad).is_err(), "{bad}");
        }
    }
}
