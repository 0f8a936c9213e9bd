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
    assert_eq!(c.answers.realm, "jwt-gate");
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
            "a struct written as an array (serde would read its fields by position)",
            with_top("", r#", "login": ["https://login.test/", "next"]"#),
            "login: invalid type: array, expected an object",
        ),
        (
            "a nested struct written as an array",
            provider(r#", "revocation": ["rev", "https://rev.test/revoked.json", 60, 500]"#),
            "providers.corp.revocation: invalid type: array, expected an object",
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
            "more sources than a request's source set holds",
            provider(&format!(
                r#", "from": [{}]"#,
                vec![r#"{"cookie": "a"}"#; 65].join(",")
            )),
            "providers.corp.from: at most 64 sources",
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
        (
            "empty typ list",
            provider(r#", "typ": []"#),
            "providers.corp.typ: must not be empty",
        ),
        (
            "typ entry not a media type",
            provider(r#", "typ": ["at+jwt", "at jwt"]"#),
            r#"providers.corp.typ[1]: not a media type: "at jwt""#,
        ),
        (
            "typ on an authjs provider",
            r#"{"providers": {"a": {"authjs": {"secret": "x"}, "typ": ["JWT"]}}}"#.into(),
            "providers.a.typ: does not apply to an authjs provider",
        ),
        (
            "unknown body format",
            with_top("", r#", "body_format": "xml""#),
            "body_format: unknown format \"xml\" (json or problem+json)",
        ),
        (
            "body format with deny_body",
            with_top("", r#", "body_format": "json", "deny_body": "no""#),
            "body_format: does not apply with deny_body",
        ),
        (
            "override of an unknown reason",
            with_top("", r#", "status_overrides": {"expird": 403}"#),
            r#"status_overrides.expird: unknown reason "expird" (one of: missing,"#,
        ),
        (
            "override to a success status",
            with_top("", r#", "status_overrides": {"expired": 200}"#),
            "status_overrides.expired: 200 is not a 4xx or 5xx status",
        ),
        (
            "override to a redirect",
            with_top("", r#", "status_overrides": {"missing": 302}"#),
            "status_overrides.missing: 302 is not a 4xx or 5xx status",
        ),
        (
            "override out of range",
            with_top("", r#", "status_overrides": {"missing": 70000}"#),
            "status_overrides.missing: 70000 is not a 4xx or 5xx status",
        ),
        (
            "relative resource metadata",
            with_top(
                "",
                r#", "resource_metadata": "/.well-known/oauth-protected-resource""#,
            ),
            "resource_metadata: must be an absolute http(s) URL",
        ),
        (
            "resource metadata with a quote",
            with_top("", r#", "resource_metadata": "https://a.test/\"x""#),
            "resource_metadata: must be an absolute http(s) URL",
        ),
        (
            "cors_preflight on an allow rule",
            with_top(
                "",
                r#", "rules": [{"match": {"prefix": "/"}, "action": "allow", "cors_preflight": "allow"}]"#,
            ),
            r#"rules[0].cors_preflight: does not apply to action "allow""#,
        ),
        (
            "unknown cors_preflight value",
            with_top(
                "",
                r#", "rules": [{"match": {"prefix": "/"}, "cors_preflight": "yes"}]"#,
            ),
            "rules[0].cors_preflight: unknown value \"yes\"",
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

#[test]
fn typ_allow_list_compiles_to_full_lowercase_media_types() {
    let c = parse(&provider(
        r#", "typ": ["at+jwt", "application/AT+JWT", "JWT"]"#,
    ))
    .unwrap();
    let typ = c.providers[0].jws().unwrap().typ.as_ref().unwrap();
    assert_eq!(typ.types(), ["application/at+jwt", "application/jwt"]);
    assert!(parse(&provider("")).unwrap().providers[0]
        .jws()
        .unwrap()
        .typ
        .is_none());
}

#[test]
fn answer_settings_compile() {
    let c = parse(&with_top(
        "",
        r#", "body_format": "problem+json", "status_overrides": {"bad_audience": 403, "keys_unavailable": 500},
            "resource_metadata": "https://api.test/.well-known/oauth-protected-resource", "strip_failure_details": true"#,
    ))
    .unwrap();
    let a = &c.answers;
    assert_eq!(a.body_format, BodyFormat::ProblemJson);
    assert_eq!(
        a.status_overrides,
        [("bad_audience", 403), ("keys_unavailable", 500)]
    );
    assert!(a.strip_failure_details);
    assert_eq!(
        a.resource_metadata.as_deref(),
        Some("https://api.test/.well-known/oauth-protected-resource")
    );
    let defaults = parse(&provider("")).unwrap().answers;
    assert_eq!(defaults, crate::response::Answers::default());
}

#[test]
fn risky_choices_are_warnings_with_paths() {
    let (_, warnings) = Config::parse(
        with_top(
            r#", "leeway_s": 600, "from": [{"query": "access_token"}]"#,
            r#", "resource_metadata": "http://api.test/meta""#,
        )
        .as_bytes(),
        &env,
    )
    .unwrap();
    let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers.corp.from[0].query",
            "providers.corp.leeway_s",
            "resource_metadata"
        ]
    );
    assert!(warnings[1]
        .to_string()
        .starts_with("providers.corp.leeway_s: 600 s"));
}

#[test]
fn the_first_error_is_the_one_configure_reports_even_when_there_are_more() {
    let doc = provider(r#", "leeway_s": 1, "typ": []"#).replace(r#"["HS256"]"#, r#"["HS257"]"#);
    let err = parse(&with_top_raw(&doc, r#", "realm": """#)).unwrap_err();
    assert_eq!(
        err,
        r#"providers.corp.algorithms[0]: unknown algorithm "HS257""#
    );
    let all = lint(with_top_raw(&doc, r#", "realm": """#).as_bytes(), &env);
    let paths: Vec<&str> = all.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers.corp.algorithms[0]",
            "providers.corp.typ",
            "realm"
        ]
    );
}

/// `doc` (a whole document) with `extra` added to its top-level object.
fn with_top_raw(doc: &str, extra: &str) -> String {
    let body = doc.strip_suffix('}').unwrap();
    format!("{body}{extra}}}")
}

#[test]
fn a_value_in_the_wrong_field_is_never_echoed_in_the_error() {
    let secret = "s3cr3t-value-that-must-never-be-logged-0123456789";
    for doc in [
        format!(
            r#"{{"providers": {{"corp": {{"issuer": null, "algorithms": ["HS256"], "keys": "{secret}"}}}}}}"#
        ),
        format!(
            r#"{{"providers": {{"corp": {{"issuer": null, "algorithms": ["HS256"], "keys": [{{"secret": "0123456789abcdef0123456789abcdef"}}]}}}}, "mode": "{secret}"}}"#
        ),
        format!(
            r#"{{"providers": {{"corp": {{"issuer": null, "algorithms": ["HS256"], "keys": [{{"secret": "0123456789abcdef0123456789abcdef"}}], "leeway_s": "{secret}\"x"}}}}}}"#
        ),
    ] {
        let err = parse(&doc).unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(
            err.contains("providers.corp.keys") || err.contains("mode") || err.contains("leeway_s"),
            "{err}"
        );
    }
    let long = "x".repeat(32);
    assert_eq!(
        super::redact_values(&format!(
            r#"invalid type: string "a\"b", expected u64; unknown variant `{long}`, expected `a`; string "{long}""#
        )),
        r#"invalid type: string "a\"b", expected u64; unknown variant, expected `a`; a string"#
    );
}

#[test]
fn deny_content_type_needs_a_deny_body_and_a_media_type() {
    let err = parse(&with_top(
        "",
        r#", "deny_content_type": "application/json""#,
    ))
    .unwrap_err();
    assert!(
        err.contains("deny_content_type: applies only with deny_body"),
        "{err}"
    );
    let err = parse(&with_top(
        "",
        r#", "deny_body": "x", "deny_content_type": "json\"""#,
    ))
    .unwrap_err();
    assert!(
        err.contains("deny_content_type: must be a media type"),
        "{err}"
    );
    assert!(parse(&with_top(
        "",
        r#", "deny_body": "{\"s\":{status}}", "deny_content_type": "application/json""#
    ))
    .is_ok());
}
