//! `bocker info` and `bocker version`: the machine and the runtime, as
//! Docker prints them (the lines of `docker info` that bocker has), or
//! through `--format` (template.rs) on the same values, with Docker's
//! names: `{{.ContainersRunning}}`, `{{.CgroupVersion}}`, `{{json .}}`.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use super::ps::status_text;
use crate::errors::{Failure, USAGE};
use crate::template::Template;

pub fn info(root: &Path, format: Option<&str>) -> Result<u8> {
    let template = parse(format)?;
    let facts = machine_and_store(root)?;
    let mut out = std::io::stdout().lock();
    match template {
        Some(template) => writeln!(out, "{}", template.render(&facts))?,
        None => write!(out, "{}", info_text(&facts))?,
    }
    Ok(0)
}

pub fn version(format: Option<&str>) -> Result<u8> {
    let template = parse(format)?;
    let facts = version_facts();
    let mut out = std::io::stdout().lock();
    match template {
        Some(template) => writeln!(out, "{}", template.render(&facts))?,
        None => {
            let get = |key: &str| plain(&facts[key]);
            writeln!(out, "Version:      {}", get("Version"))?;
            writeln!(out, "OS/Arch:      {}/{}", get("Os"), get("Arch"))?;
            writeln!(out, "Kernel:       {}", get("KernelVersion"))?;
            writeln!(out, "Chapters:     {}", get("Chapters"))?;
            writeln!(out, "Features:     {}", get("Features"))?;
        }
    }
    Ok(0)
}

/// A value for a human: a string as it is, a list as `a, b`.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn parse(format: Option<&str>) -> Result<Option<Template>> {
    Ok(format
        .map(Template::parse)
        .transpose()
        .map_err(|error| Failure::new(USAGE, error))?)
}

/// The chapters compiled into this bocker, and what comes after them.
fn version_facts() -> Value {
    let chapters: Vec<u32> = [
        cfg!(feature = "stage1"),
        cfg!(feature = "stage2"),
        cfg!(feature = "stage3"),
        cfg!(feature = "stage4"),
        cfg!(feature = "stage5"),
        cfg!(feature = "stage6"),
        cfg!(feature = "stage7"),
        cfg!(feature = "stage8"),
        cfg!(feature = "stage9"),
    ]
    .iter()
    .zip(1..)
    .filter(|(on, _)| **on)
    .map(|(_, chapter)| chapter)
    .collect();
    let mut features = Vec::new();
    if cfg!(feature = "oci") {
        features.push("oci");
    }
    if cfg!(feature = "docker") {
        features.push("docker");
    }
    json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "Os": "linux",
        "Arch": crate::registry::platform::host().architecture().to_string(),
        "KernelVersion": kernel_release(),
        "Chapters": chapters,
        "Features": features,
    })
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|name| name.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What `docker info` says, from this machine and the state directory
/// `root` (zeros if there is none yet).
fn machine_and_store(root: &Path) -> Result<Value> {
    let (mut running, mut paused, mut stopped, mut images) = (0, 0, 0, 0);
    if root.is_dir() {
        let store = super::open_store(root)?;
        for container in store.containers()?.iter().flatten() {
            match status_text(container).as_str() {
                "Running" | "Exiting" => running += 1,
                "Paused" => paused += 1,
                _ => stopped += 1,
            }
        }
        images = store.images()?.len();
    }
    let rootless = crate::spec::privileges::rootless();
    let mut security = vec!["name=seccomp,profile=builtin".to_string()];
    if rootless {
        security.push("name=rootless".to_string());
    }
    let cgroup_version = if crate::runtime::cgroup::hierarchy().v2() {
        "2"
    } else {
        "1"
    };
    if cgroup_version == "2" {
        security.push("name=cgroupns".to_string());
    }
    let driver = match crate::storage::method()? {
        crate::storage::Method::Btrfs => "btrfs",
        crate::storage::Method::Copy => "copy",
    };
    Ok(json!({
        "Containers": running + paused + stopped,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": driver,
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "SecurityOptions": security,
        "KernelVersion": kernel_release(),
        "OperatingSystem": operating_system(),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": memory_total(),
        "Name": nix::unistd::gethostname()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "DockerRootDir": root,
    }))
}

/// PRETTY_NAME of /etc/os-release (`Debian GNU/Linux 12 (bookworm)`).
fn operating_system() -> String {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".to_string())
}

/// Bytes of memory, from /proc/meminfo's `MemTotal: N kB`.
fn memory_total() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Docker's layout of the same facts.
fn info_text(facts: &Value) -> String {
    let get = |key: &str| plain(&facts[key]);
    let mut text = String::new();
    let mut line = |label: &str, value: String| text.push_str(&format!("{label}: {value}\n"));
    line("Containers", get("Containers"));
    line(" Running", get("ContainersRunning"));
    line(" Paused", get("ContainersPaused"));
    line(" Stopped", get("ContainersStopped"));
    line("Images", get("Images"));
    line("Server Version", get("ServerVersion"));
    line("Storage Driver", get("Driver"));
    line("Cgroup Driver", get("CgroupDriver"));
    line("Cgroup Version", get("CgroupVersion"));
    text.push_str("Security Options:\n");
    for option in facts["SecurityOptions"].as_array().into_iter().flatten() {
        let option = option.as_str().unwrap_or_default();
        let mut parts = option.split(',');
        let name = parts.next().unwrap_or_default().trim_start_matches("name=");
        text.push_str(&format!(" {name}\n"));
        for part in parts {
            if let Some((key, value)) = part.split_once('=') {
                let mut key = key.to_string();
                key[..1].make_ascii_uppercase();
                text.push_str(&format!("  {key}: {value}\n"));
            }
        }
    }
    let mut line = |label: &str, value: String| text.push_str(&format!("{label}: {value}\n"));
    line("Kernel Version", get("KernelVersion"));
    line("Operating System", get("OperatingSystem"));
    line("OSType", get("OSType"));
    line("Architecture", get("Architecture"));
    line("CPUs", get("NCPU"));
    let gib = facts["MemTotal"].as_u64().unwrap_or(0) as f64 / f64::from(1u32 << 30);
    line("Total Memory", format!("{gib:.2}GiB"));
    line("Name", get("Name"));
    line("Bocker Root Dir", get("DockerRootDir"));
    text
}
