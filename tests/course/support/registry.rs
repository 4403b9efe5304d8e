//! Chapter 7's test support: OCI distribution registries on 127.0.0.1 and
//! the images the tests push to them.
//!
//! * [`TestRegistry`]: a `docker-registry serve` (CNCF distribution 2.8) of
//!   the test's own, on a free port, with no authentication, with Basic
//!   authentication (an htpasswd file), or with token authentication (a small
//!   token server in this file, JWTs signed by `openssl`). Dropping it kills
//!   the registry and removes its files, also when the test failed.
//! * [`Layout`], [`TarLayer`], [`Layer`]: OCI image layouts written by hand
//!   (blobs, manifests, configs, indexes), for images umoci cannot make:
//!   opaque whiteouts, several platforms, zstd layers, malicious layers.
//! * Fixtures built once per test binary and shared by its tests:
//!   [`one_layer_image`], [`three_layer_image`], [`two_platform_index`],
//!   [`zstd_image`], [`uncompressed_layer_image`], [`configured_images`];
//!   and per test: [`malicious_layout`], with an [`Outside`] directory to
//!   show that nothing outside the image was touched.
//! * [`umoci_unpack`] and [`tree_listing`]: what another implementation
//!   makes of an image, to compare bocker's with.
//!
//! Everything lives under one directory per test binary,
//! /tmp/bocker-test-fixtures-PID, removed when the binary exits (a killed
//! binary's is removed by the next one).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::{describe, text};

// ---------------------------------------------------------------------------
// Registries
// ---------------------------------------------------------------------------

/// The `service` the registry names in its Bearer challenge, and the token
/// server puts in its tokens' audience.
pub const TOKEN_SERVICE: &str = "bocker-test-registry";
/// The issuer the registry trusts (with the certificate of [`token_keys`]).
pub const TOKEN_ISSUER: &str = "bocker-test-token-server";

/// A registry of the test's own: `docker-registry serve` on 127.0.0.1,
/// plain HTTP, storage in a temporary directory. Dropped, it kills the
/// registry (and waits for it), stops the token server, removes its files.
pub struct TestRegistry {
    process: Child,
    port: u16,
    credentials: Option<(String, String)>,
    token_server: Option<TokenServer>,
    dir: TempDir,
}

impl TestRegistry {
    /// A registry anyone may pull from and push to.
    pub fn open() -> TestRegistry {
        TestRegistry::start(None, None)
    }

    /// A registry that wants Basic credentials (an htpasswd file, bcrypt,
    /// made by `htpasswd -Bbn`) for everything, pulls included. The
    /// registry accepts them over plain HTTP.
    pub fn with_basic_auth(user: &str, password: &str) -> TestRegistry {
        TestRegistry::start(Some((user.to_string(), password.to_string())), None)
    }

    /// A registry that wants Bearer tokens (`auth: token:`): it sends
    /// clients to a token server of the test's own, which gives a token
    /// for `user:password` (Basic) and answers 401 to anyone else.
    pub fn with_token_auth(user: &str, password: &str) -> TestRegistry {
        let credentials = (user.to_string(), password.to_string());
        let server = TokenServer::start(credentials.clone());
        TestRegistry::start(Some(credentials), Some(server))
    }

