//! Route rules through the real artifact: allow / require (roles, scopes,
//! methods) / deny / optional, path normalization attacks, audit and bypass
//! modes, the browser login redirect, metrics and the denial log line.

mod util;

use serde_json::{json, Value};
use util::mint::{hs_secret, mint, ISSUER};
use util::{get, get_with_token, good_claims, host_with, send, Exchange};
use wasm_test::{Host, LogLevel};

const LOGIN: &str = "https://auth.test/login";

fn config(mode: &str) -> Value {
    json!({
        "mode": mode,
        "providers": {"corp": {
            "issuer": ISSUER, "audiences": ["api"], "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
            "claim_headers": {"x-user-id": "sub"}
        }},
        "rules": [
            {"match": {"prefix": "/public/"}, "action": "allow"},
            {"match": {"prefix": "/admin"}, "require": {"claims": {"roles": ["admin"]}}},
            {"match": {"prefix": "/reports/"}, "require": {"scopes": ["reports:read"]}},
            {"match": {"prefix": "/items/", "methods": ["POST"]}, "require": {"claims": {"roles": ["admin"]}}},
            {"match": {"prefix": "/items/"}},
            {"match": {"prefix": "/blocked/"}, "action": "deny"},
            {"match": {"prefix": "/opt/"}, "action": "optional"},
            {"match": {"prefix": "/app/"}, "login": "browser"},
            {"match": {"prefix": "/cond/"}, "require": {"when": {"all": [
                {"claim": ["https://example.com/tenant"], "one_of": ["acme", "globex"]},
                {"not": {"claim": "email", "prefix": "test-"}},
                {"any": [{"claim": "roles", "contains": "admin"}, {"claim": "sub", "regex": "^svc-"}]}
            ]}}},
            {"match": {"prefix": "/fresh/"}, "require": {"max_age_s": 300}, "login": "browser"}
        ],
        "login": {"url": LOGIN, "return_param": "return_to"}
    })
}

fn enforce() -> Host {
    host_with(config("enforce"))
}

fn token_with(changes: Value) -> String {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    mint("HS256", &claims, &Value::Null)
}

fn reader() -> String {
    token_with(json!({"roles": ["reader"], "scope": "read write"}))
}

fn admin() -> String {
    token_with(json!({"sub": "boss", "roles": ["reader", "admin"], "scope": "read"}))
}

fn post_with_token(host: &mut Host, path: &str, token: &str) -> Exchange {
    let auth = format!("Bearer {token}");
    send(host, "POST", path, &[("authorization", &auth)])
}

/// The `rule=` of the debug line the filter logs for this request.
fn matched_rule(host: &Host, id: u32) -> String {
    let prefix = format!("#{id} jwt-gate rule=");
    host.logs_at(LogLevel::Debug)
        .iter()
        .find_map(|m| m.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no rule line for #{id}: {:?}", host.logs()))
}

#[test]
fn public_route_is_forwarded_without_a_token() {
    let mut host = enforce();
    let ex = get(&mut host, "/public/index.html", &[]);
    assert!(ex.forwarded(), "{ex:?}");
    // Not verified on an allow route, even when garbage is sent.
    let ex = get_with_token(&mut host, "/public/x", "not.a.token");
    assert!(ex.forwarded(), "{ex:?}");
}

#[test]
fn role_protected_route_is_403_for_a_reader_and_forwarded_for_an_admin() {
    let mut host = enforce();
    let ex = get_with_token(&mut host, "/admin/users", &reader());
    assert_eq!(ex.status(), Some(403), "{ex:?}");
    assert_eq!(ex.error_code(), Some("insufficient_scope"));
    assert_eq!(ex.upstream_header("x-user-id"), None);
    let ex = get_with_token(&mut host, "/admin/users", &admin());
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), Some("boss"));
    let ex = get(&mut host, "/admin/users", &[]);
    assert_eq!(ex.status(), Some(401));
}

