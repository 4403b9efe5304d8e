//! Chapter 7's optional exercise — the bearer-token challenge. Run with
//! `cargo test --features stage7,extra7 extra7_token`.
//!
//! Two kinds of registry: Debian's `docker-registry` with token
//! authentication and the test's own token server (`TestRegistry::
//! with_token_auth`), and a small fake of this file that sends the
//! challenges a test chooses and writes down every request it gets, so
//! that a test can see what went where.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::stage7_pull::{
    assert_fails_saying, pull, pull_fails, pull_ok, run_ok, StoreSnapshot, BUSYBOX,
};
use crate::support::registry::{
    base64_decode, one_layer_image, percent_decode, Headers, SmallRequest, SmallServer,
    TestRegistry, ONE_LAYER_OUTPUT, TOKEN_SERVICE,
};
use crate::support::{idea, text, TestEnv};

#[test]
fn a_token_for_the_repository_is_fetched_with_the_users_credentials_and_pulls() {
    let _idea = idea("a Bearer challenge sends bocker to the token server of its realm, with the challenge's service and scope and the user's Basic credentials; the token it gets opens the registry");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::with_token_auth("bob", "builder");
    registry.push_image(one_layer_image(), BUSYBOX);
    let reference = registry.reference(BUSYBOX);
    let pushed = registry.token_requests().len();
    let id = pull_ok(&env, &["--user", "bob:builder", &reference]);
    let requests = registry.token_requests()[pushed..].to_vec();
    assert!(
        requests.iter().any(|r| r.status == 200
            && r.user.as_deref() == Some("bob")
            && r.service.as_deref() == Some(TOKEN_SERVICE)
            && r.scopes.iter().any(|s| s == "repository:test/busybox:pull")),
        "bocker should have asked the token server (the realm of the registry's `WWW-Authenticate: Bearer` challenge) for a token with the challenge's service and scope `repository:test/busybox:pull`, with Basic credentials. It asked: {requests:#?}"
    );
    assert_eq!(run_ok(&env, &[&id]), ONE_LAYER_OUTPUT);
    env.assert_no_leaks();
}

#[test]
fn without_credentials_the_token_server_refuses_and_nothing_is_pulled() {
    let _idea = idea("a token server that refuses (401 without credentials) ends the pull with an `unauthorized` error, and nothing is left behind");
    let env = TestEnv::with_btrfs();
    let registry = TestRegistry::with_token_auth("bob", "builder");
    registry.push_image(one_layer_image(), BUSYBOX);
    let reference = registry.reference(BUSYBOX);
    let before = StoreSnapshot::take(&env);
    let out = pull(&env, &[&reference]);
    let line = assert_fails_saying(
        &out,
        "bocker pull REFERENCE (no credentials for the token server)",
        &[],
        "the token server answers 401 without credentials: no token, no pull",
    );
    assert!(
        line.to_lowercase().contains("unauthorized") || line.to_lowercase().contains("credentials"),
        "without a token the error should say `unauthorized` or `credentials`, not:\n{line}"
    );
    before.assert_unchanged(&env, "a pull without a token");
    let requests = registry.token_requests();
    assert!(
        requests.iter().any(|r| r.user.is_none() && r.status == 401),
        "without --user, bocker should still ask the token server (anonymously: Docker Hub gives public images' tokens that way), and be refused. The token server got: {requests:#?}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_scope_with_commas_inside_its_quotes_is_asked_for_whole() {
    let _idea = idea("a challenge's parameters may come in any order and a quoted value may hold commas: the scope `repository:test/busybox:pull,push` goes to the token server whole");
    let env = TestEnv::new();
    let fake = FakeRegistry::start(|port| {
        format!(
            "Bearer scope=\"repository:test/busybox:pull,push\",service=\"fake registry\",realm=\"http://127.0.0.1:{port}/auth/token\""
        )
    });
    pull_fails(
        &env,
        &["--user", "bob:builder", &fake.reference()],
        &["not found"],
        "the fake registry answers 404 once it gets the right token: a pull that gets that far read the challenge and fetched the token",
    );
    let asked = fake.token_requests();
    assert!(
        asked.iter().any(|r| r.query("scope").as_deref() == Some("repository:test/busybox:pull,push")
            && r.query("service").as_deref() == Some("fake registry")),
        "the challenge was `{}`: bocker should have asked GET /auth/token with scope=repository:test/busybox:pull,push and service=fake registry (the quoted values, commas and spaces included). The fake got: {:#?}",
        fake.challenge(),
        fake.requests()
    );
    env.assert_no_leaks();
}

#[test]
fn without_a_scope_the_token_is_asked_to_pull_the_repository() {
    let _idea = idea("a challenge without a scope (a registry's answer to /v2/) gets a token asked for `repository:NAME:pull`, the repository being pulled");
    let env = TestEnv::new();
    let fake = FakeRegistry::start(|port| {
        format!("Bearer realm=\"http://127.0.0.1:{port}/auth/token\",service=\"fake\"")
    });
    pull_fails(
        &env,
        &["--user", "bob:builder", &fake.reference()],
        &["not found"],
        "the fake registry answers 404 once it gets the right token",
    );
    let asked = fake.token_requests();
    assert!(
        asked
            .iter()
            .any(|r| r.query("scope").as_deref() == Some("repository:test/busybox:pull")),
        "the challenge `{}` names no scope: ask for scope=repository:test/busybox:pull (the repository being pulled, action pull). The fake got: {:#?}",
        fake.challenge(),
        fake.requests()
    );
    env.assert_no_leaks();
}

#[test]
fn the_password_goes_to_the_token_server_and_the_token_to_the_registry() {
    let _idea = idea("the user's Basic credentials go to the token server only; the registry gets the request again with `Authorization: Bearer TOKEN`");
    let env = TestEnv::new();
    let fake = FakeRegistry::start(|port| {
        format!(
            "Bearer realm=\"http://127.0.0.1:{port}/auth/token\",service=\"fake\",scope=\"repository:test/busybox:pull\""
        )
    });
    pull_fails(
        &env,
        &["--user", "bob:builder", &fake.reference()],
        &["not found"],
        "the fake registry answers 404 once it gets the right token",
    );
    let requests = fake.requests();
    let tokens = fake.token_requests();
    assert!(
        tokens
            .iter()
            .any(|r| r.basic_user().as_deref() == Some("bob:builder")),
        "the token server should get the user's credentials as `Authorization: Basic base64(bob:builder)`. The fake got: {requests:#?}"
    );
    let registry_side: Vec<&Seen> = requests
        .iter()
        .filter(|r| r.path.starts_with("/v2/"))
        .collect();
    assert!(
        registry_side
            .iter()
            .all(|r| !r.authorization.as_deref().unwrap_or("").starts_with("Basic ")),
        "the registry asked for a token: it must not get the password (Basic) itself. The fake got: {requests:#?}"
    );
    assert!(
        registry_side
            .iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {FAKE_TOKEN}"))),
        "after the token server's answer {{\"token\": \"{FAKE_TOKEN}\"}}, the registry should get the request again with `Authorization: Bearer {FAKE_TOKEN}`. The fake got: {requests:#?}"
    );
    env.assert_no_leaks();
}

// --- A fake registry with its own token server ------------------------

/// The token the fake's token server gives.
const FAKE_TOKEN: &str = "fake-token-for-bob";

/// A request the fake got.
#[derive(Clone, Debug)]
struct Seen {
    /// The path with its query, percent-encoded as sent.
    path: String,
    authorization: Option<String>,
}

impl Seen {
    /// The value of query parameter `name`, decoded.
    fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.path.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then(|| percent_decode(&value.replace('+', " ")))
        })
    }

    /// `user:password` of a Basic Authorization header.
    fn basic_user(&self) -> Option<String> {
        let encoded = self.authorization.as_deref()?.strip_prefix("Basic ")?;
        Some(text(&base64_decode(encoded.trim())?))
    }
}

