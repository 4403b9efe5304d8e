//! Chapter 7: the directory and the user a pulled image asks for
//! (its config's WorkingDir and User), set in the child right before
//! execve, once it is inside the container's root.

use nix::unistd::{chdir, setgid, setgroups, setuid, Gid, Uid};

use crate::errors::{Failure, START_FAILED};

/// Enter the working directory (made if missing, as Docker does), then
/// become the user. In this order: after setuid we may no longer be
/// allowed to make the directory.
pub fn enter_workdir_and_become_user(
    workdir: Option<&str>,
    user: Option<&str>,
) -> Result<(), Failure> {
    if let Some(dir) = workdir {
        // The child has pivoted into the container's root: this path, and
        // any symlink on it, resolves inside the container.
        std::fs::create_dir_all(dir)
            .and_then(|()| chdir(dir).map_err(std::io::Error::from))
            .map_err(|e| failed(format!("cannot enter the working directory {dir}: {e}")))?;
    }
    if let Some(user) = user {
        let (uid, gid) = resolve(user)?;
        // Groups first, then the group, then the user: once we are not
        // root any more we cannot change the others.
        setgroups(&[gid])
            .and_then(|()| setgid(gid))
            .and_then(|()| setuid(uid))
            .map_err(|e| failed(format!("cannot become user {user}: {}", e.desc())))?;
    }
    Ok(())
}

/// `uid`, `uid:gid`, `name` or `name:group`, names read from the
/// container's /etc/passwd and /etc/group. Without a group: the user's
/// primary group, or 0 for a uid that /etc/passwd does not list.
fn resolve(user: &str) -> Result<(Uid, Gid), Failure> {
    let (who, group) = match user.split_once(':') {
        Some((who, group)) => (who, Some(group)),
        None => (user, None),
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    // name:password:uid:gid:gecos:home:shell
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() > 3 && (fields[0] == who || fields[2] == who));
    let uid: u32 = match who.parse() {
        Ok(number) => number,
        Err(_) => entry
            .as_ref()
            .and_then(|f| f[2].parse().ok())
            .ok_or_else(|| failed(format!("no user '{who}' in the image's /etc/passwd")))?,
    };
    let gid: u32 = match group {
        Some(group) => match group.parse() {
            Ok(number) => number,
            Err(_) => group_id(group)
                .ok_or_else(|| failed(format!("no group '{group}' in the image's /etc/group")))?,
        },
        None => entry.and_then(|f| f[3].parse().ok()).unwrap_or(0),
    };
    Ok((Uid::from_raw(uid), Gid::from_raw(gid)))
}

fn group_id(name: &str) -> Option<u32> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[0] == name).then(|| fields[2].parse().ok())?
    })
}

fn failed(message: String) -> Failure {
    Failure::new(START_FAILED, message)
}
