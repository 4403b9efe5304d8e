//! An OCI bundle: a directory with the container's root filesystem and
//! `config.json`, which says everything else (the runtime spec's
//! config.md). Read with the oci-spec crate, checked, and turned into the
//! plain values the frame's steps take.
//!
//! A field bocker does not honour is refused with one line that names it,
//! never skipped: a container that silently lacks a limit or a mount its
//! engine asked for is worse than one that does not start. The check reads
//! the JSON itself, so that a field the oci-spec crate does not know (a
//! newer spec's) is refused too.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec};
use serde_json::Value;

use super::hooks::{Hook, Hooks};
use crate::spec::seccomp::SeccompProfile;
use crate::spec::Limits;

/// What config.json asks for, in the frame's terms.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub rootfs_readonly: bool,
    pub process: ProcessSpec,
    pub hostname: Option<String>,
    pub mounts: Vec<MountSpec>,
    /// New namespaces (clone flags) and namespaces to join (a path each).
    pub new_namespaces: CloneFlags,
    pub joined_namespaces: Vec<(CloneFlags, PathBuf)>,
    /// With a user namespace of its own: how its ids map to the host's.
    pub id_maps: Option<IdMaps>,
    pub limits: Limits,
    /// Memory and swap together, where config.json allows swap (-1: no
    /// limit); None: no swap beyond the memory limit, as the frame does.
    pub memory_swap: Option<i64>,
    /// The devices allowed besides chapter 8's list (cgroup/devices.rs);
    /// None: every device (config.json allows all).
    pub device_rules: Option<Vec<DeviceRule>>,
    /// The cgroup, relative to the hierarchy's root; None: bocker's own
    /// place for it (`bocker/ID`).
    pub cgroup_path: Option<String>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub sysctl: BTreeMap<String, String>,
    /// How mounts propagate between the container and the host.
    pub rootfs_propagation: MsFlags,
    /// None: no filter (the spec's default, as runc).
    pub seccomp: Option<SeccompProfile>,
    pub annotations: BTreeMap<String, String>,
    pub hooks: Hooks,
}

/// linux.uidMappings and gidMappings: (id in the container, id on the
/// host, how many), as /proc/PID/uid_map and gid_map take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: Vec<(u32, u32, u32)>,
    pub gid: Vec<(u32, u32, u32)>,
}

impl IdMaps {
    /// The host's uid and gid of the container's root (id 0 inside),
    /// which bundle checking made sure is mapped.
    pub fn root_on_the_host(&self) -> (u32, u32) {
        let host = |map: &[(u32, u32, u32)]| {
            map.iter()
                .find(|(inside, _, size)| *inside == 0 && *size > 0)
                .map_or(0, |(_, host, _)| *host)
        };
        (host(&self.uid), host(&self.gid))
    }

    /// One map as the kernel reads it: a line per range.
    pub fn lines(map: &[(u32, u32, u32)]) -> String {
        map.iter()
            .map(|(inside, host, size)| format!("{inside} {host} {size}\n"))
            .collect()
    }
}

/// One device rule of the frame's (`c 5:1 rwm`).
pub type DeviceRule = crate::runtime::cgroup::devices::Rule;

/// The container's process.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    /// Kept in the bounding, effective and permitted sets (CAP_… names).
    pub capabilities: Vec<String>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// (resource, soft, hard).
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
    /// A terminal of its own, whose other side goes to the engine over
    /// `--console-socket` (terminal.rs).
    pub terminal: bool,
}

/// One entry of `mounts`.
#[derive(Debug, Clone)]
pub struct MountSpec {
    /// Inside the container (absolute).
    pub destination: PathBuf,
    /// `proc`, `tmpfs`, … or `bind`.
    pub kind: String,
    pub source: Option<PathBuf>,
    pub flags: MsFlags,
    /// MS_PRIVATE, MS_SLAVE… (with MS_REC), applied after the mount.
    pub propagation: MsFlags,
    /// The options the filesystem itself reads (`mode=755`, `size=…`).
    pub data: String,
}

impl MountSpec {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }
}

