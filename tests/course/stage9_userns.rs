//! Chapter 9 — without root: the user namespace's maps. Run with
//! `cargo test --features stage9` (chapters 1 to 3 and 9, no root needed),
//! or this file's alone: `cargo test --features stage9 stage9_userns`.
//!
//! bocker runs as an ordinary user here. Run by one, the tests run bocker
//! as you, with your own subordinate ids from /etc/subuid and /etc/subgid
//! (Debian's `adduser` gives every user 65536 of them). Run as root, they
//! play uid 4242: bocker starts in a mount namespace of its own where
//! /etc/passwd, /etc/subuid and /etc/subgid are the test's files, bound
//! over the host's, which stay as they were.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::played::{PlayedUser, PLAYED_ID};
use crate::support::{self, describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(9);

/// /etc/subuid and /etc/subgid for uid 4242, when the tests play it: the
/// first line that names the user is theirs. The others are what a wrong
/// reading would take: a longer name that starts with theirs, a shorter
/// one that theirs starts with, and a second line of theirs.
const LISTING: &str = "\
bocker-nineteen:100000:65536
bocker-nin:200000:65536
bocker-nine:300000:65536
bocker-nine:500000:65536
";

/// Who runs bocker in a test: you, or uid 4242 (see the module's comment).
struct Player<'a> {
    env: &'a TestEnv,
    /// When the tests run as root: uid 4242, with LISTING's ids.
    played: Option<PlayedUser<'a>>,
}

impl<'a> Player<'a> {
    fn new(env: &'a TestEnv) -> Player<'a> {
        let played = support::is_root().then(|| PlayedUser::with_subordinate_ids(env, LISTING));
        Player { env, played }
    }

    /// The player's uid and gid.
    fn ids(&self) -> (u32, u32) {
        match self.played {
            Some(_) => (PLAYED_ID, PLAYED_ID),
            None => (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            ),
        }
    }

    /// The subordinate uids and gids the player has: (START, COUNT) of the
    /// first line of /etc/subuid and /etc/subgid that names them.
    fn subordinate_ids(&self) -> ((u32, u32), (u32, u32)) {
        if self.played.is_some() {
            return ((300000, 65536), (300000, 65536));
        }
        let (uid, gid) = self.ids();
        let name = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(|user| user.name)
            .unwrap_or_default();
        let first = |file: &str, id: u32| {
            let listing = fs::read_to_string(file).unwrap_or_default();
            listing
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    match fields[..] {
                        [owner, start, count] if owner == name || owner == id.to_string() => {
                            Some((start.parse().ok()?, count.parse().ok()?))
                        }
                        _ => None,
                    }
                })
                .next()
                .unwrap_or_else(|| panic!("{file} gives you ({name}, id {id}) no subordinate ids: chapter 9's tests need some. Ask your teacher for a line such as `{name}:100000:65536` (usermod --add-subuids / --add-subgids)"))
        };
        (first("/etc/subuid", uid), first("/etc/subgid", gid))
    }

    fn bocker(&self) -> Command {
        match &self.played {
            Some(user) => user.bocker(),
            None => {
                let mut command = self.env.bocker();
                command.env_remove("BOCKER_STORAGE");
                command
            }
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.bocker()
            .args(args)
            .output()
            .expect("cannot start bocker")
    }

    #[track_caller]
    fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bocker {} as uid {}: {}\n{HINT}",
            args.join(" "),
            self.ids().0,
            describe(&out)
        );
        text(&out.stdout)
    }

    /// An image of the busybox tree, the player's.
    fn image(&self) -> String {
        match &self.played {
            Some(user) => user.image(),
            None => self.env.busybox_image(),
        }
    }

    /// Where the player's container `id` has its files.
    fn rootfs_of(&self, id: &str) -> PathBuf {
        let state = match &self.played {
            Some(user) => user.state(),
            None => self.env.root(),
        };
        state.join("containers").join(id).join("rootfs")
    }
}

/// The lines of a uid_map or gid_map, each as its three numbers.
fn map_lines(map: &str) -> Vec<[u32; 3]> {
    map.lines()
        .map(|line| {
            let numbers: Vec<u32> = line
                .split_whitespace()
                .map(|n| n.parse().expect("a map holds numbers"))
                .collect();
            numbers.try_into().expect("a map's line has three numbers")
        })
        .collect()
}

