//! Without root: the container in a user namespace whose root is you.
//!
//! A user namespace (Linux 3.8) numbers users and groups anew. Its first
//! process gets every capability *inside* it, over the namespaces it then
//! owns (the mount, PID, network… namespaces made with it): it may
//! chroot, mount proc and tmpfs, pivot_root, set a hostname. Outside, it
//! is still you, an ordinary user. The maps say which of your ids each id
//! inside is: here one line, `0 UID 1`, "root inside is UID outside".
//!
//! ```text
//!   bocker (uid 1000) ── clone(CLONE_NEWUSER | CLONE_NEWPID | …) ──▶ child
//!     /proc/PID/setgroups ◀─ "deny"                                  (waits for "go")
//!     /proc/PID/uid_map   ◀─ "0 1000 1"
//!     /proc/PID/gid_map   ◀─ "0 1000 1"
//!     "go" ─────────────────────────────────────────────────────────▶ uid 0 inside
//! ```
//!
//! An ordinary user may write such a one-line map, of their own id, for a
//! namespace they made; first they must give up setgroups(2) in it
//! (`deny`), or root inside could drop a group that a file's permissions
//! deny them (CVE-2014-8989). Ranges of other ids (/etc/subuid) need the
//! set-user-ID helpers newuidmap and newgidmap: chapter 9 (`maps`, your
//! exercise then) writes the maps that way, with the user's subordinate
//! ids. Before it one id is enough for what the chapters run.
//!
//! This is the frame's given code, so that chapters 1 to 3 can be worked
//! without root. What root inside may not do shows where it matters: make
//! device nodes (process/host_devices.rs binds the host's instead), write
//! the host's cgroups, or plug a veth into the host's bridge.

use std::fs;
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use nix::unistd::Pid;

pub use crate::spec::privileges::{in_user_namespace, rootless};

/// Chapter 9: the maps, with the user's subordinate ids where they have
/// some.
#[cfg(feature = "stage9")]
#[cfg_attr(not(feature = "solved9"), path = "../../chapters/09-userns/userns.rs")]
#[cfg_attr(feature = "solved9", path = "../../solutions/09-userns/userns.rs")]
pub mod maps;

/// From outside, for the child `pid` in a new user namespace: deny
/// setgroups, then map root inside to our own uid and gid.
#[cfg(not(feature = "stage9"))]
pub fn map_to_ourselves(pid: Pid) -> Result<()> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    write_maps(&format!("/proc/{pid}"), uid, gid)
}

/// From chapter 9, from outside, for the child `pid` in a new user
/// namespace: root inside is us; with subordinate ids in /etc/subuid and
/// /etc/subgid (and the helpers installed), ids 1 to COUNT inside are
/// those. Without, one id, as before chapter 9.
#[cfg(feature = "stage9")]
pub fn map_to_ourselves(pid: Pid) -> Result<()> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    match our_subordinate_ids() {
        Some((sub_uids, sub_gids)) => maps::run_map_helpers(
            pid,
            &maps::container_map(uid.as_raw(), Some(sub_uids)),
            &maps::container_map(gid.as_raw(), Some(sub_gids)),
        ),
        None => maps::write_single_id_maps(pid, uid.as_raw(), gid.as_raw()),
    }
}

/// Does a rootless container get more ids than ours (chapter 9's ranges)?
/// Then files in it may belong to ids other than ours (runtime/mapped_root.rs).
pub fn maps_subordinate_ids() -> bool {
    #[cfg(feature = "stage9")]
    return our_subordinate_ids().is_some();
    #[cfg(not(feature = "stage9"))]
    false
}

/// Our subordinate uids and gids, (START, COUNT) each, when a container
/// can be given them: both listed in /etc/subuid and /etc/subgid, the
/// helpers installed, and bocker not itself in a user namespace (a
/// set-user-ID program gets root's powers only where root is mapped, and
/// in an ordinary user's namespace it is not: newuidmap could not write
/// the map).
#[cfg(feature = "stage9")]
fn our_subordinate_ids() -> Option<((u32, u32), (u32, u32))> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|user| user.name)
        .unwrap_or_default();
    let subordinate = |file: &str, id: u32| {
        let listing = fs::read_to_string(file).unwrap_or_default();
        maps::subordinate_ids(&listing, &name, id)
    };
    let nested = in_user_namespace();
    if nested || !helpers_installed() {
        return None;
    }
    Some((
        subordinate("/etc/subuid", uid.as_raw())?,
        subordinate("/etc/subgid", gid.as_raw())?,
    ))
}

/// Are newuidmap and newgidmap (Debian's uidmap) where they are looked for?
#[cfg(feature = "stage9")]
fn helpers_installed() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    ["newuidmap", "newgidmap"]
        .iter()
        .all(|helper| std::env::split_paths(&path).any(|dir| dir.join(helper).is_file()))
}

/// Before chapter 2 (chapter 1's fork): this very process moves into a
/// new user namespace (unshare(2)) and maps itself. Its ids are read
/// before: inside, until the maps exist, it is "nobody" (65534).
pub fn enter_one_of_my_own() -> Result<()> {
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .context("unshare(CLONE_NEWUSER) failed")?;
    write_maps("/proc/self", uid, gid)
}

fn write_maps(process: &str, uid: nix::unistd::Uid, gid: nix::unistd::Gid) -> Result<()> {
    for (file, text) in [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("0 {uid} 1")),
        ("gid_map", format!("0 {gid} 1")),
    ] {
        let path = format!("{process}/{file}");
        fs::write(&path, text).with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}

/// Delete a container's directory `dir` (its files, its record). As
/// root, or when the user owns every file, plainly. Without root, from
/// chapter 9 on, a user inside may have made files of subordinate ids
/// (`chown 1000 …`): a folder of such an id is not the user's to empty.
/// Root in a user namespace mapped like the container's may: its
/// CAP_DAC_OVERRIDE counts for every file whose owner is mapped there
/// (runtime/mapped_root.rs).
pub fn delete_tree(dir: &std::path::Path) -> Result<()> {
    match crate::state::store::delete_tree(dir) {
        Err(plainly) if rootless() && dir.exists() => delete_as_mapped_root(dir).context(plainly),
        result => result,
    }
}

fn delete_as_mapped_root(dir: &std::path::Path) -> Result<()> {
    super::mapped_root::in_a_mapped_child(|| Ok(fs::remove_dir_all(dir)?)).with_context(|| {
        let shown = dir.display();
        format!("cannot delete {shown} even as root of a user namespace with your subordinate ids")
    })
}

/// In the container, rootless with `--net none`: bring `lo` up. (Root's
/// bocker does it from outside over netlink, chapter 5; an ordinary user
/// may not enter the container's network namespace from outside, but the
/// container's root may change it from inside.) The ioctl way, as
/// `ifconfig lo up` does: read the flags, add IFF_UP, write them back.
pub fn bring_up_loopback() -> Result<()> {
    let socket = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("cannot open a socket to bring lo up")?;
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write `request`, which
    // lives through both calls.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(std::io::Error::last_os_error()).context("cannot read lo's flags");
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(std::io::Error::last_os_error()).context("cannot bring lo up");
        }
    }
    Ok(())
}