/// Read and check `dir`/config.json.
pub fn read(dir: &Path) -> Result<Bundle> {
    let dir = fs::canonicalize(dir)
        .with_context(|| format!("cannot open the bundle {}", dir.display()))?;
    let path = dir.join("config.json");
    let text = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    refuse_unknown_fields(&json, "")?;
    let spec: Spec = serde_json::from_value(json.clone())
        .with_context(|| format!("{} is not an OCI runtime config", path.display()))?;
    from_spec(&dir, &spec, &json)
}

/// The fields bocker honours, as paths: `a.b` for a member, `a[]` for an
/// array's elements, `a.*` for a map whose keys are free (annotations).
const HONOURED: &[&str] = &[
    "ociVersion",
    "root",
    "root.path",
    "root.readonly",
    "process",
    "process.terminal",
    "process.user",
    "process.user.uid",
    "process.user.gid",
    "process.user.umask",
    "process.user.additionalGids",
    "process.args",
    "process.env",
    "process.cwd",
    "process.capabilities",
    "process.capabilities.bounding",
    "process.capabilities.effective",
    "process.capabilities.permitted",
    "process.capabilities.inheritable",
    "process.capabilities.ambient",
    "process.rlimits",
    "process.rlimits[].type",
    "process.rlimits[].soft",
    "process.rlimits[].hard",
    "process.noNewPrivileges",
    "process.oomScoreAdj",
    "hostname",
    "mounts",
    "mounts[].destination",
    "mounts[].type",
    "mounts[].source",
    "mounts[].options",
    "annotations",
    "annotations.*",
    "hooks",
    "hooks.prestart",
    "hooks.prestart[].path",
    "hooks.prestart[].args",
    "hooks.prestart[].env",
    "hooks.prestart[].timeout",
    "hooks.createRuntime",
    "hooks.createRuntime[].path",
    "hooks.createRuntime[].args",
    "hooks.createRuntime[].env",
    "hooks.createRuntime[].timeout",
    "hooks.createContainer",
    "hooks.createContainer[].path",
    "hooks.createContainer[].args",
    "hooks.createContainer[].env",
    "hooks.createContainer[].timeout",
    "hooks.startContainer",
    "hooks.startContainer[].path",
    "hooks.startContainer[].args",
    "hooks.startContainer[].env",
    "hooks.startContainer[].timeout",
    "hooks.poststart",
    "hooks.poststart[].path",
    "hooks.poststart[].args",
    "hooks.poststart[].env",
    "hooks.poststart[].timeout",
    "hooks.poststop",
    "hooks.poststop[].path",
    "hooks.poststop[].args",
    "hooks.poststop[].env",
    "hooks.poststop[].timeout",
    "linux",
    "linux.namespaces",
    "linux.namespaces[].type",
    "linux.namespaces[].path",
    "linux.uidMappings",
    "linux.uidMappings[].containerID",
    "linux.uidMappings[].hostID",
    "linux.uidMappings[].size",
    "linux.gidMappings",
    "linux.gidMappings[].containerID",
    "linux.gidMappings[].hostID",
    "linux.gidMappings[].size",
    "linux.resources",
    "linux.resources.memory",
    "linux.resources.memory.limit",
    "linux.resources.memory.swap",
    "linux.resources.cpu",
    "linux.resources.cpu.shares",
    "linux.resources.cpu.quota",
    "linux.resources.cpu.period",
    "linux.resources.pids",
    "linux.resources.pids.limit",
    "linux.resources.devices",
    "linux.resources.devices[].allow",
    "linux.resources.devices[].type",
    "linux.resources.devices[].major",
    "linux.resources.devices[].minor",
    "linux.resources.devices[].access",
    "linux.cgroupsPath",
    "linux.maskedPaths",
    "linux.readonlyPaths",
    "linux.sysctl",
    "linux.sysctl.*",
    "linux.rootfsPropagation",
    "linux.seccomp",
    "linux.seccomp.defaultAction",
    "linux.seccomp.defaultErrnoRet",
    "linux.seccomp.architectures",
    "linux.seccomp.syscalls",
    "linux.seccomp.syscalls[].names",
    "linux.seccomp.syscalls[].action",
    "linux.seccomp.syscalls[].errnoRet",
    "linux.seccomp.syscalls[].args",
    "linux.seccomp.syscalls[].args[].index",
    "linux.seccomp.syscalls[].args[].value",
    "linux.seccomp.syscalls[].args[].valueTwo",
    "linux.seccomp.syscalls[].args[].op",
];

