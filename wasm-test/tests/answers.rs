//! Local replies through the real artifact: RFC 9457 problem bodies, per-reason
//! status overrides, the RFC 9728 `resource_metadata` challenge parameter,
//! `strip_failure_details`, and CORS preflights on rules that allow them.

mod util;

use serde_json::{json, Value};
use util::mint::{mint, tamper};
use util::{challenge_param, get, get_with_token, good_claims, host_with, provider, send};
use wasm_test::{Host, LogLevel};

const METADATA: &str = "https://api.test/.well-known/oauth-protected-resource";

fn host(top: Value) -> Host {
    let mut config = json!({"providers": {"corp": provider("HS256")}});
    for (k, v) in top.as_object().unwrap() {
        config[k] = v.clone();
    }
    host_with(config)
}

fn expired() -> String {
    let mut claims = good_claims();
    claims["exp"] = json!(util::NOW - 600);
    mint("HS256", &claims, &Value::Null)
}

fn body(ex: &util::Exchange) -> Value {
    serde_json::from_str(&ex.reply.as_ref().unwrap().body_text()).unwrap()
}

#[test]
fn problem_json_body_has_type_title_status_detail_and_its_content_type() {
    let mut host = host(json!({"body_format": "problem+json"}));
    let ex = get_with_token(&mut host, "/api", &expired());
    ex.assert_invalid_token("token expired");
    assert_eq!(
        ex.reply_header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        body(&ex),
        json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
               "detail": "token expired", "error": "invalid_token"})
    );
    let ex = get(&mut host, "/api", &[]);
    assert_eq!(body(&ex)["detail"], "missing credentials");
    assert_eq!(body(&ex)["error"], "unauthorized");
}

#[test]
fn json_stays_the_default_body() {
    let mut host = host(json!({}));
    let ex = get_with_token(&mut host, "/api", &expired());
    assert_eq!(ex.reply_header("content-type"), Some("application/json"));
    assert_eq!(
        body(&ex),
        json!({"error": "invalid_token", "message": "token expired"})
    );
}

#[test]
fn status_override_changes_the_status_of_that_reason_only() {
    let mut host = host(json!({
        "status_overrides": {"bad_audience": 403, "expired": 419},
        "body_format": "problem+json"
    }));
    let mut claims = good_claims();
    claims["aud"] = json!("other");
    let ex = get_with_token(&mut host, "/api", &mint("HS256", &claims, &Value::Null));
    assert_eq!(ex.status(), Some(403));
    assert_eq!(ex.error_code(), Some("invalid_token"));
    assert_eq!(body(&ex)["status"], 403);
    assert_eq!(body(&ex)["title"], "Forbidden");
    let ex = get_with_token(&mut host, "/api", &expired());
    assert_eq!(ex.status(), Some(419));
    assert_eq!(body(&ex)["title"], "Client Error");
    let ex = get_with_token(&mut host, "/api", &tamper(&expired()));
    assert_eq!(ex.status(), Some(401));
    // Metrics still count the reason, not the status.
    host.tick(); // counters reach the host on the tick
    assert_eq!(host.metric("jwt_gate.failures.bad_audience"), Some(1));
}

#[test]
fn status_override_outside_4xx_5xx_refuses_the_configuration() {
    let config =
        json!({"providers": {"corp": provider("HS256")}, "status_overrides": {"missing": 302}});
    let mut host = util::host_unstarted(config, &[]);
    assert!(!host.start_plugin());
    let errors = host.logs_at(LogLevel::Error).join("\n");
    assert!(
        errors.contains("status_overrides.missing: 302 is not a 4xx or 5xx status"),
        "{errors}"
    );
}