#[test]
fn root_inside_is_you_and_ids_from_1_are_your_subordinate_ids() {
    let _idea = idea("with subordinate ids, the maps written by newuidmap and newgidmap make root inside you, and ids 1 to COUNT inside the first range /etc/subuid and /etc/subgid give you (by name, whole: not a name that starts with yours)");
    let env = TestEnv::new();
    let player = Player::new(&env);
    let image = player.image();
    let (uid, gid) = player.ids();
    let ((uid_start, uid_count), (gid_start, gid_count)) = player.subordinate_ids();
    let out = player.run_ok(&[
        "run",
        "--rm",
        &image,
        "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map",
    ]);
    let (uid_map, gid_map) = out.split_once("--\n").expect("both maps printed");
    assert_eq!(
        map_lines(uid_map),
        [[0, uid, 1], [1, uid_start, uid_count]],
        "the container's uid_map: root inside should be uid {uid}, and 1 to {uid_count} inside {uid_start} on\n{out}"
    );
    assert_eq!(
        map_lines(gid_map),
        [[0, gid, 1], [1, gid_start, gid_count]],
        "the container's gid_map: root inside should be gid {gid}, and 1 to {gid_count} inside {gid_start} on\n{out}"
    );
    env.assert_no_leaks();
}

#[test]
fn without_the_helpers_one_id_is_mapped_and_setgroups_denied() {
    let _idea = idea("without newuidmap and newgidmap bocker writes the maps itself, from outside: setgroups `deny` first, then one line each, root inside is you");
    let env = TestEnv::new();
    let player = Player::new(&env);
    let image = player.image();
    let (uid, gid) = player.ids();
    // No helpers where bocker looks for them: the one-id way.
    let out = player
        .bocker()
        .env("PATH", "/nonexistent")
        .args([
            "run",
            "--rm",
            &image,
            "cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "a run without the helpers failed: are setgroups, uid_map and gid_map of /proc/PID (the child's, not bocker's own) written in that order?\n{HINT}\n{}", describe(&out));
    let said = text(&out.stdout);
    let mut lines = said.lines();
    let maps: Vec<&str> = lines.by_ref().take(2).collect();
    assert_eq!(
        map_lines(&maps.join("\n")),
        [[0, uid, 1], [0, gid, 1]],
        "one line each: root inside is {uid}:{gid} outside\n{said}"
    );
    assert_eq!(
        lines.next(),
        Some("deny"),
        "/proc/self/setgroups inside should say deny\n{said}"
    );
    env.assert_no_leaks();
}

#[test]
fn with_ranges_users_inside_can_change_and_setgroups_stays_allowed() {
    let _idea = idea("with ranges the container has 65536 users: root inside may become `nobody` (start-stop-daemon -c), and setgroups stays allowed");
    let env = TestEnv::new();
    let player = Player::new(&env);
    let image = player.image();
    let out = player.run_ok(&[
        "run",
        "--rm",
        &image,
        "cat /proc/self/setgroups; start-stop-daemon -S -c nobody -x /usr/bin/id -- -u",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["allow", "65534"],
        "the helpers leave setgroups allowed, and nobody (65534) is mapped: a user change inside works\n{out}"
    );
    env.assert_no_leaks();
}

#[test]
fn what_a_user_inside_owns_belongs_to_a_subordinate_id_outside() {
    let _idea =
        idea("a file of uid 1000 inside belongs to START + 999 outside; root's files are yours");
    let env = TestEnv::new();
    let player = Player::new(&env);
    let image = player.image();
    let (uid, gid) = player.ids();
    let ((uid_start, _), (gid_start, _)) = player.subordinate_ids();
    let id = player
        .run_ok(&[
            "run",
            "-d",
            &image,
            "touch /by-root /by-1000 && chown 1000:1000 /by-1000 \
             && mkdir /home-1000 && touch /home-1000/f && chown -R 1000:1000 /home-1000 && sleep 1000",
        ])
        .trim()
        .to_string();
    let rootfs = player.rootfs_of(&id);
    let owner = |name: &str| {
        let path = rootfs.join(name);
        for _ in 0..100 {
            if let Ok(meta) = fs::metadata(&path) {
                if name == "by-root" || meta.uid() != uid {
                    return (meta.uid(), meta.gid());
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{} never appeared (or was never chowned)", path.display());
    };
    let (by_root, by_1000) = (owner("by-root"), owner("by-1000"));
    player.run_ok(&["stop", &id]);
    // A folder of uid 1000 inside is not yours to empty outside: rm
    // deletes it as root of a user namespace mapped like the container's.
    player.run_ok(&["rm", &id]);
    assert!(
        !rootfs.exists(),
        "rm leaves nothing of the container: {}",
        rootfs.display()
    );
    assert_eq!(
        by_root,
        (uid, gid),
        "a file root made inside is yours outside"
    );
    assert_eq!(
        by_1000,
        (uid_start + 999, gid_start + 999),
        "uid 1000 inside is the subordinate id START + 999 outside"
    );
    env.assert_no_leaks();
}
