//! Token verification through the real artifact: every algorithm, tampering,
//! time and audience checks, `kid` selection, and the classic JWT attacks
//! (key confusion, `alg: none`, algorithm outside the allow-list, `crit`,
//! oversized tokens).

mod util;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Hmac;
use serde_json::{json, Value};
use sha2::Sha256;
use util::mint::{fixture_key, hmac, mint, mint_with_key, tamper, ISSUER};
use util::{config_with, get_with_token, good_claims, host_with, provider, ALGORITHMS, NOW};

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The token with its payload replaced (signature kept).
fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(claims), parts[2])
}

fn claims_with(changes: &Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

#[test]
fn valid_token_of_every_algorithm_is_forwarded_with_claim_header_and_without_credential() {
    for alg in ALGORITHMS {
        let mut host = host_with(config_with(provider(alg)));
        let token = mint(alg, &good_claims(), &Value::Null);
        let ex = get_with_token(&mut host, "/api", &token);
        assert!(ex.forwarded(), "{alg}: {ex:?} {:?}", host.logs());
        assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"), "{alg}");
        assert_eq!(ex.upstream_header("authorization"), None, "{alg}");
    }
}

#[test]
fn tampered_signature_of_every_algorithm_is_rejected_with_401() {
    for alg in ALGORITHMS {
        let mut host = host_with(config_with(provider(alg)));
        let token = tamper(&mint(alg, &good_claims(), &Value::Null));
        let ex = get_with_token(&mut host, "/api", &token);
        assert_eq!(ex.status(), Some(401), "{alg}");
        assert_eq!(ex.error_code(), Some("invalid_token"), "{alg}: {ex:?}");
        assert_eq!(ex.upstream_header("x-user-id"), None, "{alg}");
    }
}

#[test]
fn tampered_payload_of_every_algorithm_is_rejected_with_401() {
    for alg in ALGORITHMS {
        let mut host = host_with(config_with(provider(alg)));
        let token = mint(alg, &good_claims(), &Value::Null);
        let forged = with_payload(&token, &claims_with(&json!({"sub": "admin"})));
        let ex = get_with_token(&mut host, "/api", &forged);
        ex.assert_invalid_token("signature verification failed");
    }
}

#[test]
fn token_signed_by_an_untrusted_rsa_key_is_rejected_with_401() {
    let mut host = host_with(config_with(provider("RS256")));
    let token = mint_with_key(
        "RS256",
        "rsa2048-other.key.pem",
        &good_claims(),
        &Value::Null,
    );
    get_with_token(&mut host, "/api", &token).assert_invalid_token("signature verification failed");
}

fn rejected_claims(changes: Value, description: &str) {
    for alg in ["HS256", "ES256"] {
        let mut host = host_with(config_with(provider(alg)));
        let token = mint(alg, &claims_with(&changes), &Value::Null);
        let ex = get_with_token(&mut host, "/api", &token);
        ex.assert_invalid_token(description);
        assert_eq!(ex.upstream_header("x-user-id"), None);
    }
}

#[test]
fn expired_token_beyond_the_leeway_is_rejected_with_401() {
    rejected_claims(json!({"iat": NOW - 600, "exp": NOW - 61}), "token expired");
}

#[test]
fn token_expired_within_the_60s_leeway_is_accepted() {
    let mut host = host_with(config_with(provider("HS256")));
    let token = mint(
        "HS256",
        &claims_with(&json!({"iat": NOW - 600, "exp": NOW - 59})),
        &Value::Null,
    );
    assert!(get_with_token(&mut host, "/api", &token).forwarded());
}

#[test]
fn token_not_yet_valid_is_rejected_with_401() {
    rejected_claims(json!({"nbf": NOW + 61}), "token not yet valid");
}

#[test]
fn token_issued_in_the_future_is_rejected_with_401() {
    rejected_claims(
        json!({"iat": NOW + 61, "exp": NOW + 600}),
        "token issued in the future",
    );
}

#[test]
fn wrong_issuer_is_rejected_with_401() {
    rejected_claims(json!({"iss": "https://evil.test"}), "issuer not accepted");
}

#[test]
fn wrong_audience_is_rejected_with_401() {
    rejected_claims(json!({"aud": ["other", "web"]}), "audience not accepted");
}

#[test]
fn audience_array_sharing_one_value_is_accepted() {
    let mut host = host_with(config_with(provider("HS256")));
    let token = mint(
        "HS256",
        &claims_with(&json!({"aud": ["other", "api"]})),
        &Value::Null,
    );
    assert!(get_with_token(&mut host, "/api", &token).forwarded());
}

#[test]
fn token_without_exp_is_rejected_with_401() {
    rejected_claims(json!({"exp": null}), "token has no expiry");
}

fn two_kid_provider() -> Value {
    json!({"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256"],
           "keys": [{"pem": fixture_key("rsa2048.pub.pem"), "kid": "main"},
                    {"pem": fixture_key("rsa2048-other.pub.pem"), "kid": "other"}],
           "claim_headers": {"x-user-id": "sub"}})
}

