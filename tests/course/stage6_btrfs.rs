//! Chapter 6 — btrfs. Run with `cargo test --features stage6` (with the
//! frame's tests and the earlier chapters'), or this file's alone: `cargo
//! test --features stage6 stage6_btrfs`.
//!
//! Most tests keep their state root in one btrfs filesystem that the whole
//! test binary shares (a machine may have only eight loop devices); one
//! lets bocker make a btrfs file of its own, as it does for a state root
//! that is not on btrfs, and removes it with `bocker system reset`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use crate::support::{self, assert_success, describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(6);

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `bocker ARGS…`, which must succeed; its stdout.
#[track_caller]
fn bocker_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.bocker_ok(args, HINT).stdout)
}

/// What `btrfs subvolume show PATH` says: (field, value) pairs such as
/// ("UUID", "…"), ("Parent UUID", "…"), ("Flags", "readonly").
fn subvolume_show(path: &Path) -> Vec<(String, String)> {
    let out = Command::new("btrfs")
        .args(["subvolume", "show"])
        .arg(path)
        .output()
        .expect("cannot run btrfs (btrfs-progs)");
    assert!(
        out.status.success(),
        "{} should be a btrfs subvolume:\n{}",
        path.display(),
        describe(&out)
    );
    text(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(field, value)| (field.trim().to_string(), value.trim().to_string()))
        .collect()
}

fn field(show: &[(String, String)], name: &str) -> String {
    show.iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("`btrfs subvolume show` has no {name}: {show:?}"))
}

/// Whether `path` is the top directory of a subvolume: on btrfs, inode 256.
fn is_subvolume(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.ino() == 256)
}

#[test]
fn the_containers_root_is_a_writable_snapshot_of_its_read_only_image() {
    let _idea = idea(
        "an image is a read-only subvolume and a container's root a writable snapshot of it (SUBVOL_CREATE, SNAP_CREATE_V2 with and without BTRFS_SUBVOL_RDONLY)",
    );
    let env = TestEnv::with_btrfs();
    let image = env.busybox_image();
    let image_rootfs = env.image_rootfs(&image);
    assert!(
        is_subvolume(&image_rootfs),
        "the image's rootfs should be a subvolume: is create_subvolume using BTRFS_IOC_SUBVOL_CREATE?"
    );
    let image_show = subvolume_show(&image_rootfs);
    assert_eq!(
        field(&image_show, "Flags"),
        "readonly",
        "an image is a read-only snapshot: does snapshot pass BTRFS_SUBVOL_RDONLY when asked?"
    );
    assert!(
        fs::write(image_rootfs.join("root/planted"), "x").is_err(),
        "the image's files must not be writable"
    );

    let id = run_ok(&env, &["-d", &image, "sleep", "1000"])
        .trim()
        .to_string();
    let rootfs = env.container_rootfs(&id);
    assert!(
        is_subvolume(&rootfs),
        "the container's rootfs should be a subvolume"
    );
    let show = subvolume_show(&rootfs);
    assert_eq!(
        field(&show, "Parent UUID"),
        field(&image_show, "UUID"),
        "the container's rootfs should be a snapshot of its image"
    );
    assert_eq!(
        field(&show, "Flags"),
        "-",
        "a container's snapshot must be writable"
    );
    env.stop(&id);
    let out = run_ok(
        &env,
        &[&image, "echo written > /root/note && cat /root/note"],
    );
    assert_eq!(out, "written\n", "a container writes to its own files");
    env.assert_no_leaks();
}

