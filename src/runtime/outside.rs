//! Setting the container up from the outside.
//!
//! Some things cannot be done by the child itself, or must be done before
//! its command runs a single instruction: making its cgroup (chapter 4: the
//! child joins it right after "go", so its command never runs unconfined,
//! even for a moment) and plugging in its network (chapter 5: one end of a
//! cable in the container's network namespace, the other on the host's
//! bridge). The parent does them here, while the child waits for "go" in
//! its new namespaces.
//!
//! Whatever a step makes on the host is named after the container's id,
//! so that teardown.rs can undo it knowing nothing but that id: after a
//! crash, nothing else is left to go by.

use anyhow::Result;
use nix::unistd::Pid;

use super::ContainerConfig;

/// Set up the child `pid` of container `config.id` before it may go on.
/// On error the caller kills the child and runs the teardown.
pub fn set_up(config: &ContainerConfig, pid: Pid) -> Result<()> {
    // Without root: map the container's root to the user, first (the
    // child waits for "go" before it does anything as root).
    #[cfg(feature = "stage2")]
    if config.rootless {
        super::userns::map_to_ourselves(pid)?;
    }
    // Chapter 4: a cgroup of its own, with its limits. (Without root
    // there is none: `run` refused limits.)
    #[cfg(feature = "stage4")]
    if !config.rootless {
        use super::cgroup;
        cgroup::prepare_parent()?;
        // Your part one makes the directory and writes the memory limit,
        // then your part two's cgroups-rs the other limits (cgroup/mod.rs).
        // Each error names its cgroup; an unfinished exercise is its
        // one-line report alone.
        cgroup::create(&config.id, &config.limits)?;
        // Chapter 8: which devices it may open (v1; before it runs).
        #[cfg(feature = "stage8")]
        if config.profile.devices_limited && cgroup::controls_devices() {
            cgroup::restrict_devices(&config.id)?;
        }
        // The child joins the cgroup itself, first thing after "go" (see
        // child.rs): cheaper than moving it from here.
    }
    // Without root, limits go in the cgroup v2 subtree delegated to the
    // user (`run` refused them where there is none). The child, root of
    // its own user namespace, is moved from here, before "go".
    #[cfg(feature = "stage4")]
    if config.rootless && config.limits != crate::spec::Limits::default() {
        use super::cgroup;
        cgroup::prepare_parent()?;
        cgroup::create(&config.id, &config.limits)?;
        cgroup::move_process_at(&cgroup::path_of(&config.id), pid.as_raw())?;
    }
    // Chapter 5: the network (lo; with --net bridge a veth pair, an
    // address, a route and published ports).
    // (Without root: `--net none` or `host`, where the child brings its lo
    // up, or pasta, which connects the namespace from outside.)
    #[cfg(feature = "stage5")]
    if !config.rootless {
        super::network::set_up(config, pid)?;
    } else if config.network == crate::spec::Network::Pasta {
        let pid_file = config.rootfs.with_file_name("pasta.pid");
        super::network::pasta::connect(pid, &config.ports, &pid_file)?;
    }
    let _ = (config, pid);
    Ok(())
}