#[test]
fn scope_protected_route_is_403_naming_the_scope_in_the_challenge() {
    let mut host = enforce();
    let ex = get_with_token(&mut host, "/reports/q1", &reader());
    assert_eq!(ex.status(), Some(403), "{ex:?}");
    assert_eq!(ex.error_code(), Some("insufficient_scope"));
    assert_eq!(
        util::challenge_param(ex.challenge(), "scope"),
        Some("reports:read"),
        "{}",
        ex.challenge()
    );
    for granted in [
        json!({"scope": "other reports:read"}),
        json!({"scp": ["reports:read"]}),
        json!({"scp": "reports:read x"}),
    ] {
        let ex = get_with_token(&mut host, "/reports/q1", &token_with(granted.clone()));
        assert!(ex.forwarded(), "{granted}: {ex:?}");
    }
    // A scope that only contains the name is not the scope.
    let ex = get_with_token(
        &mut host,
        "/reports/q1",
        &token_with(json!({"scope": "reports:read-all"})),
    );
    assert_eq!(ex.status(), Some(403));
}

#[test]
fn method_specific_rule_requires_admin_for_post_only() {
    let mut host = enforce();
    let ex = post_with_token(&mut host, "/items/1", &reader());
    assert_eq!(ex.status(), Some(403), "{ex:?}");
    assert!(get_with_token(&mut host, "/items/1", &reader()).forwarded());
    assert!(post_with_token(&mut host, "/items/1", &admin()).forwarded());
    assert_eq!(get(&mut host, "/items/1", &[]).status(), Some(401));
    // Method names are case-insensitive.
    let auth = format!("Bearer {}", reader());
    assert_eq!(
        send(&mut host, "post", "/items/1", &[("authorization", &auth)]).status(),
        Some(403)
    );
}

#[test]
fn deny_rule_is_403_even_with_an_admin_token() {
    let mut host = enforce();
    for ex in [
        get(&mut host, "/blocked/x", &[]),
        get_with_token(&mut host, "/blocked/x", &admin()),
    ] {
        assert_eq!(ex.status(), Some(403), "{ex:?}");
        assert_eq!(
            ex.error_code(),
            None,
            "no insufficient_scope for a deny rule"
        );
    }
}

#[test]
fn optional_route_forwards_without_token_and_rejects_a_bad_one() {
    let mut host = enforce();
    let ex = get(&mut host, "/opt/x", &[]);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), None);
    let ex = get_with_token(&mut host, "/opt/x", &util::mint::tamper(&reader()));
    assert_eq!(ex.status(), Some(401), "{ex:?}");
    assert_eq!(ex.error_code(), Some("invalid_token"));
    let ex = get_with_token(&mut host, "/opt/x", &reader());
    assert!(ex.forwarded());
    assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
}

/// Paths that try to reach `/admin` as something else.
const ADMIN_DISGUISES: [&str; 12] = [
    "/public/../admin",
    "/public/%2e%2e/admin",
    "/public/..;/admin",
    "//admin",
    "/%61dmin",
    "/admin/./",
    "/admin;x=y",
    "/admin;x=y/users",
    "/admin?x=/public",
    "/admin#/public/",
    "/public/./../admin/users",
    "/./admin",
];