/// Refuse the first field (depth first) that asks for something bocker
/// does not honour. A field that asks for nothing (null, false, an empty
/// list or map) is let through.
fn refuse_unknown_fields(value: &Value, path: &str) -> Result<()> {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let free_map = format!("{path}.*");
                if HONOURED.contains(&free_map.as_str()) {
                    continue;
                }
                if !HONOURED.contains(&inner.as_str()) {
                    if asks_for_nothing(member) {
                        continue;
                    }
                    bail!("config.json: {inner} is not supported by bocker");
                }
                refuse_unknown_fields(member, &inner)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                refuse_unknown_fields(item, &format!("{path}[]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn asks_for_nothing(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.values().all(asks_for_nothing),
        _ => false,
    }
}

fn from_spec(dir: &Path, spec: &Spec, json: &Value) -> Result<Bundle> {
    let version = spec.version();
    if !(version.starts_with("1.0.") || version.starts_with("1.1.") || version.starts_with("1.2."))
    {
        bail!("config.json: ociVersion {version} is not one bocker knows (1.0 to 1.2)");
    }
    let root = spec
        .root()
        .as_ref()
        .context("config.json: root is missing")?;
    let rootfs = dir.join(root.path());
    if !rootfs.is_dir() {
        bail!(
            "config.json: root.path {} is not a directory",
            rootfs.display()
        );
    }
    let process = spec
        .process()
        .as_ref()
        .context("config.json: process is missing")?;
    let linux = spec.linux().clone().unwrap_or_default();
    let (new_namespaces, joined_namespaces) = namespaces(&linux)?;
    // What the process changes for its namespaces must be in namespaces
    // of the container's: in the host's, it would change the host.
    let own = |flag: CloneFlags| {
        new_namespaces.contains(flag) || joined_namespaces.iter().any(|(joined, _)| *joined == flag)
    };
    let hostname = spec.hostname().clone().filter(|name| !name.is_empty());
    if hostname.is_some() && !own(CloneFlags::CLONE_NEWUTS) {
        bail!("config.json: hostname needs a UTS namespace of the container's (linux.namespaces): it would rename the host");
    }
    let sysctl: BTreeMap<String, String> = linux
        .sysctl()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for key in sysctl.keys() {
        check_sysctl(key, &own)?;
    }
    let mounts: Vec<MountSpec> = spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, mount)| mount_spec(index, mount))
        .collect::<Result<_>>()?;
    Ok(Bundle {
        dir: dir.to_path_buf(),
        rootfs,
        rootfs_readonly: root.readonly().unwrap_or(false),
        process: process_spec(process)?,
        hostname,
        id_maps: id_maps(&linux, new_namespaces, &joined_namespaces, &mounts)?,
        mounts,
        new_namespaces,
        joined_namespaces,
        limits: limits(linux.resources().as_ref())?,
        memory_swap: memory_swap(linux.resources().as_ref())?,
        device_rules: device_rules(&linux)?,
        cgroup_path: cgroup_path(&linux)?,
        masked_paths: linux.masked_paths().clone().unwrap_or_default(),
        readonly_paths: linux.readonly_paths().clone().unwrap_or_default(),
        sysctl,
        rootfs_propagation: propagation(linux.rootfs_propagation().as_deref())?,
        seccomp: match json.pointer("/linux/seccomp") {
            None | Some(Value::Null) => None,
            Some(profile) => Some(
                serde_json::from_value(profile.clone())
                    .context("config.json: linux.seccomp is not a profile bocker can read")?,
            ),
        },
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        hooks: hooks(spec.hooks().as_ref())?,
    })
}

