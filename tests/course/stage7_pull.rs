//! Chapter 7 — pulling images from a registry. Run with `cargo test
//! --features stage7` (with the frame's tests and the earlier chapters'),
//! or this file's alone: `cargo test --features stage7 stage7_pull`.
//!
//! Every test starts a registry of its own on 127.0.0.1 (Debian's
//! `docker-registry`, plain HTTP), pushes images to it with skopeo, and
//! pulls them with bocker. The images are built once per test binary
//! (tests/course/support/registry.rs): a busybox image made with umoci, three
//! layers with whiteouts, a two-platform index, a zstd layer, malicious
//! layers.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::registry::{
    busybox_layer, configured_images, large_image, listing_diff, malicious_layout, one_layer_image,
    restore_blob, short_digest, tamper_with_blob, three_layer_image, three_layers, tree_listing,
    two_platform_index, umoci_unpack, uncompressed_layer_image, zstd_image, Layer, Layout,
    Malicious, Outside, Platform, RedirectingRegistry, TarLayer, TestRegistry, HARMLESS_FILE,
    HOST_PLATFORM_OUTPUT, LARGE_FILES, ONE_LAYER_OUTPUT, ZSTD_FILE,
};
use crate::support::{self, describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(7);

/// The repository and tag most tests push to.
pub(crate) const BUSYBOX: &str = "test/busybox:latest";

/// `bocker pull ARGS…`. DOCKER_CONFIG points at an empty directory of the
/// test's own, so that no config.json of the machine's lends credentials.
pub(crate) fn pull(env: &TestEnv, args: &[&str]) -> Output {
    let empty = env.dir().join("docker-config-empty");
    fs::create_dir_all(&empty).unwrap();
    pull_with_docker_config(env, args, &empty)
}

/// `bocker pull ARGS…` with DOCKER_CONFIG=`docker_config` (and HOME an
/// empty directory: no ~/.docker/config.json either).
pub(crate) fn pull_with_docker_config(
    env: &TestEnv,
    args: &[&str],
    docker_config: &Path,
) -> Output {
    let home = env.dir().join("home-empty");
    fs::create_dir_all(&home).unwrap();
    env.bocker()
        .arg("pull")
        .args(args)
        .env("DOCKER_CONFIG", docker_config)
        .env("HOME", &home)
        .output()
        .expect("cannot start bocker")
}

/// `bocker pull ARGS…` with HOME=`home` and no DOCKER_CONFIG: credentials
/// come from HOME/.docker/config.json.
fn pull_with_home(env: &TestEnv, args: &[&str], home: &Path) -> Output {
    env.bocker()
        .arg("pull")
        .args(args)
        .env_remove("DOCKER_CONFIG")
        .env("HOME", home)
        .output()
        .expect("cannot start bocker")
}

/// `bocker pull ARGS…`, which must succeed and print exactly one line on
/// stdout, `Created: img_…`; the image id.
#[track_caller]
pub(crate) fn pull_ok(env: &TestEnv, args: &[&str]) -> String {
    let out = pull(env, args);
    image_id_of(&out, args)
}

#[track_caller]
pub(crate) fn image_id_of(out: &Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "`bocker pull {}` failed.\n{HINT}\n{}",
        args.join(" "),
        describe(out)
    );
    let stdout = text(&out.stdout);
    let id = stdout
        .strip_suffix('\n')
        .and_then(|line| line.strip_prefix("Created: "))
        .filter(|id| id.starts_with("img_") && !id.contains('\n'))
        .unwrap_or_else(|| {
            panic!(
                "`bocker pull` should print exactly one line on stdout, `Created: img_…` (progress goes to stderr), not {stdout:?}\n{}",
                describe(out)
            )
        });
    id.to_string()
}

/// `bocker pull ARGS…` must fail: a non-zero status, nothing on stdout,
/// and a line on stderr that starts with `bocker: ` and holds every one of
/// `words` (compared in lower case); that line.
#[track_caller]
pub(crate) fn pull_fails(env: &TestEnv, args: &[&str], words: &[&str], hint: &str) -> String {
    let out = pull(env, args);
    assert_fails_saying(
        &out,
        &format!("bocker pull {}", args.join(" ")),
        words,
        hint,
    )
}

#[track_caller]
pub(crate) fn assert_fails_saying(out: &Output, what: &str, words: &[&str], hint: &str) -> String {
    assert!(
        !out.status.success(),
        "`{what}` should fail.\n{hint}\n{}",
        describe(out)
    );
    assert!(
        out.stdout.is_empty(),
        "`{what}` failed but printed on stdout (only `Created: …` goes there, on success):\n{}",
        describe(out)
    );
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|line| line.starts_with("bocker: "))
        .unwrap_or_else(|| {
            panic!(
                "`{what}` should say why on stderr, in a line that starts with `bocker: `.\n{}",
                describe(out)
            )
        });
    let lower = line.to_lowercase();
    for word in words {
        assert!(
            lower.contains(&word.to_lowercase()),
            "`{what}`: the error should contain {word:?}.\n{hint}\n{}",
            describe(out)
        );
    }
    line.to_string()
}

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
pub(crate) fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `bocker ARGS…`, which must succeed; its stdout.
#[track_caller]
fn bocker_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.bocker_ok(args, HINT).stdout)
}