#[test]
fn path_normalization_attacks_never_reach_admin_as_public() {
    let mut host = enforce();
    for path in ADMIN_DISGUISES {
        let ex = get(&mut host, path, &[]);
        assert_eq!(ex.status(), Some(401), "{path}: {ex:?}");
        assert_eq!(
            matched_rule(&host, ex.id),
            "1 match=prefix \"/admin\"",
            "{path}"
        );
        let ex = get_with_token(&mut host, path, &reader());
        assert_eq!(ex.status(), Some(403), "{path} with a reader token: {ex:?}");
    }
    // Unsafe paths are refused before any rule.
    for path in [
        "/admin%2f..",
        "/public%2f..%2fadmin",
        "/public/..%5cadmin",
        "/public\\..\\admin",
        "/admin%00",
        "/adm%zzin",
    ] {
        let ex = get(&mut host, path, &[]);
        assert_eq!(ex.status(), Some(400), "{path}: {ex:?}");
        assert_eq!(ex.error_code(), Some("invalid_request"), "{path}");
    }
    // Matching is case-sensitive: /ADMIN is not the admin rule, but not public either.
    let ex = get(&mut host, "/ADMIN", &[]);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
    assert_eq!(matched_rule(&host, ex.id), "default");
    // The request goes upstream with its path unchanged.
    let ex = get_with_token(&mut host, "/admin;x=y", &admin());
    assert!(ex.forwarded());
    assert_eq!(ex.upstream_header(":path"), Some("/admin;x=y"));
}

#[test]
fn audit_mode_never_blocks_and_marks_would_deny() {
    let mut host = host_with(config("audit"));
    let cases = [
        (get(&mut host, "/admin/x", &[]), "missing"),
        (
            get_with_token(&mut host, "/admin/x", &reader()),
            "claim_mismatch",
        ),
        (
            get_with_token(&mut host, "/admin/x", &util::mint::tamper(&admin())),
            "bad_signature",
        ),
        (get(&mut host, "/blocked/x", &[]), "route_denied"),
        (
            get(&mut host, "/reports/x", &[("x-jwt-gate-decision", "allow")]),
            "missing",
        ),
    ];
    for (ex, reason) in &cases {
        assert!(ex.forwarded(), "{reason}: {ex:?}");
        assert_eq!(
            ex.upstream_values("x-jwt-gate-decision"),
            vec![format!("would-deny; reason={reason}")],
            "{ex:?}"
        );
    }
    host.tick(); // per-request counts reach the host at most a second late
    assert_eq!(
        host.metric("jwt_gate.requests.would_deny"),
        Some(cases.len() as u64)
    );
    assert_eq!(host.metric("jwt_gate.requests.deny"), Some(0));
    // A request that passes carries no decision header, even a spoofed one.
    let auth = format!("Bearer {}", admin());
    let ex = get(
        &mut host,
        "/admin/x",
        &[("authorization", &auth), ("x-jwt-gate-decision", "allow")],
    );
    assert!(ex.forwarded());
    assert_eq!(
        ex.upstream_values("x-jwt-gate-decision"),
        Vec::<&str>::new()
    );
    host.tick();
    assert_eq!(host.metric("jwt_gate.requests.allow"), Some(1));
    let would_deny_logs = host
        .logs_at(LogLevel::Info)
        .iter()
        .filter(|m| m.contains("would deny"))
        .count();
    assert_eq!(would_deny_logs, cases.len(), "{:?}", host.logs());
}

#[test]
fn bypass_mode_checks_nothing_strips_identity_headers_and_says_so() {
    let mut host = host_with(config("bypass"));
    assert!(
        host.logs_at(LogLevel::Warn)
            .iter()
            .any(|m| m.contains("bypass")),
        "{:?}",
        host.logs()
    );
    assert_eq!(host.metric("jwt_gate.bypass_mode"), Some(1));
    for path in ["/admin/x", "/blocked/x", "/admin%2f.."] {
        let ex = get(
            &mut host,
            path,
            &[("x-user-id", "spoofed"), ("x-jwt-gate-decision", "allow")],
        );
        assert!(ex.forwarded(), "{path}: {ex:?}");
        assert_eq!(ex.upstream_header("x-user-id"), None, "{path}");
        assert_eq!(ex.upstream_header("x-jwt-gate-decision"), None, "{path}");
    }
    host.tick();
    assert_eq!(host.metric("jwt_gate.requests.bypass"), Some(3));
    assert_eq!(enforce().metric("jwt_gate.bypass_mode"), Some(0));
}

