//! HTTP requests to one repository of one registry (with the ureq crate).
//!
//! Every request of a pull is a GET under `/v2/<repository>/`. This module
//! adds what each needs: the scheme (HTTPS, or plain HTTP for a registry on
//! this machine or one the user marked insecure), the `Authorization`
//! header once we have one, and errors a person can read.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ureq::config::RedirectAuthHeaders;

use super::auth::{self, Credentials};
use crate::errors::Failure;

/// Registries to reach over plain HTTP, besides those on this machine:
/// `BOCKER_INSECURE_REGISTRIES=host:port,other:port` (Docker's
/// `insecure-registries`).
pub const INSECURE_VARIABLE: &str = "BOCKER_INSECURE_REGISTRIES";

/// An answer whose body is still to be read.
pub struct Fetched {
    /// The media type of the body (Content-Type, without parameters).
    pub content_type: Option<String>,
    /// Its size, if the server said (Content-Length).
    pub length: Option<u64>,
    /// The body, read as it arrives: nothing is held in memory.
    pub body: Box<dyn Read + Send>,
}

/// One repository of one registry, e.g. `library/busybox` on
/// `registry-1.docker.io`. A clone shares the connections and the
/// authorization: each parallel download has its own.
#[derive(Clone)]
pub struct Registry {
    agent: ureq::Agent,
    /// `registry-1.docker.io`, `localhost:5000`.
    host: String,
    /// `https://registry-1.docker.io`.
    base: String,
    repository: String,
    credentials: Option<Credentials>,
    /// `Basic …` or `Bearer …`, once the registry asked for it.
    authorization: Option<String>,
}

impl Registry {
    pub fn new(host: &str, repository: &str, credentials: Option<Credentials>) -> Registry {
        let config = ureq::Agent::config_builder()
            // We read 4xx answers ourselves: their bodies say what is wrong.
            .http_status_as_error(false)
            // Registries send blobs from elsewhere (a CDN, S3): follow the
            // redirect, but never send our password or token to that other
            // host.
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("bocker/", env!("CARGO_PKG_VERSION")))
            .build();
        let scheme = if is_plain_http(host) { "http" } else { "https" };
        Registry {
            agent: config.new_agent(),
            host: host.to_string(),
            base: format!("{scheme}://{host}"),
            repository: repository.to_string(),
            credentials,
            authorization: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// GET `path` (such as `/v2/library/busybox/manifests/latest`), saying
    /// that we accept the media types `accept`. If the registry wants us to
    /// authenticate, do it and ask again, once.
    pub fn get(&mut self, path: &str, accept: &[&str]) -> Result<Fetched> {
        let mut response = self.send(path, accept)?;
        // A token can expire during a long pull: asked again with one we
        // had, the registry says 401 once more. Then log in afresh, once.
        let had_authorization = self.authorization.take();
        if response.status().as_u16() != 401 {
            self.authorization = had_authorization;
        }
        if response.status().as_u16() == 401 {
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
                .with_context(|| {
                    format!("{} answered 401 without saying how to log in", self.host)
                })?;
            self.authorization = Some(auth::answer(
                &self.agent,
                &self.host,
                &challenge,
                self.credentials.as_ref(),
                &self.repository,
            )?);
            response = self.send(path, accept)?;
        }
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or("").trim().to_string());
        let length = response
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let body = response.into_body().into_reader();
        if status != 200 {
            return Err(self.failure(path, status, body));
        }
        Ok(Fetched {
            content_type,
            length,
            body: Box::new(body),
        })
    }

    fn send(&self, path: &str, accept: &[&str]) -> Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if !accept.is_empty() {
            request = request.header("Accept", &accept.join(", "));
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        request.call().map_err(|error| {
            Failure::new(
                1,
                format!("cannot reach the registry {}: {error}", self.host),
            )
            .into()
        })
    }

    /// An error for a non-200 answer, with what the registry said: its
    /// body is JSON `{"errors":[{"code":"MANIFEST_UNKNOWN","message":…}]}`.
    fn failure(&self, path: &str, status: u16, body: impl Read) -> anyhow::Error {
        let mut text = Vec::new();
        let _ = body.take(64 * 1024).read_to_end(&mut text);
        let said = registry_error(&text);
        let code = said.as_ref().map(|(code, _)| code.as_str()).unwrap_or("");
        let what = match path.rsplit_once("/manifests/") {
            Some((_, reference)) => format!("{}:{reference}", self.repository),
            None => format!("{}{path}", self.host),
        };
        let message = match (status, code) {
            (404, "NAME_UNKNOWN") => {
                format!("repository {} not found on {}", self.repository, self.host)
            }
            (404, _) => format!("{what} not found on {}", self.host),
            (401, _) => format!(
                "unauthorized: {} refused us {what}{}",
                self.host,
                if self.credentials.is_some() {
                    " with the credentials given"
                } else {
                    ": give credentials with `bocker pull --user USER:PASSWORD …`"
                }
            ),
            (403, _) => format!("denied: {} will not give us {what}", self.host),
            (429, _) => format!(
                "{} says too many requests (Docker Hub limits anonymous pulls): try later, \
                 log in with --user, or use a mirror (BOCKER_REGISTRY_MIRROR)",
                self.host
            ),
            _ => format!("{} answered {status} for {what}", self.host),
        };
        let detail = said
            .map(|(code, message)| format!(" (registry says: {code} {message})"))
            .unwrap_or_default();
        Failure::new(
            1,
            crate::escape::printable(&format!("{message}{detail}")).into_owned(),
        )
        .into()
    }
}

/// The first error in a registry's JSON error body: (code, message).
fn registry_error(body: &[u8]) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let first = value.get("errors")?.get(0)?;
    Some((
        first.get("code")?.as_str()?.to_string(),
        first
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string(),
    ))
}

/// Plain HTTP for a registry on this machine (as Docker does), or one
/// named in BOCKER_INSECURE_REGISTRIES; HTTPS for everything else.
pub fn is_plain_http(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    if matches!(name, "localhost" | "127.0.0.1" | "[::1]" | "::1") {
        return true;
    }
    std::env::var(INSECURE_VARIABLE)
        .unwrap_or_default()
        .split(',')
        .any(|insecure| !insecure.is_empty() && insecure.trim() == host)
}

/// Read all of a small body (a manifest, a config), refusing more than
/// `limit` bytes: a registry must not make us fill the memory.
pub fn read_small(body: &mut dyn Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    body.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what}"))?;
    if bytes.len() as u64 > limit {
        bail!("the {what} is larger than {limit} bytes: refusing it");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_plain_http_by_default() {
        assert!(is_plain_http("localhost:5000"));
        assert!(is_plain_http("127.0.0.1:39999"));
        assert!(is_plain_http("localhost"));
        assert!(!is_plain_http("registry-1.docker.io"));
        assert!(!is_plain_http("localhost.example.com:5000"));
    }

    #[test]
    fn the_registrys_error_code_is_read() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error(body),
            Some(("MANIFEST_UNKNOWN".into(), "manifest unknown".into()))
        );
        assert_eq!(registry_error(b"<html>"), None);
    }
}
