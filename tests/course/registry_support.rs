//! Chapter 7's test support, checked on its own (no bocker involved): each
//! kind of registry starts, takes each fixture, and gives it back to
//! skopeo; the fixtures hold what their documentation says (umoci unpacks
//! them). Run with `cargo test --features stage7 registry_support`.

use std::fs;
use std::process::Command;

use crate::support::registry::*;
use crate::support::{describe, idea, text};

/// `skopeo inspect --raw` of REFERENCE: the manifest's bytes as served.
fn skopeo_inspect_raw(reference: &str, credentials: Option<String>) -> Vec<u8> {
    let mut command = Command::new("skopeo");
    command.args([
        "--insecure-policy",
        "inspect",
        "--raw",
        "--tls-verify=false",
    ]);
    if let Some(credentials) = credentials {
        command.arg("--creds").arg(credentials);
    }
    let out = command
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        describe(&out)
    );
    out.stdout
}

#[test]
fn an_open_registry_serves_every_fixture_back() {
    let _idea = idea("the test registry (docker-registry on 127.0.0.1) gives skopeo back every fixture pushed to it, byte for byte");
    let registry = TestRegistry::open();
    for (image, repo) in [
        (one_layer_image(), "test/one:latest"),
        (three_layer_image(), "test/three:latest"),
        (two_platform_index(), "test/multi:latest"),
        (zstd_image(), "test/zstd:latest"),
        (uncompressed_layer_image(), "test/plain:latest"),
    ] {
        registry.push_image(image, repo);
        let raw = skopeo_inspect_raw(&registry.reference(repo), None);
        assert_eq!(sha256_digest(&raw), image.digest, "{repo}");
        assert_eq!(registry.manifest_digest(repo), image.digest, "{repo}");
        for layer in &image.layers {
            assert!(
                registry.blob_data_path(layer).exists(),
                "{repo}: blob {layer} not in the registry's storage"
            );
        }
    }
    let index: serde_json::Value = serde_json::from_slice(&skopeo_inspect_raw(
        &registry.reference("test/multi:latest"),
        None,
    ))
    .unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 3);
    for tag in ["entrypoint", "user-by-name", "user-numeric"] {
        registry.push(configured_images(), tag, &format!("test/configured:{tag}"));
    }
    let downloads = registry.blob_downloads(&one_layer_image().layers[0]);
    assert_eq!(downloads, 0, "{:?}", registry.access_log());
    let blob = registry.get(
        &format!("/v2/test/one/blobs/{}", one_layer_image().layers[0]),
        &[],
    );
    assert_eq!(blob.status, 200);
    assert_eq!(sha256_digest(&blob.body), one_layer_image().layers[0]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(registry.blob_downloads(&one_layer_image().layers[0]), 1);
}

#[test]
fn a_basic_auth_registry_wants_its_credentials() {
    let _idea = idea(
        "the test registry with basic auth answers 401 without credentials and serves with them",
    );
    let registry = TestRegistry::with_basic_auth("alice", "wonderland");
    registry.push_image(one_layer_image(), "test/one:latest");
    let anonymous = http_get(&registry.host(), "/v2/test/one/manifests/latest", &[]).unwrap();
    assert_eq!(anonymous.status, 401);
    assert!(anonymous
        .header("WWW-Authenticate")
        .unwrap()
        .starts_with("Basic"));
    let raw = skopeo_inspect_raw(
        &registry.reference("test/one:latest"),
        registry.credentials(),
    );
    assert_eq!(sha256_digest(&raw), one_layer_image().digest);
    let dir = tempfile::tempdir().unwrap();
    registry.write_docker_config(dir.path());
    let config = fs::read_to_string(dir.path().join("config.json")).unwrap();
    assert!(config.contains(&base64(b"alice:wonderland")), "{config}");
    assert_eq!(base64(b"alice:wonderland"), "YWxpY2U6d29uZGVybGFuZA==");
}

