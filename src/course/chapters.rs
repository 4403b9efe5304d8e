//! Where the chapters plug into the frame.
//!
//! Each chapter is one module. With feature `stageN` the module is compiled;
//! it is read from `chapters/` (your exercise) unless feature `solvedN` asks
//! for the reference in `solutions/`. The frame only calls a chapter's code
//! when that chapter's feature is on, so a chapter you have not reached yet
//! can never stop you.
//!
//! `path` is relative to this file's folder, `src/course/`.

/// Chapter 1: change the root directory with `chroot(2)`.
#[cfg(feature = "stage1")]
#[cfg_attr(not(feature = "solved1"), path = "../../chapters/01-chroot/chroot.rs")]
#[cfg_attr(feature = "solved1", path = "../../solutions/01-chroot/chroot.rs")]
pub mod chroot;

/// Chapter 2: new namespaces with `clone(2)`, joining them with `setns(2)`.
#[cfg(feature = "stage2")]
#[cfg_attr(
    not(feature = "solved2"),
    path = "../../chapters/02-namespaces/namespaces.rs"
)]
#[cfg_attr(
    feature = "solved2",
    path = "../../solutions/02-namespaces/namespaces.rs"
)]
pub mod namespaces;

/// Chapter 3: a private mount tree, `pivot_root(2)`, /proc, /dev, /sys, /tmp.
#[cfg(feature = "stage3")]
#[cfg_attr(not(feature = "solved3"), path = "../../chapters/03-mounts/mounts.rs")]
#[cfg_attr(feature = "solved3", path = "../../solutions/03-mounts/mounts.rs")]
pub mod mounts;

/// Chapter 4: cgroups, with the cgroups-rs crate: limits, the freezer,
/// killing a whole group.
#[cfg(feature = "stage4")]
#[cfg_attr(
    not(feature = "solved4"),
    path = "../../chapters/04-cgroups/cgroups.rs"
)]
#[cfg_attr(feature = "solved4", path = "../../solutions/04-cgroups/cgroups.rs")]
pub mod cgroups;

/// Chapter 5: a bridge, a veth pair, an address and a route, over netlink
/// with the rtnetlink crate.
#[cfg(feature = "stage5")]
#[cfg_attr(
    not(feature = "solved5"),
    path = "../../chapters/05-network/network.rs"
)]
#[cfg_attr(feature = "solved5", path = "../../solutions/05-network/network.rs")]
pub mod network;

/// Chapter 6: btrfs subvolumes and snapshots, with ioctl(2).
#[cfg(feature = "stage6")]
#[cfg_attr(not(feature = "solved6"), path = "../../chapters/06-btrfs/btrfs.rs")]
#[cfg_attr(feature = "solved6", path = "../../solutions/06-btrfs/btrfs.rs")]
pub mod btrfs;

/// Chapter 7: the registry protocol (manifests, platforms, blobs) and
/// layers with their whiteouts.
#[cfg(feature = "stage7")]
#[cfg_attr(
    not(feature = "solved7"),
    path = "../../chapters/07-registry/registry.rs"
)]
#[cfg_attr(feature = "solved7", path = "../../solutions/07-registry/registry.rs")]
pub mod registry;

/// Chapter 8: capabilities, no_new_privs, seccomp, masked paths.
#[cfg(feature = "stage8")]
#[cfg_attr(
    not(feature = "solved8"),
    path = "../../chapters/08-security/security.rs"
)]
#[cfg_attr(feature = "solved8", path = "../../solutions/08-security/security.rs")]
pub mod security;

/// Chapter functions that need no root, tested without it: `cargo test`
/// runs these as you, before any container starts.
#[cfg(all(test, feature = "stage1"))]
mod chapter_1_tests {
    use super::chroot::container_env;

    #[test]
    fn the_containers_environment_is_small_and_its_own() {
        let env = container_env("box");
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get("HOSTNAME"), Some("box"), "container_env: HOSTNAME");
        assert_eq!(get("HOME"), Some("/root"), "container_env: HOME");
        assert!(
            get("PATH").is_some_and(|path| path.split(':').any(|dir| dir == "/bin")),
            "container_env: PATH should list the usual directories, /bin among them"
        );
        let allowed = ["PATH", "HOME", "HOSTNAME", "TERM"];
        let extra: Vec<&str> = env
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k))
            .collect();
        assert!(
            extra.is_empty(),
            "container_env: only {allowed:?}, not the host's {extra:?}"
        );
    }
}

#[cfg(all(test, feature = "stage2"))]
mod chapter_2_tests {
    use nix::sched::CloneFlags;

    use super::namespaces::clone_flags;

    #[test]
    fn five_new_namespaces_or_four_with_the_hosts_network() {
        let four = CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWIPC;
        assert_eq!(
            clone_flags(true),
            four | CloneFlags::CLONE_NEWNET,
            "clone_flags(true): UTS, PID, mount, IPC and network"
        );
        assert_eq!(
            clone_flags(false),
            four,
            "clone_flags(false), for --net host: the same without CLONE_NEWNET"
        );
    }
}
