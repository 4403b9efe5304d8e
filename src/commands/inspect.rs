//! `bocker inspect [--format T] [--type container|image] NAME…`: what
//! bocker knows of containers and images, as JSON in Docker's shape (the
//! fields bocker has: no others are made up), or one line per object
//! through a `--format` template (template.rs).
//!
//! The JSON is built from the records in the state directory and, for a
//! running container, the kernel (is it paused?). Names are looked up as
//! Docker does: a container first, then an image.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Result;
use serde_json::{json, Value};

use super::ps::docker_state;
use crate::errors::{Failure, USAGE};
use crate::spec::Network;
use crate::state::records::{ContainerRecord, ImageRecord};
use crate::state::Store;
use crate::template::Template;

/// Which kind of object `--type` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Container,
    Image,
}

pub fn inspect(
    store: &Store,
    names: &[String],
    format: Option<&str>,
    kind: Option<&str>,
) -> Result<u8> {
    let kind = match kind {
        None => Kind::Any,
        Some("container") => Kind::Container,
        Some("image") => Kind::Image,
        Some(other) => anyhow::bail!(Failure::new(
            USAGE,
            format!("invalid --type '{other}': use container or image")
        )),
    };
    let template = format
        .map(Template::parse)
        .transpose()
        .map_err(|error| Failure::new(USAGE, error))?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match object_named(store, name, kind) {
            Some(object) => found.push(object),
            None => missing.push(name),
        }
    }
    let mut out = std::io::stdout().lock();
    match &template {
        Some(template) => {
            for object in &found {
                writeln!(out, "{}", template.render(object))?;
            }
        }
        None => writeln!(out, "{}", pretty(&Value::Array(found))?)?,
    }
    if missing.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = missing.iter().map(|name| name.as_str()).collect();
    anyhow::bail!(Failure::new(
        1,
        format!("No such object: {}", names.join(", "))
    ))
}

/// Docker indents its JSON by four spaces.
fn pretty(value: &Value) -> Result<String> {
    let mut bytes = Vec::new();
    let indent = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, indent);
    serde::Serialize::serialize(value, &mut serializer)?;
    Ok(String::from_utf8(bytes)?)
}

fn object_named(store: &Store, name: &str, kind: Kind) -> Option<Value> {
    if kind != Kind::Image {
        if let Ok(container) = store.container(name) {
            return Some(container_json(store, &container));
        }
    }
    if kind != Kind::Container {
        if let Ok(image) = store.image(name) {
            return Some(image_json(&image));
        }
    }
    None
}

/// Nanoseconds since the epoch as Docker writes times: RFC 3339, in UTC,
/// with nanoseconds (`2026-12-08T01:26:14.123456789Z`).
pub fn docker_time(nanos: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_nanos(nanos);
    humantime::format_rfc3339_nanos(time).to_string()
}

