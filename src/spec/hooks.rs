//! config.json's hooks, as the OCI runtime keeps them (runtime/oci/hooks.rs
//! runs them): programs for fixed points of a container's lifecycle.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One hook: a program with its own argv and environment (nothing of the
/// runtime's environment is passed on, as with runc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// Absolute; where it resolves depends on the hook's kind.
    pub path: PathBuf,
    /// argv, its first being argv[0]; empty: just the path.
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds; killed after it.
    pub timeout: Option<u64>,
}

/// The hooks of config.json, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hooks {
    /// Old name of createRuntime (deprecated by the spec, still used).
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// Does `create` run hooks while the child waits (prestart and
    /// createRuntime), so that the child has to stop before pivot_root?
    pub fn for_the_runtime_before_pivot(&self) -> bool {
        !self.prestart.is_empty() || !self.create_runtime.is_empty()
    }
}