/// The rows of `bocker images` (or `bocker images --digests`), header
/// left out, each split into its columns.
#[track_caller]
fn image_rows(env: &TestEnv, args: &[&str]) -> Vec<Vec<String>> {
    let mut all = vec!["images"];
    all.extend_from_slice(args);
    let out = bocker_ok(env, &all);
    out.lines()
        .skip(1)
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The rows of `bocker images`, none if the state root does not exist.
#[track_caller]
fn listed_images(env: &TestEnv) -> Vec<Vec<String>> {
    if env.root().exists() {
        image_rows(env, &[])
    } else {
        Vec::new()
    }
}

/// The row of image `id` in `bocker images` (ARGS…).
#[track_caller]
fn image_row(env: &TestEnv, args: &[&str], id: &str) -> Vec<String> {
    let rows = image_rows(env, args);
    rows.iter()
        .find(|row| row.first().is_some_and(|first| first == id))
        .cloned()
        .unwrap_or_else(|| panic!("`bocker images` should list {id}: {rows:?}"))
}

/// What the state root's images/ directory holds (hidden entries too).
fn image_dirs(env: &TestEnv) -> Vec<String> {
    support::list_dir(env.data().join("images"))
}

/// The btrfs subvolumes below this test's directory (chapter 6's images
/// and containers, and any half-made one).
fn subvolumes(env: &TestEnv) -> Vec<String> {
    let out = Command::new("btrfs")
        .args(["subvolume", "list", "-o"])
        .arg(support::shared_btrfs())
        .output()
        .expect("cannot run btrfs (btrfs-progs)");
    let ours = env
        .dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut found: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|line| line.contains(&ours))
        .map(|line| line.rsplit(' ').next().unwrap_or("").to_string())
        .collect();
    found.sort();
    found
}

/// What a failed pull must not leave behind: a new line in `bocker
/// images`, an entry in images/ (a staged image), a subvolume.
pub(crate) struct StoreSnapshot {
    /// `bocker images`'s rows (none before the state root exists: a pull
    /// may make it, and then it must list no image).
    rows: Vec<Vec<String>>,
    dirs: Vec<String>,
    subvolumes: Vec<String>,
}

impl StoreSnapshot {
    #[track_caller]
    pub(crate) fn take(env: &TestEnv) -> StoreSnapshot {
        StoreSnapshot {
            rows: listed_images(env),
            dirs: image_dirs(env),
            subvolumes: subvolumes(env),
        }
    }

    #[track_caller]
    pub(crate) fn assert_unchanged(&self, env: &TestEnv, what: &str) {
        assert_eq!(
            listed_images(env),
            self.rows,
            "{what}: `bocker images` should list no new image after a failed pull"
        );
        assert_eq!(
            image_dirs(env),
            self.dirs,
            "{what}: a failed pull should leave nothing in {}: is the staged image removed when the pull fails?",
            env.data().join("images").display()
        );
        assert_eq!(
            subvolumes(env),
            self.subvolumes,
            "{what}: a failed pull should leave no subvolume behind (a half-made image's rootfs)"
        );
    }
}

/// A registry with the one-layer busybox image as test/busybox:latest.
pub(crate) fn registry_with_busybox() -> TestRegistry {
    let registry = TestRegistry::open();
    registry.push_image(one_layer_image(), BUSYBOX);
    registry
}

#[test]
fn pull_prints_the_image_id_and_run_uses_the_images_cmd_env_and_working_directory() {
    let _idea = idea("a pulled image holds its layer's files, is listed by its reference, and runs with its config's Entrypoint, Cmd, Env and WorkingDir");
    let env = TestEnv::with_btrfs();
    let registry = registry_with_busybox();
    let reference = registry.reference(BUSYBOX);
    let id = pull_ok(&env, &[&reference]);
    assert!(
        env.image_rootfs(&id).join("bin/busybox").is_file(),
        "the pulled image's rootfs should hold the layer's files (bin/busybox) in {}",
        env.image_rootfs(&id).display()
    );
    assert_eq!(
        image_row(&env, &[], &id),
        [id.clone(), reference.clone()],
        "`bocker images` should show the pulled image's SOURCE as its normalized reference"
    );
    assert_eq!(
        run_ok(&env, &[&reference]),
        ONE_LAYER_OUTPUT,
        "`bocker run REFERENCE` with no command runs the image's Entrypoint + Cmd, with its Env, in its WorkingDir"
    );
    assert_eq!(
        run_ok(&env, &[&id]),
        ONE_LAYER_OUTPUT,
        "`bocker run IMG_ID` with no command runs the image's Cmd too"
    );
    assert_eq!(
        run_ok(
            &env,
            &[
                "-e",
                "GREETING=from-the-command-line",
                &reference,
                "echo $GREETING; pwd"
            ]
        ),
        "from-the-command-line\n/tmp\n",
        "`-e` overrides the image's Env, and a COMMAND runs in the image's WorkingDir"
    );
    assert_eq!(
        run_ok(&env, &[&reference, "echo $PATH"]),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        "the image's PATH is the container's"
    );
    env.assert_no_leaks();
}

