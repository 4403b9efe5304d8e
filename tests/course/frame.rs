//! Tests of the frame: the command line, the store, records, names, error
//! lines, and copying images. They pass at every stage, with any chapter
//! done or not: none of them needs a container to *work*. (Some start one;
//! before its chapter is done the start fails, and what they check holds
//! all the same.)

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::{self, assert_success, describe, idea, redacted, stage, text, Hint, TestEnv};

/// The frame's tests pass whatever the chapters hold: their failures point
/// at no exercise.
const HINT: Hint = Hint::NONE;

/// `--help` grows with the stages, so each stage has its own snapshot (and
/// the OCI verbs, after the last chapter, one more).
fn assert_help_snapshot(name: &str, out: &std::process::Output) {
    let oci = if cfg!(feature = "oci") { "-oci" } else { "" };
    insta::assert_snapshot!(format!("{name}@stage{}{oci}", stage()), text(&out.stdout));
}

#[test]
fn help_lists_the_verbs() {
    let _idea = idea(
        "`bocker --help` lists every verb this stage has (its snapshot grows with the stages)",
    );
    let env = TestEnv::new();
    assert_help_snapshot("help", &env.bocker_ok(&["--help"], HINT));
}

#[test]
fn run_help_lists_this_stages_flags() {
    let _idea = idea("`bocker run --help` lists the flags this stage's chapters have added");
    let env = TestEnv::new();
    assert_help_snapshot("run_help", &env.bocker_ok(&["run", "--help"], HINT));
}

#[test]
fn init_creates_an_image_listed_by_images() {
    let _idea =
        idea("`bocker init DIR` makes an image of a directory, and `bocker images` lists it");
    let env = TestEnv::new();
    let id = env.busybox_image();
    assert!(
        id.starts_with("img_"),
        "image id {id:?} should start with img_"
    );
    let listing = text(&env.bocker_ok(&["images"], HINT).stdout);
    assert!(
        listing.contains(&id),
        "`images` does not list {id}:\n{listing}"
    );
    redacted(&env).bind(|| insta::assert_snapshot!("images_table", listing));
}