#[test]
fn resource_metadata_is_in_every_challenge() {
    let mut host = host(json!({"resource_metadata": METADATA, "realm": "api"}));
    let missing = get(&mut host, "/api", &[]);
    assert_eq!(
        missing.challenge(),
        format!(r#"Bearer realm="api", resource_metadata="{METADATA}""#)
    );
    let bad = get_with_token(&mut host, "/api", &expired());
    bad.assert_invalid_token("token expired");
    assert_eq!(
        challenge_param(bad.challenge(), "resource_metadata"),
        Some(METADATA)
    );
    assert_eq!(challenge_param(bad.challenge(), "realm"), Some("api"));
}

#[test]
fn strip_failure_details_hides_the_reason_but_logs_and_metrics_keep_it() {
    let mut host = host(json!({"strip_failure_details": true, "resource_metadata": METADATA}));
    let ex = get_with_token(&mut host, "/api", &tamper(&expired()));
    assert_eq!(ex.status(), Some(401));
    assert_eq!(
        ex.challenge(),
        format!(
            r#"Bearer realm="jwt-gate", error="invalid_token", resource_metadata="{METADATA}""#
        )
    );
    assert_eq!(ex.error_description(), None);
    assert_eq!(
        body(&ex),
        json!({"error": "invalid_token", "message": "Unauthorized"})
    );
    host.tick(); // counters reach the host on the tick
    assert_eq!(host.metric("jwt_gate.failures.bad_signature"), Some(1));
    let logs = host.logs_at(LogLevel::Info).join("\n");
    assert!(logs.contains("reason=bad_signature"), "{logs}");

    let mut host =
        self::host(json!({"strip_failure_details": true, "body_format": "problem+json"}));
    let ex = get_with_token(&mut host, "/api", &expired());
    assert_eq!(
        body(&ex),
        json!({"type": "about:blank", "title": "Unauthorized", "status": 401, "error": "invalid_token"})
    );
}

fn cors_host() -> Host {
    host(json!({
        "rules": [
            {"match": {"prefix": "/api/", "methods": ["POST", "DELETE"]}, "cors_preflight": "allow"},
            {"match": {"prefix": "/api/"}},
            {"match": {"prefix": "/admin/"}}
        ]
    }))
}

const ORIGIN: (&str, &str) = ("origin", "https://app.test");

#[test]
fn cors_preflight_passes_without_a_token_on_an_allowed_rule() {
    let mut host = cors_host();
    let ex = send(
        &mut host,
        "OPTIONS",
        "/api/items",
        &[
            ORIGIN,
            ("access-control-request-method", "DELETE"),
            ("access-control-request-headers", "authorization"),
            ("x-user-id", "spoofed"),
        ],
    );
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(
        ex.upstream_header("x-user-id"),
        None,
        "identity still stripped"
    );
    host.tick(); // counters reach the host on the tick
    assert_eq!(host.metric("jwt_gate.requests.allow"), Some(1));
    // The request the preflight announced still needs a token.
    let ex = send(&mut host, "DELETE", "/api/items", &[ORIGIN]);
    assert_eq!(ex.status(), Some(401));
}

#[test]
fn cors_preflight_needs_a_token_elsewhere_and_when_incomplete() {
    let mut host = cors_host();
    let cases: [(&str, &[(&str, &str)]); 4] = [
        // Another rule: OPTIONS is an ordinary request there.
        (
            "/admin/x",
            &[ORIGIN, ("access-control-request-method", "POST")],
        ),
        // The announced method is not the allowing rule's: the next rule decides.
        (
            "/api/items",
            &[ORIGIN, ("access-control-request-method", "PUT")],
        ),
        // Not a preflight: no Origin, or no Access-Control-Request-Method.
        ("/api/items", &[("access-control-request-method", "POST")]),
        ("/api/items", &[ORIGIN]),
    ];
    for (path, headers) in cases {
        let ex = send(&mut host, "OPTIONS", path, headers);
        assert_eq!(ex.status(), Some(401), "{path} {headers:?}");
    }
    let ex = get_with_token(
        &mut host,
        "/admin/x",
        &mint("HS256", &good_claims(), &Value::Null),
    );
    assert!(ex.forwarded());
}

#[test]
fn a_deny_body_template_is_filled_in_with_its_content_type() {
    let mut host = host(json!({
        "deny_body": "{\"status\":{status},\"code\":\"{error}\",\"reason\":\"{reason}\",\"text\":\"{message}\"}",
        "deny_content_type": "application/json"
    }));
    let ex = get_with_token(&mut host, "/api", &expired());
    assert_eq!(ex.status(), Some(401));
    assert_eq!(ex.reply_header("content-type"), Some("application/json"));
    assert_eq!(
        body(&ex),
        json!({"status": 401, "code": "invalid_token", "reason": "expired", "text": "token expired"})
    );
    let ex = get_with_token(&mut host, "/api", &tamper(&expired()));
    assert_eq!(body(&ex)["reason"], "bad_signature");
}