/// A registry on 127.0.0.1 that answers every /v2/ request with 401 and
/// the challenge chosen by the test — or, given `Bearer FAKE_TOKEN`, with
/// 404 MANIFEST_UNKNOWN — and is its own token server at /auth/token (a
/// token for bob:builder, 401 to anyone else). It runs on the support's
/// `SmallServer`, as the redirecting registry does.
struct FakeRegistry {
    server: SmallServer,
    challenge: String,
    requests: Arc<Mutex<Vec<Seen>>>,
}

impl FakeRegistry {
    fn start(challenge: impl Fn(u16) -> String) -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind the fake registry");
        let port = listener.local_addr().unwrap().port();
        let challenge = challenge(port);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let server = {
            let (challenge, requests) = (challenge.clone(), requests.clone());
            SmallServer::start(listener, move |request: SmallRequest| {
                answer_fake(request, &challenge, &requests)
            })
        };
        FakeRegistry {
            server,
            challenge,
            requests,
        }
    }

    fn reference(&self) -> String {
        format!("{}/{BUSYBOX}", self.server.address())
    }

    fn challenge(&self) -> &str {
        &self.challenge
    }

    fn requests(&self) -> Vec<Seen> {
        self.requests.lock().unwrap().clone()
    }

    fn token_requests(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/auth/token"))
            .collect()
    }
}

/// The fake's answer to one request, written down first.
fn answer_fake(
    request: SmallRequest,
    challenge: &str,
    requests: &Mutex<Vec<Seen>>,
) -> (u16, Headers, Vec<u8>) {
    let seen = Seen {
        authorization: request.header("authorization").map(String::from),
        path: request.path,
    };
    requests.lock().unwrap().push(seen.clone());
    let json = ("Content-Type".to_string(), "application/json".to_string());
    if seen.path.starts_with("/auth/token") {
        if seen.basic_user().as_deref() == Some("bob:builder") {
            let token = format!("{{\"token\":\"{FAKE_TOKEN}\"}}");
            (200, vec![json], token.into_bytes())
        } else {
            let refusal = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bob:builder only"}]}"#;
            (401, vec![json], refusal.as_bytes().to_vec())
        }
    } else if seen.authorization.as_deref() == Some(&format!("Bearer {FAKE_TOKEN}")) {
        let unknown = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"the fake registry holds no image"}]}"#;
        (404, vec![json], unknown.as_bytes().to_vec())
    } else {
        let asked = ("WWW-Authenticate".to_string(), challenge.to_string());
        let refusal = r#"{"errors":[{"code":"UNAUTHORIZED","message":"a token, please"}]}"#;
        (401, vec![json, asked], refusal.as_bytes().to_vec())
    }
}
