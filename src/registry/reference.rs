//! Image references, read the way Docker reads them.
//!
//! ```text
//! busybox                          docker.io/library/busybox:latest
//! busybox:1.36                     docker.io/library/busybox:1.36
//! library/alpine@sha256:…          docker.io/library/alpine@sha256:…
//! ghcr.io/team/app:v1              ghcr.io/team/app:v1
//! localhost:5000/team/app:v1       localhost:5000/team/app:v1
//! ```
//!
//! The first part names a registry only if it looks like a host name: it
//! has a dot or a port, or is `localhost`. Otherwise the image is on Docker
//! Hub, whose official images live under `library/`.

use std::fmt;

use anyhow::Result;

use crate::errors::Failure;

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that answers Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The variable that names another host for Docker Hub's API.
pub const HUB_VARIABLE: &str = "BOCKER_DOCKER_HUB_API";

/// A parsed reference: where the image is and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`.
    pub registry: String,
    /// `library/busybox`, `team/app`.
    pub repository: String,
    /// `latest` unless another tag (or only a digest) was given.
    pub tag: Option<String>,
    /// `sha256:…`, when the reference pins the content.
    pub digest: Option<String>,
}

impl Reference {
    /// Read `text`; a clear error (exit 2, a usage error) if it is not a
    /// reference.
    pub fn parse(text: &str) -> Result<Reference> {
        let invalid = |why: &str| -> anyhow::Error {
            Failure::new(
                2,
                format!(
                    "invalid image reference '{}': {why}",
                    crate::escape::printable(text)
                ),
            )
            .into()
        };
        if text.is_empty() || text.len() > 512 {
            return Err(invalid("it must have 1 to 512 characters"));
        }
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (text, None),
        };
        if let Some(digest) = digest {
            let hex = digest.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                return Err(invalid("a digest is sha256: and 64 lowercase hex digits"));
            }
        }
        // A tag follows the last ':' after the last '/' (a ':' before a '/'
        // is a registry's port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(tag) = tag {
            let good_char = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
            if tag.is_empty()
                || tag.len() > 128
                || tag.starts_with(['.', '-'])
                || !tag.chars().all(good_char)
            {
                return Err(invalid(
                    "a tag has up to 128 letters, digits, '_', '.' or '-'",
                ));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_a_host(first) => (first.to_string(), rest),
            _ => (DOCKER_HUB.to_string(), name),
        };
        if !is_host(&registry) {
            return Err(invalid("a registry is a host name, with a port if needed"));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | DOCKER_HUB_API => DOCKER_HUB.to_string(),
            _ => registry,
        };
        if path.is_empty() || !path.split('/').all(is_path_component) {
            return Err(invalid(
                "a repository name has lowercase letters, digits and separators ('.', '_', '-', '/')",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        let tag = match (tag, digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag.map(str::to_string),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest: digest.map(str::to_string),
        })
    }

    /// Bocker's form, `pull NAME TAG`.
    pub fn from_name_and_tag(name: &str, tag: &str) -> Result<Reference> {
        Reference::parse(&format!("{name}:{tag}"))
    }

    /// What to put in `/v2/<repository>/manifests/<…>`: the digest if the
    /// reference has one (it pins the content), else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The host to send API requests to. Docker Hub's can be replaced with
    /// BOCKER_DOCKER_HUB_API=host:port (a machine without Internet access
    /// that has a copy of the hub; the tests, which never leave this
    /// machine).
    pub fn api_host(&self) -> String {
        if self.registry != DOCKER_HUB {
            return self.registry.clone();
        }
        std::env::var(HUB_VARIABLE)
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| DOCKER_HUB_API.to_string())
    }

    /// Whether two references name the same image (the digest aside).
    pub fn same_name(&self, other: &Reference) -> bool {
        self.registry == other.registry
            && self.repository == other.repository
            && self.tag == other.tag
    }
}

impl fmt::Display for Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn looks_like_a_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// `ghcr.io`, `localhost:5000`, `10.0.0.1:5000`: labels of letters,
/// digits and dashes between dots, and maybe a port.
fn is_host(text: &str) -> bool {
    let (name, port) = match text.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (text, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.split('.').all(label)
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `team`, `my-app`, `a.b_c`: lowercase letters and digits, separated by
/// single '.', '_' or '__', or by dashes.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && alnum(&bytes[0])
        && alnum(&bytes[bytes.len() - 1])
        && bytes.iter().all(|b| alnum(b) || b"._-".contains(b))
        && !component.contains("..")
        && !component.contains("___")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    #[test]
    fn docker_hub_names_get_library_and_latest() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("team/app"), "docker.io/team/app:latest");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            full("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn a_first_part_with_a_dot_a_port_or_localhost_is_a_registry() {
        assert_eq!(full("ghcr.io/team/app:v1"), "ghcr.io/team/app:v1");
        assert_eq!(
            full("localhost:5000/team/app:v1"),
            "localhost:5000/team/app:v1"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.api_host(), "localhost:5000");
        assert_eq!(r.tag.as_deref(), Some("latest"));
    }

    #[test]
    fn a_digest_pins_the_content_and_is_what_is_asked_for() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("library/alpine@{digest}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_reference(), digest);
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{digest}"));
        let r = Reference::parse(&format!("alpine:3@{digest}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.manifest_reference()),
            (Some("3"), digest.as_str())
        );
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "busy box",
            "a//b",
            "/busybox",
            "busybox@sha256:1234",
            "../etc",
            "team/../app",
            "-x.io/app",
            "a..b:5000/app",
            "host:port/app",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
