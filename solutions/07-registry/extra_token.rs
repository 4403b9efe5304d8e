//! Chapter 7, optional exercise — the bearer-token challenge: a registry
//! that answers `401` with `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…` wants a token from the token server named by `realm`.
//!
//! The reference solution. Compare it with your
//! `chapters/07-registry/extra_token.rs`.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};

use crate::errors::Failure;
use crate::registry::auth::Credentials;

/// What a `WWW-Authenticate` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercase: `basic`, `bearer`.
    pub scheme: String,
    /// Its parameters by lowercase name (`realm`, `service`, `scope`),
    /// values without their quotes.
    pub params: HashMap<String, String>,
}

// ANCHOR: parse_challenge
/// Read a `WWW-Authenticate` header such as
/// `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`.
/// None if it is not one.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    // The scheme is the first word; the parameters follow a space.
    let header = header.trim();
    let (scheme, mut rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = HashMap::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        // A quoted value runs to the next quote, commas included
        // (`scope="repository:a:pull,push"`); a bare one to the next comma.
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_at(after.find(',').unwrap_or(after.len())),
        };
        params.insert(name.trim().to_ascii_lowercase(), value.to_string());
        rest = after;
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}
// ANCHOR_END: parse_challenge

// ANCHOR: fetch_token
/// Ask the token server named by `challenge` for a token to pull
/// `repository` of `registry`, with the user's `credentials` if there are
/// some; the value of the `Authorization` header to retry with.
pub fn fetch_token(
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
    // The scope the registry asked for; without one, pulling this
    // repository.
    let scope = challenge
        .params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("repository:{repository}:pull"));
    let mut request = agent.get(realm.as_str()).query("scope", &scope);
    if let Some(service) = challenge.params.get("service") {
        request = request.query("service", service);
    }
    // The password goes to the token server only, never to the registry.
    if let Some(credentials) = credentials {
        request = request.header("Authorization", &credentials.basic_header());
    }
    let response = request
        .call()
        .with_context(|| format!("cannot reach the token server {realm}"))?;
    let token = token_of(registry, realm, credentials, response)?;
    Ok(format!("Bearer {token}"))
}
// ANCHOR_END: fetch_token

/// The token in the token server's answer to us (JSON, `token` or
/// `access_token`); an error a person can read if it refused.
pub fn token_of(
    registry: &str,
    realm: &str,
    credentials: Option<&Credentials>,
    response: ureq::http::Response<ureq::Body>,
) -> Result<String> {
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
    let body = crate::registry::client::read_small(
        &mut response.into_body().into_reader(),
        1 << 20,
        "token",
    )?;
    let answer: serde_json::Value =
        serde_json::from_slice(&body).context("the token server's answer is not JSON")?;
    let token = answer
        .get("token")
        .or_else(|| answer.get("access_token"))
        .and_then(|t| t.as_str())
        .context("the token server's answer holds no token")?;
    Ok(token.to_string())
}