#[test]
fn a_containers_writes_reach_neither_its_image_nor_another_container() {
    let _idea = idea(
        "a snapshot is a tree of its own: what a container writes or deletes stays in its snapshot",
    );
    let env = TestEnv::with_btrfs();
    let image = env.busybox_image();
    let passwd = fs::read_to_string(env.busybox_rootfs().join("etc/passwd")).unwrap();
    run_ok(
        &env,
        &[
            "--name",
            "writer",
            &image,
            "echo secret > /root/secret; echo 'eve:x:0:0::/:/bin/sh' >> /etc/passwd; rm /etc/group",
        ],
    );
    let image_rootfs = env.image_rootfs(&image);
    assert!(
        !image_rootfs.join("root/secret").exists(),
        "/root/secret reached the image"
    );
    assert_eq!(
        fs::read_to_string(image_rootfs.join("etc/passwd")).unwrap(),
        passwd,
        "/etc/passwd of the image changed"
    );
    assert!(
        image_rootfs.join("etc/group").exists(),
        "/etc/group was deleted from the image"
    );
    let other = run_ok(
        &env,
        &[
            &image,
            "cat /root/secret 2>&1; grep -c eve /etc/passwd; ls /etc/group",
        ],
    );
    assert_eq!(
        other, "cat: can't open '/root/secret': No such file or directory\n0\n/etc/group\n",
        "another container of the image must see the image's files, not the first one's"
    );
    env.assert_no_leaks();
}

#[test]
fn commit_replaces_the_image_and_its_new_containers_find_the_installed_program() {
    let _idea = idea(
        "commit makes a read-only snapshot of a container's subvolume, and new containers snapshot that",
    );
    let env = TestEnv::with_btrfs();
    let image = env.busybox_image();
    // Bocker's own test: install a program, commit, and `which` finds it.
    run_ok(
        &env,
        &[
            "--name",
            "installer",
            &image,
            "mkdir -p /usr/local/bin && printf '#!/bin/sh\\necho hello from greet\\n' > /usr/local/bin/greet && chmod +x /usr/local/bin/greet",
        ],
    );
    assert_eq!(
        run_ok(&env, &[&image, "which greet || echo none"]),
        "none\n",
        "before commit, the image has no greet"
    );
    let out = bocker_ok(&env, &["commit", "installer", &image]);
    assert_eq!(
        out,
        format!("Removed: {image}\nCreated: {image}\n"),
        "Bocker's lines"
    );
    assert_eq!(
        run_ok(&env, &[&image, "which greet && greet"]),
        "/usr/local/bin/greet\nhello from greet\n"
    );
    assert_eq!(
        field(&subvolume_show(&env.image_rootfs(&image)), "Flags"),
        "readonly",
        "a committed image is read-only too"
    );
    // Without an image: a new one.
    let out = bocker_ok(&env, &["commit", "installer"]);
    let new_image = out
        .trim()
        .strip_prefix("Created: ")
        .unwrap_or_else(|| panic!("`commit CONTAINER` should print `Created: img_…`, not {out:?}"))
        .to_string();
    assert_ne!(new_image, image);
    let images = bocker_ok(&env, &["images"]);
    assert!(
        images
            .lines()
            .any(|l| l.starts_with(&new_image) && l.contains("commit of ps_")),
        "{images}"
    );
    assert_eq!(run_ok(&env, &[&new_image, "greet"]), "hello from greet\n");
    env.assert_no_leaks();
}

#[test]
fn rm_deletes_subvolumes_and_keeps_the_image_of_a_removed_container() {
    let _idea = idea(
        "SNAP_DESTROY deletes a container's subvolume (and one made inside it) and a read-only image, sent to the right directory with the right name",
    );
    let env = TestEnv::with_btrfs();
    let image = env.busybox_image();
    let id = run_ok(&env, &["-d", &image, "sleep", "1000"])
        .trim()
        .to_string();
    let rootfs = env.container_rootfs(&id);
    // A subvolume inside the container's, as a container may make one
    // (`btrfs subvolume create /data`): the kernel refuses to delete a
    // subvolume that holds another.
    let nested = Command::new("btrfs")
        .args(["subvolume", "create"])
        .arg(rootfs.join("root/data"))
        .output()
        .unwrap();
    assert!(nested.status.success(), "{}", describe(&nested));
    fs::write(rootfs.join("root/data/file"), "kept in a nested subvolume").unwrap();
    env.stop(&id);
    bocker_ok(&env, &["rm", &id]);
    assert!(!rootfs.exists(), "rm left the container's subvolume behind");
    let image_rootfs = env.image_rootfs(&image);
    assert!(
        image_rootfs.join("bin/busybox").exists(),
        "removing a container must leave its image alone"
    );
    bocker_ok(&env, &["rm", &image]);
    assert!(
        !image_rootfs.exists(),
        "rm of an image should delete its (read-only) subvolume: does delete_subvolume use BTRFS_IOC_SNAP_DESTROY?"
    );
    let left = Command::new("btrfs")
        .args(["subvolume", "list", "-o"])
        .arg(support::shared_btrfs())
        .output()
        .unwrap();
    let ours = env
        .dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let listing = text(&left.stdout);
    assert!(
        !listing.lines().any(|l| l.contains(&ours)),
        "subvolumes of this test remain:\n{listing}"
    );
    env.assert_no_leaks();
}

