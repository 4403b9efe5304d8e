//! The ordinary user the tests play when they run as root: uid 4242, no
//! sudo, a home and a bocker state folder of their own in the test's
//! folder.
//!
//! Two kinds. [`PlayedUser::new`]: no name and no subordinate ids, so
//! their containers map one id (before chapter 9, or a user the teacher
//! gave no ranges). [`PlayedUser::with_subordinate_ids`]: called
//! `bocker-nine` in an /etc/passwd of the test's, with /etc/subuid and
//! /etc/subgid of the test's. Those three files are bound over the host's
//! in a mount namespace of bocker's own, made between fork and exec: the
//! host's files never change, and nothing is left to unmount, even when
//! the test fails.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{describe, private_mount_namespace, TestEnv};

/// The user's uid and gid.
pub const PLAYED_ID: u32 = 4242;
/// Their name, for the kind with subordinate ids.
pub const PLAYED_NAME: &str = "bocker-nine";

pub struct PlayedUser<'a> {
    env: &'a TestEnv,
    home: PathBuf,
    /// For the kind with subordinate ids: the files bound over /etc's,
    /// (the test's file, the host's path).
    etc_files: Vec<(CString, CString)>,
}

impl<'a> PlayedUser<'a> {
    /// Uid 4242 with no name: no subordinate ids.
    pub fn new(env: &'a TestEnv) -> PlayedUser<'a> {
        // The user passes through the test's folder (as through /home) to
        // a home of theirs.
        fs::set_permissions(env.dir(), fs::Permissions::from_mode(0o711)).unwrap();
        let home = env.dir().join("home-4242");
        fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(PLAYED_ID), Some(PLAYED_ID)).unwrap();
        PlayedUser {
            env,
            home,
            etc_files: Vec::new(),
        }
    }

    /// `bocker-nine` (uid 4242), whose /etc/subuid and /etc/subgid are
    /// `listing`.
    pub fn with_subordinate_ids(env: &'a TestEnv, listing: &str) -> PlayedUser<'a> {
        let mut user = PlayedUser::new(env);
        let passwd = fs::read_to_string("/etc/passwd").unwrap()
            + &format!("{PLAYED_NAME}:x:{PLAYED_ID}:{PLAYED_ID}::/nonexistent:/usr/sbin/nologin\n");
        let (passwd_file, subids_file) = (env.dir().join("passwd"), env.dir().join("subids"));
        fs::write(&passwd_file, passwd).unwrap();
        fs::write(&subids_file, listing).unwrap();
        let c_path = |path: &Path| CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        user.etc_files = vec![
            (c_path(&passwd_file), c"/etc/passwd".into()),
            (c_path(&subids_file), c"/etc/subuid".into()),
            (c_path(&subids_file), c"/etc/subgid".into()),
        ];
        user
    }

    /// Where this user's bocker keeps images and containers.
    pub fn state(&self) -> PathBuf {
        self.home.join("state")
    }

    /// bocker, started as the user.
    pub fn bocker(&self) -> Command {
        let mut command = self.command_with_the_users_environment(self.env.bocker().get_program());
        let etc_files = self.etc_files.clone();
        // SAFETY: between fork and execve the closure calls only
        // async-signal-safe functions (unshare, mount, setgroups,
        // setresgid, setresuid) on strings made before the fork.
        unsafe {
            command.pre_exec(move || {
                if !etc_files.is_empty() {
                    private_mount_namespace()?;
                    for (source, target) in &etc_files {
                        bind(source, target)?;
                    }
                }
                become_user(PLAYED_ID)
            })
        };
        command
    }

    /// `program` (bocker, or a wrapper that starts it) with this user's
    /// bocker environment, still run as root: for a test that must do
    /// something as root first (a namespace, a cgroup), then become the
    /// user itself.
    pub fn command_with_the_users_environment(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
    ) -> Command {
        let mut command = Command::new(program);
        for (key, value) in self.env.bocker().get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
            .env("BOCKER_ROOT", self.state())
            .env("HOME", &self.home)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env_remove("BOCKER_STORAGE");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.bocker()
            .args(args)
            .output()
            .expect("cannot start bocker")
    }

    #[track_caller]
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bocker {} as uid {PLAYED_ID}: {}",
            args.join(" "),
            describe(&out)
        );
        out
    }

    /// An image of the busybox tree, `init` from a copy of the user's own
    /// (root's sits under /root, 0700: not for them to read).
    pub fn image(&self) -> String {
        let tree = super::busybox_tree_for(self.env, &self.home, PLAYED_ID);
        let out = self.run_ok(&["init", tree.to_str().unwrap()]);
        super::text(&out.stdout)
            .trim()
            .trim_start_matches("Created: ")
            .to_string()
    }
}

/// Between fork and exec: bind `source` over `target`.
///
/// # Safety
/// Only async-signal-safe calls: for a `pre_exec` closure.
unsafe fn bind(source: &CString, target: &CString) -> std::io::Result<()> {
    let bound = libc::mount(
        source.as_ptr(),
        target.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND,
        std::ptr::null(),
    );
    if bound != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Between fork and exec, as root: become `id` (uid and gid), with no
/// supplementary groups. Groups first: setresuid takes the right to change
/// them.
///
/// # Safety
/// Only async-signal-safe calls: for a `pre_exec` closure.
pub unsafe fn become_user(id: u32) -> std::io::Result<()> {
    if libc::setgroups(0, std::ptr::null()) != 0
        || libc::setresgid(id, id, id) != 0
        || libc::setresuid(id, id, id) != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