    fn start(
        credentials: Option<(String, String)>,
        token_server: Option<TokenServer>,
    ) -> TestRegistry {
        let dir = tempfile::Builder::new()
            .prefix("registry-")
            .tempdir_in(fixtures_dir())
            .expect("cannot create a directory for the test registry");
        let auth = match (&credentials, &token_server) {
            (_, Some(server)) => format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                server.port(),
                token_keys().cert_pem.display()
            ),
            (Some((user, password)), None) => {
                let out = run_tool(
                    Command::new("htpasswd").args(["-Bbn", user, password]),
                    "htpasswd (apache2-utils)",
                );
                let htpasswd = dir.path().join("htpasswd");
                fs::write(&htpasswd, &out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: bocker-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            (None, None) => String::new(),
        };
        // Its own name in a header of every answer: the test knows it talks
        // to its own registry, not to another test's that got the port.
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut last_error = String::new();
        for _attempt in 0..20 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: bocker-test\n  headers:\n    X-Bocker-Test-Registry: [{name}]\n{auth}",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let mut command = Command::new("docker-registry");
            command
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(fs::File::create(dir.path().join("access.log")).unwrap())
                .stderr(fs::File::create(dir.path().join("registry.log")).unwrap());
            die_with_this_thread(&mut command);
            let mut process = command.spawn().expect(
                "cannot start docker-registry: install it with `apt-get install docker-registry`",
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = process.try_wait().unwrap() {
                    last_error = format!(
                        "docker-registry exited ({status}):\n{}",
                        fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
                    );
                    break;
                }
                let answer = http_get(&format!("127.0.0.1:{port}"), "/v2/", &[]);
                if answer.is_ok_and(|a| a.header("X-Bocker-Test-Registry") == Some(name.as_str())) {
                    return TestRegistry {
                        process,
                        port,
                        credentials,
                        token_server,
                        dir,
                    };
                }
                if Instant::now() > deadline {
                    let _ = process.kill();
                    let _ = process.wait();
                    panic!(
                        "docker-registry did not answer GET /v2/ on 127.0.0.1:{port} within 10 s:\n{}",
                        fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // Most likely another test took the port meanwhile: try another.
        }
        panic!("cannot start a test registry: {last_error}");
    }

    /// "127.0.0.1:PORT".
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// "127.0.0.1:PORT/REPO:TAG" for "REPO:TAG" (or "REPO@sha256:…").
    pub fn reference(&self, repo_and_tag: &str) -> String {
        format!("{}/{repo_and_tag}", self.host())
    }

    /// The credentials this registry wants, as "user:password".
    pub fn credentials(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|(user, password)| format!("{user}:{password}"))
    }

    /// Where the registry keeps blob `digest` ("sha256:…"): overwrite it to
    /// make the registry serve bytes that do not match their digest.
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Push the image tagged `layout_tag` in the OCI layout `layout` (with
    /// all its manifests, if it is an index) as REPO:TAG, with skopeo,
    /// byte for byte (`--preserve-digests`).
    #[track_caller]
    pub fn push(&self, layout: &Path, layout_tag: &str, repo_and_tag: &str) {
        // As they are: no layer compressed on the way (skopeo would gzip
        // an uncompressed one), so digests stay the layout's.
        self.push_with(
            layout,
            layout_tag,
            repo_and_tag,
            &["--all", "--preserve-digests"],
        );
    }

    /// Push a fixture converted to Docker's own media types (a schema-2
    /// manifest, `application/vnd.docker.image.rootfs.diff.tar.gzip`
    /// layers), as images pushed by `docker push` are.
    #[track_caller]
    pub fn push_as_docker_schema2(&self, image: &OciImage, repo_and_tag: &str) {
        self.push_with(
            &image.layout,
            &image.tag,
            repo_and_tag,
            &["--format", "v2s2"],
        );
    }

    #[track_caller]
    fn push_with(&self, layout: &Path, layout_tag: &str, repo_and_tag: &str, options: &[&str]) {
        let mut command = Command::new("skopeo");
        command.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        command.args(options);
        if let Some(credentials) = self.credentials() {
            command.arg("--dest-creds").arg(credentials);
        }
        let mut source = std::ffi::OsString::from("oci:");
        source.push(layout);
        source.push(format!(":{layout_tag}"));
        command
            .arg(source)
            .arg(format!("docker://{}", self.reference(repo_and_tag)));
        let out = command
            .output()
            .expect("cannot run skopeo: install it with `apt-get install skopeo`");
        assert!(
            out.status.success(),
            "the test could not push {}:{layout_tag} to its registry as {repo_and_tag} (skopeo copy):\n{}\n--- registry log ---\n{}",
            layout.display(),
            describe(&out),
            fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// Push a fixture (see [`OciImage`]) as REPO:TAG.
    #[track_caller]
    pub fn push_image(&self, image: &OciImage, repo_and_tag: &str) {
        self.push(&image.layout, &image.tag, repo_and_tag);
    }

    /// GET `path` (such as "/v2/test/busybox/manifests/latest") from the
    /// registry, with this registry's credentials (Basic, or a token from
    /// the token server). `accept`: the media types to ask for.
    pub fn get(&self, path: &str, accept: &[&str]) -> HttpResponse {
        let mut headers: Vec<(String, String)> = accept
            .iter()
            .map(|media_type| ("Accept".to_string(), media_type.to_string()))
            .collect();
        if let Some(credentials) = self.credentials() {
            let basic = format!("Basic {}", base64(credentials.as_bytes()));
            match &self.token_server {
                None => headers.push(("Authorization".to_string(), basic)),
                Some(server) => {
                    let scope = path
                        .strip_prefix("/v2/")
                        .and_then(|rest| {
                            ["/manifests/", "/blobs/", "/tags/"]
                                .iter()
                                .find_map(|kind| rest.split_once(kind))
                        })
                        .map(|(name, _)| format!("repository:{name}:pull"))
                        .unwrap_or_default();
                    let token = http_get(
                        &format!("127.0.0.1:{}", server.port()),
                        &format!("/token?service={TOKEN_SERVICE}&scope={scope}"),
                        &[("Authorization".to_string(), basic)],
                    )
                    .expect("the token server does not answer");
                    let body: Value = serde_json::from_slice(&token.body).unwrap();
                    headers.push((
                        "Authorization".to_string(),
                        format!("Bearer {}", body["token"].as_str().unwrap()),
                    ));
                }
            }
        }
        http_get(&self.host(), path, &headers).expect("the test registry does not answer")
    }

    /// The digest the registry gives for REPO:TAG's manifest (or index):
    /// its Docker-Content-Digest header, checked against the bytes.
    #[track_caller]
    pub fn manifest_digest(&self, repo_and_tag: &str) -> String {
        let (repo, tag) = repo_and_tag
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{repo_and_tag} has no :TAG"));
        let answer = self.get(
            &format!("/v2/{repo}/manifests/{tag}"),
            &[
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.distribution.manifest.v2+json",
            ],
        );
        assert_eq!(
            answer.status, 200,
            "GET manifest {repo_and_tag}: {answer:?}"
        );
        let digest = sha256_digest(&answer.body);
        assert_eq!(
            answer.header("Docker-Content-Digest"),
            Some(digest.as_str()),
            "the registry's digest header should match the manifest's bytes"
        );
        digest
    }

    /// The access log's lines so far (one per request the registry
    /// answered: `… "GET /v2/… HTTP/1.1" 200 …`).
    pub fn access_log(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("\" ") && line.contains("/v2/"))
            .map(str::to_string)
            .collect()
    }

    /// How many times a blob was downloaded (GET, not HEAD) whatever the
    /// repository. The log line of a request is written when the answer
    /// has gone: call this once the client is done.
    pub fn blob_downloads(&self, digest: &str) -> usize {
        let needle = format!("/blobs/{digest} ");
        self.access_log()
            .iter()
            .filter(|line| line.contains("\"GET /v2/") && line.contains(&needle))
            .count()
    }

    /// The requests the token server got, in order (with token auth).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.token_server
            .as_ref()
            .map(|server| server.requests.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// Write `DIR/config.json` as `docker login` would, with this
    /// registry's credentials under `auths."127.0.0.1:PORT".auth`, for
    /// DOCKER_CONFIG=DIR.
    pub fn write_docker_config(&self, dir: &Path) {
        let credentials = self
            .credentials()
            .expect("this registry has no credentials to write");
        fs::create_dir_all(dir).unwrap();
        let config =
            json!({ "auths": { self.host(): { "auth": base64(credentials.as_bytes()) } } });
        fs::write(
            dir.join("config.json"),
            serde_json::to_string_pretty(&config).unwrap(),
        )
        .unwrap();
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        // The token server stops in its own Drop; the directory goes with
        // TempDir's.
    }
}

/// A port nobody listens on now (the kernel's choice for port 0). Another
/// test may take it before the registry does: [`TestRegistry`] retries.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("cannot bind a port on 127.0.0.1")
        .port()
}

/// Make `command`'s process get SIGKILL when the thread that starts it
/// ends: a test binary that is killed leaves no registry behind. (The
/// test's own thread, so keep the guard on it.)
fn die_with_this_thread(command: &mut Command) {
    // SAFETY: between fork and exec only prctl, async-signal-safe, runs.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A request the token server got. (Chapter 7's optional exercise reads
/// its service and user: tests/course/extra7_token.rs.)
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "extra7"), allow(dead_code))]
pub struct TokenRequest {
    /// Its `scope` parameters, such as "repository:test/busybox:pull".
    pub scopes: Vec<String>,
    /// Its `service` parameter.
    pub service: Option<String>,
    /// The user of its Basic credentials, if it had any.
    pub user: Option<String>,
    /// The status the server answered (200 with a token, 401 without).
    pub status: u16,
}

/// A token server: answers `GET /token?service=…&scope=repository:NAME:ACTIONS`
/// with `{"token": JWT, "access_token": JWT}` for the right Basic
/// credentials, and 401 to anyone else, one request after another.
struct TokenServer {
    server: SmallServer,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenServer {
    fn start(credentials: (String, String)) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind the token server");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let keys = token_keys();
        let server = {
            let requests = Arc::clone(&requests);
            SmallServer::start(listener, move |request: SmallRequest| {
                answer_token(&request, &credentials, keys, &requests)
            })
        };
        TokenServer { server, requests }
    }

    fn port(&self) -> u16 {
        self.server.address().port()
    }
}

/// A token for the right Basic credentials at /token, with the access the
/// scopes ask for; 401 to anyone else. Each request is written down.
fn answer_token(
    request: &SmallRequest,
    credentials: &(String, String),
    keys: &TokenKeys,
    requests: &Mutex<Vec<TokenRequest>>,
) -> (u16, Headers, Vec<u8>) {
    let path = &request.path;
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut scopes = Vec::new();
    let mut service = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "scope" => scopes.push(value),
            "service" => service = Some(value),
            _ => {}
        }
    }
    let user = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .map(|decoded| text(&decoded));
    let authorized = user.as_deref() == Some(&format!("{}:{}", credentials.0, credentials.1));
    let (status, body) = if authorized && path.starts_with("/token") {
        let access: Vec<Value> = scopes
            .iter()
            .filter_map(|scope| {
                // repository:NAME:ACTIONS (NAME has no colon).
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(json!({
                    "type": kind,
                    "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }))
            })
            .collect();
        let token = sign_token(keys, &credentials.0, &access);
        (
            200,
            json!({ "token": token, "access_token": token, "expires_in": 600 }).to_string(),
        )
    } else {
        (
            401,
            json!({"errors": [{"code": "UNAUTHORIZED", "message": "the token server wants the right user and password (Basic)"}]}).to_string(),
        )
    };
    requests.lock().unwrap().push(TokenRequest {
        scopes,
        service,
        user: user.map(|u| u.split(':').next().unwrap_or("").to_string()),
        status,
    });
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if status == 401 {
        headers.push((
            "WWW-Authenticate".to_string(),
            "Basic realm=\"bocker-test-token-server\"".to_string(),
        ));
    }
    (status, headers, body.into_bytes())
}

/// A JWT (RS256) as the registry's `auth: token` wants: the signing
/// certificate in the header's x5c, the claims iss, sub, aud, exp, nbf,
/// iat, jti and access.
fn sign_token(keys: &TokenKeys, subject: &str, access: &[Value]) -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [keys.cert_der_base64]});
    let claims = json!({
        "iss": TOKEN_ISSUER,
        "sub": subject,
        "aud": TOKEN_SERVICE,
        "exp": now + 600,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("bocker-test-{}-{}", std::process::id(), SERIAL.fetch_add(1, Ordering::SeqCst)),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let signature = pipe_through(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&keys.key_pem),
        signing_input.as_bytes(),
        "openssl dgst -sign",
    );
    format!("{signing_input}.{}", base64url(&signature))
}

/// The token server's key and self-signed certificate (the registry's
/// rootcertbundle), made once per test binary.
struct TokenKeys {
    key_pem: PathBuf,
    cert_pem: PathBuf,
    cert_der_base64: String,
}

fn token_keys() -> &'static TokenKeys {
    static KEYS: OnceLock<TokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = fixtures_dir().join("token-keys");
        fs::create_dir_all(&dir).unwrap();
        let key_pem = dir.join("key.pem");
        let cert_pem = dir.join("cert.pem");
        run_tool(
            Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", "/CN=bocker-test-token-server", "-keyout"])
                .arg(&key_pem)
                .arg("-out")
                .arg(&cert_pem),
            "openssl",
        );
        let der = run_tool(
            Command::new("openssl")
                .args(["x509", "-outform", "DER", "-in"])
                .arg(&cert_pem),
            "openssl",
        );
        TokenKeys {
            key_pem,
            cert_pem,
            cert_der_base64: base64(&der.stdout),
        }
    })
}