#[test]
fn a_token_auth_registry_sends_clients_to_the_token_server() {
    let _idea = idea("the test registry with token auth answers 401 with a Bearer challenge naming its token server, which wants credentials");
    let registry = TestRegistry::with_token_auth("bob", "builder");
    registry.push_image(one_layer_image(), "test/one:latest");
    let anonymous = http_get(&registry.host(), "/v2/test/one/manifests/latest", &[]).unwrap();
    assert_eq!(anonymous.status, 401);
    let challenge = anonymous.header("WWW-Authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"http://127.0.0.1:"),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"repository:test/one:pull\""),
        "{challenge}"
    );
    let raw = skopeo_inspect_raw(
        &registry.reference("test/one:latest"),
        registry.credentials(),
    );
    assert_eq!(sha256_digest(&raw), one_layer_image().digest);
    let requests = registry.token_requests();
    assert!(
        requests
            .iter()
            .any(|r| r.status == 200 && r.scopes.iter().any(|s| s == "repository:test/one:pull")),
        "{requests:?}"
    );
    // Without credentials, the token server says no.
    let realm = challenge.split('"').nth(1).unwrap();
    let token_host = realm
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let refused = http_get(
        token_host,
        "/token?service=bocker-test-registry&scope=repository:test/one:pull",
        &[],
    )
    .unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(registry.token_requests().last().unwrap().status, 401);
}

#[test]
fn the_fixtures_unpack_as_documented() {
    let _idea = idea("the test images unpack (umoci) into the files their documentation lists, malicious layers included");
    let dir = tempfile::tempdir().unwrap();
    let three = three_layer_image();
    let rootfs = umoci_unpack(&three.layout, &three.tag, &dir.path().join("three"));
    assert!(!rootfs.join(three_layers::DELETED_FILE).exists());
    let mut data: Vec<String> = fs::read_dir(rootfs.join(three_layers::OPAQUE_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    data.sort();
    assert_eq!(data, three_layers::OPAQUE_DIR_ENTRIES);
    let listing = tree_listing(&rootfs);
    let show = listing.join("\n");
    for (path, mode, uid, gid) in three_layers::ODD_FILES {
        assert!(
            listing.iter().any(|l| l.starts_with(&format!("{path} "))
                && l.contains(&format!(" {mode:04o} {uid}:{gid}"))),
            "{path}:\n{show}"
        );
    }
    assert!(
        listing
            .iter()
            .any(|l| l.starts_with("opt/hard-link ")
                && l.contains("links=[opt/hard-link opt/original]")),
        "{show}"
    );
    assert!(
        listing
            .iter()
            .any(|l| l == "opt/symlink symlink 0777 0:0 -> original"),
        "{show}"
    );
    assert_eq!(
        fs::read_dir(dir.path().join("three")).unwrap().count(),
        4,
        "config.json, umoci.json, an mtree file, rootfs"
    );
    // (umoci 0.4 knows no zstd: the zstd command checks that layer.)
    let zstd = zstd_image();
    let layer = &Layout::open(&zstd.layout).layers(&zstd.tag)[1];
    assert_eq!(layer.media_type, LAYER_ZSTD);
    let blob = dir.path().join("layer.zst");
    fs::write(&blob, &layer.blob).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("zstd -d -c \"$0\" | tar -xOf - etc/compressed-with")
        .arg(&blob)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), ZSTD_FILE.1, "{}", describe(&out));
    // The malicious layers are as meant: tar lists the names.
    let outside = Outside::new(dir.path());
    for kind in Malicious::ALL {
        let image = malicious_layout(kind, &outside, &dir.path().join(format!("{kind:?}")));
        let layout = Layout::open(&image.layout);
        let layer = &layout.layers("latest")[0];
        let tar_path = dir.path().join(format!("{kind:?}.tar.gz"));
        fs::write(&tar_path, &layer.blob).unwrap();
        let out = Command::new("tar")
            .arg("-tvzf")
            .arg(&tar_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        eprintln!("{kind:?}:\n{}", text(&out.stdout));
    }
    outside.assert_untouched("building the layouts");
}
