//! How a container is networked: the seed's four modes, as `run --net`
//! names them. Chapter 2 gives a container a network namespace of its
//! own; chapter 5 plugs it into a bridge or into another container's.

use serde::{Deserialize, Serialize};

/// How a container is networked (`run --net`): the seed's four modes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// A network namespace of its own, with only the loopback interface
    /// (chapter 2; chapter 5 brings `lo` up).
    #[default]
    None,
    /// The host's network namespace: its interfaces, addresses and ports.
    Host,
    /// A namespace of its own, plugged into the host's bridge with a veth
    /// pair, with an address of the bridge's subnet (chapter 5).
    Bridge,
    /// The network namespace of another container, by id (chapter 5).
    Container(String),
    /// Without root: a namespace of its own, connected by pasta (the
    /// passt project's user-mode network stack), which carries its traffic
    /// through ordinary sockets of the user, and forwards `-p` ports.
    Pasta,
}

/// The mode as `--net` takes it (Docker's NetworkMode): `none`, `host`,
/// `bridge`, `container:ID`, `pasta`.
impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Network::None => f.write_str("none"),
            Network::Host => f.write_str("host"),
            Network::Bridge => f.write_str("bridge"),
            Network::Container(id) => write!(f, "container:{id}"),
            Network::Pasta => f.write_str("pasta"),
        }
    }
}

impl Network {
    /// `--net MODE`: `none`, `host`, and from chapter 5 `bridge` and
    /// `container:NAME`.
    pub fn parse(text: &str) -> Result<Network, String> {
        match text {
            "none" => Ok(Network::None),
            "host" => Ok(Network::Host),
            #[cfg(feature = "stage5")]
            "bridge" => Ok(Network::Bridge),
            #[cfg(feature = "stage5")]
            "pasta" => Ok(Network::Pasta),
            #[cfg(feature = "stage5")]
            other if other.starts_with("container:") && other.len() > "container:".len() => {
                Ok(Network::Container(other["container:".len()..].to_string()))
            }
            other => Err(format!(
                "unknown network mode '{other}' (expected {})",
                if cfg!(feature = "stage5") {
                    "bridge, none, host, container:NAME or pasta"
                } else {
                    "none or host"
                }
            )),
        }
    }
}