// ---------------------------------------------------------------------------
// A minimal HTTP client (HTTP/1.0: no chunks, the server closes)
// ---------------------------------------------------------------------------

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET http://HOST/PATH with `headers`, as HTTP/1.0.
pub fn http_get(
    host: &str,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of HTTP headers"))?;
    let head = text(&raw[..end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    text(&out)
}

// ---------------------------------------------------------------------------
// Encodings and digests
// ---------------------------------------------------------------------------

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64, padded (as in config.json's `auth`).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | (u32::from(*byte) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// base64url without padding (JWT).
fn base64url(bytes: &[u8]) -> String {
    base64(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

pub fn base64_decode(encoded: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in encoded.bytes().filter(|c| *c != b'=') {
        let value = BASE64.iter().position(|b| *b == c)? as u32;
        bits = bits << 6 | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// "sha256:HEX" of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The 12 hex digits Docker shows for a digest ("sha256:3f2a…" → "3f2a…").
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..12.min(hex.len())]
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

/// Run `command`, which must succeed; `what` names the tool and its package.
#[track_caller]
fn run_tool(command: &mut Command, what: &str) -> Output {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): is it installed? (scripts/install-deps.sh installs what the tests need)"));
    assert!(
        out.status.success(),
        "{what} failed: {command:?}\n{}",
        describe(&out)
    );
    out
}

/// Run `command` with `input` on its stdin; its stdout.
fn pipe_through(command: &mut Command, input: &[u8], what: &str) -> Vec<u8> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): is it installed?"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{what} failed:\n{}", describe(&out));
    out.stdout
}

fn umoci(args: &[&OsStr]) -> Output {
    run_tool(
        Command::new("umoci").args(args),
        "umoci (apt-get install umoci)",
    )
}

// ---------------------------------------------------------------------------
// OCI layouts written by hand
// ---------------------------------------------------------------------------

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A layer as a registry serves it: its blob, media type, and the digest
/// of its uncompressed tar (the config's `rootfs.diff_ids`).
#[derive(Clone, Debug)]
pub struct Layer {
    pub media_type: String,
    pub blob: Vec<u8>,
    pub diff_id: String,
}

impl Layer {
    /// An uncompressed layer (`…layer.v1.tar`).
    pub fn tar(tar: Vec<u8>) -> Layer {
        Layer {
            media_type: LAYER_TAR.to_string(),
            diff_id: sha256_digest(&tar),
            blob: tar,
        }
    }

    /// A gzip-compressed layer (`…layer.v1.tar+gzip`).
    pub fn gzip(tar: Vec<u8>) -> Layer {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&tar).unwrap();
        Layer {
            media_type: LAYER_GZIP.to_string(),
            diff_id: sha256_digest(&tar),
            blob: encoder.finish().unwrap(),
        }
    }

    /// A zstd-compressed layer (`…layer.v1.tar+zstd`), by the `zstd`
    /// command (Debian's zstd package).
    pub fn zstd(tar: Vec<u8>) -> Layer {
        let blob = pipe_through(
            Command::new("zstd").args(["-q", "-c", "-"]),
            &tar,
            "zstd (apt-get install zstd)",
        );
        Layer {
            media_type: LAYER_ZSTD.to_string(),
            diff_id: sha256_digest(&tar),
            blob,
        }
    }

    pub fn digest(&self) -> String {
        sha256_digest(&self.blob)
    }

    /// Its descriptor in a manifest.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest(), "size": self.blob.len()})
    }
}

/// A platform, as in an index's `platform` and a config's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// This machine's, in OCI's words (x86_64 is amd64, aarch64 is arm64/v8…).
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        Platform::new("linux", architecture, variant)
    }

    /// A platform that is not this machine's: linux/arm64/v8, or
    /// linux/amd64 on an arm64 machine.
    pub fn other() -> Platform {
        if Platform::host().architecture == "arm64" {
            Platform::new("linux", "amd64", None)
        } else {
            Platform::new("linux", "arm64", Some("v8"))
        }
    }

    /// "os/arch[/variant]", as `--platform` takes it.
    pub fn flag(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{}/{}/{variant}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// The `platform` object of an index entry.
    pub fn json(&self) -> Value {
        let mut value = json!({"os": self.os, "architecture": self.architecture});
        if let Some(variant) = &self.variant {
            value["variant"] = json!(variant);
        }
        value
    }
}

/// An OCI image layout (a directory with oci-layout, index.json and
/// blobs/sha256/…), written by hand.
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// An empty layout at `dir` (made if needed).
    pub fn create(dir: &Path) -> Layout {
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(
            dir.join("oci-layout"),
            json!({"imageLayoutVersion": "1.0.0"}).to_string(),
        )
        .unwrap();
        fs::write(
            dir.join("index.json"),
            json!({"schemaVersion": 2, "manifests": []}).to_string(),
        )
        .unwrap();
        Layout {
            dir: dir.to_path_buf(),
        }
    }

    /// A layout that exists (one umoci made, say).
    pub fn open(dir: &Path) -> Layout {
        assert!(
            dir.join("index.json").exists(),
            "{} is no OCI layout",
            dir.display()
        );
        Layout {
            dir: dir.to_path_buf(),
        }
    }

    /// Store `bytes` as a blob; its digest.
    pub fn write_blob(&self, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        fs::write(self.blob_path(&digest), bytes).unwrap();
        digest
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    pub fn read_blob(&self, digest: &str) -> Vec<u8> {
        fs::read(self.blob_path(digest))
            .unwrap_or_else(|e| panic!("blob {digest} of {}: {e}", self.dir.display()))
    }

    pub fn read_json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.read_blob(digest)).unwrap()
    }

    /// Write the blob of `layer`; its descriptor.
    pub fn add_layer(&self, layer: &Layer) -> Value {
        self.write_blob(&layer.blob);
        layer.descriptor()
    }

    /// Write an image: its layers, a config for `platform` whose `config`
    /// object is `config` (Cmd, Env, …), and a manifest. The manifest's
    /// descriptor (tag it with [`Layout::tag`] or list it in an index).
    pub fn write_image(&self, platform: &Platform, config: Value, layers: &[&Layer]) -> Value {
        let mut image_config = json!({
            "created": "2026-01-01T00:00:00Z",
            "architecture": platform.architecture,
            "os": platform.os,
            "config": config,
            "rootfs": {
                "type": "layers",
                "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            },
            "history": layers.iter().map(|_| json!({"created_by": "bocker's tests"})).collect::<Vec<_>>(),
        });
        if let Some(variant) = &platform.variant {
            image_config["variant"] = json!(variant);
        }
        let layer_descriptors: Vec<Value> = layers.iter().map(|l| self.add_layer(l)).collect();
        self.write_manifest(&image_config, layer_descriptors)
    }

    /// Write `config` (a whole image config) and a manifest for it and
    /// the layers whose descriptors are given (blobs already written).
    pub fn write_manifest(&self, config: &Value, layers: Vec<Value>) -> Value {
        let config_bytes = serde_json::to_vec(config).unwrap();
        let config_digest = self.write_blob(&config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": config_digest, "size": config_bytes.len()},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = self.write_blob(&bytes);
        json!({"mediaType": MANIFEST, "digest": digest, "size": bytes.len()})
    }

    /// Write an image index listing `manifests` (descriptors with their
    /// `platform`, `annotations`…); its descriptor.
    pub fn write_index(&self, manifests: Vec<Value>) -> Value {
        let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests});
        let bytes = serde_json::to_vec(&index).unwrap();
        let digest = self.write_blob(&bytes);
        json!({"mediaType": INDEX, "digest": digest, "size": bytes.len()})
    }

    /// Name `descriptor` `tag` in index.json (replacing an older `tag`).
    pub fn tag(&self, tag: &str, descriptor: &Value) {
        let path = self.dir.join("index.json");
        let mut index: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let manifests = index["manifests"].as_array_mut().unwrap();
        manifests.retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != tag);
        let mut entry = descriptor.clone();
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        manifests.push(entry);
        fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    }

    /// The descriptor tagged `tag`.
    pub fn resolve(&self, tag: &str) -> Value {
        let index: Value =
            serde_json::from_slice(&fs::read(self.dir.join("index.json")).unwrap()).unwrap();
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag} in {}", self.dir.display()))
            .clone()
    }

    /// The manifest tagged `tag` (not an index).
    pub fn manifest(&self, tag: &str) -> Value {
        let descriptor = self.resolve(tag);
        self.read_json(descriptor["digest"].as_str().unwrap())
    }

    /// The layers of the image tagged `tag`, blobs included.
    pub fn layers(&self, tag: &str) -> Vec<Layer> {
        let manifest = self.manifest(tag);
        let config = self.read_json(manifest["config"]["digest"].as_str().unwrap());
        manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .zip(config["rootfs"]["diff_ids"].as_array().unwrap())
            .map(|(descriptor, diff_id)| Layer {
                media_type: descriptor["mediaType"].as_str().unwrap().to_string(),
                blob: self.read_blob(descriptor["digest"].as_str().unwrap()),
                diff_id: diff_id.as_str().unwrap().to_string(),
            })
            .collect()
    }

    /// What this layout's tag is, as a fixture.
    pub fn image(&self, tag: &str) -> OciImage {
        let descriptor = self.resolve(tag);
        let digest = descriptor["digest"].as_str().unwrap().to_string();
        let layers = if descriptor["mediaType"] == INDEX {
            Vec::new()
        } else {
            self.read_json(&digest)["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_string())
                .collect()
        };
        OciImage {
            layout: self.dir.clone(),
            tag: tag.to_string(),
            digest,
            layers,
        }
    }
}

