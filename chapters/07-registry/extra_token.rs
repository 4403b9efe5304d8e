//! Chapter 7, optional exercise — the bearer-token challenge: a registry
//! that answers `401` with `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…` wants a token from the token server named by `realm`.
//!
//! Your optional exercise. Read `chapters/07-registry/extra.md` (or the
//! page in the book), fill in the two functions, then run:
//!
//! ```text
//! cargo test --features stage7,extra7 extra7_token
//! ```

// Until you write the bodies, some parameters and imports are unused.
#![allow(unused_variables, unused_imports)]

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
    todo!("chapter 7, optional exercise: read the scheme (the first word) and the name=value parameters of a WWW-Authenticate header, values quoted or not — see chapters/07-registry/extra.md, section 'Reading the challenge'")
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
    todo!("chapter 7, optional exercise: GET the challenge's realm with its scope and service, Basic credentials if any, and return `Bearer TOKEN` — see chapters/07-registry/extra.md, section 'Asking for the token'")
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
