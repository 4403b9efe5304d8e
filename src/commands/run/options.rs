//! Checking what `run` was given, before anything is created: a bad flag
//! must not leave a half-made container behind.

#[cfg(feature = "docker")]
use anyhow::Context;
use anyhow::{bail, Result};

use crate::cli::RunArgs;
use crate::errors::{Failure, USAGE};
use crate::spec::Network;
use crate::spec::Port;
use crate::spec::{CgroupNamespace, Limits, LogOptions};
use crate::state::ids;

/// Everything `run` needs from its command line, checked.
pub struct Checked {
    pub name: Option<String>,
    /// `--hostname`; `None` means "the container's id".
    pub hostname: Option<String>,
    pub env: Vec<(String, String)>,
    pub network: Network,
    #[cfg_attr(not(feature = "stage2"), allow(dead_code))]
    pub detach: bool,
    pub init: bool,
    pub limits: Limits,
    /// Published ports (chapter 5).
    pub ports: Vec<Port>,
    /// Capabilities, seccomp, no_new_privs (chapter 8).
    pub security: crate::spec::SecurityOptions,
    /// `--log-opt`: how much of its output the log keeps.
    pub log_options: LogOptions,
    /// `--cgroupns` (chapter 4).
    pub cgroupns: CgroupNamespace,
    /// `-t` (from chapter 3).
    pub tty: bool,
    /// `--restart` (the finished runtime).
    pub restart: crate::spec::RestartPolicy,
    /// `-v` and `--tmpfs` (the finished runtime).
    pub volumes: Vec<crate::spec::Volume>,
    /// `--read-only`.
    pub read_only_root: bool,
}

pub fn check(args: &RunArgs) -> Result<Checked> {
    // From chapter 7 an image may bring its own command: none typed is fine.
    if !(cfg!(feature = "stage7") && args.command.is_empty()) {
        check_command(&args.command)?;
    }
    if let Some(name) = &args.name {
        check_name(name)?;
    }
    let env = parse_env(&args.env)?;
    let restart = restart_policy(args)?;
    let (volumes, read_only_root) = volumes(args)?;
    let mut namespaces = namespace_flags(args)?;
    if namespaces.detach && args.interactive {
        bail!(Failure::new(
            USAGE,
            "-i needs a command in the foreground: bocker run -d has no stdin to pass on"
        ));
    }
    #[cfg(feature = "stage3")]
    let tty = args.tty;
    #[cfg(not(feature = "stage3"))]
    let tty = false;
    if tty && namespaces.init {
        // The init starts the command after entering the root itself
        // (runtime/init/): it would have to make the terminal there.
        bail!(Failure::new(
            USAGE,
            "-t with --init: not supported yet (run the shell as pid 1, or use --init without -t)"
        ));
    }
    let limits = run_limits(args)?;
    let ports = ports(args)?;
    let rootless = crate::runtime::userns::rootless();
    if rootless {
        choose_pasta_for_ports(args, &ports, &mut namespaces.network);
    }
    if rootless {
        refuse_what_needs_root(&namespaces.network, &limits)?;
    } else if namespaces.network == Network::Pasta {
        bail!(Failure::new(
            USAGE,
            "--net pasta is for bocker run without root; as root, use --net bridge"
        ));
    }
    if !ports.is_empty() && !matches!(namespaces.network, Network::Bridge | Network::Pasta) {
        bail!(Failure::new(
            USAGE,
            "-p publishes a port of a container on the bridge (or, without root, through pasta): it needs --net bridge (or --net pasta)"
        ));
    }
    Ok(Checked {
        name: args.name.clone(),
        hostname: namespaces.hostname,
        env,
        network: namespaces.network,
        detach: namespaces.detach,
        init: namespaces.init,
        limits,
        ports,
        security: security(args)?,
        log_options: LogOptions::parse(&args.log_opt)?,
        cgroupns: cgroup_namespace(args)?,
        tty,
        restart,
        volumes,
        read_only_root,
    })
}