/// An image (or index) in an OCI layout, ready to push.
#[derive(Clone, Debug)]
pub struct OciImage {
    /// The layout's directory.
    pub layout: PathBuf,
    /// Its tag in the layout.
    pub tag: String,
    /// The digest of its manifest (or index), as a registry will serve it.
    pub digest: String,
    /// Its layers' digests, bottom first (empty for an index).
    pub layers: Vec<String>,
}

/// A layer's tar, entry by entry, names written as given (`..`, absolute
/// paths and all: the tar crate's own checks are bypassed). Names longer
/// than 100 bytes get a GNU long-name entry before them.
pub struct TarLayer {
    builder: tar::Builder<Vec<u8>>,
    /// The uid and gid of the entries written next.
    owner: (u64, u64),
}

impl Default for TarLayer {
    fn default() -> Self {
        TarLayer::new()
    }
}

impl TarLayer {
    pub fn new() -> TarLayer {
        TarLayer {
            builder: tar::Builder::new(Vec::new()),
            owner: (0, 0),
        }
    }

    /// The entries written after this belong to `uid`:`gid` (root's
    /// until then).
    #[cfg(all(feature = "oci", feature = "stage9"))]
    pub fn owned_by(&mut self, uid: u64, gid: u64) -> &mut TarLayer {
        self.owner = (uid, gid);
        self
    }

    /// A character device node `name` (MAJOR, MINOR).
    #[cfg(all(feature = "oci", feature = "stage9"))]
    pub fn char_device(&mut self, name: &str, major: u32, minor: u32) -> &mut TarLayer {
        let mut header = self.header(name, tar::EntryType::Char, 0, None, 0o666);
        header.set_device_major(major).unwrap();
        header.set_device_minor(minor).unwrap();
        self.append(header, b"")
    }

    /// A directory (`name` may end with /).
    pub fn dir(&mut self, name: &str, mode: u32) -> &mut TarLayer {
        self.entry(name, tar::EntryType::Directory, b"", None, mode)
    }

    /// A regular file, owned by root.
    pub fn file(&mut self, name: &str, content: &[u8], mode: u32) -> &mut TarLayer {
        self.entry(name, tar::EntryType::Regular, content, None, mode)
    }

    /// A symbolic link `name` -> `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut TarLayer {
        self.entry(name, tar::EntryType::Symlink, b"", Some(target), 0o777)
    }

    /// A hard link `name` to the entry `target` (a path in the layer).
    pub fn hard_link(&mut self, name: &str, target: &str) -> &mut TarLayer {
        self.entry(name, tar::EntryType::Link, b"", Some(target), 0o644)
    }

    /// The whiteout `name` (such as "etc/.wh.passwd" or
    /// "data/.wh..wh..opq"): an empty file.
    pub fn whiteout(&mut self, name: &str) -> &mut TarLayer {
        self.entry(name, tar::EntryType::Regular, b"", None, 0)
    }

    fn entry(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        content: &[u8],
        link: Option<&str>,
        mode: u32,
    ) -> &mut TarLayer {
        let header = self.header(name, kind, content.len() as u64, link, mode);
        self.append(header, content)
    }

    /// The header of an entry (after a GNU long-name entry, if the name or
    /// link needs one), owned by `self.owner`; its checksum is set by
    /// [`TarLayer::append`].
    fn header(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        size: u64,
        link: Option<&str>,
        mode: u32,
    ) -> tar::Header {
        if name.len() >= 100 {
            self.long_name(tar::EntryType::GNULongName, name);
        }
        if let Some(link) = link.filter(|l| l.len() >= 100) {
            self.long_name(tar::EntryType::GNULongLink, link);
        }
        let mut header = tar::Header::new_gnu();
        {
            let old = header.as_old_mut();
            let bytes = name.as_bytes();
            let n = bytes.len().min(99);
            old.name[..n].copy_from_slice(&bytes[..n]);
            if let Some(link) = link {
                let bytes = link.as_bytes();
                let n = bytes.len().min(99);
                old.linkname[..n].copy_from_slice(&bytes[..n]);
            }
        }
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(mode);
        header.set_uid(self.owner.0);
        header.set_gid(self.owner.1);
        header.set_mtime(1_767_225_600); // 2026-01-01
        header
    }

    fn append(&mut self, mut header: tar::Header, content: &[u8]) -> &mut TarLayer {
        header.set_cksum();
        self.builder.append(&header, content).unwrap();
        self
    }

    fn long_name(&mut self, kind: tar::EntryType, name: &str) {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        let mut header = tar::Header::new_gnu();
        let marker = b"././@LongLink";
        header.as_old_mut().name[..marker.len()].copy_from_slice(marker);
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        self.builder.append(&header, &data[..]).unwrap();
    }

    /// The tar's bytes.
    pub fn into_tar(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}

// ---------------------------------------------------------------------------
// Fixtures, built once per test binary
// ---------------------------------------------------------------------------

/// The directory of this test binary's fixtures and registries:
/// /tmp/bocker-test-fixtures-PID, removed at exit.
pub fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        remove_stale_fixtures();
        let dir = fixtures_path(std::process::id());
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("cannot create the fixtures directory");
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(remove_fixtures_at_exit) };
        dir
    })
}

fn fixtures_path(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("bocker-test-fixtures-{pid}"))
}

extern "C" fn remove_fixtures_at_exit() {
    let _ = fs::remove_dir_all(fixtures_path(std::process::id()));
}

