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
        // The kernel forgets the parent-death signal when a process
        // changes its user or group (commit_creds: a process must not
        // signal itself with the privileges it just gave up), so the
        // container would outlive its keeper. Ask again. (If the keeper
        // died in between, the next bocker command's sweep ends the
        // container through its cgroup.)
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
            .map_err(|e| failed(format!("cannot ask to die with bocker: {}", e.desc())))?;
    }
    Ok(())
}

/// `uid`, `uid:gid`, `name` or `name:group`, names read from the
/// container's /etc/passwd and /etc/group. Without a group: the user's
/// primary group, or 0 for a uid that /etc/passwd does not list.
pub fn resolve(user: &str) -> Result<(Uid, Gid), Failure> {
    let (who, group) = split_user(user);
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let account = find_account(&passwd, who);
    let uid: u32 = match who.parse() {
        Ok(number) => number,
        Err(_) => account
            .as_ref()
            .map(|a| a.uid)
            .ok_or_else(|| failed(format!("no user '{who}' in the image's /etc/passwd")))?,
    };
    let gid: u32 = match group {
        Some(group) => match group.parse() {
            Ok(number) => number,
            Err(_) => group_id(group)
                .ok_or_else(|| failed(format!("no group '{group}' in the image's /etc/group")))?,
        },
        None => account.map_or(0, |a| a.gid),
    };
    Ok((Uid::from_raw(uid), Gid::from_raw(gid)))
}

/// `name:group` → (`name`, Some(`group`)); `name` → (`name`, None).
pub fn split_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once(':') {
        Some((who, group)) => (who, Some(group)),
        None => (user, None),
    }
}

/// A line of /etc/passwd: `name:password:uid:gid:gecos:home:shell`.
#[derive(Debug, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// The account whose name, or uid, is `who`, in the text of a passwd file.
pub fn find_account(passwd: &str, who: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 6 || (fields[0] != who && fields[2] != who) {
            return None;
        }
        Some(Account {
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: fields[5].to_string(),
        })
    })
}

/// HOME for a process run as `user`: the home directory its /etc/passwd
/// line gives, or `/` for a user that has none (as runc does).
pub fn home_of(passwd: &str, user: &str) -> String {
    let (who, _) = split_user(user);
    find_account(passwd, who)
        .map(|account| account.home)
        .filter(|home| home.starts_with('/'))
        .unwrap_or_else(|| "/".to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                          app:x:1000:1001:An app:/home/app:/bin/sh\n\
                          short:x:7:7\n";

    #[test]
    fn an_account_is_found_by_name_or_by_uid() {
        let app = Some(Account {
            uid: 1000,
            gid: 1001,
            home: "/home/app".to_string(),
        });
        assert_eq!(find_account(PASSWD, "app"), app);
        assert_eq!(find_account(PASSWD, "1000"), app);
        assert_eq!(find_account(PASSWD, "nobody"), None);
        assert_eq!(find_account(PASSWD, "short"), None, "a line without a home");
    }

    #[test]
    fn home_comes_from_passwd_or_is_the_root_directory() {
        assert_eq!(home_of(PASSWD, "app"), "/home/app");
        assert_eq!(home_of(PASSWD, "app:0"), "/home/app");
        assert_eq!(home_of(PASSWD, "0"), "/root");
        assert_eq!(home_of(PASSWD, "4242:4242"), "/");
        assert_eq!(home_of("", "app"), "/");
    }
}