/// `-v`, `--tmpfs` and `--read-only`. A missing host directory of `-v` is
/// made, as Docker makes it.
fn volumes(args: &RunArgs) -> Result<(Vec<crate::spec::Volume>, bool)> {
    #[cfg(feature = "docker")]
    {
        use crate::spec::volumes::{Volume, VolumeSource};
        let usage = |error: String| Failure::new(USAGE, error);
        let mut volumes = Vec::new();
        for text in &args.volumes {
            volumes.push(Volume::parse_bind(text).map_err(usage)?);
        }
        for text in &args.tmpfs {
            volumes.push(Volume::parse_tmpfs(text).map_err(usage)?);
        }
        // Docker's --mount does not make a missing host folder: -v does.
        for text in &args.mounts {
            let volume = Volume::parse_mount(text).map_err(usage)?;
            if let VolumeSource::Bind(host) = &volume.source {
                if !host.exists() {
                    bail!(Failure::new(
                        USAGE,
                        format!(
                            "invalid --mount '{text}': {} does not exist",
                            host.display()
                        )
                    ));
                }
            }
            volumes.push(volume);
        }
        for volume in &volumes {
            if let VolumeSource::Bind(host) = &volume.source {
                if !host.exists() {
                    std::fs::create_dir_all(host).with_context(|| {
                        format!("cannot make the volume's host folder {}", host.display())
                    })?;
                }
            }
        }
        if args.namespaces.init && (!volumes.is_empty() || args.read_only) {
            bail!(Failure::new(
                USAGE,
                "--init with -v, --tmpfs or --read-only: not supported yet"
            ));
        }
        Ok((volumes, args.read_only))
    }
    #[cfg(not(feature = "docker"))]
    {
        let _ = args;
        Ok((Vec::new(), false))
    }
}

/// `--restart`; refused with `--rm`, as Docker refuses it: a container
/// removed when it ends cannot be started again.
fn restart_policy(args: &RunArgs) -> Result<crate::spec::RestartPolicy> {
    #[cfg(feature = "docker")]
    if let Some(text) = &args.restart {
        let policy =
            crate::spec::RestartPolicy::parse(text).map_err(|error| Failure::new(USAGE, error))?;
        if args.rm && policy != crate::spec::RestartPolicy::No {
            bail!(Failure::new(USAGE, "--restart and --rm conflict: a container removed when it ends is not started again"));
        }
        return Ok(policy);
    }
    let _ = args;
    Ok(crate::spec::RestartPolicy::No)
}

/// `--cgroupns`, or the default for this machine's cgroups (chapter 4).
#[cfg(feature = "stage4")]
fn cgroup_namespace(args: &RunArgs) -> Result<CgroupNamespace> {
    let v2 = crate::runtime::cgroup::hierarchy().v2();
    Ok(CgroupNamespace::parse(args.cgroupns.as_deref(), v2)?)
}

/// Before chapter 4 there are no cgroups of containers to hide.
#[cfg(not(feature = "stage4"))]
fn cgroup_namespace(_: &RunArgs) -> Result<CgroupNamespace> {
    Ok(CgroupNamespace::Host)
}

/// `--cap-add`, `--cap-drop`, `--privileged`, `--security-opt` (chapter 8).
#[cfg(feature = "stage8")]
fn security(args: &RunArgs) -> Result<crate::spec::SecurityOptions> {
    let flags = &args.security;
    let options = crate::runtime::security::options_from_flags(
        &flags.cap_add,
        &flags.cap_drop,
        flags.privileged,
        &flags.security_opt,
    )?;
    if options.privileged {
        crate::errors::warn(
            "--privileged: this container gets every capability and device, no seccomp filter, \
             and the kernel's files unhidden: it can take over the host",
        );
    }
    Ok(options)
}

#[cfg(not(feature = "stage8"))]
fn security(_: &RunArgs) -> Result<crate::spec::SecurityOptions> {
    Ok(Default::default())
}

/// `-p HOST:CONTAINER[/PROTOCOL]`, each (chapter 5).
#[cfg(feature = "stage5")]
fn ports(args: &RunArgs) -> Result<Vec<Port>> {
    args.namespaces
        .publish
        .iter()
        .map(|p| Port::parse(p))
        .collect()
}

#[cfg(not(feature = "stage5"))]
fn ports(_: &RunArgs) -> Result<Vec<Port>> {
    Ok(Vec::new())
}

/// Without root, `-p` with no `--net`: a published port needs pasta, which
/// is then the network (runtime/network/pasta.rs).
#[cfg(feature = "stage5")]
fn choose_pasta_for_ports(args: &RunArgs, ports: &[Port], network: &mut Network) {
    if !ports.is_empty() && args.namespaces.net.is_none() {
        *network = Network::Pasta;
    }
}

