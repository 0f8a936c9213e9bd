#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test helpers
//! Token profiles, CORS preflights and replies through the whole request decision,
//! natively: config → request → verdict → local reply, with HS256 tokens minted here.
//! The same scenarios run through the real `.wasm` in `wasm-test/tests/profiles.rs`
//! and `answers.rs`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_gate::config::Config;
use jwt_gate::error::AuthError;
use jwt_gate::gate::{HeaderOp, Outcome, Verdict};
use jwt_gate::response;
use serde_json::{json, Value};

mod common;

use common::{denied, forwarded_ops, mint, run, NOW, SECRET};

fn claims() -> Value {
    json!({"iss": "https://issuer.test", "aud": "api", "sub": "user-1", "exp": NOW + 300})
}

fn config(provider_extra: &str, extra_top: &str) -> Config {
    let doc = format!(
        r#"{{"providers": {{"corp": {{"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"],
             "keys": [{{"secret": "{SECRET}"}}], "claim_headers": {{"x-user-id": "sub"}}{provider_extra}}}}}{extra_top}}}"#
    );
    Config::parse(doc.as_bytes(), &|_| None).unwrap().0
}

fn with_bearer(config: &Config, token: &str) -> Verdict {
    let bearer = format!("Bearer {token}");
    run(config, "GET", "/api", &[("authorization", &bearer)])
}

#[test]
fn typ_allow_list_admits_access_tokens_and_refuses_other_jwts() {
    let c = config(r#", "typ": ["at+jwt"]"#, "");
    for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        let v = with_bearer(&c, &mint(&json!({"alg": "HS256", "typ": typ}), &claims()));
        assert!(forwarded_ops(&v).contains(&HeaderOp::Add("x-user-id".into(), "user-1".into())));
    }
    for header in [
        json!({"alg": "HS256", "typ": "JWT"}),
        json!({"alg": "HS256"}),
        json!({"alg": "HS256", "typ": "application/jwt"}),
    ] {
        let v = with_bearer(&c, &mint(&header, &claims()));
        assert_eq!(denied(&v), AuthError::BadType, "{header}");
    }
}

#[test]
fn typ_is_checked_after_the_signature() {
    let c = config(r#", "typ": ["at+jwt"]"#, "");
    let token = mint(&json!({"alg": "HS256", "typ": "JWT"}), &claims());
    let (head, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]));
    assert_eq!(denied(&with_bearer(&c, &forged)), AuthError::BadSignature);
}

#[test]
fn bad_type_reply_is_401_invalid_token_in_every_body_format() {
    let token = mint(&json!({"alg": "HS256", "typ": "JWT"}), &claims());
    for (top, content_type) in [
        ("", "application/json"),
        (
            r#", "body_format": "problem+json""#,
            "application/problem+json",
        ),
    ] {
        let c = config(r#", "typ": ["at+jwt"]"#, top);
        let Outcome::Deny { denial, .. } = with_bearer(&c, &token).outcome else {
            panic!("not denied")
        };
        let reply = response::build(&c, &denial, "/api");
        assert_eq!(reply.status, 401);
        assert!(reply.headers.contains(&(
            "www-authenticate".into(),
            r#"Bearer realm="jwt-gate", error="invalid_token", error_description="token type not accepted""#.into()
        )));
        assert!(reply
            .headers
            .contains(&("content-type".into(), content_type.into())));
    }
}

#[test]
fn cors_preflight_skips_the_token_only_on_rules_that_allow_it() {
    let c = config(
        "",
        r#", "rules": [{"match": {"prefix": "/api/"}, "cors_preflight": "allow"}, {"match": {"prefix": "/admin/"}}]"#,
    );
    let preflight = [
        ("origin", "https://app.test"),
        ("access-control-request-method", "DELETE"),
        ("x-user-id", "spoofed"),
    ];
    let v = run(&c, "OPTIONS", "/api/x", &preflight);
    assert_eq!(v.rule, Some(0));
    assert!(forwarded_ops(&v).contains(&HeaderOp::Remove("x-user-id".into())));
    assert_eq!(
        denied(&run(&c, "OPTIONS", "/admin/x", &preflight)),
        AuthError::Missing
    );
    assert_eq!(
        denied(&run(&c, "OPTIONS", "/api/x", &preflight[..1])),
        AuthError::Missing
    );
    assert_eq!(
        denied(&run(&c, "DELETE", "/api/x", &preflight)),
        AuthError::Missing
    );
}