/// config.json's hooks, checked: an absolute path, a timeout above zero.
fn hooks(hooks: Option<&oci_spec::runtime::Hooks>) -> Result<Hooks> {
    let Some(hooks) = hooks else {
        return Ok(Hooks::default());
    };
    let kind = |name: &str, list: &Option<Vec<oci_spec::runtime::Hook>>| -> Result<Vec<Hook>> {
        let mut checked = Vec::new();
        for (index, hook) in list.as_deref().unwrap_or_default().iter().enumerate() {
            if !hook.path().is_absolute() {
                bail!(
                    "config.json: hooks.{name}[{index}].path {} is not absolute",
                    hook.path().display()
                );
            }
            let timeout = match hook.timeout() {
                Some(seconds) if seconds <= 0 => {
                    bail!("config.json: hooks.{name}[{index}].timeout {seconds} is not above zero")
                }
                other => other.map(|seconds| seconds as u64),
            };
            checked.push(Hook {
                path: hook.path().clone(),
                args: hook.args().clone().unwrap_or_default(),
                env: hook.env().clone().unwrap_or_default(),
                timeout,
            });
        }
        Ok(checked)
    };
    #[allow(deprecated)]
    let prestart = kind("prestart", hooks.prestart())?;
    Ok(Hooks {
        prestart,
        create_runtime: kind("createRuntime", hooks.create_runtime())?,
        create_container: kind("createContainer", hooks.create_container())?,
        start_container: kind("startContainer", hooks.start_container())?,
        poststart: kind("poststart", hooks.poststart())?,
        poststop: kind("poststop", hooks.poststop())?,
    })
}

/// `exec --process FILE`: a process of config.json's shape, alone.
pub fn read_process(path: &Path) -> Result<ProcessSpec> {
    let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    refuse_unknown_fields(&json, "process")?;
    let process: oci_spec::runtime::Process = serde_json::from_value(json)
        .with_context(|| format!("{} is not an OCI process", path.display()))?;
    process_spec(&process)
}

/// A sysctl is written in /proc/sys, which shows the writer's namespaces:
/// only those that belong to a namespace, in a namespace of the
/// container's, are allowed (runc's rule). `kernel.panic` and the like are
/// the machine's own: refused.
fn check_sysctl(key: &str, own: &dyn Fn(CloneFlags) -> bool) -> Result<()> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let namespace = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        (CloneFlags::CLONE_NEWIPC, "an IPC")
    } else if key.starts_with("net.") {
        (CloneFlags::CLONE_NEWNET, "a network")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        (CloneFlags::CLONE_NEWUTS, "a UTS")
    } else {
        bail!("config.json: linux.sysctl {key} belongs to no namespace: it would change the host");
    };
    if !own(namespace.0) {
        bail!(
            "config.json: linux.sysctl {key} needs {} namespace of the container's",
            namespace.1
        );
    }
    Ok(())
}

fn process_spec(process: &oci_spec::runtime::Process) -> Result<ProcessSpec> {
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        bail!("config.json: process.args is empty");
    }
    let env = process
        .env()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (pair, String::new()),
        })
        .collect();
    let user = process.user();
    Ok(ProcessSpec {
        args,
        env,
        cwd: process.cwd().to_string_lossy().into_owned(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        capabilities: capabilities(process)?,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        terminal: process.terminal().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        rlimits: process
            .rlimits()
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|limit| {
                Ok((
                    rlimit_resource(&limit.typ().to_string())?,
                    limit.soft(),
                    limit.hard(),
                ))
            })
            .collect::<Result<_>>()?,
    })
}

/// The frame keeps one set of capabilities in the bounding, effective and
/// permitted sets, and none inheritable or ambient: a config that asks for
/// anything else is refused.
fn capabilities(process: &oci_spec::runtime::Process) -> Result<Vec<String>> {
    let Some(sets) = process.capabilities() else {
        return Ok(Vec::new());
    };
    let names = |set: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
        let mut names: Vec<String> = set
            .iter()
            .flatten()
            // oci-spec prints `KILL`; caps and the frame say `CAP_KILL`.
            .map(|capability| format!("CAP_{capability}"))
            .collect();
        names.sort();
        names
    };
    let bounding = names(sets.bounding());
    // The inheritable and ambient sets pass capabilities through execve.
    // For root they add nothing beyond the bounding set, as long as they
    // stay inside it (root's execve gives it the bounding set anyway); for
    // any other user they would, and bocker keeps them empty.
    for (field, set) in [
        ("inheritable", sets.inheritable()),
        ("ambient", sets.ambient()),
    ] {
        let set = names(set);
        let harmless = process.user().uid() == 0 && set.iter().all(|name| bounding.contains(name));
        if !set.is_empty() && !harmless {
            bail!("config.json: process.capabilities.{field} is not supported by bocker (it keeps it empty)");
        }
    }
    if names(sets.effective()) != bounding || names(sets.permitted()) != bounding {
        bail!(
            "config.json: process.capabilities: bocker needs the same bounding, effective and permitted sets"
        );
    }
    Ok(bounding)
}