/// `btrfs filesystem du -s --raw PATH`: (total, exclusive) bytes.
fn total_and_exclusive(path: &Path) -> (u64, u64) {
    let out = Command::new("btrfs")
        .args(["filesystem", "du", "-s", "--raw"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = text(&out.stdout);
    let numbers: Vec<u64> = stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [total, exclusive, ..] => (total, exclusive),
        _ => panic!("unexpected `btrfs filesystem du` output:\n{stdout}"),
    }
}

#[test]
fn a_new_snapshot_has_no_data_of_its_own_for_a_small_or_a_200_mb_image() {
    let _idea = idea(
        "a snapshot shares every block with its source: a new container has no data of its own, whatever the image's size",
    );
    let env = TestEnv::with_btrfs();
    let small = env.busybox_image();
    // The same files and 200 MB more, of real data (a sparse file would
    // hold no data at all).
    let big_dir = env.dir().join("big-rootfs");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(env.busybox_rootfs())
        .arg(&big_dir)
        .status()
        .unwrap();
    assert!(copied.success());
    let block: Vec<u8> = (0..1 << 20).map(|n: u32| (n % 251) as u8).collect();
    let mut data = Vec::with_capacity(200 << 20);
    for _ in 0..200 {
        data.extend_from_slice(&block);
    }
    fs::write(big_dir.join("root/data"), &data).unwrap();
    let big = env.init_image(&big_dir);
    for (image, at_least) in [(&small, 1 << 20), (&big, 200 << 20)] {
        let id = run_ok(&env, &["-d", image, "sleep", "1000"])
            .trim()
            .to_string();
        let (total, exclusive) = total_and_exclusive(&env.container_rootfs(&id));
        assert!(
            total >= at_least,
            "the container of {image} should see {at_least} bytes, not {total}"
        );
        assert_eq!(
            exclusive, 0,
            "a fresh snapshot of {image} shares all its {total} bytes with the image: was it copied?"
        );
        env.stop(&id);
    }
    env.assert_no_leaks();
}

#[test]
fn diff_lists_what_the_container_added_changed_and_deleted() {
    let _idea = idea(
        "a snapshot keeps its image's inodes, so bocker diff can tell what a container added, changed and deleted",
    );
    let env = TestEnv::with_btrfs();
    let image = env.busybox_image();
    run_ok(&env, &["--name", "fresh", &image, "true"]);
    assert_eq!(
        bocker_ok(&env, &["diff", "fresh"]),
        "",
        "a container that changed nothing has no diff (what bocker itself writes does not count)"
    );
    run_ok(
        &env,
        &[
            "--name",
            "busy",
            &image,
            "echo new > /root/new; echo more >> /etc/passwd; rm /etc/group; mkdir /root/dir; touch /root/dir/f; chmod 600 /etc/os-release",
        ],
    );
    assert_eq!(
        bocker_ok(&env, &["diff", "busy"]),
        "C /etc\nD /etc/group\nC /etc/os-release\nC /etc/passwd\nC /root\nA /root/dir\nA /root/dir/f\nA /root/new\n"
    );
    let missing = env.run_bocker(&["diff", "nobody"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
    env.assert_no_leaks();
}

#[test]
fn a_state_root_off_btrfs_gets_a_btrfs_file_once_and_system_reset_removes_it() {
    let _idea = idea(
        "a state folder off btrfs gets a btrfs in a file, on a loop device, once; system reset deletes the subvolumes and frees file and device",
    );
    let env = TestEnv::with_btrfs_file();
    let rootfs = env.busybox_rootfs();
    let first = env.bocker().arg("init").arg(&rootfs).output().unwrap();
    assert_success(&first, HINT);
    assert!(
        text(&first.stderr).contains("is not on btrfs"),
        "bocker should say it made a btrfs file:\n{}",
        describe(&first)
    );
    let image = text(&first.stdout)
        .trim()
        .trim_start_matches("Created: ")
        .to_string();
    let second = env.bocker().arg("init").arg(&rootfs).output().unwrap();
    assert!(
        second.status.success() && text(&second.stderr).is_empty(),
        "the btrfs file is made once, and said once:\n{}",
        describe(&second)
    );
    let file = env.root().join("btrfs.img");
    let backed_by_it = || {
        fs::read_dir("/sys/block")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
            .any(|e| {
                fs::read_to_string(e.path().join("loop/backing_file"))
                    .is_ok_and(|b| b.trim() == file.to_string_lossy())
            })
    };
    assert!(
        backed_by_it(),
        "a loop device should back {}",
        file.display()
    );
    let id = run_ok(&env, &["-d", &image, "sleep", "1000"])
        .trim()
        .to_string();
    assert!(
        is_subvolume(&env.container_rootfs(&id)),
        "the container's rootfs should be a snapshot"
    );

    let refused = env.run_bocker(&["system", "reset"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "without --force: {}",
        describe(&refused)
    );
    let running = env.run_bocker(&["system", "reset", "--force"]);
    assert!(
        !running.status.success() && text(&running.stderr).contains("is running"),
        "a running container stops the reset: {}",
        describe(&running)
    );
    env.stop(&id);
    let said = bocker_ok(&env, &["system", "reset", "--force"]);
    assert!(
        said.contains(&format!("Removed: {id}")) && said.contains(&format!("Removed: {image}")),
        "{said}"
    );
    assert!(
        !file.exists(),
        "system reset should delete {}",
        file.display()
    );
    assert!(
        !backed_by_it(),
        "the loop device should be detached after the reset"
    );
    env.assert_no_leaks();
}

#[test]
fn system_reset_deletes_the_bridge_it_made_and_no_other() {
    let _idea = idea(
        "system reset deletes the bridge this state folder made, and leaves a bridge that was there before",
    );
    let env = TestEnv::with_btrfs_and_network();
    let bridge_exists = |name: &str| {
        env.in_test_host(&["ip", "link", "show", "dev", name])
            .status
            .success()
    };
    let image = env.busybox_image();
    run_ok(&env, &[&image, "true"]);
    assert!(
        bridge_exists("bocker0"),
        "the first container makes bocker0"
    );
    let reset = env.bocker_ok(&["system", "reset", "--force"], HINT);
    assert!(
        text(&reset.stdout).contains("Removed: bridge bocker0"),
        "reset should say it removed the bridge:\n{}",
        describe(&reset)
    );
    assert!(
        !bridge_exists("bocker0"),
        "`system reset` should delete the bridge this state directory made, with its address and route"
    );

    // A bridge that was there before bocker used it is not bocker's to
    // delete.
    env.in_test_host_ok(&["ip", "link", "add", "name", "theirs", "type", "bridge"]);
    let image = env.busybox_image();
    let out = env
        .bocker()
        .env("BOCKER_BRIDGE", "theirs")
        .args(["run", &image, "true"])
        .output()
        .unwrap();
    assert_success(&out, HINT);
    let reset = env.bocker_ok(&["system", "reset", "--force"], HINT);
    assert!(
        bridge_exists("theirs"),
        "a bridge that existed before its first container must survive `system reset`:\n{}",
        describe(&reset)
    );
    env.assert_no_leaks();
}
