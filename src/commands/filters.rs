//! Docker's `--filter KEY=VALUE`, as `ps` and `events` take it: several
//! values of one key mean any of them; several keys, all of them.

use crate::errors::{Failure, USAGE};

/// The filters `texts`, each `KEY=VALUE` with KEY one of `keys`; a usage
/// error in one line otherwise.
pub fn parse(texts: &[String], keys: &[&str]) -> Result<Vec<(String, String)>, Failure> {
    texts
        .iter()
        .map(|text| match text.split_once('=') {
            Some((key, value)) if keys.contains(&key) => Ok((key.to_string(), value.to_string())),
            _ => Err(Failure::new(
                USAGE,
                format!(
                    "invalid filter '{text}': use KEY=VALUE with KEY one of {}",
                    keys.join(", ")
                ),
            )),
        })
        .collect()
}

/// Does what `matches(key, value)` looks at pass `filters`? For each key
/// given, one of its values matches (Docker's rule).
pub fn pass(filters: &[(String, String)], matches: impl Fn(&str, &str) -> bool) -> bool {
    filters.iter().all(|(key, _)| {
        filters
            .iter()
            .filter(|(other, _)| other == key)
            .any(|(_, value)| matches(key, value))
    })
}