/// RLIMIT_NOFILE and the others, by the spec's names.
fn rlimit_resource(name: &str) -> Result<libc::c_int> {
    let resource = match name.to_ascii_uppercase().as_str() {
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        _ => bail!("config.json: process.rlimits: unknown limit {name}"),
    };
    Ok(resource as libc::c_int)
}

fn mount_spec(index: usize, mount: &oci_spec::runtime::Mount) -> Result<MountSpec> {
    let destination = mount.destination().clone();
    if !destination.is_absolute()
        || destination
            .components()
            .any(|part| part == std::path::Component::ParentDir)
    {
        bail!(
            "config.json: mounts[{index}].destination {} must be absolute, without ..",
            destination.display()
        );
    }
    let mut flags = MsFlags::empty();
    let mut propagation = MsFlags::empty();
    let mut data = Vec::new();
    for option in mount.options().as_deref().unwrap_or_default() {
        match mount_option(option) {
            Some(MountOption::Set(flag)) => flags |= flag,
            Some(MountOption::Clear(flag)) => flags &= !flag,
            Some(MountOption::Propagation(flag)) => propagation = flag,
            None => data.push(option.clone()),
        }
    }
    let kind = mount.typ().clone().unwrap_or_else(|| "bind".to_string());
    if kind == "bind" {
        flags |= MsFlags::MS_BIND;
    }
    if flags.contains(MsFlags::MS_BIND) && mount.source().is_none() {
        bail!("config.json: mounts[{index}]: a bind mount needs a source");
    }
    const KNOWN: [&str; 8] = [
        "bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup2", "cgroup",
    ];
    if !flags.contains(MsFlags::MS_BIND) && !KNOWN.contains(&kind.as_str()) {
        bail!("config.json: mounts[{index}].type {kind} is not supported by bocker");
    }
    Ok(MountSpec {
        destination,
        kind,
        source: mount.source().clone(),
        flags,
        propagation,
        data: data.join(","),
    })
}

#[derive(Debug, Clone, Copy)]
enum MountOption {
    Set(MsFlags),
    Clear(MsFlags),
    Propagation(MsFlags),
}

/// The options mount(8) turns into flags (`features` lists them); any
/// other goes to the filesystem as data (`mode=755`, `size=…`).
const MOUNT_OPTIONS: &[(&str, MountOption)] = {
    use MountOption::{Clear, Propagation, Set};
    const REC: MsFlags = MsFlags::MS_REC;
    &[
        ("ro", Set(MsFlags::MS_RDONLY)),
        ("rw", Clear(MsFlags::MS_RDONLY)),
        ("nosuid", Set(MsFlags::MS_NOSUID)),
        ("suid", Clear(MsFlags::MS_NOSUID)),
        ("nodev", Set(MsFlags::MS_NODEV)),
        ("dev", Clear(MsFlags::MS_NODEV)),
        ("noexec", Set(MsFlags::MS_NOEXEC)),
        ("exec", Clear(MsFlags::MS_NOEXEC)),
        ("sync", Set(MsFlags::MS_SYNCHRONOUS)),
        ("async", Clear(MsFlags::MS_SYNCHRONOUS)),
        ("dirsync", Set(MsFlags::MS_DIRSYNC)),
        ("noatime", Set(MsFlags::MS_NOATIME)),
        ("atime", Clear(MsFlags::MS_NOATIME)),
        ("nodiratime", Set(MsFlags::MS_NODIRATIME)),
        ("diratime", Clear(MsFlags::MS_NODIRATIME)),
        ("relatime", Set(MsFlags::MS_RELATIME)),
        ("norelatime", Clear(MsFlags::MS_RELATIME)),
        ("strictatime", Set(MsFlags::MS_STRICTATIME)),
        ("nostrictatime", Clear(MsFlags::MS_STRICTATIME)),
        ("bind", Set(MsFlags::MS_BIND)),
        ("rbind", Set(MsFlags::MS_BIND.union(REC))),
        ("private", Propagation(MsFlags::MS_PRIVATE)),
        ("rprivate", Propagation(MsFlags::MS_PRIVATE.union(REC))),
        ("shared", Propagation(MsFlags::MS_SHARED)),
        ("rshared", Propagation(MsFlags::MS_SHARED.union(REC))),
        ("slave", Propagation(MsFlags::MS_SLAVE)),
        ("rslave", Propagation(MsFlags::MS_SLAVE.union(REC))),
        ("unbindable", Propagation(MsFlags::MS_UNBINDABLE)),
        (
            "runbindable",
            Propagation(MsFlags::MS_UNBINDABLE.union(REC)),
        ),
    ]
};