#[test]
fn browser_navigation_is_redirected_to_login_and_api_call_gets_401() {
    let mut host = enforce();
    let path = "/app/page?x=1&y=//evil.test";
    for headers in [
        [("accept", "text/html,application/xhtml+xml")],
        [("sec-fetch-mode", "navigate")],
    ] {
        let ex = get(&mut host, path, &headers);
        assert_eq!(ex.status(), Some(302), "{ex:?}");
        assert_eq!(
            ex.reply_header("location"),
            Some("https://auth.test/login?return_to=%2Fapp%2Fpage%3Fx%3D1%26y%3D%2F%2Fevil.test")
        );
    }
    let ex = get(&mut host, path, &[("accept", "application/json")]);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
    // Only on the rule that asks for it.
    let ex = get(&mut host, "/admin/x", &[("accept", "text/html")]);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
}

#[test]
fn decisions_and_failure_reasons_are_counted() {
    let mut host = enforce();
    get(&mut host, "/public/x", &[]);
    get_with_token(&mut host, "/items/1", &reader());
    get(&mut host, "/items/1", &[]);
    get(&mut host, "/items/2", &[]);
    get_with_token(&mut host, "/admin/x", &reader());
    get(&mut host, "/blocked/x", &[]);
    get(&mut host, "/admin%2f..", &[]);
    get_with_token(&mut host, "/items/1", &util::mint::tamper(&reader()));
    host.tick();
    let m = host.metrics();
    let count = |name: &str| m.get(name).copied().unwrap_or(0);
    assert_eq!(count("jwt_gate.requests.allow"), 2, "{m:?}");
    assert_eq!(count("jwt_gate.requests.deny"), 6, "{m:?}");
    assert_eq!(count("jwt_gate.failures.missing"), 2, "{m:?}");
    assert_eq!(count("jwt_gate.failures.claim_mismatch"), 1, "{m:?}");
    assert_eq!(count("jwt_gate.failures.route_denied"), 1, "{m:?}");
    assert_eq!(count("jwt_gate.failures.bad_path"), 1, "{m:?}");
    assert_eq!(count("jwt_gate.failures.bad_signature"), 1, "{m:?}");
}

#[test]
fn per_request_counts_reach_the_host_within_a_second_not_one_host_call_each() {
    let mut host = enforce();
    let allowed = |host: &wasm_test::Host| host.metric("jwt_gate.requests.allow").unwrap_or(0);
    get(&mut host, "/public/x", &[]);
    assert_eq!(
        allowed(&host),
        1,
        "the first request after a quiet second is handed over"
    );
    for _ in 0..5 {
        get(&mut host, "/public/x", &[]);
    }
    assert_eq!(
        allowed(&host),
        1,
        "later ones in the same second wait in the VM"
    );
    host.advance(std::time::Duration::from_millis(1000));
    get(&mut host, "/public/x", &[]);
    assert_eq!(
        allowed(&host),
        7,
        "a request a second later hands over all of them"
    );
    get(&mut host, "/public/x", &[]);
    assert_eq!(allowed(&host), 7);
    host.tick();
    assert_eq!(allowed(&host), 8, "and so does every tick");
}

#[test]
fn a_flood_of_one_forged_token_costs_one_verification_and_every_copy_gets_401() {
    let mut host = enforce();
    let forged = util::mint::tamper(&reader());
    for _ in 0..5 {
        let ex = get_with_token(&mut host, "/items/1", &forged);
        assert_eq!(ex.status(), Some(401), "{ex:?}");
    }
    host.tick();
    assert_eq!(host.metric("jwt_gate.cache.miss"), Some(1));
    assert_eq!(host.metric("jwt_gate.cache.forged_hit"), Some(4));
    assert_eq!(host.metric("jwt_gate.failures.bad_signature"), Some(5));
    // Remembered for 30 s only, then verified again.
    host.advance(std::time::Duration::from_secs(30));
    assert_eq!(
        get_with_token(&mut host, "/items/1", &forged).status(),
        Some(401)
    );
    host.tick();
    assert_eq!(host.metric("jwt_gate.cache.miss"), Some(2));
    // The genuine token is never refused because of its forgery.
    assert!(get_with_token(&mut host, "/items/1", &reader()).forwarded());
}