/// Fixtures of test binaries that no longer run (killed before their
/// exit).
fn remove_stale_fixtures() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("bocker-test-fixtures-")
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Build the fixture `name` in fixtures_dir()/NAME (under a temporary
/// name first, so a failed build leaves nothing that looks finished):
/// `build` gets a path that does not exist yet.
fn build_fixture(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = fixtures_dir().join(name);
    let staging = fixtures_dir().join(format!("{name}.building"));
    let _ = fs::remove_dir_all(&staging);
    build(&staging);
    fs::rename(&staging, &dir).unwrap();
    dir
}

/// The busybox fixture's files in the bundle `bundle`'s rootfs.
fn copy_busybox_into(rootfs: &Path) {
    let template = fixtures_dir().join("busybox-rootfs");
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| super::make_busybox_rootfs(&template));
    run_tool(
        Command::new("cp")
            .arg("-a")
            .arg(template.join("."))
            .arg(rootfs),
        "cp",
    );
}

/// The config of [`one_layer_image`]: what its Cmd prints.
pub const ONE_LAYER_OUTPUT: &str = "hello from the config\nGREETING=from-the-image\ncwd=/tmp\n";
/// Its Cmd.
pub const ONE_LAYER_CMD: [&str; 3] = [
    "/bin/sh",
    "-c",
    "echo hello from the config; echo GREETING=$GREETING; echo cwd=$(pwd)",
];
/// Its Env.
pub const ONE_LAYER_ENV: [&str; 2] = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "GREETING=from-the-image",
];
/// Its WorkingDir.
pub const ONE_LAYER_WORKDIR: &str = "/tmp";

/// The busybox root filesystem as one gzip layer, made with umoci (init,
/// new, unpack, the files copied in, repack, config): Cmd
/// [`ONE_LAYER_CMD`], Env [`ONE_LAYER_ENV`], WorkingDir /tmp. Tag `latest`.
pub fn one_layer_image() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("one-layer", |dir| {
            let image = dir.as_os_str().to_owned();
            let mut tagged = image.clone();
            tagged.push(":latest");
            let bundle = fixtures_dir().join("one-layer.bundle");
            let _ = fs::remove_dir_all(&bundle);
            umoci(&["init".as_ref(), "--layout".as_ref(), &image]);
            umoci(&["new".as_ref(), "--image".as_ref(), &tagged]);
            umoci(&[
                "unpack".as_ref(),
                "--image".as_ref(),
                &tagged,
                bundle.as_os_str(),
            ]);
            copy_busybox_into(&bundle.join("rootfs"));
            umoci(&[
                "repack".as_ref(),
                "--image".as_ref(),
                &tagged,
                bundle.as_os_str(),
            ]);
            let mut args: Vec<std::ffi::OsString> =
                vec!["config".into(), "--image".into(), tagged.clone()];
            for arg in ONE_LAYER_CMD {
                args.push("--config.cmd".into());
                args.push(arg.into());
            }
            for variable in ONE_LAYER_ENV {
                args.push("--config.env".into());
                args.push(variable.into());
            }
            args.push("--config.workingdir".into());
            args.push(ONE_LAYER_WORKDIR.into());
            umoci(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
            umoci(&["gc".as_ref(), "--layout".as_ref(), &image]);
            fs::remove_dir_all(&bundle).unwrap();
        });
        Layout::open(&dir).image("latest")
    })
}

/// The busybox layer of [`one_layer_image`] (gzip), to build on.
pub fn busybox_layer() -> &'static Layer {
    static LAYER: OnceLock<Layer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let image = one_layer_image();
        Layout::open(&image.layout).layers(&image.tag)[0].clone()
    })
}

/// What [`three_layer_image`] holds, for the tests to check.
pub mod three_layers {
    /// Made by layer 1, deleted by layer 2 (`etc/.wh.old-file`).
    pub const DELETED_FILE: &str = "etc/old-file";
    /// Layer 1's /data: files a, b, c/deep; layer 2 adds kept-from-layer-2;
    /// layer 3 makes it opaque, after adding only-in-layer-3.
    pub const OPAQUE_DIR: &str = "data";
    /// What /data holds in the end.
    pub const OPAQUE_DIR_ENTRIES: [&str; 1] = ["only-in-layer-3"];
    pub const ONLY_IN_LAYER_3: &str = "data/only-in-layer-3";
    pub const ONLY_IN_LAYER_3_CONTENT: &str = "layer 3 was here\n";
    /// Odd files of layer 1: (path, mode, uid, gid).
    pub const ODD_FILES: [(&str, u32, u32, u32); 3] = [
        ("opt/setuid-program", 0o4755, 0, 0),
        ("opt/private", 0o600, 1000, 1000),
        ("home/user", 0o750, 1000, 1000),
    ];
    /// A hard link of layer 1 and the file it links to.
    pub const HARD_LINK: (&str, &str) = ("opt/hard-link", "opt/original");
    /// A symbolic link of layer 1 and its target.
    pub const SYMLINK: (&str, &str) = ("opt/symlink", "original");
}

/// Three layers: 1 (umoci) the busybox files, /etc/old-file, /data with
/// a, b and c/deep, and odd files in /opt and /home (setuid, 0600 owned by
/// 1000:1000, a hard link, a symlink); 2 (umoci) deletes /etc/old-file
/// (`etc/.wh.old-file`) and adds /data/kept-from-layer-2; 3 (by hand,
/// since umoci writes a whiteout per file instead) holds `data/`,
/// `data/only-in-layer-3` and then `data/.wh..wh..opq`: the opaque marker
/// after the entry it must not hide. Tag `latest`.
pub fn three_layer_image() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("three-layer", |dir| {
            let image = dir.as_os_str().to_owned();
            let mut tagged = image.clone();
            tagged.push(":latest");
            let bundle = fixtures_dir().join("three-layer.bundle");
            let unpack = |bundle: &Path| {
                let _ = fs::remove_dir_all(bundle);
                umoci(&[
                    "unpack".as_ref(),
                    "--image".as_ref(),
                    &tagged,
                    bundle.as_os_str(),
                ]);
            };
            let repack = |bundle: &Path| {
                umoci(&[
                    "repack".as_ref(),
                    "--image".as_ref(),
                    &tagged,
                    bundle.as_os_str(),
                ]);
            };
            umoci(&["init".as_ref(), "--layout".as_ref(), &image]);
            umoci(&["new".as_ref(), "--image".as_ref(), &tagged]);
            // Layer 1.
            unpack(&bundle);
            let rootfs = bundle.join("rootfs");
            copy_busybox_into(&rootfs);
            fs::write(rootfs.join("etc/old-file"), "from layer 1\n").unwrap();
            fs::create_dir_all(rootfs.join("data/c")).unwrap();
            fs::write(rootfs.join("data/a"), "a\n").unwrap();
            fs::write(rootfs.join("data/b"), "b\n").unwrap();
            fs::write(rootfs.join("data/c/deep"), "deep\n").unwrap();
            fs::create_dir_all(rootfs.join("opt")).unwrap();
            fs::write(rootfs.join("opt/original"), "linked twice\n").unwrap();
            fs::hard_link(
                rootfs.join(three_layers::HARD_LINK.1),
                rootfs.join(three_layers::HARD_LINK.0),
            )
            .unwrap();
            std::os::unix::fs::symlink(
                three_layers::SYMLINK.1,
                rootfs.join(three_layers::SYMLINK.0),
            )
            .unwrap();
            fs::write(rootfs.join("opt/setuid-program"), "#!/bin/sh\n").unwrap();
            fs::write(rootfs.join("opt/private"), "secret\n").unwrap();
            fs::create_dir_all(rootfs.join("home/user")).unwrap();
            for (path, mode, uid, gid) in three_layers::ODD_FILES {
                let path = rootfs.join(path);
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            }
            repack(&bundle);
            // Layer 2.
            unpack(&bundle);
            fs::remove_file(rootfs.join(three_layers::DELETED_FILE)).unwrap();
            fs::write(rootfs.join("data/kept-from-layer-2"), "layer 2\n").unwrap();
            repack(&bundle);
            fs::remove_dir_all(&bundle).unwrap();
            umoci(&["gc".as_ref(), "--layout".as_ref(), &image]);
            // Layer 3, by hand.
            let layout = Layout::open(dir);
            let manifest = layout.manifest("latest");
            let mut config = layout.read_json(manifest["config"]["digest"].as_str().unwrap());
            let mut tar = TarLayer::new();
            tar.dir("data/", 0o755)
                .file(
                    three_layers::ONLY_IN_LAYER_3,
                    three_layers::ONLY_IN_LAYER_3_CONTENT.as_bytes(),
                    0o644,
                )
                .whiteout("data/.wh..wh..opq");
            let layer3 = Layer::gzip(tar.into_tar());
            let mut layers = manifest["layers"].as_array().unwrap().clone();
            layers.push(layout.add_layer(&layer3));
            config["rootfs"]["diff_ids"]
                .as_array_mut()
                .unwrap()
                .push(json!(layer3.diff_id));
            config["history"]
                .as_array_mut()
                .unwrap()
                .push(json!({"created_by": "bocker's tests: an opaque /data"}));
            config["config"]["Cmd"] = json!(["/bin/sh"]);
            let descriptor = layout.write_manifest(&config, layers);
            layout.tag("latest", &descriptor);
        });
        Layout::open(&dir).image("latest")
    })
}

