#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test helpers
//! The whole request decision, natively: config → request → verdict, with HS256
//! tokens minted here and a pinned clock. The same scenarios run through the real
//! `.wasm` in `wasm-test/tests/`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_gate::config::Config;
use jwt_gate::error::AuthError;
use jwt_gate::gate::{apply_ops, evaluate, Env, HeaderOp, Outcome, Request, Verdict};
use jwt_gate::header_map::Header;
use std::cell::RefCell;

use jwt_gate::gate::{CacheUse, VerifiedCache, FORGED_TTL_S};
use jwt_gate::keystore::KeyStore;
use jwt_gate::response;
use serde_json::{json, Value};

mod common;

use common::{denied, forwarded_ops, mint, run, NOW, SECRET};

fn good_claims() -> Value {
    json!({"iss": "https://issuer.test", "aud": "api", "sub": "user-1", "exp": NOW + 300, "roles": ["reader"], "scope": "read write"})
}

fn token(claims: &Value) -> String {
    mint(&json!({"alg": "HS256", "typ": "JWT"}), claims)
}

fn config(extra_top: &str) -> Config {
    let doc = format!(
        r#"{{"providers": {{"corp": {{"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"],
             "keys": [{{"secret": "{SECRET}"}}], "claim_headers": {{"x-user-id": "sub", "x-roles": "roles"}},
             "from": [{{"header": "authorization", "prefix": "Bearer "}}, {{"cookie": "access_token"}}]}}}}{extra_top}}}"#
    );
    Config::parse(doc.as_bytes(), &|_| None).unwrap().0
}

/// `GET /api` with a valid token and a client-sent `x-user-id` (the spoofing attempt).
fn valid_token_with_a_spoofed_claim_header() -> Verdict {
    let bearer = format!("Bearer {}", token(&good_claims()));
    run(
        &config(""),
        "GET",
        "/api",
        &[("authorization", &bearer), ("x-user-id", "spoofed")],
    )
}

#[test]
fn valid_token_is_forwarded_with_claim_headers_and_without_the_credential() {
    let v = valid_token_with_a_spoofed_claim_header();
    let ops = forwarded_ops(&v);
    let remove_spoof = ops
        .iter()
        .position(|o| *o == HeaderOp::Remove("x-user-id".into()))
        .unwrap();
    let set_user = ops
        .iter()
        .position(|o| *o == HeaderOp::Add("x-user-id".into(), "user-1".into()))
        .unwrap();
    assert!(
        remove_spoof < set_user,
        "strip must come before inject: {ops:?}"
    );
    assert!(ops.contains(&HeaderOp::Add("x-roles".into(), "reader".into())));
    assert!(ops.contains(&HeaderOp::Remove("authorization".into())));
}

/// Claim headers are appended (cheaper in Envoy) because the strip removed any spoofed
/// value first; if the host refuses a change, the rest are replaced instead, so a spoofed
/// value the host would not remove is still overwritten.
#[test]
fn claim_headers_fall_back_to_replace_once_the_host_refuses_a_change() {
    let v = valid_token_with_a_spoofed_claim_header();
    let ops = forwarded_ops(&v);
    let mut sent = Vec::new();
    apply_ops(ops, &mut |op| {
        sent.push(op.clone());
        true
    });
    assert_eq!(sent, ops, "all applied: sent as decided");
    let mut sent = Vec::new();
    apply_ops(ops, &mut |op| {
        sent.push(op.clone());
        !matches!(op, HeaderOp::Remove(name) if &**name == "x-user-id")
    });
    assert!(sent.contains(&HeaderOp::Set("x-user-id".into(), "user-1".into())));
    assert!(
        !sent.iter().any(|o| matches!(o, HeaderOp::Add(..))),
        "{sent:?}"
    );
}

#[test]
fn missing_token_is_401_without_error_code() {
    let c = config("");
    let v = run(&c, "GET", "/api", &[("x-user-id", "spoofed")]);
    assert_eq!(denied(&v), AuthError::Missing);
    let Outcome::Deny { denial, ops } = &v.outcome else {
        unreachable!()
    };
    assert!(ops.contains(&HeaderOp::Remove("x-user-id".into())));
    let reply = response::build(&c, denial, "/api");
    assert_eq!(reply.status, 401);
    assert!(reply.headers.contains(&(
        "www-authenticate".into(),
        "Bearer realm=\"jwt-gate\"".into()
    )));
}

#[test]
fn expired_token_is_401_invalid_token() {
    let c = config("");
    let mut claims = good_claims();
    claims["exp"] = json!(NOW - 61);
    let v = run(
        &c,
        "GET",
        "/api",
        &[("authorization", &format!("Bearer {}", token(&claims)))],
    );
    assert_eq!(denied(&v), AuthError::Expired);
    let Outcome::Deny { denial, .. } = &v.outcome else {
        unreachable!()
    };
    let reply = response::build(&c, denial, "/api");
    let challenge = &reply
        .headers
        .iter()
        .find(|(n, _)| n == "www-authenticate")
        .unwrap()
        .1;
    assert_eq!(
        challenge,
        "Bearer realm=\"jwt-gate\", error=\"invalid_token\", error_description=\"token expired\""
    );
    assert_eq!(
        reply.body,
        r#"{"error":"invalid_token","message":"token expired"}"#
    );
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let c = config("");
    let t = token(&good_claims());
    let mut parts: Vec<&str> = t.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(
        json!({"iss": "https://issuer.test", "aud": "api", "sub": "admin", "exp": NOW + 300})
            .to_string(),
    );
    parts[1] = &forged;
    let v = run(
        &c,
        "GET",
        "/api",
        &[("authorization", &format!("Bearer {}", parts.join(".")))],
    );
    assert_eq!(denied(&v), AuthError::BadSignature);
}

