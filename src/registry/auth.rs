//! How registries ask who you are, and how we answer.
//!
//! A registry answers a request it will not serve anonymously with
//! `401 Unauthorized` and a header that says how to authenticate:
//!
//! ```text
//! WWW-Authenticate: Basic realm="Registry Realm"
//! WWW-Authenticate: Bearer realm="https://auth.docker.io/token",
//!                   service="registry.docker.io",
//!                   scope="repository:library/busybox:pull"
//! ```
//!
//! *Basic*: send the user name and password with every request.
//! *Bearer*: ask the token server named by `realm` for a token for that
//! `service` and `scope` (anonymously, or with the user's password), then
//! send the token with every request. Docker Hub gives anonymous tokens
//! for public images; private registries want a password first.
//!
//! Basic is here. Bearer is chapter 7's optional exercise
//! (`chapters/07-registry/extra_token.rs`, feature `extra7`): without it, a
//! registry that wants a token stops the pull with a line that says so.

use std::path::PathBuf;

use anyhow::{bail, Result};
use base64::Engine;

use crate::errors::Failure;

/// A user name and password, from `--user` or Docker's config.json.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    /// Never print a password, not even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ user: {:?}, password: … }}", self.user)
    }
}

impl Credentials {
    /// `USER:PASSWORD`, as given to `--user`.
    pub fn parse(text: &str) -> Result<Credentials> {
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Credentials {
                user: user.to_string(),
                password: password.to_string(),
            }),
            _ => bail!(Failure::new(2, "--user wants USER:PASSWORD")),
        }
    }

    /// The value of an `Authorization: Basic …` header.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// The credentials `docker login` saved for `registry`, if any:
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, whose
    /// `auths.<registry>.auth` is base64 of `user:password`. (Credential
    /// helpers, which keep passwords elsewhere, are not supported.)
    pub fn from_docker_config(registry: &str) -> Option<Credentials> {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")))?;
        let text = std::fs::read(dir.join("config.json")).ok()?;
        let config: serde_json::Value = serde_json::from_slice(&text).ok()?;
        let auths = config.get("auths")?;
        // Docker Hub's entry has had several names over the years.
        let names: &[&str] = if registry == super::reference::DOCKER_HUB {
            &[
                "https://index.docker.io/v1/",
                "docker.io",
                "index.docker.io",
                "registry-1.docker.io",
            ]
        } else {
            &[registry]
        };
        let encoded = names.iter().find_map(|name| {
            auths
                .get(*name)
                .or_else(|| auths.get(format!("https://{name}")))?
                .get("auth")?
                .as_str()
        })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        Credentials::parse(&String::from_utf8(decoded).ok()?).ok()
    }
}

/// The `Authorization` header to send to `registry` after it answered
/// `401` with the `WWW-Authenticate` header `challenge`, for pulling
/// `repository`.
pub fn answer(
    agent: &ureq::Agent,
    registry: &str,
    challenge: &str,
    credentials: Option<&Credentials>,
    repository: &str,
) -> Result<String> {
    match scheme(challenge).as_str() {
        "basic" => match credentials {
            Some(credentials) => Ok(credentials.basic_header()),
            None => bail!(Failure::new(
                1,
                format!(
                    "unauthorized: {registry} wants credentials: give them with \
                     `bocker pull --user USER:PASSWORD …`"
                )
            )),
        },
        "bearer" => bearer(agent, registry, challenge, credentials, repository),
        other => bail!("{registry} asks for authentication of an unknown kind: {other}"),
    }
}

/// The scheme of a `WWW-Authenticate` header (its first word), lowercase.
fn scheme(challenge: &str) -> String {
    challenge
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A token for a registry that asked for one: read the challenge, ask the
/// token server it names. Chapter 7's optional exercise
/// (`chapters/07-registry/extra_token.rs`).
#[cfg(feature = "extra7")]
fn bearer(
    agent: &ureq::Agent,
    registry: &str,
    challenge: &str,
    credentials: Option<&Credentials>,
    repository: &str,
) -> Result<String> {
    use super::token;
    use anyhow::Context as _;
    crate::course::exercise::yours(1, || {
        let read = token::parse_challenge(challenge)
            .with_context(|| format!("cannot read the challenge of {registry}: {challenge}"))?;
        token::fetch_token(agent, registry, &read, credentials, repository)
    })
}

/// Without the optional exercise, a registry that wants a token is where
/// the pull stops, saying so.
#[cfg(not(feature = "extra7"))]
fn bearer(
    _agent: &ureq::Agent,
    registry: &str,
    _challenge: &str,
    _credentials: Option<&Credentials>,
    _repository: &str,
) -> Result<String> {
    bail!(Failure::new(
        1,
        format!(
            "{registry} wants a token (WWW-Authenticate: Bearer): token authentication is \
             chapter 7's optional exercise (chapters/07-registry/extra.md); build bocker with \
             --features extra7 to pull from it"
        )
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The optional exercise's reading of a challenge (when it is solved).
    #[cfg(all(feature = "extra7", feature = "solved-extra7"))]
    #[test]
    fn a_bearer_challenge_is_read_with_commas_inside_quotes() {
        let c = super::super::token::parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["service"], "registry.example");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
    }

    #[test]
    fn a_basic_challenge_and_credentials() {
        assert_eq!(scheme(r#"Basic realm="Registry Realm""#), "basic");
        assert_eq!(scheme(r#"Bearer realm="https://a/token""#), "bearer");
        let credentials = Credentials::parse("ann:se:cret").unwrap();
        assert_eq!(credentials.password, "se:cret");
        assert_eq!(credentials.basic_header(), "Basic YW5uOnNlOmNyZXQ=");
        assert!(Credentials::parse("nocolon").is_err());
        assert!(!format!("{credentials:?}").contains("se:cret"));
    }
}
