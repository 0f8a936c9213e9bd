//! Request headers through the real artifact: identity headers a client sends
//! never reach the upstream, the credential is removed (header, cookie or
//! query parameter) unless `forward_token`, claim values are rendered as the
//! README says, and a claim with control characters is never a header.

mod util;

use serde_json::{json, Value};
use util::mint::{hs_secret, mint, ISSUER};
use util::{get, get_with_token, good_claims, host_with, Exchange};
use wasm_test::Host;

/// Headers jwt-gate writes: a client must never be able to set them.
const IDENTITY_HEADERS: [&str; 7] = [
    "x-user-id",
    "x-roles",
    "x-level",
    "x-admin",
    "x-org",
    "x-jwt-payload",
    "x-jwt-gate-decision",
];

fn provider(extra: Value) -> Value {
    let mut p = json!({
        "issuer": ISSUER, "audiences": ["api"], "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "claim_headers": {"x-user-id": "sub", "x-roles": "realm_access.roles", "x-level": "level",
                          "x-admin": "is_admin", "x-org": "org"},
        "payload_header": "x-jwt-payload"
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn routed(provider: Value) -> Host {
    host_with(json!({
        "providers": {"corp": provider},
        "rules": [
            {"match": {"prefix": "/public/"}, "action": "allow"},
            {"match": {"prefix": "/deny/"}, "action": "deny"},
            {"match": {"prefix": "/opt/"}, "action": "optional"},
            {"match": {"prefix": "/api/"}, "require": {"providers": ["corp"]}}
        ]
    }))
}

fn token(claims: &Value) -> String {
    mint("HS256", claims, &Value::Null)
}

fn spoofed_with(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&'static str, String)> = IDENTITY_HEADERS
        .iter()
        .map(|h| (*h, "spoofed".to_string()))
        .collect();
    // A second copy, and one with different case (the host lower-cases names).
    headers.push(("x-user-id", "spoofed-again".into()));
    headers.push(("X-Roles", "admin".into()));
    headers.extend_from_slice(extra);
    headers
}

fn send_spoofed(host: &mut Host, path: &str, extra: &[(&'static str, String)]) -> Exchange {
    let headers = spoofed_with(extra);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    get(host, path, &refs)
}

fn assert_no_spoofed_value(ex: &Exchange, route: &str) {
    for header in IDENTITY_HEADERS {
        for value in ex.upstream_values(header) {
            assert!(
                !value.contains("spoofed") && value != "admin",
                "{route}: client value of {header} reached upstream: {:?}",
                ex.upstream
            );
        }
    }
}

#[test]
fn client_sent_identity_headers_are_removed_on_an_allow_route() {
    let mut host = routed(provider(json!({})));
    let ex = send_spoofed(&mut host, "/public/page", &[]);
    assert!(ex.forwarded(), "{ex:?}");
    for header in IDENTITY_HEADERS {
        assert_eq!(ex.upstream_values(header), Vec::<&str>::new(), "{header}");
    }
}

#[test]
fn client_sent_identity_headers_are_replaced_on_a_require_route_with_a_token() {
    let mut host = routed(provider(json!({})));
    let auth = format!("Bearer {}", token(&good_claims()));
    let ex = send_spoofed(&mut host, "/api/me", &[("authorization", auth)]);
    assert!(ex.forwarded(), "{ex:?}");
    assert_no_spoofed_value(&ex, "require with token");
    assert_eq!(ex.upstream_values("x-user-id"), vec!["user-1"]);
    // Claims the token lacks are absent, not the client's value.
    for header in [
        "x-roles",
        "x-level",
        "x-admin",
        "x-org",
        "x-jwt-gate-decision",
    ] {
        assert_eq!(ex.upstream_values(header), Vec::<&str>::new(), "{header}");
    }
}

#[test]
fn a_spoofed_claim_header_the_host_will_not_remove_is_overwritten_with_the_claim() {
    // Claim headers are appended after the strip removed the client's copies; when the
    // host refuses a removal, the filter replaces instead of appending.
    let mut host = routed(provider(json!({})));
    host.refuse_header_removal("x-user-id");
    let auth = format!("Bearer {}", token(&good_claims()));
    let ex = send_spoofed(&mut host, "/api/me", &[("authorization", auth)]);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(
        ex.upstream_values("x-user-id"),
        vec!["user-1"],
        "{:?}",
        ex.upstream
    );
    assert_no_spoofed_value(&ex, "require with token, removal refused");
}

#[test]
fn client_sent_identity_headers_are_removed_on_denied_requests() {
    let mut host = routed(provider(json!({})));
    for (path, status) in [("/api/me", 401), ("/deny/x", 403), ("/%2e%2e%2f", 400)] {
        let ex = send_spoofed(&mut host, path, &[]);
        assert_eq!(ex.status(), Some(status), "{path}: {ex:?}");
        for header in IDENTITY_HEADERS {
            assert_eq!(
                ex.upstream_values(header),
                Vec::<&str>::new(),
                "{path} {header}"
            );
        }
    }
    let bad = format!("Bearer {}", util::mint::tamper(&token(&good_claims())));
    let ex = send_spoofed(&mut host, "/api/me", &[("authorization", bad)]);
    assert_eq!(ex.status(), Some(401));
    for header in IDENTITY_HEADERS {
        assert_eq!(ex.upstream_values(header), Vec::<&str>::new(), "{header}");
    }
}

#[test]
fn client_sent_identity_headers_are_removed_on_an_optional_route_without_token() {
    let mut host = routed(provider(json!({})));
    let ex = send_spoofed(&mut host, "/opt/x", &[]);
    assert!(ex.forwarded(), "{ex:?}");
    for header in IDENTITY_HEADERS {
        assert_eq!(ex.upstream_values(header), Vec::<&str>::new(), "{header}");
    }
}

#[test]
fn credential_is_removed_upstream_by_default() {
    let mut host = routed(provider(json!({})));
    let ex = get_with_token(&mut host, "/api/me", &token(&good_claims()));
    assert!(ex.forwarded());
    assert_eq!(ex.upstream_header("authorization"), None);
}

#[test]
fn forward_token_true_keeps_the_authorization_header() {
    let mut host = routed(provider(json!({"forward_token": true})));
    let t = token(&good_claims());
    let ex = get_with_token(&mut host, "/api/me", &t);
    assert!(ex.forwarded());
    assert_eq!(
        ex.upstream_header("authorization"),
        Some(format!("Bearer {t}").as_str())
    );
    assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
}

#[test]
fn token_cookie_is_removed_and_other_cookies_are_kept() {
    let mut host = routed(provider(json!({"from": [{"cookie": "access_token"}]})));
    let t = token(&good_claims());
    let cookie = format!("theme=dark; access_token={t}; lang=en");
    let ex = get(&mut host, "/api/me", &[("cookie", &cookie)]);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
    let cookies = ex.upstream_values("cookie").join("; ");
    assert!(!cookies.contains(&t), "{cookies}");
    assert!(!cookies.contains("access_token"), "{cookies}");
    assert!(
        cookies.contains("theme=dark") && cookies.contains("lang=en"),
        "{cookies}"
    );
}

#[test]
fn only_cookie_is_the_token_cookie_removes_the_cookie_header() {
    let mut host = routed(provider(json!({"from": [{"cookie": "access_token"}]})));
    let cookie = format!("access_token={}", token(&good_claims()));
    let ex = get(&mut host, "/api/me", &[("cookie", &cookie)]);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_values("cookie"), Vec::<&str>::new());
}

#[test]
fn token_query_parameter_is_removed_from_the_path() {
    let mut host = routed(provider(json!({"from": [{"query": "access_token"}]})));
    let t = token(&good_claims());
    let ex = get(
        &mut host,
        &format!("/api/items?a=1&access_token={t}&b=2"),
        &[],
    );
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
    let path = ex.upstream_header(":path").unwrap();
    assert!(
        !path.contains(&t) && !path.contains("access_token"),
        "{path}"
    );
    assert!(path.starts_with("/api/items?"), "{path}");
    assert!(path.contains("a=1") && path.contains("b=2"), "{path}");

    let ex = get(&mut host, &format!("/api/items?access_token={t}"), &[]);
    assert!(ex.forwarded(), "{ex:?}");
    let path = ex.upstream_header(":path").unwrap();
    assert!(path == "/api/items" || path == "/api/items?", "{path}");
}

#[test]
fn claims_are_rendered_nested_joined_and_as_json_text() {
    let mut host = routed(provider(json!({})));
    let mut claims = good_claims();
    claims["realm_access"] = json!({"roles": ["admin", "reader"]});
    claims["level"] = json!(3);
    claims["is_admin"] = json!(true);
    claims["org"] = json!({"id": 7, "name": "acme"});
    let ex = get_with_token(&mut host, "/api/me", &token(&claims));
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-roles"), Some("admin,reader"));
    assert_eq!(ex.upstream_header("x-level"), Some("3"));
    assert_eq!(ex.upstream_header("x-admin"), Some("true"));
    assert_eq!(
        ex.upstream_header("x-org"),
        Some(r#"{"id":7,"name":"acme"}"#)
    );
}

#[test]
fn claim_with_control_characters_is_401_and_never_a_header() {
    let mut host = routed(provider(json!({})));
    for bad in [
        "user\r\nx-admin: true",
        "user\nx",
        "user\rx",
        "user\0x",
        "user\u{7f}x",
        "tab\tx",
    ] {
        let mut claims = good_claims();
        claims["sub"] = json!(bad);
        let ex = get_with_token(&mut host, "/api/me", &token(&claims));
        ex.assert_invalid_token("claim value not allowed in a header");
        assert_eq!(
            ex.upstream_values("x-user-id"),
            Vec::<&str>::new(),
            "{bad:?}"
        );
        assert_eq!(ex.upstream_values("x-admin"), Vec::<&str>::new(), "{bad:?}");
    }
    // Also inside an array element.
    let mut claims = good_claims();
    claims["realm_access"] = json!({"roles": ["ok", "evil\r\nx: 1"]});
    let ex = get_with_token(&mut host, "/api/me", &token(&claims));
    ex.assert_invalid_token("claim value not allowed in a header");
}

#[test]
fn payload_header_carries_the_base64url_payload() {
    let mut host = routed(provider(json!({})));
    let t = token(&good_claims());
    let ex = get_with_token(&mut host, "/api/me", &t);
    assert!(ex.forwarded());
    let payload = t.split('.').nth(1).unwrap();
    assert_eq!(ex.upstream_values("x-jwt-payload"), vec![payload]);
}

#[test]
fn different_tokens_in_header_and_cookie_are_400_invalid_request() {
    let from = json!({"from": [{"header": "authorization", "prefix": "Bearer "}, {"cookie": "access_token"}]});
    let mut host = routed(provider(from));
    let a = token(&good_claims());
    let mut other = good_claims();
    other["sub"] = json!("user-2");
    let b = token(&other);
    let auth = format!("Bearer {a}");
    let cookie = format!("access_token={b}");
    let ex = get(
        &mut host,
        "/api/me",
        &[("authorization", &auth), ("cookie", &cookie)],
    );
    assert_eq!(ex.status(), Some(400), "{ex:?}");
    assert_eq!(ex.error_code(), Some("invalid_request"), "{ex:?}");

    // The same token in both is one credential: accepted, removed from both.
    let cookie = format!("access_token={a}; theme=dark");
    let ex = get(
        &mut host,
        "/api/me",
        &[("authorization", &auth), ("cookie", &cookie)],
    );
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("authorization"), None);
    assert_eq!(ex.upstream_values("cookie"), vec!["theme=dark"]);
}

#[test]
fn two_different_authorization_headers_are_400_invalid_request() {
    let mut host = routed(provider(json!({})));
    let mut other = good_claims();
    other["sub"] = json!("user-2");
    let a = format!("Bearer {}", token(&good_claims()));
    let b = format!("Bearer {}", token(&other));
    let ex = get(
        &mut host,
        "/api/me",
        &[("authorization", &a), ("authorization", &b)],
    );
    assert_eq!(ex.status(), Some(400), "{ex:?}");
    assert_eq!(ex.error_code(), Some("invalid_request"));
}

#[test]
fn non_utf8_header_name_does_not_kill_the_vm() {
    let mut host = routed(provider(json!({})));
    let id = host.init_http_context();
    let headers: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"GET"),
        (b":path", b"/public/x"),
        (b":authority", b"gw"),
        (b"x-\x80", b"v"),
    ];
    host.call_on_request_headers(id, &headers, true);
    assert!(host.trap().is_none(), "{:?}", host.trap());
    assert_eq!(host.local_response(id).map(|r| r.status), None);
    // The VM still serves the next request.
    assert!(get(&mut host, "/public/y", &[]).forwarded());
}

#[test]
fn non_utf8_header_values_are_read_lossily_without_trapping() {
    let mut host = routed(provider(json!({})));
    let t = format!("Bearer {}", token(&good_claims()));
    let id = host.init_http_context();
    let headers: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"GET"),
        (b":path", b"/api/\xff\xfe"),
        (b":authority", b"gw"),
        (b"authorization", t.as_bytes()),
        (b"x-user-id", b"\xc3\x28spoof"),
        (b"x-other", b"\xff\r\n\0"),
    ];
    let action = host.call_on_request_headers(id, &headers, true);
    assert!(host.trap().is_none(), "{:?}", host.trap());
    assert_eq!(
        action,
        wasm_test::Action::Continue,
        "{:?}",
        host.local_response(id)
    );
    assert_eq!(
        host.request_header(id, "x-user-id").as_deref(),
        Some("user-1")
    );
}

