//! Token profiles through the real artifact: a provider's `typ` allow-list
//! (RFC 8725 §3.11 explicit typing; RFC 9068 `at+jwt` access tokens).

mod util;

use serde_json::{json, Value};
use util::mint::{mint, mint_exact_header, tamper};
use util::{config_with, get_with_token, good_claims, host_with, provider, ALGORITHMS};
use wasm_test::{Host, LogLevel};

fn access_token_host(alg: &str) -> Host {
    let mut p = provider(alg);
    p["typ"] = json!(["at+jwt"]);
    host_with(config_with(p))
}

fn with_typ(alg: &str, typ: &str) -> String {
    mint(alg, &good_claims(), &json!({ "typ": typ }))
}

#[test]
fn at_jwt_provider_accepts_access_tokens_in_every_spelling() {
    let mut host = access_token_host("ES256");
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        let ex = get_with_token(&mut host, "/api", &with_typ("ES256", typ));
        assert!(ex.forwarded(), "{typ}: {ex:?}");
        assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
    }
}

#[test]
fn id_tokens_and_untyped_tokens_are_401_bad_type() {
    for alg in ALGORITHMS {
        let mut host = access_token_host(alg);
        let untyped = mint_exact_header(alg, &json!({ "alg": alg }), &good_claims());
        for token in [
            with_typ(alg, "JWT"),
            with_typ(alg, "application/jwt"),
            with_typ(alg, "id_token+jwt"),
            untyped,
        ] {
            let ex = get_with_token(&mut host, "/api", &token);
            ex.assert_invalid_token("token type not accepted");
        }
        host.tick(); // counters reach the host on the tick
        assert_eq!(host.metric("jwt_gate.failures.bad_type"), Some(4), "{alg}");
        let denials = host.logs_at(LogLevel::Info);
        assert!(
            denials.iter().any(|l| l.contains("reason=bad_type")),
            "{denials:?}"
        );
    }
}

#[test]
fn a_forged_token_is_a_bad_signature_whatever_its_typ() {
    let mut host = access_token_host("HS256");
    let ex = get_with_token(&mut host, "/api", &tamper(&with_typ("HS256", "JWT")));
    ex.assert_invalid_token("signature verification failed");
}

#[test]
fn without_a_typ_list_any_typ_and_none_are_accepted() {
    let mut host = host_with(config_with(provider("HS256")));
    let untyped = mint_exact_header("HS256", &json!({"alg": "HS256"}), &good_claims());
    for token in [
        with_typ("HS256", "JWT"),
        with_typ("HS256", "at+jwt"),
        untyped,
    ] {
        assert!(get_with_token(&mut host, "/api", &token).forwarded());
    }
}

#[test]
fn typ_list_is_validated_at_configure_time() {
    let mut p: Value = provider("HS256");
    p["typ"] = json!([]);
    let mut host = util::host_unstarted(config_with(p), &[]);
    assert!(!host.start_plugin());
    let errors = host.logs_at(LogLevel::Error).join("\n");
    assert!(
        errors.contains("providers.corp.typ: must not be empty"),
        "{errors}"
    );
}