#[test]
fn bockers_two_argument_form_and_a_reference_without_tag_pull_into_plain_copies() {
    let _idea = idea("`pull NAME TAG` is `pull NAME:TAG`, no tag means `latest`, and a pull works on plain copies as on btrfs");
    // Copies (no btrfs): chapter 7 works on either storage.
    let env = TestEnv::new();
    let registry = registry_with_busybox();
    registry.push_image(one_layer_image(), "test/busybox:v1");
    let name = registry.reference("test/busybox");
    let id = pull_ok(&env, &[&name, "v1"]);
    assert_eq!(
        image_row(&env, &[], &id),
        [id.clone(), format!("{name}:v1")],
        "`bocker pull NAME TAG` is `bocker pull NAME:TAG`"
    );
    let latest = pull_ok(&env, &[&name]);
    assert_eq!(
        image_row(&env, &[], &latest),
        [latest.clone(), format!("{name}:latest")],
        "a reference without a tag means the tag `latest`"
    );
    assert!(
        env.image_rootfs(&id).join("bin/busybox").is_file(),
        "with BOCKER_STORAGE=copy the image is a plain directory holding the files"
    );
    assert_eq!(
        run_ok(&env, &[&format!("{name}:v1"), "ls", "/bin/busybox"]),
        "/bin/busybox\n"
    );
    env.assert_no_leaks();
}

#[test]
fn run_reference_uses_the_newest_image_pulled_with_it() {
    let _idea = idea("every pull makes a new image, and `run REFERENCE` takes the newest one pulled with that reference");
    let env = TestEnv::with_btrfs();
    let registry = registry_with_busybox();
    let reference = registry.reference(BUSYBOX);
    let first = pull_ok(&env, &[&reference]);
    // The tag moves to another image, which is pulled again.
    registry.push(configured_images(), "entrypoint", BUSYBOX);
    let second = pull_ok(&env, &[&reference]);
    assert_ne!(first, second, "every pull makes a new image");
    assert_eq!(
        run_ok(&env, &[&reference]),
        "entrypoint says default argument\n",
        "`bocker run REFERENCE` should run the newest image pulled with REFERENCE ({second}), not {first}"
    );
    assert_eq!(run_ok(&env, &[&first]), ONE_LAYER_OUTPUT);
    env.assert_no_leaks();
}

#[test]
fn the_images_entrypoint_and_user_are_applied() {
    let _idea = idea("the image config's Entrypoint and User (a name from the image's /etc/passwd, or uid:gid) apply to run, run --init and exec");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    for (tag, expected, hint) in [
        (
            "entrypoint",
            "entrypoint says default argument\n",
            "without a COMMAND, the image's Entrypoint runs with its Cmd as arguments",
        ),
        (
            "user-by-name",
            "uid=65534 gid=65534 home=/home\n",
            "User \"nobody\" is looked up in the image's /etc/passwd (65534:65534, home /home, which becomes HOME)",
        ),
        (
            "user-numeric",
            "uid=1000 gid=1000 home=/\n",
            "User \"1000:1000\" is a uid and a gid; a uid /etc/passwd does not list gets HOME=/",
        ),
    ] {
        let repo = format!("test/configured:{tag}");
        registry.push(configured_images(), tag, &repo);
        let reference = registry.reference(&repo);
        pull_ok(&env, &[&reference]);
        assert_eq!(run_ok(&env, &[&reference]), expected, "{tag}: {hint}");
        assert_eq!(
            run_ok(&env, &["--init", &reference]),
            expected,
            "{tag}, with `run --init`: the command the init starts gets the same: {hint}"
        );
        if tag.starts_with("user") {
            let id = bocker_ok(&env, &["run", "-d", &reference, "sleep", "60"]);
            let id = id.trim();
            let out = bocker_ok(
                &env,
                &["exec", id, "sh", "-c", "echo uid=$(id -u) gid=$(id -g) home=$HOME"],
            );
            let _ = env.run_bocker(&["stop", "-t", "0", id]);
            assert_eq!(
                out, expected,
                "{tag}, with `exec`: a process run in the container later is the image's User too"
            );
            assert_eq!(
                run_ok(&env, &["-e", "HOME=/data", &reference]),
                expected.replace(" home=/home", " home=/data").replace(" home=/\n", " home=/data\n"),
                "{tag}: a HOME given with -e wins over the one from /etc/passwd"
            );
        }
    }
    env.assert_no_leaks();
}

#[test]
fn a_three_layer_image_has_exactly_the_files_umoci_unpacks() {
    let _idea = idea("applying the layers in order, whiteouts included, gives exactly the files umoci unpacks (on btrfs)");
    same_files_as_umoci(TestEnv::with_btrfs());
}

#[test]
fn a_three_layer_image_has_exactly_the_files_umoci_unpacks_as_plain_copies() {
    let _idea = idea("applying the layers in order, whiteouts included, gives exactly the files umoci unpacks (on plain copies)");
    same_files_as_umoci(TestEnv::new());
}

/// Pull the three-layer image and compare its files with `umoci unpack`'s.
fn same_files_as_umoci(env: TestEnv) {
    let registry = TestRegistry::open();
    let image = three_layer_image();
    registry.push_image(image, "test/three:latest");
    let id = pull_ok(&env, &[&registry.reference("test/three:latest")]);
    let theirs = tree_listing(&umoci_unpack(
        &image.layout,
        &image.tag,
        &env.dir().join("umoci-bundle"),
    ));
    let ours = tree_listing(&env.image_rootfs(&id));
    assert!(
        ours == theirs,
        "the pulled image's files differ from what `umoci unpack` makes of the same image (- umoci only, + bocker only): check types, modes (setuid too), owners, symlink targets, contents and hard links (entries that share an inode):\n{}",
        listing_diff(&theirs, &ours)
    );
    env.assert_no_leaks();
}

