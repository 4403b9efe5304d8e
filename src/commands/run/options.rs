//! Checking what `run` was given: names, hostnames, `-e`, `--net`.

use anyhow::{bail, Result};

use crate::cli::RunArgs;
use crate::ids;
use crate::store::Store;

/// The container's hostname: `--hostname` (chapter 2), or its id.
#[cfg(feature = "stage2")]
pub fn hostname(args: &RunArgs, id: &str) -> Result<String> {
    match &args.namespaces.hostname {
        None => Ok(id.to_string()),
        // The kernel allows up to 64 bytes (HOST_NAME_MAX); we also keep to
        // the characters a DNS name may use.
        Some(name)
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
        {
            Ok(name.clone())
        }
        Some(name) => bail!("invalid hostname '{name}': use up to 64 letters, digits, '-' and '.'"),
    }
}

#[cfg(not(feature = "stage2"))]
pub fn hostname(_: &RunArgs, id: &str) -> Result<String> {
    Ok(id.to_string())
}

/// Does the container get a network namespace of its own? Not with
/// `--net host`; and before chapter 2 there are no namespaces at all.
#[cfg(feature = "stage2")]
pub fn new_network(args: &RunArgs) -> bool {
    args.namespaces.net != crate::cli::NetMode::Host
}

#[cfg(not(feature = "stage2"))]
pub fn new_network(_: &RunArgs) -> bool {
    false
}

/// Names follow Docker's rule, must be unique, and must not look like an id.
pub fn check_name(store: &Store, name: &str) -> Result<()> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid
        || ids::looks_like(ids::CONTAINER_PREFIX, name)
        || ids::looks_like(ids::IMAGE_PREFIX, name)
    {
        bail!("invalid container name '{name}': use letters, digits, '_', '.' and '-', and do not start with img_ or ps_");
    }
    if store
        .containers()?
        .iter()
        .any(|c| c.name.as_deref() == Some(name))
    {
        bail!("a container named '{name}' already exists");
    }
    Ok(())
}

/// `-e KEY=VALUE` → (KEY, VALUE).
pub fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => bail!("invalid -e '{pair}': expected KEY=VALUE"),
        })
        .collect()
}