#[test]
fn a_denial_logs_one_info_line_with_reason_and_provider_and_never_the_token() {
    let mut host = enforce();
    host.clear_logs();
    let token = util::mint::tamper(&token_with(
        json!({"secret_claim": "claim-value-never-logged"}),
    ));
    let ex = get_with_token(&mut host, "/items/1", &token);
    assert_eq!(ex.status(), Some(401));
    let info = host.logs_at(LogLevel::Info);
    let denials: Vec<&String> = info.iter().filter(|m| m.contains("deny")).collect();
    assert_eq!(denials.len(), 1, "{info:?}");
    let line = denials[0];
    assert!(line.contains("reason=bad_signature"), "{line}");
    assert!(line.contains("provider=corp"), "{line}");
    assert!(line.contains(&format!("#{}", ex.id)), "{line}");
    let signature = token.rsplit('.').next().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    for entry in host.logs() {
        assert!(
            !entry.message.contains(signature),
            "token in the logs: {}",
            entry.message
        );
        assert!(
            !entry.message.contains(payload),
            "payload in the logs: {}",
            entry.message
        );
        assert!(
            !entry.message.contains("claim-value-never-logged"),
            "{}",
            entry.message
        );
    }
}

#[test]
fn a_hostile_kid_is_logged_escaped_and_truncated() {
    let mut host = enforce();
    host.clear_logs();
    let kid = format!("evil\r\n[critical] forged line {}", "k".repeat(200));
    let token = util::mint::tamper(&mint("HS256", &good_claims(), &json!({"kid": kid})));
    let ex = get_with_token(&mut host, "/items/1", &token);
    assert_eq!(ex.status(), Some(401));
    for entry in host.logs() {
        assert!(
            !entry.message.contains('\n') && !entry.message.contains('\r'),
            "{:?}",
            entry.message
        );
        assert!(
            !entry.message.contains(&"k".repeat(100)),
            "kid not truncated: {}",
            entry.message
        );
    }
}

#[test]
fn audit_mode_never_writes_an_unsafe_claim_into_a_header() {
    let mut host = host_with(config("audit"));
    let token = token_with(json!({"sub": "boss\r\nx-admin: true", "roles": ["admin"]}));
    let ex = get_with_token(&mut host, "/items/1", &token);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), None, "{ex:?}");
    assert!(ex
        .upstream
        .iter()
        .all(|(_, v)| !v.contains('\n') && !v.contains('\r')));
    assert_eq!(
        ex.upstream_header("x-jwt-gate-decision"),
        Some("would-deny; reason=unsafe_claim_value")
    );
}

#[test]
fn get_only_protection_also_covers_head() {
    let mut host = host_with(json!({
        "providers": {"corp": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}]}},
        "rules": [
            {"match": {"prefix": "/files/", "methods": ["GET"]}, "require": {"claims": {"roles": ["admin"]}}},
            {"match": {"prefix": "/files/"}, "action": "allow"}
        ]
    }));
    for method in ["GET", "HEAD", "head"] {
        let ex = send(&mut host, method, "/files/secret.pdf", &[]);
        assert_eq!(ex.status(), Some(401), "{method}: {ex:?}");
    }
    assert!(send(&mut host, "PUT", "/files/x", &[]).forwarded());
}