#[cfg(not(feature = "stage5"))]
fn choose_pasta_for_ports(_: &RunArgs, _: &[Port], _: &mut Network) {}

/// Without root (runtime/userns.rs), what needs root on the host is
/// refused in one line, never skipped: a limit (a cgroup of the host's),
/// a network through the host's bridge (a veth plugged into it), or into
/// another container's namespace (not one an ordinary user may join).
fn refuse_what_needs_root(network: &Network, limits: &Limits) -> Result<()> {
    if *limits != Limits::default() && !has_delegated_cgroups() {
        bail!(Failure::new(
            USAGE,
            "--memory, --cpus, --cpu-shares and --pids-limit need root, or a cgroup v2 subtree delegated to you (systemd's user@.service): bocker has no cgroup to write (run as root, or without limits)"
        ));
    }
    let mode = match network {
        // The host's network: nothing to make (chapter 3's sysfs is the
        // host's /sys, bound: process/host_devices.rs).
        Network::None | Network::Host | Network::Pasta => return Ok(()),
        Network::Bridge => "bridge",
        Network::Container(_) => "container:…",
    };
    bail!(Failure::new(
        USAGE,
        format!(
            "--net {mode}: without root bocker gives containers --net none, host or pasta only"
        )
    ))
}

/// Without root: is a cgroup v2 subtree delegated to us (chapter 4's
/// cgroups, runtime/cgroup/mod.rs)?
#[cfg(feature = "stage4")]
fn has_delegated_cgroups() -> bool {
    crate::runtime::cgroup::delegated_root().is_some()
}

#[cfg(not(feature = "stage4"))]
fn has_delegated_cgroups() -> bool {
    false
}

/// The network a container gets without `--net`: from chapter 5 the
/// bridge, unless BOCKER_BRIDGE=none turns it off; before, none.
#[cfg_attr(not(feature = "stage2"), allow(dead_code))]
fn default_network() -> Network {
    if cfg!(feature = "stage5")
        && std::env::var("BOCKER_BRIDGE").as_deref() != Ok("none")
        && !crate::runtime::userns::rootless()
    {
        Network::Bridge
    } else {
        Network::None
    }
}

/// `run`'s limits: the flags, or Bocker's environment variables.
#[cfg(feature = "stage4")]
fn run_limits(args: &RunArgs) -> Result<Limits> {
    limits(&args.limits, true)
}

/// Before chapter 4 there are no cgroups, so no limits.
#[cfg(not(feature = "stage4"))]
fn run_limits(_: &RunArgs) -> Result<Limits> {
    Ok(Limits::default())
}

/// The limits given as flags. With `bockers_variables`, Bocker's own
/// knobs count too where no flag is given (a flag wins over a variable):
/// BOCKER_MEM_LIMIT in megabytes (Bocker multiplies by 1,000,000) and
/// BOCKER_CPU_SHARE in cpu.shares units.
#[cfg(feature = "stage4")]
pub fn limits(flags: &crate::cli::LimitArgs, bockers_variables: bool) -> Result<Limits> {
    use crate::spec::limits::{parse_cpu_shares, parse_cpus, parse_memory, parse_pids};
    let variable = |name: &str| {
        bockers_variables
            .then(|| std::env::var(name).ok())
            .flatten()
            .filter(|v| !v.is_empty())
    };
    let memory = match (&flags.memory, variable("BOCKER_MEM_LIMIT")) {
        (Some(flag), _) => Some(parse_memory(flag)?),
        (None, Some(megabytes)) => Some(
            megabytes
                .parse::<u64>()
                .ok()
                .and_then(|mb| mb.checked_mul(1_000_000))
                .filter(|bytes| *bytes >= crate::spec::limits::MIN_MEMORY)
                .ok_or_else(|| {
                    Failure::new(
                        USAGE,
                        format!(
                            "invalid BOCKER_MEM_LIMIT '{megabytes}': expected megabytes, 7 or more"
                        ),
                    )
                })?,
        ),
        (None, None) => None,
    };
    let cpu_shares = match (&flags.cpu_shares, variable("BOCKER_CPU_SHARE")) {
        (Some(flag), _) => Some(parse_cpu_shares(flag)?),
        (None, Some(shares)) => Some(parse_cpu_shares(&shares)?),
        (None, None) => None,
    };
    Ok(Limits {
        memory,
        cpus: flags.cpus.as_deref().map(parse_cpus).transpose()?,
        cpu_shares,
        pids: flags.pids_limit.as_deref().map(parse_pids).transpose()?,
    })
}

