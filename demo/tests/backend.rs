//! backend as a real process: the JSON echo of identity headers, the /app/ page,
//! health, SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Service;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_backend");

#[test]
fn echoes_identity_headers_method_and_path() {
    let svc = Service::start(BIN, &[]);
    let r = svc.send(
        "GET",
        "/api/me?x=1",
        &[
            ("x-user-id", "1"),
            ("x-user-email", "alice@example.com"),
            ("x-user-roles", "admin,reader"),
            ("x-user-name", "Alice Admin"),
            ("x-unrelated", "not echoed"),
            ("cookie", "access_token=SECRET; theme=dark"),
        ],
        None,
    );
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/api/me");
    assert_eq!(body["query"], "x=1");
    assert_eq!(body["headers"]["x-user-id"], "1");
    assert_eq!(body["headers"]["x-user-email"], "alice@example.com");
    assert_eq!(body["headers"]["x-user-roles"], "admin,reader");
    assert_eq!(body["headers"]["x-user-name"], "Alice Admin");
    assert_eq!(body["headers"]["x-jwt-gate-decision"], Value::Null);
    assert!(body["headers"].get("x-unrelated").is_none());
    assert_eq!(body["authorization_received"], false);
    assert_eq!(body["cookie_received"], true);
    assert_eq!(body["cookie_names"], json!(["access_token", "theme"]));
    assert!(!r.body.contains("SECRET"), "cookie values are never echoed");

    for (method, path) in [
        ("DELETE", "/api/admin/users/2"),
        ("POST", "/api/admin/"),
        ("GET", "/api/public/status"),
        ("PUT", "/api/public"),
    ] {
        let r = svc.send(
            method,
            path,
            &[
                ("authorization", "Bearer abc"),
                ("x-jwt-gate-decision", "would-deny; reason=missing_token"),
            ],
            Some(""),
        );
        assert_eq!(r.status, 200, "{method} {path}");
        let body = r.json();
        assert_eq!(body["method"], method);
        assert_eq!(body["path"], path);
        assert_eq!(body["authorization_received"], true);
        assert_eq!(body["cookie_received"], false);
        assert_eq!(
            body["headers"]["x-jwt-gate-decision"],
            "would-deny; reason=missing_token"
        );
        assert_eq!(body["headers"]["x-user-id"], Value::Null);
    }
    // /api/me is GET only; unknown routes are a JSON 404.
    assert_eq!(svc.send("POST", "/api/me", &[], Some("")).status, 405);
    assert_eq!(svc.get("/api/other").status, 404);
    assert_eq!(svc.get("/healthz").json()["status"], "ok");

    let log = svc.log();
    assert!(log.contains("backend GET /api/me 200"), "{log}");
    assert!(!log.contains("x=1"), "query strings are not logged");
}

#[test]
fn app_page_shows_the_signed_in_user_escaped() {
    let mut svc = Service::start(BIN, &[]);
    let r = svc.send(
        "GET",
        "/app/",
        &[
            ("x-user-id", "1"),
            ("x-user-email", "alice@example.com"),
            ("x-user-name", "<b>Alice</b>"),
            ("x-user-roles", "admin,reader"),
        ],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.body
            .contains("Signed in as <strong>&lt;b&gt;Alice&lt;/b&gt;</strong>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("admin,reader"));
    assert!(r.body.contains("href=\"/logout\""));
    assert!(r.body.contains("did not reach the backend"));

    let anon = svc.get("/app/some/page");
    assert_eq!(anon.status, 200);
    assert!(anon.body.contains("No identity headers"));

    let status = svc.terminate();
    assert!(status.success(), "{status:?}");
}