#[test]
fn token_is_verified_by_the_key_its_kid_names() {
    let mut host = host_with(config_with(two_kid_provider()));
    let other = mint_with_key(
        "RS256",
        "rsa2048-other.key.pem",
        &good_claims(),
        &json!({"kid": "other"}),
    );
    let ex = get_with_token(&mut host, "/api", &other);
    assert!(ex.forwarded(), "{ex:?}");
    assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
    let main = mint("RS256", &good_claims(), &json!({"kid": "main"}));
    assert!(get_with_token(&mut host, "/api", &main).forwarded());
}

#[test]
fn token_whose_kid_names_another_trusted_key_is_rejected_with_401() {
    let mut host = host_with(config_with(two_kid_provider()));
    // Signed by "main" but claims to be "other": only "other" may be tried.
    let token = mint("RS256", &good_claims(), &json!({"kid": "other"}));
    get_with_token(&mut host, "/api", &token).assert_invalid_token("signature verification failed");
}

#[test]
fn unknown_kid_is_rejected_with_401() {
    let mut host = host_with(config_with(two_kid_provider()));
    let token = mint("RS256", &good_claims(), &json!({"kid": "rotated-away"}));
    get_with_token(&mut host, "/api", &token).assert_invalid_token("unknown key id");
}

#[test]
fn hs256_token_keyed_with_the_rsa_public_key_pem_is_rejected_with_401() {
    // The classic key confusion: the attacker knows the public key and uses its
    // PEM bytes as the HMAC secret. A second, genuine HMAC key lets the
    // provider accept HS256 at all.
    let pem = fixture_key("rsa2048.pub.pem");
    let config = config_with(
        json!({"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256", "HS256"],
        "keys": [{"pem": pem}, {"secret": "an-unrelated-hmac-secret-of-32-bytes-or-more"}]}),
    );
    let mut host = host_with(&config);
    for secret in [pem.clone(), pem.trim_end().to_string()] {
        let input = format!(
            "{}.{}",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            b64(&good_claims())
        );
        let signature = hmac::<Hmac<Sha256>>(&secret, input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
        get_with_token(&mut host, "/api", &token)
            .assert_invalid_token("signature verification failed");
    }
}

#[test]
fn hs256_token_keyed_with_the_rsa_pem_is_rejected_when_only_the_rsa_key_exists() {
    // Without any HMAC key the provider may either refuse the configuration
    // (HS256 has no key) or start and reject the token; it must never accept it.
    let pem = fixture_key("rsa2048.pub.pem");
    let config = config_with(
        json!({"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256", "HS256"],
        "keys": [{"pem": pem}]}),
    );
    let mut host = util::host_unstarted(&config, &[]);
    if !host.start_plugin() {
        eprintln!("configuration refused: {:?}", host.logs());
        return;
    }
    eprintln!("configuration accepted");
    let input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT"})),
        b64(&good_claims())
    );
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(hmac::<Hmac<Sha256>>(&pem, input.as_bytes()))
    );
    let ex = get_with_token(&mut host, "/api", &token);
    assert_eq!(ex.status(), Some(401), "{ex:?}");
}

#[test]
fn alg_none_in_any_casing_is_rejected_with_401() {
    let mut host = host_with(config_with(provider("HS256")));
    for alg in ["none", "None", "NONE", "nOnE"] {
        let input = format!(
            "{}.{}",
            b64(&json!({"alg": alg, "typ": "JWT"})),
            b64(&good_claims())
        );
        for signature in ["", "AAAA", "garbage"] {
            let ex = get_with_token(&mut host, "/api", &format!("{input}.{signature}"));
            assert_eq!(ex.status(), Some(401), "{alg} {signature:?}: {ex:?}");
            assert_eq!(ex.error_code(), Some("invalid_token"));
            assert_eq!(ex.upstream_header("x-user-id"), None);
        }
        let ex = get_with_token(&mut host, "/api", &input);
        assert_eq!(ex.status(), Some(401), "two segments, {alg}");
    }
}