/// The flags of chapter 2.
struct NamespaceFlags {
    hostname: Option<String>,
    network: Network,
    detach: bool,
    init: bool,
}

#[cfg(feature = "stage2")]
fn namespace_flags(args: &RunArgs) -> Result<NamespaceFlags> {
    let flags = &args.namespaces;
    if let Some(hostname) = &flags.hostname {
        check_hostname(hostname)?;
    }
    Ok(NamespaceFlags {
        hostname: flags.hostname.clone(),
        network: flags.net.clone().unwrap_or_else(default_network),
        detach: flags.detach,
        init: flags.init,
    })
}

/// Before chapter 2 there are no namespaces: the host's network, no init.
#[cfg(not(feature = "stage2"))]
fn namespace_flags(_: &RunArgs) -> Result<NamespaceFlags> {
    Ok(NamespaceFlags {
        hostname: None,
        network: Network::Host,
        detach: false,
        init: false,
    })
}

/// A command must name a program: `run IMG ""` and `run IMG " "` are
/// mistakes, not programs called "" or " ".
pub fn check_command(words: &[String]) -> Result<()> {
    match words.first() {
        Some(first) if !first.trim().is_empty() => Ok(()),
        _ => bail!(Failure::new(
            USAGE,
            "the command is empty: give a program to run, as in `bocker run IMAGE sh -c 'echo hi'`"
        )),
    }
}

/// The kernel allows up to 64 bytes (HOST_NAME_MAX); we also keep to the
/// characters a DNS name may use.
#[cfg_attr(not(feature = "stage2"), allow(dead_code))]
pub fn check_hostname(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        bail!(Failure::new(
            USAGE,
            format!("invalid hostname '{name}': use up to 64 letters, digits, '-' and '.'")
        ));
    }
    Ok(())
}

/// Names follow Docker's rule and must not look like an id. (Whether the
/// name is free is decided when it is claimed, see state/names.rs.)
pub fn check_name(name: &str) -> Result<()> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid
        || ids::looks_like(ids::CONTAINER_PREFIX, name)
        || ids::looks_like(ids::IMAGE_PREFIX, name)
    {
        bail!(Failure::new(USAGE, format!("invalid container name '{name}': use letters, digits, '_', '.' and '-', and do not start with img_ or ps_")));
    }
    Ok(())
}

/// `-e KEY=VALUE` → (KEY, VALUE).
pub fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value))
                if !key.is_empty() && !key.contains('\0') && !value.contains('\0') =>
            {
                Ok((key.to_string(), value.to_string()))
            }
            _ => bail!(Failure::new(
                USAGE,
                format!("invalid -e '{pair}': expected KEY=VALUE")
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn empty_and_blank_commands_are_usage_errors() {
        for bad in [&[][..], &[""], &[" "], &["\t", "x"]] {
            let error = check_command(&words(bad)).unwrap_err();
            assert_eq!(crate::errors::exit_code(&error), USAGE, "{bad:?}");
        }
        assert!(check_command(&words(&["true"])).is_ok());
        assert!(check_command(&words(&["echo hi"])).is_ok());
    }

    #[test]
    fn names_follow_dockers_rule_and_never_look_like_ids() {
        for good in ["web", "web-1", "a.b_c", "9lives"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-web",
            ".hidden",
            "a/b",
            "two words",
            "ps_0123",
            "img_abc",
            "é",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostnames_are_dns_like_and_at_most_64_bytes() {
        assert!(check_hostname("box-1.example").is_ok());
        assert!(check_hostname(&"a".repeat(64)).is_ok());
        for bad in ["", "bad name!", "new\nline", &"a".repeat(65)] {
            assert!(check_hostname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_env(&words(&["A=1", "B=x=y", "C="])).unwrap(),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x=y".to_string()),
                ("C".to_string(), String::new())
            ]
        );
        for bad in ["NOEQUALS", "=value"] {
            assert!(parse_env(&words(&[bad])).is_err(), "{bad}");
        }
    }
}
