//! `src/authjs` against session cookies made by the real Auth.js / NextAuth libraries
//! (`tests/authjs/fixtures.json`, made by `tests/authjs/make-fixtures.mjs`), plus
//! tampering, malformed input and configuration errors. No npm needed.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use jwt_gate::authjs::{self, AuthJs, RawAuthJs, SessionCookie, DEFAULT_MAX_BYTES};
use jwt_gate::b64;
use jwt_gate::claims::{validate, ClaimPolicy};
use jwt_gate::error::AuthError;
use jwt_gate::header_map::Header;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
struct Fixtures {
    now: u64,
    secrets: BTreeMap<String, String>,
    configured_secrets: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    version: u8,
    config_cookie: String,
    cookie_name: String,
    header: Value,
    cookies: Vec<(String, String)>,
    expect: String,
    payload: Value,
}

fn fixtures() -> Fixtures {
    serde_json::from_str(include_str!("authjs/fixtures.json")).unwrap()
}

fn case(name: &str) -> Case {
    fixtures()
        .cases
        .into_iter()
        .find(|c| c.name == name)
        .unwrap()
}

/// The provider the fixtures are meant for: secrets `[current, previous]` in the env.
fn provider(version: u8, cookie: &str) -> AuthJs {
    let f = fixtures();
    let vars: Vec<String> = f
        .configured_secrets
        .iter()
        .map(|s| format!("AUTH_SECRET_{}", s.to_uppercase()))
        .collect();
    let raw: RawAuthJs =
        serde_json::from_value(json!({"secret_env": vars, "cookie": cookie, "version": version}))
            .unwrap();
    let env = move |var: &str| {
        let label = var.strip_prefix("AUTH_SECRET_")?.to_lowercase();
        f.secrets.get(&label).cloned()
    };
    authjs::compile(raw, &env).unwrap()
}

fn provider_for(c: &Case) -> AuthJs {
    provider(c.version, &c.config_cookie)
}

fn cookie_header(cookies: &[(String, String)]) -> Vec<Header<'static>> {
    let joined: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
    vec![("cookie".into(), joined.join("; ").into())]
}

fn session(p: &AuthJs, c: &Case) -> SessionCookie {
    p.find(&cookie_header(&c.cookies)).unwrap().unwrap()
}

fn decrypt(name: &str) -> Result<Value, AuthError> {
    let c = case(name);
    let p = provider_for(&c);
    p.decrypt(&session(&p, &c), DEFAULT_MAX_BYTES)
}

fn policy() -> ClaimPolicy {
    ClaimPolicy {
        issuer: None,
        audiences: None,
        require_exp: true,
        leeway_s: 15,
        max_lifetime_s: None,
    }
}

/// Decrypts `value` as if it were the fixture's (whole) cookie.
fn decrypt_value(c: &Case, value: String) -> Result<Value, AuthError> {
    let p = provider_for(c);
    let mut s = session(&p, c);
    s.value = value;
    p.decrypt(&s, DEFAULT_MAX_BYTES)
}

#[test]
fn every_library_cookie_gets_the_expected_outcome() {
    let f = fixtures();
    assert!(f.cases.len() >= 15);
    for c in &f.cases {
        let p = provider_for(c);
        let found = session(&p, c);
        assert_eq!(found.name(), c.cookie_name, "{}", c.name);
        let names: Vec<&str> = c.cookies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(found.cookie_names, names, "{}", c.name);
        let got = p.decrypt(&found, DEFAULT_MAX_BYTES);
        match c.expect.as_str() {
            "ok" => {
                assert_eq!(got.as_ref(), Ok(&c.payload), "{}", c.name);
                assert_eq!(validate(&c.payload, &policy(), f.now), Ok(()), "{}", c.name);
            }
            "expired" => {
                let claims = got.unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
                assert_eq!(claims, c.payload, "{}", c.name);
                assert_eq!(
                    validate(&claims, &policy(), f.now),
                    Err(AuthError::Expired),
                    "{}",
                    c.name
                );
            }
            "bad_signature" => assert_eq!(got, Err(AuthError::BadSignature), "{}", c.name),
            other => panic!("unknown expectation {other}"),
        }
    }
}

#[test]
fn v5_cookie_decrypts_to_the_claims_auth_js_wrote() {
    let claims = decrypt("v5_valid").unwrap();
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["sub"], "user-1815");
    assert_eq!(claims["iat"], fixtures().now);
    assert_eq!(case("v5_valid").header["enc"], "A256CBC-HS512");
}