#[test]
fn whiteouts_delete_a_file_and_an_opaque_directory_keeps_only_the_top_layers_entries() {
    let _idea = idea("a whiteout `.wh.NAME` deletes NAME of lower layers and is not itself written; an opaque marker empties its directory of what lower layers put there only");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(three_layer_image(), "test/three:latest");
    let reference = registry.reference("test/three:latest");
    let id = pull_ok(&env, &[&reference]);
    let rootfs = env.image_rootfs(&id);
    assert!(
        !rootfs.join(three_layers::DELETED_FILE).exists(),
        "layer 2's whiteout `etc/.wh.old-file` should delete /etc/old-file of layer 1"
    );
    assert!(
        !rootfs.join("etc/.wh.old-file").exists(),
        "a whiteout is an instruction, not a file: /etc/.wh.old-file must not be in the image"
    );
    let mut data: Vec<String> = fs::read_dir(rootfs.join(three_layers::OPAQUE_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    data.sort();
    assert_eq!(
        data,
        three_layers::OPAQUE_DIR_ENTRIES,
        "layer 3 makes /data opaque (`data/.wh..wh..opq`): what lower layers put there goes (a, b, c/, kept-from-layer-2), what layer 3 itself adds stays, even though its marker comes after it in the tar"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join(three_layers::ONLY_IN_LAYER_3)).unwrap(),
        three_layers::ONLY_IN_LAYER_3_CONTENT
    );
    assert_eq!(
        run_ok(
            &env,
            &[&reference, "ls -A /data; ls /etc/old-file 2>&1; true"]
        ),
        "only-in-layer-3\nls: /etc/old-file: No such file or directory\n",
        "a container of the image sees the same"
    );
    env.assert_no_leaks();
}

#[test]
fn an_index_resolves_to_this_machines_platform_and_platform_picks_another() {
    let _idea = idea("an image index is resolved to the manifest of this machine's os/architecture, and --platform picks another entry");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(two_platform_index(), "test/multi:latest");
    let reference = registry.reference("test/multi:latest");
    let host = Platform::host();
    let other = Platform::other();
    let id = pull_ok(&env, &[&reference]);
    assert_eq!(
        fs::read_to_string(env.image_rootfs(&id).join("platform")).unwrap_or_default(),
        format!("{}\n", host.architecture),
        "without --platform, the index's entry for this machine ({}) should be pulled (the index lists an attestation first, then {}, then {})",
        host.flag(),
        other.flag(),
        host.flag()
    );
    assert_eq!(
        run_ok(&env, &[&id]),
        HOST_PLATFORM_OUTPUT,
        "the host image's config (Cmd) should come with it"
    );
    let other_id = pull_ok(&env, &["--platform", &other.flag(), &reference]);
    assert_eq!(
        fs::read_to_string(env.image_rootfs(&other_id).join("platform")).unwrap_or_default(),
        format!("{}\n", other.architecture),
        "`--platform {}` should pull that platform's image",
        other.flag()
    );
    env.assert_no_leaks();
}

#[test]
fn an_attestation_entry_is_never_chosen() {
    let _idea = idea("an index entry annotated vnd.docker.reference.type is an attestation, not an image: it is skipped whatever its platform, so --platform unknown/unknown finds nothing");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(two_platform_index(), "test/multi:latest");
    let reference = registry.reference("test/multi:latest");
    let before = StoreSnapshot::take(&env);
    pull_fails(
        &env,
        &["--platform", "unknown/unknown", &reference],
        &["unknown/unknown"],
        "the index's unknown/unknown entry is an attestation (annotation vnd.docker.reference.type), not an image: no platform matches, and the error names the platform asked for",
    );
    before.assert_unchanged(&env, "--platform unknown/unknown");
    env.assert_no_leaks();
}

#[test]
fn a_platform_the_index_does_not_have_is_a_clear_error() {
    let _idea = idea("a platform the image does not have (another architecture, another variant, or a single-platform image) is refused with an error naming it");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(two_platform_index(), "test/multi:latest");
    let reference = registry.reference("test/multi:latest");
    let before = StoreSnapshot::take(&env);
    pull_fails(
        &env,
        &["--platform", "linux/s390x", &reference],
        &["linux/s390x"],
        "the index has no linux/s390x image: the error names the platform asked for",
    );
    before.assert_unchanged(&env, "--platform linux/s390x");
    // The other image is arm64 variant v8: another variant is another
    // platform (arm64/v7 code need not run on a v8 machine, and the other
    // way round).
    let other = Platform::other();
    let wrong_variant = format!("{}/{}/v7", other.os, other.architecture);
    pull_fails(
        &env,
        &["--platform", &wrong_variant, &reference],
        &[&wrong_variant],
        "the index has the other architecture only as variant v8: when both the index and --platform name a variant, they must be the same",
    );
    before.assert_unchanged(&env, "--platform with another variant");
    // An image that is not an index has one platform, in its config: a
    // --platform that is not it is refused too.
    registry.push_image(one_layer_image(), "test/single:latest");
    let single = registry.reference("test/single:latest");
    let other_flag = other.flag();
    pull_fails(
        &env,
        &["--platform", &other_flag, &single],
        &[&other_flag],
        "an image with a single manifest is for one platform: --platform naming another must fail, not pull it anyway",
    );
    before.assert_unchanged(&env, "--platform on a single-platform image");
    env.assert_no_leaks();
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused_and_leaves_no_image() {
    let _idea = idea("a blob whose sha256 is not the digest the manifest gives is refused, and the failed pull leaves nothing behind");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    let image = uncompressed_layer_image();
    registry.push_image(image, "test/tampered:latest");
    let reference = registry.reference("test/tampered:latest");
    // An image of the test's own, to check it survives.
    let kept = env.busybox_image();
    let before = StoreSnapshot::take(&env);
    let layer = &image.layers[1];
    let original = tamper_with_blob(&registry, layer);
    pull_fails(
        &env,
        &[&reference],
        &["digest"],
        "the registry served a layer whose sha256 is not its digest: check every blob's sha256 against the digest the manifest gives, and fail",
    );
    before.assert_unchanged(&env, "after a digest mismatch");
    assert!(
        env.image_rootfs(&kept).join("bin/busybox").exists(),
        "a failed pull must leave the other images alone"
    );
    // The bad bytes must not have stayed in a cache under the good digest.
    restore_blob(&registry, layer, &original);
    let id = pull_ok(&env, &[&reference]);
    assert_eq!(
        run_ok(&env, &[&id]),
        "4096 /srv/payload\n",
        "once the registry serves the right bytes, the pull works (nothing of the failed one was kept)"
    );
    env.assert_no_leaks();
}

#[test]
fn a_missing_tag_and_an_unknown_repository_are_clear_errors() {
    let _idea = idea("the registry's 404 for an unknown tag or repository becomes an error saying `not found` and naming it");
    let env = TestEnv::with_btrfs();
    let registry = registry_with_busybox();
    let before = StoreSnapshot::take(&env);
    pull_fails(
        &env,
        &[&registry.reference("test/busybox:no-such-tag")],
        &["not found", "no-such-tag"],
        "the registry answers 404 (MANIFEST_UNKNOWN) for a tag it does not have: say `not found` and name the tag",
    );
    pull_fails(
        &env,
        &[&registry.reference("test/no-such-repository:latest")],
        &["not found", "test/no-such-repository"],
        "the registry answers 404 (NAME_UNKNOWN) for a repository it does not have: say `not found` and name the repository",
    );
    before.assert_unchanged(&env, "after pulls of what the registry does not have");
    env.assert_no_leaks();
}

#[test]
fn basic_auth_wants_credentials_from_user_or_docker_config() {
    let _idea = idea("a registry with Basic authentication gets the user's credentials from --user or from docker's config.json, and refuses a pull without them");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::with_basic_auth("alice", "wonderland");
    registry.push_image(one_layer_image(), BUSYBOX);
    let reference = registry.reference(BUSYBOX);
    let before = StoreSnapshot::take(&env);
    let out = pull(&env, &[&reference]);
    let line = assert_fails_saying(
        &out,
        "bocker pull REFERENCE (no credentials)",
        &[],
        "the registry answers 401 with `WWW-Authenticate: Basic`: without credentials, say so",
    );
    assert!(
        line.to_lowercase().contains("unauthorized") || line.to_lowercase().contains("credentials"),
        "without credentials the error should say `unauthorized` or `credentials`, not:\n{line}"
    );
    let out = pull(&env, &["--user", "alice:wrong", &reference]);
    let line = assert_fails_saying(
        &out,
        "bocker pull --user alice:wrong",
        &[],
        "a wrong password is refused",
    );
    assert!(
        line.to_lowercase().contains("unauthorized") || line.to_lowercase().contains("credentials"),
        "with a wrong password the error should say `unauthorized` or `credentials`, not:\n{line}"
    );
    before.assert_unchanged(&env, "refused pulls");
    let id = pull_ok(&env, &["--user", "alice:wonderland", &reference]);
    assert_eq!(run_ok(&env, &[&id]), ONE_LAYER_OUTPUT);
    // As `docker login` leaves them: DOCKER_CONFIG/config.json.
    let docker_config = env.dir().join("docker-config");
    registry.write_docker_config(&docker_config);
    let out = pull_with_docker_config(&env, &[&reference], &docker_config);
    let from_config = image_id_of(&out, &["(DOCKER_CONFIG/config.json)", &reference]);
    assert_ne!(from_config, id);
    // Or where `docker login` keeps them without DOCKER_CONFIG.
    let home = env.dir().join("home");
    registry.write_docker_config(&home.join(".docker"));
    let out = pull_with_home(&env, &[&reference], &home);
    image_id_of(&out, &["(HOME/.docker/config.json)", &reference]);
    env.assert_no_leaks();
}

/// Without the optional exercise, a registry that wants a token stops the
/// pull with one line that says where token authentication is taught.
/// (With feature `extra7` it pulls: tests/course/extra7_token.rs.)
#[cfg(not(feature = "extra7"))]
#[test]
fn a_registry_that_wants_a_token_names_the_optional_exercise() {
    let _idea = idea("without the optional exercise (feature extra7), a registry's Bearer challenge ends the pull with one line saying it wants a token and where that is taught, leaving nothing behind");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::with_token_auth("bob", "builder");
    registry.push_image(one_layer_image(), BUSYBOX);
    let reference = registry.reference(BUSYBOX);
    let before = StoreSnapshot::take(&env);
    pull_fails(
        &env,
        &["--user", "bob:builder", &reference],
        &["token", "optional exercise", "extra7"],
        "the registry answers 401 with `WWW-Authenticate: Bearer …`: without feature extra7, say in one line that it wants a token, that this is chapter 7's optional exercise, and that feature extra7 brings it",
    );
    before.assert_unchanged(&env, "a pull from a registry that wants a token");
    env.assert_no_leaks();
}

#[test]
fn a_layer_already_in_the_store_is_not_downloaded_again() {
    let _idea = idea("blobs are kept by their digest: a layer already in the store is never downloaded again by a later pull");
    let env = TestEnv::with_btrfs();
    let registry = registry_with_busybox();
    let zstd = zstd_image();
    registry.push_image(zstd, "test/zstd:latest");
    let base = &one_layer_image().layers[0];
    assert_eq!(
        &zstd.layers[0], base,
        "the fixtures share their busybox layer"
    );
    pull_ok(&env, &[&registry.reference(BUSYBOX)]);
    let out = pull(&env, &[&registry.reference("test/zstd:latest")]);
    image_id_of(&out, &["test/zstd:latest"]);
    let said = format!("{}: already in the store", short_digest(base));
    assert!(
        text(&out.stderr).contains(&said),
        "the second image shares the busybox layer with the first: bocker should say `{said}` on stderr, and not download it again\n{}",
        describe(&out)
    );
    let out = pull(&env, &[&registry.reference(BUSYBOX)]);
    image_id_of(&out, &[BUSYBOX]);
    assert!(
        text(&out.stderr).contains(&said),
        "pulling the same image again finds its layer in the store: `{said}`\n{}",
        describe(&out)
    );
    assert_eq!(
        registry.blob_downloads(base),
        1,
        "three pulls that need the busybox layer should download it once (the registry's access log):\n{}",
        registry.access_log().join("\n")
    );
    env.assert_no_leaks();
}

#[test]
fn a_zstd_compressed_layer_is_pulled() {
    let _idea = idea(
        "a layer's media type says how it is compressed: a +zstd layer is decompressed with zstd",
    );
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(zstd_image(), "test/zstd:latest");
    let reference = registry.reference("test/zstd:latest");
    let id = pull_ok(&env, &[&reference]);
    assert_eq!(
        fs::read_to_string(env.image_rootfs(&id).join(ZSTD_FILE.0)).unwrap_or_default(),
        ZSTD_FILE.1,
        "the layer of media type application/vnd.oci.image.layer.v1.tar+zstd should be decompressed with zstd"
    );
    assert_eq!(run_ok(&env, &[&reference]), ZSTD_FILE.1);
    env.assert_no_leaks();
}

#[test]
fn a_pull_killed_midway_leaves_nothing_the_next_command_does_not_clean_up() {
    let _idea = idea("an image appears only once complete: a pull killed at any moment leaves only what the next command sweeps away");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_image(large_image(), "test/large:latest");
    let reference = registry.reference("test/large:latest");
    let blobs = env.root().join("blobs/sha256");
    // SIGKILL at several moments: while the manifest is fetched, while the
    // layers download and are applied, near the end.
    for delay in [5, 30, 80, 150, 300] {
        let mut bocker = env.spawn_bocker(&["pull", &reference]);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = bocker.kill();
        let _ = bocker.wait();
        // The next command sweeps what the killed pull left (a staged
        // image, its draft subvolume, a partial blob).
        for row in listed_images(&env) {
            let rootfs = env.image_rootfs(&row[0]);
            for (name, size) in LARGE_FILES {
                let found = fs::metadata(rootfs.join(name))
                    .map(|m| m.len())
                    .unwrap_or(0);
                assert_eq!(
                    found, size as u64,
                    "pull killed after {delay} ms: `bocker images` lists {}, whose {name} is not whole: an image must appear only once it is complete",
                    row[0]
                );
            }
        }
        let hidden: Vec<String> = image_dirs(&env)
            .into_iter()
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(
            hidden.is_empty(),
            "pull killed after {delay} ms: after the next command, images/ still holds {hidden:?}: the sweep should remove the staging directory of a killed pull"
        );
    }
    // A pull after all that works, and cleans the partial blobs the killed
    // ones left.
    let id = pull_ok(&env, &[&reference]);
    let partials: Vec<String> = fs::read_dir(&blobs)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        partials.is_empty(),
        "partial downloads of killed pulls remain in {}: {partials:?}",
        blobs.display()
    );
    let images: Vec<String> = listed_images(&env)
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let expected: Vec<String> = images
        .iter()
        .map(|image| format!("images/{image}/rootfs"))
        .collect();
    let found: Vec<String> = subvolumes(&env)
        .into_iter()
        .map(|path| {
            path.rsplit("/images/")
                .next()
                .map(|p| format!("images/{p}"))
                .unwrap_or(path)
        })
        .collect();
    assert!(
        images.contains(&id),
        "the last pull's image {id} should be listed: {images:?}"
    );
    let mut expected = expected;
    expected.sort();
    assert_eq!(
        found, expected,
        "the only subvolumes left should be the listed images' root filesystems (no draft of a killed pull)"
    );
    env.assert_no_leaks();
}

#[test]
fn docker_hub_images_are_taken_from_a_mirror_first() {
    let _idea = idea("a Docker Hub image is asked of BOCKER_REGISTRY_MIRROR first, then of Docker Hub, and keeps its Docker Hub name");
    let env = TestEnv::with_btrfs();
    let mirror = TestRegistry::open();
    mirror.push_image(one_layer_image(), "library/busybox:latest");
    // Docker Hub itself must never be reached from a test: its address
    // here is a port of this machine where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .to_string();
    let pull_via_mirror = |reference: &str| {
        env.bocker()
            .env("BOCKER_REGISTRY_MIRROR", mirror.host())
            .env("BOCKER_DOCKER_HUB_API", &closed)
            .args(["pull", reference])
            .output()
            .expect("cannot start bocker")
    };
    let out = pull_via_mirror("busybox");
    assert!(
        out.status.success(),
        "`bocker pull busybox` with BOCKER_REGISTRY_MIRROR set should take docker.io/library/busybox from the mirror\n{}",
        describe(&out)
    );
    assert_eq!(
        listed_images(&env)
            .last()
            .map(|row| row[1].clone())
            .as_deref(),
        Some("docker.io/library/busybox:latest"),
        "the image is listed by its Docker Hub name, wherever it came from"
    );
    assert_eq!(run_ok(&env, &["busybox"]), ONE_LAYER_OUTPUT);
    // What the mirror does not have is asked of Docker Hub itself (here,
    // the closed port: a clear error that names it).
    let out = pull_via_mirror("team/absent");
    let said = text(&out.stderr);
    assert!(
        !out.status.success() && said.contains("mirror") && said.contains(&closed),
        "an image the mirror lacks: bocker says so, then tries Docker Hub's own address ({closed} here)\n{}",
        describe(&out)
    );
    env.assert_no_leaks();
}

#[test]
fn layers_redirected_to_another_host_never_get_the_password() {
    let _idea = idea("a blob redirected to another host (a CDN) is fetched there without the Authorization header of the registry");
    let env = TestEnv::with_btrfs();
    let registry =
        RedirectingRegistry::start(one_layer_image(), "test/cdn:latest", "ann", "s3cret");
    let reference = registry.reference("test/cdn:latest");
    let id = pull_ok(&env, &["--user", "ann:s3cret", &reference]);
    assert!(
        env.image_rootfs(&id).join("bin/busybox").is_file(),
        "the layer, sent by the registry's CDN ({}) after a 307 redirect, should be in the image",
        registry.cdn()
    );
    let requests = registry.cdn_requests();
    assert!(
        !requests.is_empty(),
        "the layer should have been fetched from the CDN the registry redirected to"
    );
    for headers in requests {
        assert!(
            !headers.iter().any(|(key, _)| key.eq_ignore_ascii_case("authorization")),
            "a redirect to another host ({}) must not carry the Authorization header (the user's password or token would go to whoever runs that host): {headers:?}",
            registry.cdn()
        );
    }
    env.assert_no_leaks();
}

#[test]
fn a_whiteout_hides_only_what_lower_layers_wrote() {
    let _idea = idea(
        "a whiteout applies to lower layers only: it never deletes a file its own layer wrote",
    );
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    let layout = Layout::create(&env.scratch().join("layout"));
    let mut top = TarLayer::new();
    // The same layer writes srv/kept and has a whiteout for it: the
    // whiteout applies to lower layers only, so the file stays.
    top.dir("srv/", 0o755)
        .file("srv/kept", b"written by this layer\n", 0o644)
        .whiteout("srv/.wh.kept");
    let manifest = layout.write_image(
        &Platform::host(),
        serde_json::json!({"Cmd": ["cat", "/srv/kept"], "Env": ["PATH=/bin"]}),
        &[busybox_layer(), &Layer::gzip(top.into_tar())],
    );
    layout.tag("latest", &manifest);
    registry.push(
        &env.scratch().join("layout"),
        "latest",
        "test/same-layer:latest",
    );
    let reference = registry.reference("test/same-layer:latest");
    pull_ok(&env, &[&reference]);
    assert_eq!(
        run_ok(&env, &["--rm", &reference]),
        "written by this layer\n",
        "a whiteout (.wh.kept) must not delete a file its own layer wrote (the OCI spec: whiteouts apply to lower layers)"
    );
    env.assert_no_leaks();
}

#[test]
fn an_image_with_dockers_own_media_types_is_pulled() {
    let _idea = idea("the manifest request accepts Docker's media types as well as OCI's, so an image pushed in Docker's schema 2 pulls and runs");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::open();
    registry.push_as_docker_schema2(one_layer_image(), "test/docker-format:latest");
    // What the registry holds is Docker's schema 2, not OCI.
    let served = registry.get(
        "/v2/test/docker-format/manifests/latest",
        &["application/vnd.docker.distribution.manifest.v2+json"],
    );
    assert_eq!(
        served.header("content-type"),
        Some("application/vnd.docker.distribution.manifest.v2+json"),
        "the test's fixture should be a Docker schema-2 manifest (skopeo --format v2s2)"
    );
    let reference = registry.reference("test/docker-format:latest");
    pull_ok(&env, &[&reference]);
    assert_eq!(
        run_ok(&env, &[&reference]),
        ONE_LAYER_OUTPUT,
        "an image pushed with Docker's media types (manifest \
         application/vnd.docker.distribution.manifest.v2+json, layers \
         application/vnd.docker.image.rootfs.diff.tar.gzip) should pull and run: does the \
         manifest request's Accept header list Docker's types too?"
    );
    env.assert_no_leaks();
}

#[test]
fn images_digests_shows_the_manifest_digest_the_registry_serves() {
    let _idea = idea("a manifest's digest is the sha256 of its bytes as served: `images --digests` shows it and REPOSITORY@DIGEST names the image");
    let env = TestEnv::with_btrfs();
    let registry = registry_with_busybox();
    let reference = registry.reference(BUSYBOX);
    let id = pull_ok(&env, &[&reference]);
    let out = bocker_ok(&env, &["images", "--digests"]);
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["IMAGE_ID", "SOURCE", "DIGEST"],
        "`bocker images --digests` adds a DIGEST column:\n{out}"
    );
    let digest = registry.manifest_digest(BUSYBOX);
    assert_eq!(digest, one_layer_image().digest);
    assert_eq!(
        image_row(&env, &["--digests"], &id),
        [id.clone(), reference, digest.clone()],
        "the DIGEST of a pulled image is its manifest's sha256, as the registry's Docker-Content-Digest gives it"
    );
    // The digest names the image for `run` too: REPOSITORY@DIGEST.
    let by_digest = format!(
        "{}@{digest}",
        registry.reference(BUSYBOX).rsplit_once(':').unwrap().0
    );
    assert_eq!(
        run_ok(&env, &["--rm", &by_digest]),
        ONE_LAYER_OUTPUT,
        "`bocker run REPOSITORY@sha256:…` runs the image pulled with that manifest digest"
    );
    // An image made by `bocker init` has none.
    let local = env.busybox_image();
    let row = image_row(&env, &["--digests"], &local);
    assert!(
        row.len() < 3 || !row[2].starts_with("sha256:"),
        "an image made by `bocker init` has no digest: {row:?}"
    );
    env.assert_no_leaks();
}