#[test]
fn verified_claims_and_a_token_hash_are_published_for_other_filters_never_the_token() {
    let published = provider(json!({
        "filter_state": {"sub": "sub", "org": "org"},
        "publish_token_hash": true
    }));
    let mut claims = good_claims();
    claims["org"] = json!("acme");
    let good = token(&claims);
    // A forged or missing token publishes nothing.
    let mut host = routed(published.clone());
    assert_eq!(
        get_with_token(&mut host, "/api/x", &util::mint::tamper(&good)).status(),
        Some(401)
    );
    assert!(get(&mut host, "/public/x", &[]).forwarded());
    assert_eq!(host.property(&["jwt_gate.sub"]), None);
    assert_eq!(host.property(&["jwt_gate.token_sha256"]), None);
    // A verified one does, on the first request and on cache hits alike.
    for _ in 0..2 {
        let ex = get_with_token(&mut host, "/api/x", &good);
        assert!(ex.forwarded(), "{ex:?}");
        assert_eq!(
            host.property(&["jwt_gate.sub"]).as_deref(),
            Some(claims["sub"].as_str().unwrap().as_bytes())
        );
        assert_eq!(
            host.property(&["jwt_gate.org"]).as_deref(),
            Some(&b"acme"[..])
        );
        let hash = String::from_utf8(host.property(&["jwt_gate.token_sha256"]).unwrap()).unwrap();
        assert_eq!(hash.len(), 32);
        assert!(
            !good.contains(&hash),
            "the hash is not a piece of the token"
        );
    }
    // Without the settings, nothing is published.
    let mut plain = routed(provider(json!({})));
    assert!(get_with_token(&mut plain, "/api/x", &good).forwarded());
    assert_eq!(plain.property(&["jwt_gate.sub"]), None);
}