/// What the host image of [`two_platform_index`] prints (its Cmd).
pub const HOST_PLATFORM_OUTPUT: &str = "platform-host\n";

/// An index (tag `latest`) of three entries, in this order: an
/// attestation-like manifest (platform unknown/unknown, annotation
/// "vnd.docker.reference.type": "attestation-manifest"; its /platform
/// says `attestation`), the other platform's image ([`Platform::other`]:
/// /platform says its architecture, as `arm64`), and this machine's
/// ([`Platform::host`]: /platform says its architecture, and its Cmd
/// prints [`HOST_PLATFORM_OUTPUT`]). All three share the busybox layer.
pub fn two_platform_index() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("two-platform", |dir| {
            let layout = Layout::create(dir);
            let marker = |content: &str| {
                let mut tar = TarLayer::new();
                tar.file("platform", format!("{content}\n").as_bytes(), 0o644);
                Layer::gzip(tar.into_tar())
            };
            let host = Platform::host();
            let other = Platform::other();
            let host_layer = marker(&host.architecture);
            let other_layer = marker(&other.architecture);
            let attestation_layer = marker("attestation");
            let host_manifest = layout.write_image(
                &host,
                json!({"Cmd": ["/bin/sh", "-c", "echo platform-host"], "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]}),
                &[busybox_layer(), &host_layer],
            );
            let other_manifest = layout.write_image(
                &other,
                json!({"Cmd": ["/bin/sh", "-c", "echo platform-other"], "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]}),
                &[busybox_layer(), &other_layer],
            );
            let unknown = Platform::new("unknown", "unknown", None);
            let attestation_manifest = layout.write_image(
                &unknown,
                json!({"Cmd": ["/bin/sh", "-c", "echo platform-attestation"]}),
                &[busybox_layer(), &attestation_layer],
            );
            let entry = |descriptor: &Value, platform: &Platform| {
                let mut entry = descriptor.clone();
                entry["platform"] = platform.json();
                entry
            };
            let mut attestation = entry(&attestation_manifest, &unknown);
            attestation["annotations"] = json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": host_manifest["digest"],
            });
            let index = layout.write_index(vec![
                attestation,
                entry(&other_manifest, &other),
                entry(&host_manifest, &host),
            ]);
            layout.tag("latest", &index);
        });
        Layout::open(&dir).image("latest")
    })
}

/// The file [`zstd_image`]'s zstd layer adds, and its content.
pub const ZSTD_FILE: (&str, &str) = ("etc/compressed-with", "zstd\n");

/// The busybox layer (gzip) and a zstd layer that adds [`ZSTD_FILE`]; Cmd
/// `cat /etc/compressed-with`. Tag `latest`.
pub fn zstd_image() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("zstd", |dir| {
            let layout = Layout::create(dir);
            let mut tar = TarLayer::new();
            tar.dir("etc/", 0o755)
                .file(ZSTD_FILE.0, ZSTD_FILE.1.as_bytes(), 0o644);
            let manifest = layout.write_image(
                &Platform::host(),
                json!({"Cmd": ["cat", "/etc/compressed-with"], "Env": ["PATH=/bin:/usr/bin"]}),
                &[busybox_layer(), &Layer::zstd(tar.into_tar())],
            );
            layout.tag("latest", &manifest);
        });
        Layout::open(&dir).image("latest")
    })
}

/// The file of [`uncompressed_layer_image`]'s second layer.
pub const UNCOMPRESSED_FILE: &str = "srv/payload";

/// The busybox layer and an uncompressed tar layer holding
/// [`UNCOMPRESSED_FILE`] (4096 bytes of `a`): a byte of it changed in the
/// registry's storage still makes a valid tar, so only the digest can
/// tell (see [`tamper_with_blob`]). Tag `latest`.
pub fn uncompressed_layer_image() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("uncompressed", |dir| {
            let layout = Layout::create(dir);
            let mut tar = TarLayer::new();
            tar.dir("srv/", 0o755)
                .file(UNCOMPRESSED_FILE, &[b'a'; 4096], 0o644);
            let manifest = layout.write_image(
                &Platform::host(),
                json!({"Cmd": ["wc", "-c", "/srv/payload"], "Env": ["PATH=/bin:/usr/bin"]}),
                &[busybox_layer(), &Layer::tar(tar.into_tar())],
            );
            layout.tag("latest", &manifest);
        });
        Layout::open(&dir).image("latest")
    })
}

/// The files of [`large_image`]'s second layer: (path, size).
pub const LARGE_FILES: [(&str, usize); 3] = [
    ("srv/large-1", 16 << 20),
    ("srv/large-2", 16 << 20),
    ("srv/large-3", 16 << 20),
];

/// The busybox layer and an uncompressed layer of 48 MiB of bytes that do
/// not compress (a xorshift generator's): a pull that takes long enough
/// to be killed in the middle. Tag `latest`.
pub fn large_image() -> &'static OciImage {
    static IMAGE: OnceLock<OciImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = build_fixture("large", |dir| {
            let layout = Layout::create(dir);
            let mut tar = TarLayer::new();
            tar.dir("srv/", 0o755);
            let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
            for (name, size) in LARGE_FILES {
                let content: Vec<u8> = (0..size / 8)
                    .flat_map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state.to_le_bytes()
                    })
                    .collect();
                tar.file(name, &content, 0o644);
            }
            let manifest = layout.write_image(
                &Platform::host(),
                json!({"Cmd": ["ls", "/srv"], "Env": ["PATH=/bin:/usr/bin"]}),
                &[busybox_layer(), &Layer::tar(tar.into_tar())],
            );
            layout.tag("latest", &manifest);
        });
        Layout::open(&dir).image("latest")
    })
}

/// Change one byte in the middle of blob `digest` in the registry's
/// storage (same size: the registry still serves it whole). Returns the
/// original bytes, to put back with [`restore_blob`].
pub fn tamper_with_blob(registry: &TestRegistry, digest: &str) -> Vec<u8> {
    let path = registry.blob_data_path(digest);
    let original =
        fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut changed = original.clone();
    // In an uncompressed layer of [`uncompressed_layer_image`], the middle
    // of its file's content (after the 512-byte header of srv/ and of the
    // file itself).
    let at = (1024 + 2048).min(changed.len() / 2);
    changed[at] ^= 0x01;
    fs::write(&path, &changed).unwrap();
    original
}

pub fn restore_blob(registry: &TestRegistry, digest: &str, original: &[u8]) {
    fs::write(registry.blob_data_path(digest), original).unwrap();
}