// --- Malicious layers --------------------------------------------------

/// Pull an image whose layer tries `kind`: bocker must refuse it, saying
/// it reaches `outside`, and nothing outside the image may change.
fn a_malicious_layer_is_refused(kind: Malicious) {
    let env = TestEnv::with_btrfs();
    let outside = Outside::new(env.dir());
    let image = malicious_layout(kind, &outside, &env.dir().join("layout"));
    let registry = TestRegistry::open();
    registry.push_image(&image, "test/evil:latest");
    // An image of the test's own, which the attack might aim at too.
    let kept = env.busybox_image();
    let before = StoreSnapshot::take(&env);
    pull_fails(
        &env,
        &[&registry.reference("test/evil:latest")],
        &["outside"],
        &format!(
            "the layer tries {kind:?} (see Malicious in tests/course/support/registry.rs): every path a layer writes, links to or deletes must stay inside the image's root; refuse the layer and say it reaches outside"
        ),
    );
    outside.assert_untouched(&format!("{kind:?}"));
    before.assert_unchanged(&env, &format!("{kind:?}"));
    assert!(
        env.image_rootfs(&kept).join("bin/busybox").exists(),
        "{kind:?}: the other image of the state root was damaged"
    );
    let escaped = find_named(env.dir(), "escaped-");
    assert!(
        escaped.is_empty(),
        "{kind:?}: files of the malicious layer landed outside the image: {escaped:?}"
    );
    assert!(
        find_named(env.dir(), HARMLESS_FILE).is_empty(),
        "{kind:?}: the refused layer's harmless file is still somewhere in the state root: the staged image should be removed"
    );
    env.assert_no_leaks();
}

