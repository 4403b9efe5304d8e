//! Tests of the frame: the command line, images, records and error lines.
//! They pass at every stage, since none of them starts a container.

mod support;

use std::process::Command;

use support::{describe, redacted, stage, text, TestEnv};

/// `--help` grows with the stages, so each stage has its own snapshot.
fn assert_help_snapshot(name: &str, out: &std::process::Output) {
    assert!(out.status.success(), "{}", describe(out));
    insta::assert_snapshot!(format!("{name}@stage{}", stage()), text(&out.stdout));
}

#[test]
fn help_lists_the_verbs() {
    let env = TestEnv::new();
    assert_help_snapshot("help", &env.run_bocker(&["--help"]));
}

#[test]
fn run_help_lists_this_stages_flags() {
    let env = TestEnv::new();
    assert_help_snapshot("run_help", &env.run_bocker(&["run", "--help"]));
}

#[test]
fn init_creates_an_image_listed_by_images() {
    let env = TestEnv::new();
    let id = env.busybox_image();
    assert!(
        id.starts_with("img_"),
        "image id {id:?} should start with img_"
    );
    let out = env.run_bocker(&["images"]);
    assert!(out.status.success(), "{}", describe(&out));
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&id),
        "`images` does not list {id}:\n{listing}"
    );
    redacted(&env).bind(|| insta::assert_snapshot!("images_table", listing));
}

#[test]
fn init_copies_modes_links_and_devices() {
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
    Command::new("mknod")
        .arg(rootfs.join("dev/null"))
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    Command::new("mkfifo")
        .arg(rootfs.join("tmp/fifo"))
        .status()
        .unwrap();
    let id = env.busybox_image();

    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let copy = env.root().join("images").join(&id).join("rootfs");
    let suid = std::fs::metadata(copy.join("bin/suid")).unwrap();
    assert_eq!(suid.mode() & 0o7777, 0o4755, "the setuid bit was lost");
    let link = std::fs::metadata(copy.join("bin/suid-link")).unwrap();
    assert_eq!(suid.ino(), link.ino(), "a hard link became two files");
    let null = std::fs::metadata(copy.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device() && null.rdev() == nix::sys::stat::makedev(1, 3));
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
}

#[test]
fn init_of_a_missing_directory_fails_with_bockers_message() {
    let env = TestEnv::new();
    let out = env.run_bocker(&["init", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    insta::assert_snapshot!("init_missing_dir", text(&out.stderr));
}

#[test]
fn empty_ps_prints_only_the_header() {
    let env = TestEnv::new();
    let out = env.run_bocker(&["ps"]);
    assert!(out.status.success(), "{}", describe(&out));
    insta::assert_snapshot!("ps_empty", text(&out.stdout));
}

#[test]
fn run_with_an_unknown_image_fails_with_one_line() {
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
    let env = TestEnv::new();
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
    let env = TestEnv::new();
    let id = env.busybox_image();
    let out = env.run_bocker(&["rm", &id]);
    assert!(out.status.success(), "{}", describe(&out));
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
    let env = TestEnv::new();
    for args in [&["run"][..], &["run", "img_x"], &["frobnicate"], &["rm"]] {
        let out = env.run_bocker(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "bocker {args:?}: {}",
            describe(&out)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{}",
            describe(&out)
        );
    }
    let out = env.run_bocker(&["run", "-e", "NOEQUALS", "img_000000000000", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn an_unusable_state_root_is_one_clear_line() {
    let env = TestEnv::new();
    let file = env.scratch().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = env
        .bocker()
        .arg("--root")
        .arg(file.join("sub"))
        .arg("images")
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
fn a_closed_pipe_on_stdout_is_not_a_panic() {
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
    let env = TestEnv::new();
    env.busybox_image();
    // What a SIGKILLed init leaves: a staging directory whose pid is gone.
    let staging = env.root().join("images/.tmp-999999999-img_0123456789ab");
    std::fs::create_dir_all(staging.join("rootfs")).unwrap();
    let out = env.run_bocker(&["images"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        !text(&out.stdout).contains("0123456789ab"),
        "a half-built image is listed"
    );
    assert!(!staging.exists(), "the half-built image was not swept away");
}
