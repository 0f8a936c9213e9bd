//! auth-api as a real process on a free 127.0.0.1 port with a temporary SQLite file:
//! login (JSON and form), the token against the served JWKS, open-redirect attempts,
//! the user check and its demo admin actions, logging hygiene, key persistence, SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{form_encode, sqlite_env, Service};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_auth-api");

fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> Service {
    let db = sqlite_env(dir);
    let mut envs = vec![("DEMO_DB", db.as_str())];
    envs.extend_from_slice(extra);
    Service::start(BIN, &envs)
}

fn login_json(svc: &Service, username: &str, password: &str) -> common::Response {
    let body = json!({ "username": username, "password": password }).to_string();
    svc.send(
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/json")],
        Some(&body),
    )
}

fn token_for(svc: &Service, username: &str, password: &str) -> String {
    let r = login_json(svc, username, password);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn b64json(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// Verifies `token` with the key of the served JWK Set whose `kid` the header names, the
/// way jwt-gate does, and returns (header, claims).
fn verify_with_jwks(token: &str, jwks: &Value) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = b64json(parts[0]);
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("kid in JWKS");
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], "ES256");
    let coord = |n: &str| URL_SAFE_NO_PAD.decode(jwk[n].as_str().unwrap()).unwrap();
    let point = p256::EncodedPoint::from_affine_coordinates(
        coord("x").as_slice().into(),
        coord("y").as_slice().into(),
        false,
    );
    let key = VerifyingKey::from_encoded_point(&point).unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signature verifies with the served JWKS");
    (header, b64json(parts[1]))
}

#[test]
fn json_login_issues_a_token_that_verifies_against_the_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(dir.path(), &[]);

    let r = login_json(&svc, "alice", "alice-password");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();

    let jwks = svc.get("/.well-known/jwks.json");
    assert_eq!(jwks.status, 200);
    assert!(jwks
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let (header, claims) = verify_with_jwks(token, &jwks.json());
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], "https://demo.jwt-gate.local");
    assert_eq!(claims["aud"], "demo-api");
    assert_eq!(claims["sub"], "1");
    assert_eq!(claims["name"], "Alice Admin");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["roles"], json!(["admin", "reader"]));
    assert_eq!(claims["scope"], "read write admin:write");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 900);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(iat.abs_diff(now) < 60);

    let bob = token_for(&svc, "bob", "bob-password");
    let (_, claims) = verify_with_jwks(&bob, &jwks.json());
    assert_eq!(claims["sub"], "2");
    assert_eq!(claims["roles"], json!(["reader"]));
    assert_eq!(claims["scope"], "read");
    // Distinct tokens even within one second (jti).
    assert_ne!(token_for(&svc, "bob", "bob-password"), bob);

    // Neither tokens nor passwords in the request log.
    let log = svc.log();
    assert!(log.contains("auth-api POST /api/auth/login 200"), "{log}");
    assert!(!log.contains(token) && !log.contains(&bob) && !log.contains("password\""));
    assert!(!log.contains("alice-password") && !log.contains("bob-password"));
}

#[test]
fn json_login_failures() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(dir.path(), &[]);
    for (user, pass) in [
        ("alice", "wrong"),
        ("nobody", "alice-password"),
        ("bob", "alice-password"),
    ] {
        let r = login_json(&svc, user, pass);
        assert_eq!(r.status, 401, "{user}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_credentials");
    }
    let r = login_json(&svc, "", "");
    assert_eq!(r.status, 400);
    let r = login_json(&svc, "alice", &"x".repeat(5000));
    assert_eq!(r.status, 400);
    for body in ["not json", "{\"username\": 1}", "{}"] {
        let r = svc.send(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "application/json")],
            Some(body),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_request");
    }
    let r = svc.send(
        "POST",
        "/api/auth/login",
        &[("Content-Type", "text/plain")],
        Some("x"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(svc.get("/nope").status, 404);
}

fn form_login(svc: &Service, user: &str, pass: &str, return_to: Option<&str>) -> common::Response {
    let mut body = format!(
        "username={}&password={}",
        form_encode(user),
        form_encode(pass)
    );
    if let Some(rt) = return_to {
        body.push_str(&format!("&return_to={}", form_encode(rt)));
    }
    svc.send(
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    )
}

#[test]
fn browser_login_sets_the_cookie_and_never_redirects_off_site() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(dir.path(), &[]);

    let page = svc.get("/login?return_to=%2Fapp%2Forders%3Fid%3D7");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.body
            .contains("name=\"return_to\" value=\"/app/orders?id=7\""),
        "{}",
        page.body
    );
    // An unsafe return_to is not even carried into the form.
    let page = svc.get("/login?return_to=%2F%2Fevil.com");
    assert!(page.body.contains("value=\"/app/\"") && !page.body.contains("evil.com"));

    let r = form_login(&svc, "alice", "alice-password", Some("/app/orders?id=7"));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/app/orders?id=7"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("access_token=ey"), "{cookie}");
    for attr in ["; HttpOnly", "; SameSite=Lax", "; Path=/", "; Max-Age=900"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"));
    let token = cookie
        .trim_start_matches("access_token=")
        .split(';')
        .next()
        .unwrap();
    verify_with_jwks(token, &svc.get("/.well-known/jwks.json").json());

    for evil in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "http:/evil.com",
        "evil.com",
        "",
    ] {
        let r = form_login(&svc, "bob", "bob-password", Some(evil));
        assert_eq!(r.status, 303, "{evil:?}");
        assert_eq!(r.header("location"), Some("/app/"), "{evil:?}");
    }
    let r = form_login(&svc, "bob", "bob-password", None);
    assert_eq!(r.header("location"), Some("/app/"));

    // Failure: the form again, 401, the error shown, no cookie, return_to kept, input escaped.
    let r = form_login(&svc, "<script>x</script>", "nope", Some("/app/x"));
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    assert!(r.body.contains("Invalid username or password"));
    assert!(r.body.contains("value=\"/app/x\""));
    assert!(r.body.contains("&lt;script&gt;") && !r.body.contains("<script>x"));

    let r = svc.get("/logout");
    assert_eq!(r.status, 303);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("access_token=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}

#[test]
fn secure_cookie_issuer_and_ttl_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(
        dir.path(),
        &[
            ("DEMO_COOKIE_SECURE", "true"),
            ("DEMO_ISSUER", "http://127.0.0.1:8080"),
            ("DEMO_TOKEN_TTL_S", "60"),
        ],
    );
    let r = form_login(&svc, "bob", "bob-password", Some("/app/"));
    assert!(r.header("set-cookie").unwrap().contains("; Secure"));
    let token = token_for(&svc, "bob", "bob-password");
    let (_, claims) = verify_with_jwks(&token, &svc.get("/.well-known/jwks.json").json());
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );
}

