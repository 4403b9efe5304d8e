//! Identifiers for images and containers.
//!
//! Bocker names images `img_NNNNN` and containers `ps_NNNNN`. We keep the
//! prefixes and use 12 random hexadecimal digits after them: 48 random bits
//! make a collision practically impossible, and the store still refuses to
//! reuse an id that exists (it creates the directory exclusively).

use anyhow::Result;

pub const IMAGE_PREFIX: &str = "img_";
pub const CONTAINER_PREFIX: &str = "ps_";

/// A new id such as `img_3f9c0a1b2d4e`.
pub fn new_id(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 6];
    // getrandom(2): the kernel's random numbers, no file to open.
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read random bytes for a new id: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// Is `text` an id with `prefix` (and not, say, a path)?
pub fn looks_like(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}
