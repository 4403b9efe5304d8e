//! What `run` was asked about a container's privileges (chapter 8):
//! the options as the user gave them. The runtime turns them into a
//! security profile (runtime/security/).

use serde::{Deserialize, Serialize};

use super::seccomp::SeccompProfile;

/// What `run` was asked about the container's privileges (chapter 8),
/// kept so that `exec` applies the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOptions {
    /// `--cap-add`: capabilities given back (names, or `ALL`).
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// `--cap-drop`: capabilities taken away too.
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// `--privileged`: every capability, no filter, nothing hidden.
    #[serde(default)]
    pub privileged: bool,
    /// `--security-opt no-new-privileges=false`.
    #[serde(default)]
    pub new_privileges_allowed: bool,
    /// `--security-opt seccomp=unconfined`.
    #[serde(default)]
    pub seccomp_unconfined: bool,
    /// `--security-opt seccomp=FILE`: the profile read from FILE, kept, so
    /// that `exec` applies the same even if the file changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<SeccompProfile>,
}