#[test]
fn init_copies_modes_links_and_devices() {
    let _idea = idea("an image keeps its files' modes, owners, symlinks, hard links and device nodes as they were");
    let env = TestEnv::new();
    let rootfs = env.busybox_rootfs();
    // A setuid file, a hard link, a fifo and a device node: all must survive.
    std::fs::write(rootfs.join("bin/suid"), "x").unwrap();
    Command::new("chmod")
        .args(["4755"])
        .arg(rootfs.join("bin/suid"))
        .status()
        .unwrap();
    std::fs::hard_link(rootfs.join("bin/suid"), rootfs.join("bin/suid-link")).unwrap();
    // Only root may make a device node (and only root's init copies one).
    let devices = support::is_root();
    if devices {
        Command::new("mknod")
            .arg(rootfs.join("dev/null"))
            .args(["c", "1", "3"])
            .status()
            .unwrap();
    }
    Command::new("mkfifo")
        .arg(rootfs.join("tmp/fifo"))
        .status()
        .unwrap();
    let id = env.busybox_image();

    use std::os::unix::fs::FileTypeExt;
    let copy = env.root().join("images").join(&id).join("rootfs");
    let suid = std::fs::metadata(copy.join("bin/suid")).unwrap();
    assert_eq!(suid.mode() & 0o7777, 0o4755, "the setuid bit was lost");
    let link = std::fs::metadata(copy.join("bin/suid-link")).unwrap();
    assert_eq!(suid.ino(), link.ino(), "a hard link became two files");
    if devices {
        let null = std::fs::metadata(copy.join("dev/null")).unwrap();
        assert!(null.file_type().is_char_device() && null.rdev() == nix::sys::stat::makedev(1, 3));
    }
    assert!(std::fs::metadata(copy.join("tmp/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let sh = std::fs::read_link(copy.join("bin/sh")).unwrap();
    assert_eq!(
        sh.to_str(),
        Some("../bin/busybox"),
        "symlinks must be copied as links"
    );
    assert_eq!(
        std::fs::metadata(copy.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    let original = std::fs::metadata(rootfs.join("bin/busybox")).unwrap();
    let copied = std::fs::metadata(copy.join("bin/busybox")).unwrap();
    assert_eq!(
        (copied.mtime(), copied.mtime_nsec(), copied.len()),
        (original.mtime(), original.mtime_nsec(), original.len()),
        "the copy of bin/busybox should keep its size and modification time"
    );
}

#[test]
fn init_copies_what_it_opened_never_what_a_swapped_symlink_points_to() {
    let _idea = idea("init copies the file it opened: swapping a path for a symlink while it copies cannot make it read a host file");
    // Whoever can write the directory given to `init` can swap a file for a
    // symlink to a root-only host file at any moment. A copier that looks
    // (lstat: "a file") and then opens the path would copy the secret.
    let env = TestEnv::new();
    let secret = env.scratch().join("secret");
    std::fs::write(&secret, "THE-HOSTS-SECRET\n").unwrap();
    let source = env.dir().join("swapping");
    std::fs::create_dir(&source).unwrap();
    const SWAPPERS: usize = 40;
    for i in 0..SWAPPERS {
        std::fs::write(source.join(format!("file{i}")), "public\n").unwrap();
        std::os::unix::fs::symlink(&secret, source.join(format!("link{i}"))).unwrap();
    }
    // A thread swaps each file with its symlink, atomically, as fast as it
    // can, while `init` copies the directory again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, source) = (stop.clone(), source.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for i in 0..SWAPPERS {
                    let _ = nix::fcntl::renameat2(
                        nix::fcntl::AT_FDCWD,
                        &source.join(format!("file{i}")),
                        nix::fcntl::AT_FDCWD,
                        &source.join(format!("link{i}")),
                        nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                    );
                }
            }
        })
    };
    let mut copied = 0;
    let mut leaked = Vec::new();
    for _ in 0..40 {
        let out = env.bocker().arg("init").arg(&source).output().unwrap();
        if !out.status.success() {
            // Refusing is fine ("changed while it was being copied").
            continue;
        }
        copied += 1;
        let id = text(&out.stdout).trim().replace("Created: ", "");
        let image = env.root().join("images").join(&id).join("rootfs");
        for entry in std::fs::read_dir(&image).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_file()
                && std::fs::read_to_string(entry.path())
                    .unwrap()
                    .contains("SECRET")
            {
                leaked.push(format!("{id}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        leaked.is_empty(),
        "an image holds the content of a file outside the directory given to init: {leaked:?}\nThe copier must open entries with O_NOFOLLOW from directory descriptors and copy what it opened."
    );
    assert!(
        copied > 0,
        "init never succeeded while files were being swapped"
    );
}

#[test]
fn init_leaves_out_the_state_directory_and_other_filesystems() {
    let _idea = idea(
        "an image of / holds neither bocker's own state nor other filesystems mounted below it",
    );
    let env = TestEnv::new();
    let source = env.busybox_rootfs();
    // Something else mounted inside the directory (as /proc and /sys are
    // inside `/`): like `cp -x`, init keeps the empty mount point only.
    // The state directory inside the source (as with `init /`).
    let state = source.join("var/lib/bocker");
    let mut bocker = env.bocker();
    support::with_tmpfs_of_its_own(
        &mut bocker,
        &source.join("mnt/other"),
        "size=1m",
        Some("not-in-the-image"),
    );
    let out = bocker
        .arg("--root")
        .arg(&state)
        .arg("init")
        .arg(&source)
        .output()
        .unwrap();
    assert_success(&out, HINT);
    let id = text(&out.stdout).trim().replace("Created: ", "");
    let image = state.join("images").join(&id).join("rootfs");
    assert!(
        image.join("bin/busybox").is_file(),
        "the image misses its files"
    );
    assert!(
        image.join("mnt/other").is_dir()
            && std::fs::read_dir(image.join("mnt/other")).unwrap().count() == 0,
        "a filesystem mounted inside the source was copied into the image"
    );
    assert!(
        !image.join("var/lib/bocker").exists(),
        "init copied bocker's own state directory into the image"
    );
}

#[test]
fn init_of_a_missing_directory_fails_with_bockers_message() {
    let _idea = idea("a missing directory gets one line from bocker and a non-zero exit");
    let env = TestEnv::new();
    let out = env.run_bocker(&["init", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    insta::assert_snapshot!("init_missing_dir", text(&out.stderr));
}

#[test]
fn empty_ps_prints_only_the_header() {
    let _idea = idea("with no containers, `bocker ps` prints its header and nothing else");
    let env = TestEnv::new();
    env.busybox_image();
    let out = env.bocker_ok(&["ps"], HINT);
    // Chapter 5 adds a PORTS column.
    let name = if stage() >= 5 {
        "ps_empty_with_ports"
    } else {
        "ps_empty"
    };
    insta::assert_snapshot!(name, text(&out.stdout));
}

#[test]
fn run_with_an_unknown_image_fails_with_one_line() {
    let _idea =
        idea("running an image that is not in the store is one clear line and a non-zero exit");
    let env = TestEnv::new();
    let out = env.run_bocker(&["run", "img_000000000000", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    insta::assert_snapshot!("run_unknown_image", text(&out.stderr));
    assert!(
        env.container_ids().is_empty(),
        "a failed run left a container behind"
    );
}

#[test]
fn unknown_container_or_image_errors() {
    let _idea =
        idea("every verb that names a container or image that does not exist says so in one line");
    let env = TestEnv::new();
    env.busybox_image();
    let logs = env.run_bocker(&["logs", "ps_000000000000"]);
    assert_eq!(logs.status.code(), Some(1), "{}", describe(&logs));
    let rm = env.run_bocker(&["rm", "nothing-here"]);
    assert_eq!(rm.status.code(), Some(1), "{}", describe(&rm));
    insta::assert_snapshot!(
        "unknown_ids",
        format!("logs: {}rm: {}", text(&logs.stderr), text(&rm.stderr))
    );
}

#[test]
fn rm_removes_an_image() {
    let _idea = idea("`bocker rm` removes an image from the store and from `bocker images`");
    let env = TestEnv::new();
    let id = env.busybox_image();
    let out = env.bocker_ok(&["rm", &id], HINT);
    assert_eq!(text(&out.stdout), format!("Removed: {id}\n"));
    let listing = text(&env.run_bocker(&["images"]).stdout);
    assert!(
        !listing.contains(&id),
        "{id} is still listed after rm:\n{listing}"
    );
    assert!(
        !env.root().join("images").join(&id).exists(),
        "the image's files remain"
    );
}

#[test]
fn bad_command_lines_get_usage_errors_not_panics() {
    let _idea = idea("a bad command line gets a usage error, never a panic or a backtrace");
    let env = TestEnv::new();
    let image = env.busybox_image();
    for args in [
        &["run"][..],
        // No command: a usage error (from chapter 7, when the image names
        // no default command either, as an image made by init does not).
        &["run", &image],
        &["frobnicate"],
        &["rm"],
        &["run", "-e", "NOEQUALS", &image, "true"],
        &["run", &image, ""],
        &["run", &image, " "],
        &["run", "--name", "-bad", &image, "true"],
    ] {
        let out = env.run_bocker(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "bocker {args:?}: {}",
            describe(&out)
        );
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{}", describe(&out));
    }
    let empty = env.run_bocker(&["run", &image, ""]);
    assert_eq!(
        text(&empty.stderr).lines().count(),
        1,
        "{}",
        describe(&empty)
    );
    assert!(
        text(&empty.stderr).contains("the command is empty"),
        "{}",
        describe(&empty)
    );
    assert!(
        env.container_ids().is_empty(),
        "a rejected run left a container behind: {:?}",
        env.container_ids()
    );
}

#[cfg(feature = "stage2")]
#[test]
fn a_bad_hostname_is_refused_before_anything_is_made() {
    let _idea = idea(
        "a hostname the kernel would refuse is refused before any container, record or name exists",
    );
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.run_bocker(&["run", "--hostname", "bad name!", &image, "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let entries: Vec<_> = std::fs::read_dir(env.root().join("containers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        entries.is_empty(),
        "a rejected run left {entries:?} in containers/"
    );
}

#[test]
fn an_unusable_state_root_is_one_clear_line() {
    let _idea =
        idea("a state root that cannot be used (a file, no permission) is one line, not a panic");
    let env = TestEnv::new();
    let file = env.scratch().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = env
        .bocker()
        .arg("--root")
        .arg(file.join("sub"))
        .arg("init")
        .arg(env.busybox_rootfs())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(
        err.starts_with("bocker: cannot use state directory"),
        "{err}"
    );
}

#[test]
fn read_only_commands_on_a_missing_state_root_create_nothing() {
    let _idea = idea("ps, images, logs and rm on a missing state root say there is none (exit 1) and create nothing");
    let env = TestEnv::new();
    let missing = env.dir().join("mistyped-root");
    for verb in [&["ps"][..], &["images"], &["logs", "web"], &["rm", "web"]] {
        let out = env
            .bocker()
            .arg("--root")
            .arg(&missing)
            .args(verb)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{verb:?}: {}", describe(&out));
        let err = text(&out.stderr);
        assert_eq!(
            err.lines().count(),
            1,
            "{verb:?}: expected one line:\n{err}"
        );
        assert!(err.contains("no state directory at"), "{verb:?}: {err}");
        assert!(
            !missing.exists(),
            "`bocker {verb:?}` created {}",
            missing.display()
        );
    }
}

#[test]
fn a_state_root_whose_making_was_cut_short_is_finished_not_refused() {
    let _idea = idea("a bocker killed while it made the state root leaves it with names/ but no images/ or containers/: the next ps and images finish it and list nothing; a folder without names/ is not bocker's and stays refused");
    let env = TestEnv::new();
    let cut_short = env.dir().join("cut-short");
    std::fs::create_dir_all(cut_short.join("names")).unwrap();
    let not_ours = env.dir().join("not-ours");
    std::fs::create_dir(&not_ours).unwrap();
    for verb in ["ps", "images"] {
        let out = env
            .bocker()
            .arg("--root")
            .arg(&cut_short)
            .arg(verb)
            .output()
            .unwrap();
        assert!(out.status.success(), "{verb}: {}", describe(&out));
        assert_eq!(
            text(&out.stdout).lines().count(),
            1,
            "{verb}: only the header\n{}",
            describe(&out)
        );
        let out = env
            .bocker()
            .arg("--root")
            .arg(&not_ours)
            .arg(verb)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{verb}: {}", describe(&out));
    }
    assert!(
        cut_short.join("images").is_dir() && cut_short.join("containers").is_dir(),
        "the store was finished"
    );
    assert_eq!(
        std::fs::read_dir(&not_ours).unwrap().count(),
        0,
        "nothing made in a folder that is not bocker's"
    );
}

#[test]
fn a_closed_pipe_on_stdout_is_not_a_panic() {
    let _idea = idea(
        "`bocker ps | true` (stdout closed before bocker writes) ends quietly, without a panic",
    );
    let env = TestEnv::new();
    env.busybox_image();
    let bin = assert_cmd::cargo::cargo_bin("bocker");
    // `true` exits at once, so bocker writes its table into a closed pipe.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' images | true; '{}' ps | true",
            bin.display(),
            bin.display()
        ))
        .env("BOCKER_ROOT", env.root())
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stderr),
        "",
        "bocker complained about a closed pipe"
    );
}

#[test]
fn leftovers_of_a_killed_init_are_swept() {
    let _idea =
        idea("what a killed `bocker init` left half-built is swept away by the next command");
    let env = TestEnv::new();
    env.busybox_image();
    // What a SIGKILLed init leaves: a staging directory whose pid is gone.
    let staging = env.root().join("images/.tmp-999999999-img_0123456789ab");
    std::fs::create_dir_all(staging.join("rootfs")).unwrap();
    let out = env.bocker_ok(&["images"], HINT);
    assert!(
        !text(&out.stdout).contains("0123456789ab"),
        "a half-built image is listed"
    );
    assert!(!staging.exists(), "the half-built image was not swept away");
}

#[test]
fn leftovers_of_a_killed_run_are_swept_and_its_name_freed() {
    let _idea = idea("what a killed `bocker run` or `rm` left is swept away (not what a live one is doing), and the name it claimed is free again");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // What a run SIGKILLed while building its container leaves: a staging
    // directory named after its (dead) pid, and the name it had claimed.
    let id = "ps_0123456789ab";
    let staging = env.root().join(format!("containers/.tmp-999999999-{id}"));
    std::fs::create_dir_all(staging.join("rootfs/etc")).unwrap();
    std::fs::write(env.root().join("names/web"), id).unwrap();
    // And a removal cut short after its rename.
    let trash = env
        .root()
        .join("containers/.trash-999999999-ps_ba9876543210");
    std::fs::create_dir_all(trash.join("rootfs")).unwrap();
    // And a removal still under way: its remover (here, this test) is
    // alive, so the sweep must leave it to finish.
    let under_way = env.root().join(format!(
        "containers/.trash-{}-ps_aaaabbbbcccc",
        std::process::id()
    ));
    std::fs::create_dir_all(under_way.join("rootfs")).unwrap();

    env.bocker_ok(&["ps"], HINT);
    assert!(
        !staging.exists(),
        "the half-built container was not swept away"
    );
    assert!(
        !trash.exists(),
        "the half-removed container was not swept away"
    );
    assert!(
        under_way.exists(),
        "the sweep deleted a container that a live bocker is removing: two deletions race"
    );
    let again = env.run_bocker(&["run", "--name", "web", &image, "true"]);
    assert!(
        !text(&again.stderr).contains("already exists"),
        "the name of a container that never existed is still taken\n{}",
        describe(&again)
    );
}

#[test]
fn a_name_is_claimed_once_even_by_concurrent_runs() {
    let _idea = idea("of many runs that ask for the same --name at once, exactly one gets it");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // Three bursts of 20 runs that all want the same name.
    for name in ["same1", "same2", "same3"] {
        let runs: Vec<_> = (0..20)
            .map(|_| env.spawn_bocker(&["run", "--name", name, &image, "true"]))
            .collect();
        let refused = runs
            .into_iter()
            .map(|run| run.wait_with_output().unwrap())
            .filter(|out| {
                text(&out.stderr).contains(&format!("a container named '{name}' already exists"))
            })
            .count();
        let named = env
            .container_ids()
            .into_iter()
            .filter(|id| env.record(id).is_some_and(|r| r["name"] == name))
            .count();
        assert_eq!(
            named, 1,
            "20 runs at once with --name {name} made {named} containers called {name}"
        );
        assert_eq!(
            refused, 19,
            "19 runs should have been refused the name {name}"
        );
    }
}

#[test]
fn rm_removes_a_container_or_image_whose_record_is_damaged() {
    let _idea =
        idea("a container or image whose record is damaged can still be removed, with a warning");
    let env = TestEnv::new();
    let image = env.busybox_image();
    // At stage 0 this runs; before a chapter is done it fails to start.
    // Either way the container exists afterwards.
    env.run_bocker(&["run", "--name", "broken", &image, "true"]);
    let id = env.container_ids().pop().expect("run made no container");
    std::fs::write(
        env.root()
            .join("containers")
            .join(&id)
            .join("container.json"),
        "{\"id\": \"ps_",
    )
    .unwrap();
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("Unreadable")),
        "ps should still list {id}, as unreadable:\n{ps}"
    );
    let rm = env.bocker_ok(&["rm", "broken"], HINT);
    assert_eq!(text(&rm.stdout), format!("Removed: {id}\n"));
    assert!(text(&rm.stderr).contains("warning"), "{}", describe(&rm));
    assert!(
        env.container_ids().is_empty(),
        "the damaged container remains"
    );

    std::fs::write(
        env.root().join("images").join(&image).join("image.json"),
        "",
    )
    .unwrap();
    env.bocker_ok(&["rm", &image], HINT);
    assert!(!env.root().join("images").join(&image).exists());
}

#[test]
fn control_characters_are_escaped_in_tables_and_errors() {
    let _idea = idea("control characters in names and commands are escaped, so output cannot move the terminal's cursor");
    let env = TestEnv::new();
    let rootfs = env.busybox_rootfs();
    let odd = env.dir().join("two\nlines \u{1b}[31mred");
    std::fs::rename(&rootfs, &odd).unwrap();
    env.init_image(&odd);
    let images = text(&env.run_bocker(&["images"]).stdout);
    assert_eq!(
        images.lines().count(),
        2,
        "a newline in a path added a row to `images`:\n{images}"
    );
    assert!(
        images.contains("two\\nlines \\u{1b}[31mred"),
        "the source should be shown escaped:\n{images}"
    );
    assert!(
        !images.contains('\u{1b}'),
        "an escape sequence reached the terminal"
    );
    let logs = env.run_bocker(&["logs", "evil\nbocker: all is fine"]);
    let err = text(&logs.stderr);
    assert_eq!(
        err.lines().count(),
        1,
        "a newline split the error line:\n{err}"
    );
}

#[test]
fn an_older_kernel_gets_one_line_saying_what_is_needed() {
    let _idea = idea("on a kernel older than bocker needs, one line says which version is needed and nothing is created");
    // Under the personality UNAME26 (what `setarch --uname-2.6` asks
    // for), uname(2) says 2.6.N, as on a kernel of 2011.
    use std::os::unix::process::CommandExt;
    const UNAME26: libc::c_ulong = 0x0020000;
    let env = TestEnv::new();
    let mut command = Command::new(crate::support::bocker_binary());
    command.arg("--root").arg(env.root()).arg("ps");
    // SAFETY: personality(2) only, between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::personality(UNAME26) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        out.status.code() == Some(1)
            && stderr.lines().count() == 1
            && stderr.contains("needs Linux 5.11 or newer")
            && stderr.contains("2.6."),
        "under a kernel that says 2.6, bocker should stop with one line naming the kernel it needs\n{}",
        describe(&out)
    );
    assert!(!env.root().exists(), "and create nothing");
}

#[test]
fn every_test_says_the_idea_it_checks() {
    let _idea = idea(
        "every test starts with `let _idea = idea(\"…\")`, so a failure anywhere in it says what it checks",
    );
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/course");
    let mut silent = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    assert!(
        files.len() > 3,
        "no test files found in {}",
        folder.display()
    );
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let mut lines = source.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line != "#[test]" {
                continue;
            }
            // Attributes may come between #[test] and the function.
            let Some(signature) = lines.by_ref().find(|l| !l.starts_with("#[")) else {
                break;
            };
            let mut first = lines
                .by_ref()
                .find(|l| !l.is_empty() && !l.starts_with("//"))
                .map(String::from);
            // rustfmt breaks a long one after the `=`: read it as one line.
            if first.as_deref() == Some("let _idea =") {
                first = lines.next().map(|next| format!("let _idea = {next}"));
            }
            let says_it = first.is_some_and(|l| {
                l.starts_with("let _idea = idea(") && !l.starts_with("let _idea = idea(\"\")")
            });
            if !says_it {
                let name = file.file_name().unwrap().to_string_lossy();
                silent.push(format!("{name}: {signature}"));
            }
        }
    }
    assert!(
        silent.is_empty(),
        "these tests do not start with `let _idea = idea(\"…\");`:\n{}",
        silent.join("\n")
    );
}