/// Images that differ only by their config, all on the busybox layer, in
/// one layout. Tags:
/// * `entrypoint`: Entrypoint ["/bin/echo", "entrypoint says"], Cmd
///   ["default argument"]: prints "entrypoint says default argument".
/// * `user-by-name`: User "nobody" (65534:65534, home /home in busybox's
///   /etc/passwd), Cmd prints `id -u`, `id -g` and $HOME.
/// * `user-numeric`: User "1000:1000", same Cmd.
pub fn configured_images() -> &'static Path {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        build_fixture("configured", |dir| {
            let layout = Layout::create(dir);
            let path = json!(["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]);
            let id = json!(["/bin/sh", "-c", "echo uid=$(id -u) gid=$(id -g) home=$HOME"]);
            for (tag, config) in [
                (
                    "entrypoint",
                    json!({"Entrypoint": ["/bin/echo", "entrypoint says"], "Cmd": ["default argument"], "Env": path}),
                ),
                (
                    "user-by-name",
                    json!({"User": "nobody", "Cmd": id, "Env": path}),
                ),
                (
                    "user-numeric",
                    json!({"User": "1000:1000", "Cmd": id, "Env": path}),
                ),
            ] {
                let manifest = layout.write_image(&Platform::host(), config, &[busybox_layer()]);
                layout.tag(tag, &manifest);
            }
        })
    })
}

// ---------------------------------------------------------------------------
// Malicious layers
// ---------------------------------------------------------------------------

/// Ways a layer may try to reach outside the image's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malicious {
    /// A file named `../../…/OUTSIDE/escaped-dotdot` (enough `..` to reach
    /// `/` from anywhere, then down to the outside directory).
    DotDotPath,
    /// A file named by an absolute path: `/OUTSIDE/escaped-absolute`.
    AbsolutePath,
    /// A symlink `evil -> /OUTSIDE`, then a file `evil/escaped-via-symlink`.
    FileThroughSymlink,
    /// A hard link `link` to `../../…/OUTSIDE/victim`: the image would
    /// share the host's file (and a container could write to it).
    HardLinkOutside,
    /// A hard link `link` to the absolute `/OUTSIDE/victim`.
    HardLinkAbsolute,
    /// A whiteout `../../…/OUTSIDE/.wh.victim`: it would delete the
    /// victim.
    WhiteoutOutside,
    /// A whiteout of `..` (`.wh...`): it would delete the directory that
    /// holds the image's root.
    WhiteoutOfParent,
    /// A symlink `evil -> /OUTSIDE`, then the whiteout `evil/.wh.victim`.
    WhiteoutThroughSymlink,
}

impl Malicious {
    pub const ALL: [Malicious; 8] = [
        Malicious::DotDotPath,
        Malicious::AbsolutePath,
        Malicious::FileThroughSymlink,
        Malicious::HardLinkOutside,
        Malicious::HardLinkAbsolute,
        Malicious::WhiteoutOutside,
        Malicious::WhiteoutOfParent,
        Malicious::WhiteoutThroughSymlink,
    ];
}

/// A directory outside any image, with a file `victim`, for a malicious
/// layer to aim at. [`Outside::assert_untouched`] checks that it still
/// holds exactly `victim`, unchanged and not linked from anywhere.
pub struct Outside {
    dir: PathBuf,
}

/// The content of [`Outside`]'s victim.
pub const VICTIM_CONTENT: &str = "the host's file: must stay as it is\n";

