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

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
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

/// What a `WWW-Authenticate` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer` (lowercase).
    pub scheme: String,
    /// `realm`, `service`, `scope`, …
    pub params: HashMap<String, String>,
}

impl Challenge {
    /// Read `Bearer realm="…",service="…",scope="…"`. Values are quoted
    /// strings, which may hold commas (`scope="repository:a:pull,push"`).
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, mut rest) = match header.split_once(' ') {
            Some((scheme, rest)) => (scheme, rest),
            None => (header, ""),
        };
        let mut params = HashMap::new();
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            let Some((key, after)) = rest.split_once('=') else {
                break;
            };
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"')?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => match after.find(',') {
                    Some(end) => (&after[..end], &after[end..]),
                    None => (after, ""),
                },
            };
            params.insert(key.trim().to_ascii_lowercase(), value.to_string());
            rest = after;
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }
}

/// The `Authorization` header to send to `registry` after it answered
/// with `challenge`, for pulling `repository`.
pub fn answer(
    agent: &ureq::Agent,
    registry: &str,
    challenge: &Challenge,
    credentials: Option<&Credentials>,
    repository: &str,
) -> Result<String> {
    match challenge.scheme.as_str() {
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
        "bearer" => fetch_token(agent, registry, challenge, credentials, repository),
        other => bail!("{registry} asks for authentication of an unknown kind: {other}"),
    }
}

/// Ask the token server for a token (the Docker token protocol): `GET
/// <realm>?service=<service>&scope=<scope>`, with Basic credentials when
/// we have some; the answer is JSON with `token` (or `access_token`).
fn fetch_token(
    agent: &ureq::Agent,
    registry: &str,
    challenge: &Challenge,
    credentials: Option<&Credentials>,
    repository: &str,
) -> Result<String> {
    let realm = challenge
        .params
        .get("realm")
        .with_context(|| format!("{registry} asked for a token but named no token server"))?;
    let scope = challenge
        .params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("repository:{repository}:pull"));
    let mut request = agent.get(realm.as_str()).query("scope", &scope);
    if let Some(service) = challenge.params.get("service") {
        request = request.query("service", service);
    }
    if let Some(credentials) = credentials {
        request = request.header("Authorization", &credentials.basic_header());
    }
    let response = request
        .call()
        .with_context(|| format!("cannot reach the token server {realm}"))?;
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        let who = match credentials {
            Some(credentials) => format!("refused the credentials of {}", credentials.user),
            None => {
                "wants credentials: give them with `bocker pull --user USER:PASSWORD …`".to_string()
            }
        };
        bail!(Failure::new(
            1,
            format!("unauthorized: the token server of {registry} {who}")
        ));
    }
    if status != 200 {
        bail!("the token server {realm} answered {status}");
    }
    let body =
        super::client::read_small(&mut response.into_body().into_reader(), 1 << 20, "token")?;
    let answer: serde_json::Value =
        serde_json::from_slice(&body).context("the token server's answer is not JSON")?;
    let token = answer
        .get("token")
        .or_else(|| answer.get("access_token"))
        .and_then(|t| t.as_str())
        .context("the token server's answer holds no token")?;
    Ok(format!("Bearer {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_is_read_with_commas_inside_quotes() {
        let c = Challenge::parse(
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
        let c = Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(c.scheme, "basic");
        let credentials = Credentials::parse("ann:se:cret").unwrap();
        assert_eq!(credentials.password, "se:cret");
        assert_eq!(credentials.basic_header(), "Basic YW5uOnNlOmNyZXQ=");
        assert!(Credentials::parse("nocolon").is_err());
        assert!(!format!("{credentials:?}").contains("se:cret"));
    }
}