/// The names of the options that are flags, for `features`.
pub fn mount_option_names() -> Vec<&'static str> {
    MOUNT_OPTIONS.iter().map(|(name, _)| *name).collect()
}

fn mount_option(option: &str) -> Option<MountOption> {
    MOUNT_OPTIONS
        .iter()
        .find(|(name, _)| *name == option)
        .map(|(_, meaning)| *meaning)
}

/// linux.rootfsPropagation; rprivate if not given.
/// Not `shared`: the whole tree would stay a peer of the host's, and every
/// mount the container's process makes (its root, /proc, /dev…) would
/// appear on the host too. (A shared bind mount of one volume, asked for
/// in `mounts`, stays allowed: it shares that volume only.)
fn propagation(option: Option<&str>) -> Result<MsFlags> {
    match option.map(mount_option) {
        None => Ok(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
        Some(Some(MountOption::Propagation(flags))) if flags.contains(MsFlags::MS_SHARED) => bail!(
            "config.json: linux.rootfsPropagation {}: the container's mounts would appear on the host",
            option.unwrap_or_default()
        ),
        Some(Some(MountOption::Propagation(flags))) => Ok(flags),
        Some(_) => bail!(
            "config.json: linux.rootfsPropagation {} is not a propagation",
            option.unwrap_or_default()
        ),
    }
}

fn namespaces(
    linux: &oci_spec::runtime::Linux,
) -> Result<(CloneFlags, Vec<(CloneFlags, PathBuf)>)> {
    let mut new = CloneFlags::empty();
    let mut joined = Vec::new();
    for namespace in linux.namespaces().as_deref().unwrap_or_default() {
        let flag = match namespace.typ() {
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
            other => bail!("config.json: linux.namespaces: {other} is not supported by bocker"),
        };
        match namespace.path() {
            None => new |= flag,
            Some(_) if flag == CloneFlags::CLONE_NEWPID => bail!(
                "config.json: linux.namespaces: joining a pid namespace by path is not supported by bocker"
            ),
            Some(_) if flag == CloneFlags::CLONE_NEWUSER => bail!(
                "config.json: linux.namespaces: joining a user namespace by path is not supported by bocker"
            ),
            Some(path) => joined.push((flag, path.clone())),
        }
    }
    if !new.contains(CloneFlags::CLONE_NEWNS) {
        bail!(
            "config.json: linux.namespaces: bocker needs a mount namespace of the container's own"
        );
    }
    Ok((new, joined))
}

/// linux.uidMappings and gidMappings, for a user namespace of the
/// container's own. The container's root (id 0) must be mapped: its
/// process becomes that root (setresuid(0) inside) as soon as the maps
/// are written. Namespaces joined by path belong to the host's user
/// namespace, which the container's root has no power over: refused.
fn id_maps(
    linux: &oci_spec::runtime::Linux,
    new: CloneFlags,
    joined: &[(CloneFlags, PathBuf)],
    mounts: &[MountSpec],
) -> Result<Option<IdMaps>> {
    // (The kernel checks the ranges themselves when they are written.)
    let map = |list: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<(u32, u32, u32)> {
        list.as_deref()
            .unwrap_or_default()
            .iter()
            .map(|m| (m.container_id(), m.host_id(), m.size()))
            .filter(|(_, _, size)| *size > 0)
            .collect()
    };
    let uid = map(linux.uid_mappings());
    let gid = map(linux.gid_mappings());
    if !new.contains(CloneFlags::CLONE_NEWUSER) {
        if !uid.is_empty() || !gid.is_empty() {
            bail!("config.json: linux.uidMappings and gidMappings need a user namespace (linux.namespaces)");
        }
        return Ok(None);
    }
    for (name, map) in [("uidMappings", &uid), ("gidMappings", &gid)] {
        if !map.iter().any(|(inside, _, _)| *inside == 0) {
            bail!("config.json: linux.{name} must map the container's root (containerID 0)");
        }
    }
    if !joined.is_empty() {
        bail!("config.json: linux.namespaces: with a new user namespace, bocker joins no other namespace by path");
    }
    // The kernel lets the root of a user namespace mount proc only for a
    // pid namespace that namespace owns, sysfs only for a network one,
    // mqueue only for an IPC one.
    let mounts_of = |kind: &str| mounts.iter().any(|mount| mount.kind == kind);
    for (kind, flag, name) in [
        ("proc", CloneFlags::CLONE_NEWPID, "pid"),
        ("sysfs", CloneFlags::CLONE_NEWNET, "network"),
        ("mqueue", CloneFlags::CLONE_NEWIPC, "ipc"),
    ] {
        if mounts_of(kind) && !new.contains(flag) {
            bail!("config.json: a {kind} mount in a user namespace needs a {name} namespace of the container's (linux.namespaces)");
        }
    }
    Ok(Some(IdMaps { uid, gid }))
}

/// linux.resources.memory.swap: memory and swap together (runc's
/// meaning; -1 for no limit), when it allows swap beyond the memory limit.
/// The frame's limits allow none; `create` writes this one after them.
fn memory_swap(resources: Option<&LinuxResources>) -> Result<Option<i64>> {
    let Some(memory) = resources.and_then(|r| *r.memory()) else {
        return Ok(None);
    };
    swap_beyond(memory.limit().filter(|l| *l > 0), memory.swap())
}

/// The swap `limit` and `swap` (memory + swap, -1: no limit) allow beyond
/// the memory limit: None when they allow none.
pub fn swap_beyond(limit: Option<i64>, swap: Option<i64>) -> Result<Option<i64>> {
    match (limit, swap) {
        (_, None) => Ok(None),
        (Some(limit), Some(swap)) if swap == limit => Ok(None),
        (Some(limit), Some(swap)) if swap == -1 || swap > limit => Ok(Some(swap)),
        (None, Some(swap)) => {
            bail!("config.json: linux.resources.memory.swap {swap} without a memory limit")
        }
        (Some(limit), Some(swap)) => bail!(
            "config.json: linux.resources.memory.swap {swap} is below the memory limit {limit}"
        ),
    }
}

fn limits(resources: Option<&LinuxResources>) -> Result<Limits> {
    let mut limits = Limits::default();
    let Some(resources) = resources else {
        return Ok(limits);
    };
    if let Some(memory) = resources.memory() {
        if let Some(limit) = memory.limit().filter(|limit| *limit > 0) {
            limits.memory = Some(limit as u64);
        }
    }
    if let Some(cpu) = resources.cpu() {
        limits.cpu_shares = cpu.shares().filter(|shares| *shares > 0);
        if let Some(quota) = cpu.quota().filter(|quota| *quota > 0) {
            let period = cpu.period().filter(|period| *period > 0).unwrap_or(100_000);
            limits.cpus = Some(quota as f64 / period as f64);
        }
    }
    if let Some(pids) = resources.pids() {
        limits.pids = Some(pids.limit()).filter(|limit| *limit > 0);
    }
    Ok(limits)
}

/// What `update --resources FILE` asks for (linux.resources' shape; a
/// value left out or zero stays as it is, as runc reads it).
#[derive(Debug, Clone)]
pub struct ResourceUpdate {
    pub limits: Limits,
    /// memory.swap as given (memory + swap, -1: no limit).
    pub swap: Option<i64>,
}

/// `update --resources FILE` (`-`: standard input, as containerd's shim
/// passes it). Checked as config.json's linux.resources is; device rules
/// are refused: they are set once, at `create` (runc keeps them too).
pub fn read_resources(path: &Path) -> Result<ResourceUpdate> {
    let text = if path == Path::new("-") {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut text)
            .context("cannot read the resources from standard input")?;
        text
    } else {
        fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let json: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    refuse_unknown_fields(&json, "linux.resources")?;
    if json
        .get("devices")
        .is_some_and(|devices| !asks_for_nothing(devices))
    {
        bail!("update: linux.resources.devices are set at create, not changed after");
    }
    let resources: LinuxResources = serde_json::from_value(json)
        .with_context(|| format!("{} is not an OCI linux.resources", path.display()))?;
    let limits = limits(Some(&resources))?;
    let swap = resources
        .memory()
        .and_then(|memory| memory.swap())
        .filter(|swap| *swap != 0);
    Ok(ResourceUpdate { limits, swap })
}

/// linux.resources.devices, as runc reads them: every device denied, then
/// the devices every container has (chapter 8's list, cgroup/devices.rs),
/// then what config.json allows besides (containerd allows /dev/console,
/// `c 5:1`). A rule that allows everything (`a`, what `--privileged`
/// gives) lifts the limit; a rule that denies one device, after others
/// allowed it, is refused: the frame knows "deny all, allow some" only.
/// Returns the extra rules, or None for no limit at all.
fn device_rules(linux: &oci_spec::runtime::Linux) -> Result<Option<Vec<DeviceRule>>> {
    use crate::runtime::cgroup::devices::{Access, Kind, Rule};
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|resources| resources.devices().clone())
        .unwrap_or_default();
    let mut extra = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let kind = rule.typ().map(|kind| kind.as_str().to_string());
        let access_text = rule.access().clone().unwrap_or_else(|| "rwm".to_string());
        let mut access = Access {
            read: false,
            write: false,
            mknod: false,
        };
        for letter in access_text.chars() {
            match letter {
                'r' => access.read = true,
                'w' => access.write = true,
                'm' => access.mknod = true,
                _ => bail!("config.json: linux.resources.devices[{index}].access {access_text} is not r, w, m"),
            }
        }
        let any_device = rule.major().is_none() && rule.minor().is_none();
        if !rule.allow() {
            if any_device && matches!(kind.as_deref(), None | Some("a")) {
                continue; // deny all: where the frame starts anyway
            }
            bail!("config.json: linux.resources.devices[{index}] denies one device; bocker denies all and allows some only");
        }
        let number = |value: Option<i64>| value.filter(|n| *n >= 0).map(|n| n as u32);
        let kinds: &[Kind] = match kind.as_deref() {
            Some("c") => &[Kind::Char],
            Some("b") => &[Kind::Block],
            None | Some("a") if any_device && access_text.len() == 3 => return Ok(None),
            None | Some("a") => &[Kind::Char, Kind::Block],
            Some(other) => {
                bail!("config.json: linux.resources.devices[{index}].type {other} is not a, b or c")
            }
        };
        for kind in kinds {
            extra.push(Rule {
                kind: *kind,
                major: number(rule.major()),
                minor: number(rule.minor()),
                access,
            });
        }
    }
    Ok(Some(extra))
}

/// linux.cgroupsPath: a path below the hierarchy's root. (With systemd
/// it would be `slice:prefix:name`; `--systemd-cgroup` is refused.)
fn cgroup_path(linux: &oci_spec::runtime::Linux) -> Result<Option<String>> {
    let Some(path) = linux.cgroups_path() else {
        return Ok(None);
    };
    let text = path.to_string_lossy();
    let relative = text.trim_start_matches('/');
    if relative.is_empty()
        || text.contains(':')
        || relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        bail!("config.json: linux.cgroupsPath {text} is not a cgroup path bocker can use");
    }
    Ok(Some(relative.to_string()))
}
