//! Table-driven configuration tests: good documents compile, bad ones fail with the
//! exact JSON path and message an operator needs.

use super::*;

const HS_SECRET: &str = "jwt-gate-test-hmac-secret-0123456789abcdef";

fn env(name: &str) -> Option<String> {
    match name {
        "HS_SECRET" => Some(HS_SECRET.to_string()),
        "ED_PEM" => Some(include_str!("../../tests/fixtures/keys/ed25519.pub.pem").to_string()),
        _ => None,
    }
}

fn parse(doc: &str) -> Result<Config, String> {
    Config::parse(doc.as_bytes(), &env)
        .map(|(c, _)| c)
        .map_err(|e| e.to_string())
}

fn provider(extra: &str) -> String {
    with_top(extra, "")
}

fn with_top(provider_extra: &str, top_extra: &str) -> String {
    format!(
        r#"{{"providers": {{"corp": {{"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"], "keys": [{{"secret": "{HS_SECRET}"}}]{provider_extra}}}}}{top_extra}}}"#
    )
}

#[test]
fn minimal_config_compiles_with_safe_defaults() {
    let c = parse(&provider("")).unwrap();
    assert_eq!(c.mode, Mode::Enforce);
    assert_eq!(c.realm, "jwt-gate");
    assert_eq!(c.cache_size, DEFAULT_CACHE_SIZE);
    let p = &c.providers[0];
    assert!(p.policy.require_exp);
    assert_eq!(p.policy.leeway_s, 60);
    assert!(!p.forward_token);
    assert_eq!(
        p.jws().unwrap().sources,
        vec![crate::extract::Source::default()]
    );
    assert_eq!(c.stripped_headers, vec![DECISION_HEADER.to_string()]);
}

#[test]
fn every_key_source_compiles() {
    let rsa = include_str!("../../tests/fixtures/keys/rsa2048.pub.pem").replace('\n', "\\n");
    let rsa1 = include_str!("../../tests/fixtures/keys/rsa2048.pkcs1.pub.pem").replace('\n', "\\n");
    let ec = include_str!("../../tests/fixtures/keys/ec256.pub.pem").replace('\n', "\\n");
    let hex: String = HS_SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let doc = format!(
        r#"{{"providers": {{"p": {{"issuer": null, "algorithms": ["HS256", "RS256", "ES256", "EdDSA"], "keys": [
            {{"secret": "{HS_SECRET}", "kid": "a"}},
            {{"secret": "{hex}", "encoding": "hex", "alg": "HS256"}},
            {{"secret_env": "HS_SECRET"}},
            {{"pem": "{rsa}", "kid": "rsa"}},
            {{"pem": "{rsa1}", "kid": "rsa1"}},
            {{"pem": "{ec}"}},
            {{"pem_env": "ED_PEM"}}
        ]}}}}}}"#
    );
    let c = parse(&doc).unwrap();
    assert_eq!(c.providers[0].jws().unwrap().keys.len(), 7);
}

#[test]
fn bad_configs_name_the_field() {
    let cases: &[(&str, String, &str)] = &[
        ("not json", "abc".into(), "invalid JSON"),
        (
            "unknown top-level field",
            r#"{"providers": {}, "modes": "x"}"#.into(),
            "unknown field `modes`",
        ),
        (
            "no providers",
            r#"{"providers": {}}"#.into(),
            "providers: at least one provider is required",
        ),
        (
            "unknown provider field",
            provider(r#", "audience": "api""#),
            "providers.corp.audience: unknown field `audience`",
        ),
        (
            "wrong type",
            provider(r#", "leeway_s": "60""#),
            "providers.corp.leeway_s: invalid type",
        ),
        (
            "unknown algorithm",
            provider("").replace(r#"["HS256"]"#, r#"["HS257"]"#),
            r#"providers.corp.algorithms[0]: unknown algorithm "HS257""#,
        ),
        (
            "alg none",
            provider("").replace(r#"["HS256"]"#, r#"["none"]"#),
            r#"algorithms[0]: unknown algorithm "none""#,
        ),
        (
            "no algorithms",
            provider("").replace(r#"["HS256"]"#, "[]"),
            "providers.corp.algorithms: at least one",
        ),
        (
            "issuer omitted",
            provider("").replace(r#""issuer": "https://issuer.test", "#, ""),
            "providers.corp.issuer: required",
        ),
        (
            "missing env",
            provider("").replace(
                &format!(r#"{{"secret": "{HS_SECRET}"}}"#),
                r#"{"secret_env": "NOPE"}"#,
            ),
            r#"providers.corp.keys[0].secret_env: environment variable "NOPE" is not set"#,
        ),
        (
            "two key sources",
            provider("").replace(
                &format!(r#"{{"secret": "{HS_SECRET}"}}"#),
                &format!(r#"{{"secret": "{HS_SECRET}", "pem": "x"}}"#),
            ),
            "providers.corp.keys[0]: exactly one of",
        ),
        (
            "not a pem",
            provider("").replace(
                &format!(r#"{{"secret": "{HS_SECRET}"}}"#),
                r#"{"pem": "hello"}"#,
            ),
            "providers.corp.keys[0].pem:",
        ),
        (
            "rsa key for an HS-only provider",
            provider("").replace(
                &format!(r#"{{"secret": "{HS_SECRET}"}}"#),
                &format!(
                    r#"{{"pem": "{}"}}"#,
                    include_str!("../../tests/fixtures/keys/rsa2048.pub.pem").replace('\n', "\\n")
                ),
            ),
            "providers.corp.keys[0]",
        ),
        (
            "bad claim header",
            provider(r#", "claim_headers": {"x bad": "sub"}"#),
            "providers.corp.claim_headers.x bad: invalid header name",
        ),
        (
            "bad source",
            provider(r#", "from": [{"cookie": "a", "query": "b"}]"#),
            "providers.corp.from[0]: exactly one of",
        ),
        (
            "prefix on cookie",
            provider(r#", "from": [{"cookie": "a", "prefix": "B "}]"#),
            "providers.corp.from[0].prefix",
        ),
        (
            "bad realm",
            with_top("", r#", "realm": "a\"b""#),
            "realm: must be printable ASCII",
        ),
        (
            "duplicate provider",
            provider("").replacen(r#""providers": {"#, r#""providers": {"corp": {}, "#, 1),
            "duplicate",
        ),
        (
            "unknown mode",
            with_top("", r#", "mode": "off""#),
            "mode: unknown variant `off`",
        ),
    ];
    for (name, doc, expected) in cases {
        let err = parse(doc)
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted {doc}"));
        assert!(
            err.contains(expected),
            "{name}: got {err:?}, expected it to contain {expected:?}"
        );
        assert!(!err.contains(HS_SECRET), "{name}: error leaks the secret");
    }
}

#[test]
fn output_headers_are_all_stripped() {
    let c = parse(&provider(
        r#", "claim_headers": {"X-User-Id": "sub"}, "payload_header": "x-jwt-payload""#,
    ))
    .unwrap();
    assert_eq!(
        c.stripped_headers,
        vec![
            DECISION_HEADER.to_string(),
            "x-user-id".into(),
            "x-jwt-payload".into()
        ]
    );
}
