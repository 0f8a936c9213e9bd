#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test helpers
//! Auth.js session cookies through the whole gate (config → request → verdict), with
//! the cookies the real `@auth/core` / `next-auth` packages produced
//! (`tests/authjs/fixtures.json`, made by `tests/authjs/make-fixtures.mjs`).

use std::cell::RefCell;

use jwt_gate::config::Config;
use jwt_gate::error::AuthError;
use jwt_gate::gate::VerifiedCache;
use jwt_gate::gate::{evaluate, Env, HeaderOp, Outcome, Request};
use jwt_gate::header_map::Header;
use jwt_gate::keystore::KeyStore;
use jwt_gate::response;
use serde_json::{json, Value};

fn fixtures() -> Value {
    serde_json::from_str(include_str!("authjs/fixtures.json")).unwrap()
}

fn case(name: &str) -> Value {
    fixtures()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn config(version: u8, cookie: &str) -> Config {
    let f = fixtures();
    let doc = json!({
        "providers": {"app": {"authjs": {"secret": [f["secrets"]["current"], f["secrets"]["previous"]], "cookie": cookie, "version": version},
                              "claim_headers": {"x-user-email": "email", "x-user-id": "sub"}}},
        "rules": [{"match": {"prefix": "/app/"}, "login": "browser"}],
        "login": {"url": "/login", "return_param": "callbackUrl"}
    });
    Config::parse(doc.to_string().as_bytes(), &|_| None)
        .unwrap()
        .0
}

fn run(config: &Config, case_name: &str, extra: &[(&str, &str)]) -> Outcome {
    let c = case(case_name);
    let cookie: Vec<String> = c["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| format!("{}={}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
        .collect();
    let mut headers: Vec<Header<'_>> = vec![(
        "cookie".into(),
        format!("theme=dark; {}", cookie.join("; ")).into(),
    )];
    headers.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let now = fixtures()["now"].as_u64().unwrap();
    let keys = KeyStore::new(config, now);
    let cache = RefCell::new(VerifiedCache::new(8));
    evaluate(
        config,
        &Env::new(&keys, &cache),
        &Request {
            method: "GET",
            path: "/app/dashboard",
            headers: &headers,
        },
        now,
    )
    .outcome
}

#[test]
fn v5_session_cookie_reaches_the_upstream_as_claim_headers_without_the_cookie() {
    let c = config(5, "authjs.session-token");
    for name in [
        "v5_valid",
        "v5_secure_valid",
        "v5_chunked",
        "v5_rotated",
        "v5_gcm_valid",
    ] {
        let Outcome::Forward {
            ops,
            would_deny: None,
            ..
        } = run(&c, name, &[])
        else {
            panic!("{name} was not forwarded")
        };
        let email = case(name)["payload"]["email"].as_str().unwrap().to_string();
        assert!(
            ops.contains(&HeaderOp::Add("x-user-email".into(), email.into())),
            "{name}: {ops:?}"
        );
        assert!(
            ops.contains(&HeaderOp::Set("cookie".into(), "theme=dark".into())),
            "{name}: session cookie not stripped: {ops:?}"
        );
    }
}

#[test]
fn v4_session_cookie_decrypts() {
    let c = config(4, "next-auth.session-token");
    for name in ["v4_valid", "v4_secure_valid", "v4_chunked", "v4_rotated"] {
        assert!(
            matches!(
                run(&c, name, &[]),
                Outcome::Forward {
                    would_deny: None,
                    ..
                }
            ),
            "{name}"
        );
    }
}

#[test]
fn expired_or_foreign_cookie_redirects_a_browser_and_gives_an_api_client_401() {
    let c = config(5, "authjs.session-token");
    for (name, reason) in [
        ("v5_expired", AuthError::Expired),
        ("v5_wrong_secret", AuthError::BadSignature),
    ] {
        let Outcome::Deny { denial, .. } = run(&c, name, &[("accept", "text/html")]) else {
            panic!("{name}")
        };
        assert_eq!(denial.error, reason);
        let reply = response::build(&c, &denial, "/app/dashboard");
        assert_eq!(reply.status, 302, "{name}");
        assert!(reply.headers.contains(&(
            "location".into(),
            "/login?callbackUrl=%2Fapp%2Fdashboard".into()
        )));
        let Outcome::Deny { denial, .. } = run(&c, name, &[("accept", "application/json")]) else {
            panic!("{name}")
        };
        assert_eq!(response::build(&c, &denial, "/app/dashboard").status, 401);
    }
}

#[test]
fn keys_and_issuer_do_not_apply_to_an_authjs_provider() {
    let doc = r#"{"providers": {"app": {"authjs": {"secret": "a-secret-that-is-long-enough-0123456789"}, "algorithms": ["HS256"]}}}"#;
    let err = Config::parse(doc.as_bytes(), &|_| None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "providers.app.algorithms: does not apply to an authjs provider"
    );
}