#[test]
fn v4_cookie_decrypts() {
    assert_eq!(decrypt("v4_valid").unwrap()["email"], "ada@example.com");
    assert_eq!(
        decrypt("v4_secure_valid").unwrap()["email"],
        "ada@example.com"
    );
}

#[test]
fn v5_gcm_cookie_from_older_auth_core_decrypts() {
    assert_eq!(case("v5_gcm_valid").header["enc"], "A256GCM");
    assert_eq!(decrypt("v5_gcm_valid").unwrap()["email"], "ada@example.com");
}

#[test]
fn secure_prefixed_cookie_uses_the_prefixed_name_as_salt() {
    assert_eq!(
        decrypt("v5_secure_valid").unwrap()["email"],
        "ada@example.com"
    );
    // The same value under the other name derives another key: no match.
    let c = case("v5_valid");
    let p = provider_for(&c);
    let moved = cookie_header(&[(
        "__Secure-authjs.session-token".into(),
        c.cookies[0].1.clone(),
    )]);
    let s = p.find(&moved).unwrap().unwrap();
    assert_eq!(
        p.decrypt(&s, DEFAULT_MAX_BYTES),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn rotated_secret_still_decrypts() {
    for name in ["v5_rotated", "v5_gcm_rotated", "v4_rotated"] {
        assert_eq!(decrypt(name).unwrap()["sub"], "user-1815", "{name}");
    }
}

#[test]
fn wrong_secret_is_rejected() {
    assert_eq!(decrypt("v5_wrong_secret"), Err(AuthError::BadSignature));
    assert_eq!(decrypt("v4_wrong_secret"), Err(AuthError::BadSignature));
}

#[test]
fn expired_cookie_decrypts_but_fails_the_exp_check() {
    let claims = decrypt("v5_expired").unwrap();
    assert_eq!(
        validate(&claims, &policy(), fixtures().now),
        Err(AuthError::Expired)
    );
}

#[test]
fn chunked_cookie_is_reassembled_in_index_order() {
    for name in ["v5_chunked", "v5_secure_chunked", "v4_chunked"] {
        let mut c = case(name);
        assert!(c.cookies.len() >= 3, "{name}");
        c.cookies.reverse();
        let p = provider_for(&c);
        // One Cookie header per chunk, in reverse order.
        let headers: Vec<Header<'_>> = c
            .cookies
            .iter()
            .map(|(n, v)| ("cookie".into(), format!("{n}={v}").into()))
            .collect();
        let s = p.find(&headers).unwrap().unwrap();
        let claims = p.decrypt(&s, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(
            claims["groups"].as_array().map(Vec::len),
            Some(700),
            "{name}"
        );
    }
}

#[test]
fn missing_middle_chunk_is_rejected() {
    let mut c = case("v5_chunked");
    c.cookies.remove(1);
    let p = provider_for(&c);
    assert_eq!(
        p.find(&cookie_header(&c.cookies)),
        Err(AuthError::Malformed("session cookie chunk missing"))
    );
}

#[test]
fn missing_last_chunk_is_rejected() {
    let mut c = case("v4_chunked");
    c.cookies.pop();
    let p = provider_for(&c);
    let s = p.find(&cookie_header(&c.cookies)).unwrap().unwrap();
    assert!(p.decrypt(&s, DEFAULT_MAX_BYTES).is_err());
}

#[test]
fn oversized_cookie_is_rejected_before_decryption() {
    let c = case("v5_chunked");
    let p = provider_for(&c);
    let s = session(&p, &c);
    assert_eq!(p.decrypt(&s, s.value.len() - 1), Err(AuthError::TooLarge));
    assert!(p.decrypt(&s, s.value.len()).is_ok());
}

fn segments(c: &Case) -> Vec<String> {
    let value: String = c.cookies.iter().map(|(_, v)| v.as_str()).collect();
    value.split('.').map(str::to_string).collect()
}

/// Flips one bit in the decoded segment `i` and re-encodes it.
fn flip(c: &Case, i: usize) -> String {
    let mut parts = segments(c);
    let mut bytes = b64::decode_url(&parts[i]).unwrap();
    bytes[0] ^= 1;
    parts[i] = b64::encode_url(&bytes);
    parts.join(".")
}

#[test]
fn tampered_tag_is_rejected() {
    for name in ["v5_valid", "v5_gcm_valid", "v4_valid"] {
        let c = case(name);
        assert_eq!(
            decrypt_value(&c, flip(&c, 4)),
            Err(AuthError::BadSignature),
            "{name}"
        );
    }
}

#[test]
fn tampered_ciphertext_or_iv_is_rejected() {
    for name in ["v5_valid", "v5_gcm_valid", "v4_valid"] {
        let c = case(name);
        assert_eq!(
            decrypt_value(&c, flip(&c, 3)),
            Err(AuthError::BadSignature),
            "{name}"
        );
        assert_eq!(
            decrypt_value(&c, flip(&c, 2)),
            Err(AuthError::BadSignature),
            "{name}"
        );
    }
}

/// The cookie with its header replaced by `header` (the AAD changes too).
fn with_header(c: &Case, header: &Value) -> String {
    let mut parts = segments(c);
    parts[0] = b64::encode_url(header.to_string().as_bytes());
    parts.join(".")
}

#[test]
fn tampered_protected_header_is_rejected() {
    for name in ["v5_valid", "v4_valid"] {
        let c = case(name);
        let mut header = c.header.clone();
        header["typ"] = json!("JWT");
        assert_eq!(
            decrypt_value(&c, with_header(&c, &header)),
            Err(AuthError::BadSignature),
            "{name}"
        );
    }
}

#[test]
fn unknown_kid_is_rejected() {
    let c = case("v5_valid");
    let mut header = c.header.clone();
    header["kid"] = json!("not-a-thumbprint");
    assert_eq!(
        decrypt_value(&c, with_header(&c, &header)),
        Err(AuthError::BadSignature)
    );
    header["kid"] = json!(7);
    assert_eq!(
        decrypt_value(&c, with_header(&c, &header)),
        Err(AuthError::Malformed("JWE kid is not a string"))
    );
}

#[test]
fn wrong_enc_for_the_version_is_rejected() {
    // A v5 (A256CBC-HS512) cookie where a v4 one is expected.
    let c = case("v5_valid");
    let v4 = provider(4, "authjs.session-token");
    let s = v4.find(&cookie_header(&c.cookies)).unwrap().unwrap();
    assert_eq!(
        v4.decrypt(&s, DEFAULT_MAX_BYTES),
        Err(AuthError::AlgNotAllowed)
    );
    // enc values Auth.js never uses.
    for enc in ["A128GCM", "A128CBC-HS256", "A256CBC-HS256", "", "a256gcm"] {
        let mut header = c.header.clone();
        header["enc"] = json!(enc);
        assert_eq!(
            decrypt_value(&c, with_header(&c, &header)),
            Err(AuthError::AlgNotAllowed),
            "{enc}"
        );
    }
    let mut header = c.header.clone();
    header["enc"] = json!(5);
    assert_eq!(
        decrypt_value(&c, with_header(&c, &header)),
        Err(AuthError::AlgNotAllowed)
    );
}

#[test]
fn v4_cookie_under_a_v5_provider_is_rejected() {
    let c = case("v4_valid");
    let v5 = provider(5, "next-auth.session-token");
    let s = v5.find(&cookie_header(&c.cookies)).unwrap().unwrap();
    assert_eq!(
        v5.decrypt(&s, DEFAULT_MAX_BYTES),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn header_other_than_plain_dir_is_rejected() {
    let c = case("v5_valid");
    let cases: Vec<(Value, AuthError)> = vec![
        (
            json!({"alg": "A256KW", "enc": "A256CBC-HS512"}),
            AuthError::AlgNotAllowed,
        ),
        (
            json!({"alg": "none", "enc": "A256CBC-HS512"}),
            AuthError::AlgNotAllowed,
        ),
        (json!({"enc": "A256CBC-HS512"}), AuthError::AlgNotAllowed),
        (
            json!({"alg": "dir", "enc": "A256CBC-HS512", "zip": "DEF"}),
            AuthError::AlgNotAllowed,
        ),
        (
            json!({"alg": "dir", "enc": "A256CBC-HS512", "crit": ["exp"], "exp": 1}),
            AuthError::UnsupportedCrit,
        ),
        (
            json!(["dir"]),
            AuthError::Malformed("JWE header is not a JSON object"),
        ),
    ];
    for (header, want) in cases {
        assert_eq!(
            decrypt_value(&c, with_header(&c, &header)),
            Err(want),
            "{header}"
        );
    }
    let mut parts = segments(&c);
    parts[0] = b64::encode_url(br#"{"alg":"dir","alg":"dir","enc":"A256CBC-HS512"}"#);
    assert_eq!(
        decrypt_value(&c, parts.join(".")),
        Err(AuthError::Malformed("JWE header is not valid JSON"))
    );
}

#[test]
fn malformed_jwe_is_rejected_without_panicking() {
    let c = case("v5_valid");
    let parts = segments(&c);
    let p = parts.join(".");
    let mut with_key = parts.clone();
    with_key[1] = "AAAA".into();
    let mut short_iv = parts.clone();
    short_iv[2] = b64::encode_url(&[0; 12]);
    let mut short_tag = parts.clone();
    short_tag[4] = b64::encode_url(&[0; 16]);
    let mut odd_ciphertext = parts.clone();
    odd_ciphertext[3] = b64::encode_url(&[0; 17]);
    let bad: Vec<(String, AuthError)> = vec![
        (
            "garbage".into(),
            AuthError::Malformed("session cookie is not a JWE"),
        ),
        (
            parts[..4].join("."),
            AuthError::Malformed("session cookie is not a JWE"),
        ),
        (
            format!("{p}."),
            AuthError::Malformed("session cookie is not a JWE"),
        ),
        (
            format!("{p}=="),
            AuthError::Malformed("bad base64url in JWE"),
        ),
        (
            format!("!{p}"),
            AuthError::Malformed("bad base64url in JWE header"),
        ),
        (
            with_key.join("."),
            AuthError::Malformed("JWE encrypted key must be empty"),
        ),
        (
            short_iv.join("."),
            AuthError::Malformed("bad JWE IV or tag length"),
        ),
        (
            short_tag.join("."),
            AuthError::Malformed("bad JWE IV or tag length"),
        ),
        (
            odd_ciphertext.join("."),
            AuthError::Malformed("bad JWE ciphertext length"),
        ),
    ];
    for (value, want) in bad {
        assert_eq!(decrypt_value(&c, value.clone()), Err(want), "{value:.40}");
    }
}

/// A v4 cookie (A256GCM, empty HKDF salt) around any plaintext, made here with the same
/// parameters NextAuth v4 uses.
fn v4_cookie_with_plaintext(plaintext: &[u8]) -> String {
    let f = fixtures();
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b""), f.secrets["current"].as_bytes())
        .expand(b"NextAuth.js Generated Encryption Key", &mut key)
        .unwrap();
    let header = b64::encode_url(br#"{"alg":"dir","enc":"A256GCM"}"#);
    let iv = [7u8; 12];
    let mut buf = plaintext.to_vec();
    let tag = Aes256Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt_in_place_detached(&Nonce::from(iv), header.as_bytes(), &mut buf)
        .unwrap();
    format!(
        "{header}..{}.{}.{}",
        b64::encode_url(&iv),
        b64::encode_url(&buf),
        b64::encode_url(&tag)
    )
}

#[test]
fn payload_must_be_one_strict_json_object() {
    let c = case("v4_valid");
    let ok = v4_cookie_with_plaintext(br#"{"sub":"x"}"#);
    assert_eq!(decrypt_value(&c, ok), Ok(json!({"sub": "x"})));
    let bad: [(&[u8], &str); 4] = [
        (b"[1,2]", "session payload is not a JSON object"),
        (br#""sub""#, "session payload is not a JSON object"),
        (
            br#"{"sub":"a","sub":"b"}"#,
            "session payload is not valid JSON",
        ),
        (b"{\"sub\":\"a\"} x", "session payload is not valid JSON"),
    ];
    for (plaintext, want) in bad {
        assert_eq!(
            decrypt_value(&c, v4_cookie_with_plaintext(plaintext)),
            Err(AuthError::Malformed(want))
        );
    }
}

#[test]
fn no_session_cookie_is_none() {
    let p = provider(5, "authjs.session-token");
    assert_eq!(p.find(&[]), Ok(None));
    let other: Vec<Header<'_>> = vec![(
        "cookie".into(),
        "next-auth.session-token=x; authjs.csrf-token=y".into(),
    )];
    assert_eq!(p.find(&other), Ok(None));
}

#[test]
fn session_cookie_names_cover_prefix_and_chunks() {
    let p = provider(5, "authjs.session-token");
    assert_eq!(
        p.cookie_names(),
        ["__Secure-authjs.session-token", "authjs.session-token"]
    );
    for yes in [
        "authjs.session-token",
        "authjs.session-token.0",
        "__Secure-authjs.session-token.12",
        "authjs.session-token.x",
    ] {
        assert!(p.is_session_cookie(yes), "{yes}");
    }
    for no in [
        "authjs.session-tokens",
        "authjs.csrf-token",
        "__Host-authjs.session-token",
        "x",
    ] {
        assert!(!p.is_session_cookie(no), "{no}");
    }
    // A configured `__Secure-` name is the only one.
    assert_eq!(
        provider(5, "__Secure-authjs.session-token").cookie_names(),
        ["__Secure-authjs.session-token"]
    );
    assert_eq!(
        provider(4, "next-auth.session-token").version(),
        authjs::Version::V4
    );
}

fn compile_err(config: Value, env: &[(&str, &str)]) -> String {
    let raw: RawAuthJs = serde_json::from_value(config).unwrap();
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    authjs::compile(raw, &|k| env.get(k).cloned())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_configs_are_rejected_with_a_path() {
    let env = [("AUTH_SECRET", "s3cr3t-value"), ("EMPTY", "")];
    let table: [(Value, &str); 10] = [
        (json!({}), "secret_env (or secret) is required"),
        (
            json!({"secret_env": "AUTH_SECRET", "secret": "x"}),
            "set either secret_env or secret, not both",
        ),
        (
            json!({"secret_env": "AUTH_SECRET", "version": 3}),
            "version: must be 4 or 5",
        ),
        (
            json!({"secret_env": "NOPE"}),
            "secret_env: environment variable \"NOPE\" is not set",
        ),
        (
            json!({"secret_env": ["AUTH_SECRET", "NOPE"]}),
            "secret_env[1]: environment variable \"NOPE\" is not set",
        ),
        (
            json!({"secret_env": "EMPTY"}),
            "secret_env: environment variable \"EMPTY\" is empty",
        ),
        (json!({"secret_env": []}), "secret_env: must not be empty"),
        (json!({"secret": ["a", ""]}), "secret[1]: must not be empty"),
        (
            json!({"secret_env": "AUTH_SECRET", "cookie": "a b"}),
            "cookie: invalid cookie name \"a b\"",
        ),
        (
            json!({"secret_env": "AUTH_SECRET", "cookie": ""}),
            "cookie: invalid cookie name \"\"",
        ),
    ];
    for (config, want) in table {
        let got = compile_err(config.clone(), &env);
        assert_eq!(got, want, "{config}");
        assert!(!got.contains("s3cr3t"));
    }
}

#[test]
fn unknown_fields_are_rejected() {
    let err =
        serde_json::from_value::<RawAuthJs>(json!({"secret_env": "A", "salt": "x"})).unwrap_err();
    assert!(err.to_string().contains("unknown field `salt`"), "{err}");
}

#[test]
fn defaults_are_version_5_and_its_cookie() {
    let raw: RawAuthJs = serde_json::from_value(json!({"secret": "x"})).unwrap();
    let p = authjs::compile(raw, &|_| None).unwrap();
    assert_eq!(p.version(), authjs::Version::V5);
    assert_eq!(p.cookie_names()[1], "authjs.session-token");
    let raw: RawAuthJs = serde_json::from_value(json!({"secret": "x", "version": 4})).unwrap();
    assert_eq!(
        authjs::compile(raw, &|_| None).unwrap().cookie_names()[1],
        "next-auth.session-token"
    );
}

#[test]
fn debug_output_never_shows_secrets_or_cookies() {
    let c = case("v5_valid");
    let p = provider_for(&c);
    let s = session(&p, &c);
    let shown = format!("{p:?} {s:?}");
    for secret in fixtures().secrets.values() {
        assert!(!shown.contains(secret.as_str()));
    }
    assert!(!shown.contains(&c.cookies[0].1[..40]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_cookie_values_never_panic(value in "[A-Za-z0-9_.=-]{0,300}") {
        let c = case("v5_valid");
        prop_assert!(decrypt_value(&c, value).is_err());
    }

    #[test]
    fn any_single_byte_change_is_rejected(index in 0usize..499, byte in b'-'..=b'z') {
        let c = case("v5_valid");
        let mut value = c.cookies[0].1.clone().into_bytes();
        prop_assume!(value[index] != byte);
        value[index] = byte;
        if let Ok(value) = String::from_utf8(value) {
            prop_assert!(decrypt_value(&c, value).is_err());
        }
    }
}