#[test]
fn algorithm_outside_the_allow_list_is_rejected_with_401() {
    // Properly signed tokens of algorithms the provider does not list.
    let mut host = host_with(config_with(provider("RS256")));
    for alg in ["HS256", "PS256", "ES256", "RS384"] {
        let token = mint(alg, &good_claims(), &Value::Null);
        get_with_token(&mut host, "/api", &token).assert_invalid_token("algorithm not allowed");
    }
}

#[test]
fn unknown_critical_header_is_rejected_with_401() {
    let mut host = host_with(config_with(provider("HS256")));
    for header in [
        json!({"crit": ["exp-ext"], "exp-ext": 1}),
        json!({"crit": ["b64"], "b64": false}),
        json!({"crit": ["b64"], "b64": true}),
    ] {
        let token = mint("HS256", &good_claims(), &header);
        let ex = get_with_token(&mut host, "/api", &token);
        assert_eq!(ex.status(), Some(401), "{header}: {ex:?}");
        assert_eq!(ex.error_code(), Some("invalid_token"));
    }
    let token = mint(
        "HS256",
        &good_claims(),
        &json!({"crit": ["exp-ext"], "exp-ext": 1}),
    );
    get_with_token(&mut host, "/api", &token).assert_invalid_token("unsupported critical header");
}

#[test]
fn token_over_max_token_bytes_is_rejected_with_401() {
    let mut claims = good_claims();
    claims["pad"] = json!("x".repeat(9000));
    let big = mint("HS256", &claims, &Value::Null);
    assert!(big.len() > 8192);
    let mut host = host_with(config_with(provider("HS256")));
    get_with_token(&mut host, "/api", &big).assert_invalid_token("token too large");

    let mut small_limit = provider("HS256");
    small_limit["max_token_bytes"] = json!(256);
    let mut host = host_with(config_with(small_limit));
    claims["pad"] = json!("x".repeat(200));
    let token = mint("HS256", &claims, &Value::Null);
    get_with_token(&mut host, "/api", &token).assert_invalid_token("token too large");
    let token = mint("HS256", &good_claims(), &Value::Null);
    assert!(token.len() <= 256);
    assert!(get_with_token(&mut host, "/api", &token).forwarded());
}

#[test]
fn tokens_ignore_jku_jwk_and_x5u_as_key_sources() {
    let mut host = host_with(config_with(provider("RS256")));
    let token = mint_with_key(
        "RS256",
        "rsa2048-other.key.pem",
        &good_claims(),
        &json!({"jku": "https://evil.test/jwks", "x5u": "https://evil.test/cert", "jwk": {"kty": "oct", "k": "AAAA"}}),
    );
    get_with_token(&mut host, "/api", &token).assert_invalid_token("signature verification failed");
    assert!(
        host.pending_http_calls().is_empty(),
        "no fetch of an attacker URL"
    );
}

#[test]
fn without_a_host_clock_even_an_expired_token_gets_503_never_forwarded() {
    // A lenient host may fail the clock call; reading it as 0 would make every expired
    // token look fresh, so the filter refuses instead.
    let mut host = host_with(config_with(provider("HS256")));
    let expired = mint(
        "HS256",
        &claims_with(&json!({"iat": NOW - 7200, "exp": NOW - 3600})),
        &Value::Null,
    );
    let fresh = mint("HS256", &good_claims(), &Value::Null);
    host.set_clock_broken(true);
    for token in [&expired, &fresh] {
        let ex = get_with_token(&mut host, "/api", token);
        assert_eq!(ex.status(), Some(503), "{ex:?}");
        assert!(!ex.forwarded());
    }
    assert!(host.trap().is_none(), "{:?}", host.trap());
    host.set_clock_broken(false);
    assert!(get_with_token(&mut host, "/api", &fresh).forwarded());
    assert_eq!(
        get_with_token(&mut host, "/api", &expired).status(),
        Some(401)
    );
}