fn container_json(store: &Store, container: &ContainerRecord) -> Value {
    let status = docker_state(container);
    let running = status == "running" || status == "paused";
    let (path, args) = match container.command.split_first() {
        Some((first, rest)) => (first.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let env: Vec<String> = container
        .env
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    json!({
        "Id": container.id,
        "Created": docker_time(container.created),
        "Path": path,
        "Args": args,
        "State": {
            "Status": status,
            "Running": running,
            "Paused": status == "paused",
            "OOMKilled": container.oom_killed,
            "Dead": false,
            "Pid": if running { container.pid.unwrap_or(0) } else { 0 },
            "ExitCode": container.exit_code.unwrap_or(0),
        },
        "Image": container.image,
        "Name": format!("/{}", container.name.as_deref().unwrap_or(&container.id)),
        "LogPath": store.container_paths(&container.id).log,
        "RestartCount": container.restart_count,
        "Config": {
            "Hostname": container.hostname,
            "Env": env,
            "Cmd": container.command,
            "Image": container.image,
            "WorkingDir": container.workdir.clone().unwrap_or_default(),
            "User": container.user.clone().unwrap_or_default(),
            "Tty": container.tty,
        },
        "HostConfig": host_config(container),
        "Mounts": mounts(store, container),
        "NetworkSettings": network_settings(container),
    })
}

fn host_config(container: &ContainerRecord) -> Value {
    let limits = &container.limits;
    let security = &container.security;
    let mut security_opt = Vec::new();
    if security.new_privileges_allowed {
        security_opt.push("no-new-privileges=false".to_string());
    }
    if security.seccomp_unconfined {
        security_opt.push("seccomp=unconfined".to_string());
    }
    json!({
        "NetworkMode": network_mode(&container.network),
        "PortBindings": port_bindings(container),
        "Memory": limits.memory.unwrap_or(0),
        "NanoCpus": limits.cpus.map_or(0, |cpus| (cpus * 1e9).round() as u64),
        "CpuShares": limits.cpu_shares.unwrap_or(0),
        "PidsLimit": limits.pids,
        "Init": container.init,
        "RestartPolicy": restart_policy(container),
        "AutoRemove": container.auto_remove,
        "Privileged": security.privileged,
        "ReadonlyRootfs": container.read_only_root,
        "CapAdd": security.cap_add,
        "CapDrop": security.cap_drop,
        "SecurityOpt": security_opt,
        "CgroupnsMode": container.cgroupns.to_string(),
        "LogConfig": {
            "Type": "json-file",
            "Config": {
                "max-size": container.log_options.max_size.to_string(),
                "max-file": container.log_options.max_files.to_string(),
            },
        },
    })
}

/// `-v` and `--tmpfs`, as Docker lists them.
fn mounts(store: &Store, container: &ContainerRecord) -> Value {
    use crate::spec::volumes::VolumeSource;
    let listed: Vec<Value> = container
        .volumes
        .iter()
        .map(|volume| match &volume.source {
            VolumeSource::Bind(host) => json!({
                "Type": "bind",
                "Source": host,
                "Destination": volume.target,
                "RW": !volume.read_only,
            }),
            VolumeSource::Named(name) => json!({
                "Type": "volume",
                "Name": name,
                "Source": store.volumes().data(name),
                "Destination": volume.target,
                "Driver": "local",
                "RW": !volume.read_only,
            }),
            VolumeSource::Tmpfs(options) => json!({
                "Type": "tmpfs",
                "Source": "",
                "Destination": volume.target,
                "Options": options,
                "RW": !volume.read_only,
            }),
        })
        .collect();
    Value::Array(listed)
}

/// `{"Name": "on-failure", "MaximumRetryCount": 3}`
fn restart_policy(container: &ContainerRecord) -> Value {
    let policy = container.restart_policy;
    let (name, most) = match policy {
        crate::spec::RestartPolicy::OnFailure { max } => {
            ("on-failure".to_string(), max.unwrap_or(0))
        }
        other => (other.to_string(), 0),
    };
    json!({"Name": name, "MaximumRetryCount": most})
}

/// `--net`'s value as Docker names it: none, host, bridge,
/// container:ID; pasta's is bocker's own.
fn network_mode(network: &Network) -> String {
    network.to_string()
}

/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`
fn port_bindings(container: &ContainerRecord) -> Value {
    let mut bindings = serde_json::Map::new();
    for port in &container.ports {
        bindings.insert(
            format!("{}/{}", port.container, port.protocol),
            json!([{"HostIp": "", "HostPort": port.host.to_string()}]),
        );
    }
    Value::Object(bindings)
}

fn network_settings(container: &ContainerRecord) -> Value {
    let mode = network_mode(&container.network);
    let Some(address) = container.address else {
        return json!({
            "IPAddress": "",
            "Ports": port_bindings(container),
            "Networks": { mode: {"IPAddress": ""} },
        });
    };
    // The subnet of bocker's bridge (BOCKER_SUBNET), as this bocker is
    // configured.
    let settings = crate::runtime::network::settings::Settings::from_environment();
    let (gateway, prefix) = match &settings {
        Ok(settings) => (
            settings.subnet.gateway().to_string(),
            settings.subnet.prefix(),
        ),
        Err(_) => (String::new(), 0),
    };
    let on_network = json!({
        "IPAddress": address.to_string(),
        "Gateway": gateway,
        "IPPrefixLen": prefix,
    });
    json!({
        "IPAddress": address.to_string(),
        "Gateway": gateway,
        "IPPrefixLen": prefix,
        "Ports": port_bindings(container),
        "Networks": { mode: on_network },
    })
}

fn image_json(image: &ImageRecord) -> Value {
    let defaults = image.defaults.clone().unwrap_or_default();
    let repo_digests: Vec<String> = image
        .digest
        .iter()
        .map(|digest| format!("{}@{digest}", without_tag_or_digest(&image.source)))
        .collect();
    json!({
        "Id": image.id,
        "Created": docker_time(image.created),
        "Comment": image.source,
        "RepoDigests": repo_digests,
        "Os": "linux",
        "Config": {
            "Entrypoint": defaults.entrypoint,
            "Cmd": defaults.cmd,
            "Env": defaults.env,
            "WorkingDir": defaults.working_dir.unwrap_or_default(),
            "User": defaults.user.unwrap_or_default(),
        },
    })
}

/// `localhost:5000/team/app` of `localhost:5000/team/app:v1` (or of
/// `…/app@sha256:…`): a tag's colon comes after the last slash; a port's
/// before it.
fn without_tag_or_digest(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let name_starts = reference.rfind('/').map_or(0, |slash| slash + 1);
    match reference[name_starts..].find(':') {
        Some(colon) => &reference[..name_starts + colon],
        None => reference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_loses_its_tag_or_digest_not_its_port() {
        assert_eq!(without_tag_or_digest("busybox:1.36"), "busybox");
        assert_eq!(
            without_tag_or_digest("localhost:5000/team/app:v1"),
            "localhost:5000/team/app"
        );
        assert_eq!(
            without_tag_or_digest("localhost:5000/team/app@sha256:ab"),
            "localhost:5000/team/app"
        );
        assert_eq!(
            without_tag_or_digest("localhost:5000/app"),
            "localhost:5000/app"
        );
    }

    #[test]
    fn times_are_rfc_3339_in_utc_with_nanoseconds() {
        assert_eq!(
            docker_time(1_767_225_600_000_000_123),
            "2026-01-01T00:00:00.000000123Z"
        );
    }
}