#[test]
fn realm_and_deny_body_shape_the_reply() {
    let mut host = host_with(json!({
        "providers": {"corp": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}]}},
        "realm": "corp-api",
        "deny_body": "go away"
    }));
    let ex = get(&mut host, "/x", &[]);
    assert_eq!(ex.status(), Some(401));
    assert_eq!(
        ex.challenge(),
        "Bearer realm=\"corp-api\"",
        "no error code without a token"
    );
    let reply = ex.reply.as_ref().unwrap();
    assert_eq!(reply.body_text(), "go away");
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    let mut host = enforce();
    let ex = get(&mut host, "/items/1", &[]);
    let body: Value = serde_json::from_slice(&ex.reply.as_ref().unwrap().body).unwrap();
    assert_eq!(body["message"], "missing credentials", "{body}");
    assert_eq!(ex.reply_header("content-type"), Some("application/json"));
}

#[test]
fn first_provider_that_verifies_wins_and_its_headers_are_written() {
    let mut host = host_with(json!({
        "providers": {
            "a": {"issuer": "https://a.test", "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
                  "claim_headers": {"x-user-id": "sub"}},
            "b": {"issuer": ISSUER, "algorithms": ["ES256"], "keys": [{"pem": util::mint::fixture_key("ec256.pub.pem")}],
                  "claim_headers": {"x-user-id": "sub", "x-issuer": "iss"}}
        }
    }));
    let es = mint("ES256", &good_claims(), &Value::Null);
    let ex = get_with_token(&mut host, "/x", &es);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-issuer"), Some(ISSUER));
    // An HS256 token from the wrong issuer fails "a" (issuer) and "b" (algorithm).
    let hs = mint("HS256", &good_claims(), &Value::Null);
    let ex = get_with_token(&mut host, "/x", &hs);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
    assert_eq!(ex.upstream_header("x-issuer"), None);
}

#[test]
fn rich_claim_conditions_decide_403_or_forward() {
    let mut host = enforce();
    let tenant = "https://example.com/tenant";
    let with = |extra: Value| {
        let mut changes = json!({"email": "ada@example.com"});
        for (k, v) in extra.as_object().unwrap() {
            changes[k] = v.clone();
        }
        token_with(changes)
    };
    let cases = [
        (json!({tenant: "acme", "roles": ["admin"]}), true),
        (json!({tenant: "globex", "sub": "svc-batch"}), true),
        (json!({tenant: "initech", "roles": ["admin"]}), false),
        (json!({"tenant": "acme", "roles": ["admin"]}), false),
        (
            json!({tenant: "acme", "roles": ["reader"], "sub": "u-1"}),
            false,
        ),
        (
            json!({tenant: "acme", "roles": ["admin"], "email": "test-1@example.com"}),
            false,
        ),
    ];
    for (claims, passes) in cases {
        let ex = get_with_token(&mut host, "/cond/x", &with(claims.clone()));
        if passes {
            assert!(ex.forwarded(), "{claims}: {ex:?}");
        } else {
            assert_eq!(ex.status(), Some(403), "{claims}: {ex:?}");
        }
    }
}

#[test]
fn a_token_older_than_max_age_gets_401_and_a_browser_signs_in_again() {
    let mut host = enforce();
    let fresh = token_with(json!({"iat": util::NOW - 60}));
    assert!(get_with_token(&mut host, "/fresh/x", &fresh).forwarded());
    let old = token_with(json!({"iat": util::NOW - 301, "exp": util::NOW + 3600}));
    let ex = get_with_token(&mut host, "/fresh/x", &old);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
    assert!(
        ex.reply_header("www-authenticate")
            .is_some_and(|c| c.contains("invalid_token")),
        "{ex:?}"
    );
    let auth = format!("Bearer {old}");
    let ex = get(
        &mut host,
        "/fresh/x",
        &[("authorization", &auth), ("accept", "text/html")],
    );
    assert_eq!(ex.status(), Some(302), "{ex:?}");
    // The same old token is fine where no max age is asked for.
    assert!(get_with_token(&mut host, "/items/1", &old).forwarded());
}