impl Outside {
    /// `parent/outside`, with its victim.
    pub fn new(parent: &Path) -> Outside {
        let dir = parent.join("outside");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("victim"), VICTIM_CONTENT).unwrap();
        Outside { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn victim(&self) -> PathBuf {
        self.dir.join("victim")
    }

    /// The outside directory as a path relative to the image's root,
    /// whatever the root's depth: `../` forty times, then the path.
    pub fn dotdot_path(&self) -> String {
        format!(
            "{}{}",
            "../".repeat(40),
            self.dir.to_string_lossy().trim_start_matches('/')
        )
    }

    /// The victim is there, unchanged, with no other name (no hard link
    /// to it), and nothing was added next to it.
    #[track_caller]
    pub fn assert_untouched(&self, what: &str) {
        let victim = self.victim();
        let content = fs::read_to_string(&victim).unwrap_or_else(|e| {
            panic!(
                "{what}: {} outside the image was deleted ({e}): a whiteout must only delete inside the image's root",
                victim.display()
            )
        });
        assert_eq!(
            content,
            VICTIM_CONTENT,
            "{what}: {} outside the image was changed",
            victim.display()
        );
        let links = fs::metadata(&victim).unwrap().nlink();
        assert_eq!(
            links,
            1,
            "{what}: {} outside the image got a hard link: a hard link's target must be inside the image's root",
            victim.display()
        );
        let mut entries: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        entries.sort();
        assert_eq!(
            entries,
            ["victim"],
            "{what}: files appeared in {}, outside the image: every path of a layer must stay inside the image's root",
            self.dir.display()
        );
    }
}

/// What a malicious layer holds besides its attack: a harmless file first.
pub const HARMLESS_FILE: &str = "harmless";

/// A one-layer image (tag `latest`) in a new layout at `dir`, whose layer
/// holds [`HARMLESS_FILE`] and then the attack `kind` aimed at `outside`.
pub fn malicious_layout(kind: Malicious, outside: &Outside, dir: &Path) -> OciImage {
    let layout = Layout::create(dir);
    let mut tar = TarLayer::new();
    tar.file(HARMLESS_FILE, b"nothing to see\n", 0o644);
    let absolute = outside.dir().to_string_lossy().into_owned();
    let dotdot = outside.dotdot_path();
    match kind {
        Malicious::DotDotPath => {
            tar.file(&format!("{dotdot}/escaped-dotdot"), b"escaped\n", 0o644);
        }
        Malicious::AbsolutePath => {
            tar.file(&format!("{absolute}/escaped-absolute"), b"escaped\n", 0o644);
        }
        Malicious::FileThroughSymlink => {
            tar.symlink("evil", &absolute)
                .file("evil/escaped-via-symlink", b"escaped\n", 0o644);
        }
        Malicious::HardLinkOutside => {
            tar.hard_link("link", &format!("{dotdot}/victim"));
        }
        Malicious::HardLinkAbsolute => {
            tar.hard_link("link", &format!("{absolute}/victim"));
        }
        Malicious::WhiteoutOutside => {
            tar.whiteout(&format!("{dotdot}/.wh.victim"));
        }
        Malicious::WhiteoutOfParent => {
            tar.whiteout(".wh...");
        }
        Malicious::WhiteoutThroughSymlink => {
            tar.symlink("evil", &absolute).whiteout("evil/.wh.victim");
        }
    }
    let manifest = layout.write_image(
        &Platform::host(),
        json!({"Cmd": ["/harmless"]}),
        &[&Layer::gzip(tar.into_tar())],
    );
    layout.tag("latest", &manifest);
    layout.image("latest")
}

// ---------------------------------------------------------------------------
// What another implementation makes of an image
// ---------------------------------------------------------------------------

/// `umoci unpack --image LAYOUT:TAG DEST`: the bundle's root filesystem,
/// DEST/rootfs. (umoci writes config.json, umoci.json and an mtree file
/// next to rootfs/, nothing inside it.)
pub fn umoci_unpack(layout: &Path, tag: &str, dest: &Path) -> PathBuf {
    let mut image = layout.as_os_str().to_owned();
    image.push(format!(":{tag}"));
    umoci(&[
        "unpack".as_ref(),
        "--image".as_ref(),
        &image,
        dest.as_os_str(),
    ]);
    dest.join("rootfs")
}

/// One line per entry below `root` (not `root` itself), sorted by path:
/// `PATH TYPE MODE UID:GID`, then `-> TARGET` for a symlink, `SIZE
/// sha256:…` for a file, and `links=[A B]` for files that share an inode
/// with others in the tree (hard links). MODE is octal with the setuid,
/// setgid and sticky bits. Times are left out.
pub fn tree_listing(root: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    walk(root, Path::new(""), &mut entries);
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    for (path, meta) in &entries {
        if meta.is_file() && meta.nlink() > 1 {
            inodes
                .entry((meta.dev(), meta.ino()))
                .or_default()
                .push(path.clone());
        }
    }
    let mut lines: Vec<String> = entries
        .iter()
        .map(|(path, meta)| {
            let kind = meta.file_type();
            let mut line = format!(
                "{path} {} {:04o} {}:{}",
                file_type_name(&kind),
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            );
            if kind.is_symlink() {
                let target = fs::read_link(root.join(path)).unwrap();
                line.push_str(&format!(" -> {}", target.display()));
            } else if kind.is_file() {
                let content = fs::read(root.join(path)).unwrap_or_default();
                line.push_str(&format!(
                    " {} {}",
                    meta.len(),
                    &sha256_digest(&content)[..23]
                ));
                if let Some(group) = inodes.get(&(meta.dev(), meta.ino())) {
                    if group.len() > 1 {
                        let mut group = group.clone();
                        group.sort();
                        line.push_str(&format!(" links=[{}]", group.join(" ")));
                    }
                }
            } else if kind_is_device(&kind) {
                line.push_str(&format!(" rdev={:x}", meta.rdev()));
            }
            line
        })
        .collect();
    lines.sort();
    lines
}

fn walk(root: &Path, relative: &Path, out: &mut Vec<(String, fs::Metadata)>) {
    let Ok(entries) = fs::read_dir(root.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = relative.join(entry.file_name());
        let Ok(meta) = fs::symlink_metadata(root.join(&path)) else {
            continue;
        };
        let is_dir = meta.is_dir();
        out.push((path.to_string_lossy().into_owned(), meta));
        if is_dir {
            walk(root, &path, out);
        }
    }
}

fn file_type_name(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "dir"
    } else if kind.is_symlink() {
        "symlink"
    } else if kind.is_file() {
        "file"
    } else if kind.is_char_device() {
        "char"
    } else if kind.is_block_device() {
        "block"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

fn kind_is_device(kind: &fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_char_device() || kind.is_block_device()
}

/// The lines only in `left` (`-`) or only in `right` (`+`), for a
/// failure message.
pub fn listing_diff(left: &[String], right: &[String]) -> String {
    let left_set: std::collections::BTreeSet<&String> = left.iter().collect();
    let right_set: std::collections::BTreeSet<&String> = right.iter().collect();
    let mut out = String::new();
    for line in left_set.difference(&right_set) {
        out.push_str(&format!("- {line}\n"));
    }
    for line in right_set.difference(&left_set) {
        out.push_str(&format!("+ {line}\n"));
    }
    out
}

// ------------------------------------------------- a registry with a CDN

/// A registry that keeps its layers elsewhere, as Docker Hub does: a small
/// server of the test's own on 127.0.0.1 that wants Basic credentials for
/// everything, serves an image's manifest and config itself, and answers
/// a layer request with `307 Temporary Redirect` to a second server, the
/// "CDN", on 127.0.0.2 (another host: Linux routes all of 127.0.0.0/8 to
/// the loopback). The CDN serves the layer to anyone and records every
/// request's headers, so a test can check that the password never went
/// there.
pub struct RedirectingRegistry {
    registry: SmallServer,
    cdn: SmallServer,
    cdn_requests: Arc<Mutex<Vec<Headers>>>,
}

/// An HTTP request's or answer's headers, (name, value).
pub type Headers = Vec<(String, String)>;

/// A request as the little servers read it: path and headers.
pub struct SmallRequest {
    /// The path with its query, percent-encoded as sent.
    pub path: String,
    pub headers: Headers,
}

impl SmallRequest {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RedirectingRegistry {
    /// Serve `image` (a one-platform image of a layout) as REPO:TAG, with
    /// the credentials `user`:`password`.
    pub fn start(image: &OciImage, repo_and_tag: &str, user: &str, password: &str) -> Self {
        let layout = Layout::open(&image.layout);
        let descriptor = layout.resolve(&image.tag);
        let manifest_digest = descriptor["digest"].as_str().unwrap().to_string();
        let manifest = layout.read_blob(&manifest_digest);
        let media_type = descriptor["mediaType"].as_str().unwrap().to_string();
        let config_digest = layout.read_json(&manifest_digest)["config"]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let (repo, tag) = repo_and_tag.split_once(':').expect("REPO:TAG");

        let cdn_listener = TcpListener::bind("127.0.0.2:0").expect("cannot listen on 127.0.0.2");
        let cdn_requests = Arc::new(Mutex::new(Vec::new()));
        let cdn_server = {
            let (requests, layout_dir) = (Arc::clone(&cdn_requests), image.layout.clone());
            SmallServer::start(cdn_listener, move |request: SmallRequest| {
                requests.lock().unwrap().push(request.headers.clone());
                let digest = request.path.rsplit('/').next().unwrap_or("");
                match fs::read(Layout::open(&layout_dir).blob_path(digest)) {
                    Ok(bytes) => (200, vec![], bytes),
                    Err(_) => (404, vec![], b"{}".to_vec()),
                }
            })
        };

        let registry_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        let registry_server = {
            let (cdn, layout_dir) = (cdn_server.address(), image.layout.clone());
            let manifest_paths = [
                format!("/v2/{repo}/manifests/{tag}"),
                format!("/v2/{repo}/manifests/{manifest_digest}"),
            ];
            let blob_prefix = format!("/v2/{repo}/blobs/");
            SmallServer::start(registry_listener, move |request: SmallRequest| {
                let authorized = request
                    .headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("authorization") && *v == expected);
                if !authorized {
                    let challenge = (
                        "WWW-Authenticate".to_string(),
                        "Basic realm=\"test\"".to_string(),
                    );
                    return (401, vec![challenge], br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_vec());
                }
                if manifest_paths.contains(&request.path) {
                    let content_type = ("Content-Type".to_string(), media_type.clone());
                    return (200, vec![content_type], manifest.clone());
                }
                match request.path.strip_prefix(&blob_prefix) {
                    Some(digest) if digest == config_digest => (
                        200,
                        vec![],
                        fs::read(Layout::open(&layout_dir).blob_path(digest)).unwrap(),
                    ),
                    Some(digest) => {
                        let location = format!("http://{cdn}/cdn/{digest}");
                        (307, vec![("Location".to_string(), location)], vec![])
                    }
                    None if request.path == "/v2/" => (200, vec![], b"{}".to_vec()),
                    None => (
                        404,
                        vec![],
                        br#"{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}"#.to_vec(),
                    ),
                }
            })
        };
        RedirectingRegistry {
            registry: registry_server,
            cdn: cdn_server,
            cdn_requests,
        }
    }

    /// `127.0.0.1:PORT/REPO:TAG`.
    pub fn reference(&self, repo_and_tag: &str) -> String {
        format!("{}/{repo_and_tag}", self.registry.address())
    }

    /// The CDN's address, `127.0.0.2:PORT`.
    pub fn cdn(&self) -> String {
        self.cdn.address().to_string()
    }

    /// The headers of every request the CDN got.
    pub fn cdn_requests(&self) -> Vec<Headers> {
        self.cdn_requests.lock().unwrap().clone()
    }
}

/// A little HTTP server of a test's own: it answers each connection on
/// its listener with `answer(request)` = (status, extra headers, body),
/// one after another, until it is dropped. (The redirecting registry, the
/// token server, and the fake registry of chapter 7's optional exercise,
/// tests/course/extra7_token.rs.)
pub struct SmallServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmallServer {
    pub fn start(
        listener: TcpListener,
        answer: impl Fn(SmallRequest) -> (u16, Headers, Vec<u8>) + Send + 'static,
    ) -> SmallServer {
        let address = listener.local_addr().expect("the listener's address");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        answer_one(stream, &answer);
                    }
                }
            })
        };
        SmallServer {
            address,
            stop,
            thread: Some(thread),
        }
    }

    /// Where it listens, `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for SmallServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread up, so that it sees `stop`.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer_one(mut stream: TcpStream, answer: &impl Fn(SmallRequest) -> (u16, Headers, Vec<u8>)) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_small_request(&mut stream) else {
        return;
    };
    let (status, headers, body) = answer(request);
    let reason = match status {
        200 => "OK",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (key, value) in headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_small_request(stream: &mut TcpStream) -> Option<SmallRequest> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = header.trim_end().split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    Some(SmallRequest { path, headers })
}