#[test]
fn user_check_follows_delete_and_disable() {
    let dir = tempfile::tempdir().unwrap();
    let svc = start(dir.path(), &[]);

    let r = svc.get("/internal/users/1");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "sub": "1", "active": true }));
    assert_eq!(svc.get("/internal/users/2").status, 200);
    assert_eq!(svc.get("/internal/users/999").status, 404);
    assert_eq!(svc.get("/internal/users/%27%20OR%201=1--").status, 404);

    // Disable: user check 404, login refused; enable restores both.
    assert_eq!(
        svc.send("POST", "/internal/users/2/disable", &[], None)
            .status,
        200
    );
    assert_eq!(svc.get("/internal/users/2").status, 404);
    assert_eq!(login_json(&svc, "bob", "bob-password").status, 401);
    assert_eq!(
        svc.send("POST", "/internal/users/2/enable", &[], None)
            .status,
        200
    );
    assert_eq!(svc.get("/internal/users/2").status, 200);
    token_for(&svc, "bob", "bob-password");

    // Delete: 204, then 404 everywhere.
    assert_eq!(
        svc.send("DELETE", "/internal/users/2", &[], None).status,
        204
    );
    assert_eq!(svc.get("/internal/users/2").status, 404);
    assert_eq!(
        svc.send("DELETE", "/internal/users/2", &[], None).status,
        404
    );
    assert_eq!(
        svc.send("POST", "/internal/users/2/disable", &[], None)
            .status,
        404
    );
    assert_eq!(login_json(&svc, "bob", "bob-password").status, 401);
    assert_eq!(svc.get("/internal/users/1").status, 200);

    let h = svc.get("/healthz");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
}

#[test]
fn key_and_users_persist_across_restarts_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start(dir.path(), &[]);
    let jwks1 = first.get("/.well-known/jwks.json").json();
    let token = token_for(&first, "alice", "alice-password");
    assert_eq!(
        first.send("DELETE", "/internal/users/2", &[], None).status,
        204
    );
    let status = first.terminate();
    assert!(status.success(), "{status:?}");
    assert!(first.log().contains("received SIGTERM"));
    assert!(dir.path().join("signing-key.pem").exists());

    let second = start(dir.path(), &[]);
    let jwks2 = second.get("/.well-known/jwks.json").json();
    assert_eq!(jwks1, jwks2, "same key and kid after a restart");
    verify_with_jwks(&token, &jwks2);
    // Not re-seeded: the deleted user stays deleted.
    assert_eq!(second.get("/internal/users/2").status, 404);
}

#[test]
fn signing_key_from_env_pem() {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let svc = start(dir.path(), &[("DEMO_SIGNING_KEY", pem.as_str())]);
    let jwk = &svc.get("/.well-known/jwks.json").json()["keys"][0];
    let point = p256::ecdsa::SigningKey::from(&secret)
        .verifying_key()
        .to_encoded_point(false);
    assert_eq!(jwk["x"], URL_SAFE_NO_PAD.encode(point.x().unwrap()));
    assert!(!dir.path().join("signing-key.pem").exists());

    // The same key as a file path, in SEC1 form.
    let path = dir.path().join("ec.pem");
    std::fs::write(
        &path,
        secret.to_sec1_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let svc2 = start(dir.path(), &[("DEMO_SIGNING_KEY", path.to_str().unwrap())]);
    assert_eq!(
        svc2.get("/.well-known/jwks.json").json()["keys"][0]["x"],
        jwk["x"]
    );
}