/// Paths below `dir` whose name starts with `prefix` (not following
/// symlinks, skipping the test's layout).
fn find_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == "layout" {
            continue;
        }
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(find_named(&path, prefix));
        }
    }
    found
}

#[test]
fn a_layer_path_with_dotdot_is_refused() {
    let _idea = idea("a layer entry whose path climbs out with `..` is refused and changes nothing outside the image");
    a_malicious_layer_is_refused(Malicious::DotDotPath);
}

#[test]
fn an_absolute_layer_path_is_refused() {
    let _idea = idea(
        "a layer entry with an absolute path is refused and changes nothing outside the image",
    );
    a_malicious_layer_is_refused(Malicious::AbsolutePath);
}

#[test]
fn a_file_through_a_symlink_to_outside_is_refused() {
    let _idea = idea("a layer file written through a symlink that points outside the image is refused, and nothing outside changes");
    a_malicious_layer_is_refused(Malicious::FileThroughSymlink);
}

#[test]
fn a_hard_link_to_a_file_outside_is_refused() {
    let _idea = idea("a layer hard link whose target is outside the image is refused");
    a_malicious_layer_is_refused(Malicious::HardLinkOutside);
}

#[test]
fn a_hard_link_to_an_absolute_path_is_refused() {
    let _idea = idea("a layer hard link to an absolute path is refused rather than giving the image a second name for a host file");
    a_malicious_layer_is_refused(Malicious::HardLinkAbsolute);
}

#[test]
fn a_whiteout_outside_the_image_is_refused() {
    let _idea = idea("a whiteout whose path leaves the image is refused, and deletes nothing outside the image's root");
    a_malicious_layer_is_refused(Malicious::WhiteoutOutside);
}

#[test]
fn a_whiteout_of_the_parent_directory_is_refused() {
    let _idea = idea("a whiteout naming `..` is refused: it must not delete the directory above");
    a_malicious_layer_is_refused(Malicious::WhiteoutOfParent);
}

#[test]
fn a_whiteout_through_a_symlink_to_outside_is_refused() {
    let _idea = idea("a whiteout through a symlink that points outside the image is refused and deletes nothing there");
    a_malicious_layer_is_refused(Malicious::WhiteoutThroughSymlink);
}