#[test]
fn header_and_cookie_with_different_tokens_is_400() {
    let c = config("");
    let a = token(&good_claims());
    let mut other = good_claims();
    other["sub"] = json!("user-2");
    let b = token(&other);
    let v = run(
        &c,
        "GET",
        "/api",
        &[
            ("authorization", &format!("Bearer {a}")),
            ("cookie", &format!("access_token={b}")),
        ],
    );
    assert_eq!(denied(&v), AuthError::MultipleTokens);
}

#[test]
fn claim_with_crlf_is_401_and_never_a_header() {
    let c = config("");
    let mut claims = good_claims();
    claims["sub"] = json!("u\r\nx-admin: 1");
    let v = run(
        &c,
        "GET",
        "/api",
        &[("authorization", &format!("Bearer {}", token(&claims)))],
    );
    assert_eq!(denied(&v), AuthError::UnsafeClaimValue);
}

#[test]
fn audit_mode_forwards_with_a_would_deny_header() {
    let c = config(r#", "mode": "audit""#);
    let v = run(&c, "GET", "/api", &[("x-jwt-gate-decision", "spoofed")]);
    let Outcome::Forward {
        ops,
        would_deny: Some(d),
        ..
    } = &v.outcome
    else {
        panic!("{v:?}")
    };
    assert_eq!(d.error, AuthError::Missing);
    assert_eq!(
        ops.first(),
        Some(&HeaderOp::Remove("x-jwt-gate-decision".into()))
    );
    assert_eq!(
        ops.last(),
        Some(&HeaderOp::Set(
            "x-jwt-gate-decision".into(),
            "would-deny; reason=missing".into()
        ))
    );
}

#[test]
fn bypass_mode_strips_identity_headers_and_checks_nothing() {
    let c = config(r#", "mode": "bypass""#);
    let v = run(
        &c,
        "GET",
        "/api",
        &[("x-user-id", "spoofed"), ("X-Roles", "admin")],
    );
    // Only the identity headers the client sent are removed (absent ones cost no host call).
    assert_eq!(
        forwarded_ops(&v),
        &[
            HeaderOp::Remove("x-roles".into()),
            HeaderOp::Remove("x-user-id".into())
        ]
    );
}

#[test]
fn browser_navigation_is_redirected_to_login_and_api_call_gets_401() {
    let c = config(
        r#", "rules": [{"match": {"prefix": "/app/"}, "login": "browser"}],
             "login": {"url": "https://auth.test/login", "return_param": "return_to"}"#,
    );
    let v = run(
        &c,
        "GET",
        "/app/page?x=1&y=//evil",
        &[("accept", "text/html,application/xhtml+xml")],
    );
    let Outcome::Deny { denial, .. } = &v.outcome else {
        panic!("{v:?}")
    };
    let reply = response::build(&c, denial, "/app/page?x=1&y=//evil");
    assert_eq!(reply.status, 302);
    assert!(reply.headers.contains(&(
        "location".into(),
        "https://auth.test/login?return_to=%2Fapp%2Fpage%3Fx%3D1%26y%3D%2F%2Fevil".into()
    )));
    let api = run(&c, "GET", "/app/page", &[("accept", "application/json")]);
    let Outcome::Deny { denial, .. } = &api.outcome else {
        panic!()
    };
    assert_eq!(response::build(&c, denial, "/app/page").status, 401);
}

#[test]
fn unsafe_path_is_400_before_any_rule() {
    let c = config(r#", "rules": [{"match": {"prefix": "/"}, "action": "allow"}]"#);
    assert_eq!(denied(&run(&c, "GET", "/a%2f..", &[])), AuthError::BadPath);
    assert_eq!(denied(&run(&c, "GET", "/a\\b", &[])), AuthError::BadPath);
}

#[test]
fn cached_token_still_expires_on_time() {
    let c = config("");
    let keys = KeyStore::new(&c, NOW);
    let cache = RefCell::new(VerifiedCache::new(16));
    let env = Env::new(&keys, &cache);
    let bearer = format!("Bearer {}", token(&good_claims()));
    let headers: Vec<Header<'_>> = vec![("authorization".into(), bearer.into())];
    let req = Request {
        method: "GET",
        path: "/api",
        headers: &headers,
    };
    let first = evaluate(&c, &env, &req, NOW).outcome;
    assert!(matches!(first, Outcome::Forward { .. }));
    assert_eq!(env.cache_use.get(), Some(CacheUse::Miss));
    let hit = evaluate(&c, &env, &req, NOW + 10).outcome;
    assert_eq!(env.cache_use.get(), Some(CacheUse::Hit));
    // A hit applies exactly what the verification did (headers rendered once, kept).
    assert_eq!(hit, first);
    let later = evaluate(&c, &env, &req, NOW + 300 + 61);
    assert_eq!(env.cache_use.get(), Some(CacheUse::Hit));
    assert_eq!(denied(&later), AuthError::Expired);
}

#[test]
fn a_forged_token_is_refused_from_memory_until_its_ttl_then_verified_again() {
    let c = config("");
    let keys = KeyStore::new(&c, NOW);
    let cache = RefCell::new(VerifiedCache::new(16));
    let env = Env::new(&keys, &cache);
    let good = token(&good_claims());
    let (head, rest) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = rest.chars().collect();
    sig[5] = if sig[5] == 'A' { 'B' } else { 'A' };
    let forged = format!("{head}.{}", sig.into_iter().collect::<String>());
    let ask = |token: &str, now: u64| {
        let headers: Vec<Header<'_>> =
            vec![("authorization".into(), format!("Bearer {token}").into())];
        let req = Request {
            method: "GET",
            path: "/api",
            headers: &headers,
        };
        let verdict = evaluate(&c, &env, &req, now);
        (verdict, env.cache_use.get())
    };
    let (first, used) = ask(&forged, NOW);
    assert_eq!(denied(&first), AuthError::BadSignature);
    assert_eq!(used, Some(CacheUse::Miss));
    let (again, used) = ask(&forged, NOW + FORGED_TTL_S - 1);
    assert_eq!(denied(&again), AuthError::BadSignature);
    assert_eq!(used, Some(CacheUse::ForgedHit), "refused without verifying");
    let (later, used) = ask(&forged, NOW + FORGED_TTL_S);
    assert_eq!(denied(&later), AuthError::BadSignature);
    assert_eq!(
        used,
        Some(CacheUse::Miss),
        "verified again once the TTL is over"
    );
    let (renewed, used) = ask(&forged, NOW + FORGED_TTL_S + 1);
    assert_eq!(denied(&renewed), AuthError::BadSignature);
    assert_eq!(used, Some(CacheUse::ForgedHit), "and remembered again");
    // The genuine token is never confused with its forgery.
    let (genuine, used) = ask(&good, NOW + 1);
    assert!(matches!(genuine.outcome, Outcome::Forward { .. }));
    assert_eq!(used, Some(CacheUse::Miss));
    // A key-set change forgets both.
    cache.borrow_mut().clear();
    assert!(cache.borrow().is_empty());
    let (_, used) = ask(&forged, NOW + FORGED_TTL_S + 1);
    assert_eq!(used, Some(CacheUse::Miss));
}

#[test]
fn revoked_jti_and_sub_are_refused_even_on_a_cache_hit() {
    use jwt_gate::revocation::Revocations;
    let doc = format!(
        r#"{{"providers": {{"corp": {{"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"],
             "keys": [{{"secret": "{SECRET}"}}], "deny_subjects": ["banned"],
             "revocation": {{"cluster": "rev", "uri": "https://rev.test/list", "refresh_s": 60}}}}}}}}"#
    );
    let c = Config::parse(doc.as_bytes(), &|_| None).unwrap().0;
    let keys = KeyStore::new(&c, NOW);
    let cache = RefCell::new(VerifiedCache::new(16));
    let mut revocations =
        Revocations::new(c.providers.iter().map(|p| p.revocation.remote.as_ref()));
    let decide = |revocations: &Revocations, claims: &Value| {
        let env = Env::new(&keys, &cache).with_revocations(revocations);
        let headers: Vec<Header<'_>> = vec![(
            "authorization".into(),
            format!("Bearer {}", token(claims)).into(),
        )];
        let req = Request {
            method: "GET",
            path: "/api",
            headers: &headers,
        };
        (evaluate(&c, &env, &req, NOW), env.cache_use.get())
    };
    let mut with_jti = good_claims();
    with_jti["jti"] = json!("t-1");
    // No list yet: the token passes (and is cached).
    let (v, _) = decide(&revocations, &with_jti);
    assert!(matches!(v.outcome, Outcome::Forward { .. }));
    revocations
        .finished(
            0,
            60,
            NOW,
            Some((200, br#"{"jti": ["t-1"], "sub": ["user-2"]}"#)),
        )
        .unwrap();
    let (v, cache_use) = decide(&revocations, &with_jti);
    assert_eq!(cache_use, Some(CacheUse::Hit));
    assert_eq!(denied(&v), AuthError::Revoked);
    let mut other_sub = good_claims();
    other_sub["sub"] = json!("user-2");
    assert_eq!(
        denied(&decide(&revocations, &other_sub).0),
        AuthError::Revoked
    );
    let mut banned = good_claims();
    banned["sub"] = json!("banned");
    assert_eq!(denied(&decide(&revocations, &banned).0), AuthError::Revoked);
    let (v, _) = decide(&revocations, &good_claims());
    assert!(matches!(v.outcome, Outcome::Forward { .. }));
}
