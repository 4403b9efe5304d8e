//! Whether a container gets a cgroup namespace of its own: `run --cgroupns
//! private|host`, as Docker has it.
//!
//! A process sees its cgroup in /proc/self/cgroup as a path from the root
//! of the cgroup tree: `0::/bocker/ps_81d2e4f0a9b7` tells the container
//! where the host keeps it, and its /sys/fs/cgroup would show the host's
//! tree. A cgroup namespace (CLONE_NEWCGROUP, Linux 4.6) makes the cgroup
//! a process is in when it enters the namespace the root of what it sees:
//! the container's `0::/`.

use serde::{Deserialize, Serialize};

use crate::errors::{Failure, USAGE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupNamespace {
    /// The host's cgroup namespace: the host's paths.
    #[default]
    Host,
    /// A cgroup namespace of its own, rooted at the container's cgroup.
    Private,
}

/// The mode as `--cgroupns` takes it: `host` or `private`.
impl std::fmt::Display for CgroupNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CgroupNamespace::Host => f.write_str("host"),
            CgroupNamespace::Private => f.write_str("private"),
        }
    }
}

impl CgroupNamespace {
    /// `--cgroupns MODE`. Without it, Docker's default: private on a
    /// cgroup v2 host, host on v1 (`v2` says which this machine is).
    pub fn parse(given: Option<&str>, v2: bool) -> Result<CgroupNamespace, Failure> {
        match given {
            None if v2 => Ok(CgroupNamespace::Private),
            None => Ok(CgroupNamespace::Host),
            Some("private") => Ok(CgroupNamespace::Private),
            Some("host") => Ok(CgroupNamespace::Host),
            Some(other) => Err(Failure::new(
                USAGE,
                format!("invalid --cgroupns '{other}': expected private or host"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_by_default_on_v2_only() {
        assert_eq!(
            CgroupNamespace::parse(None, true).unwrap(),
            CgroupNamespace::Private
        );
        assert_eq!(
            CgroupNamespace::parse(None, false).unwrap(),
            CgroupNamespace::Host
        );
        assert_eq!(
            CgroupNamespace::parse(Some("private"), false).unwrap(),
            CgroupNamespace::Private
        );
        assert!(CgroupNamespace::parse(Some("shared"), true).is_err());
    }
}
