//! Plugin configuration through the real artifact: a bad configuration makes
//! `proxy_on_configure` return false with one error line naming the JSON path,
//! secrets from the VM environment work, and no secret is ever logged.

mod util;

use serde_json::{json, Value};
use util::mint::{fixture_key, hs_secret, mint, ISSUER};
use util::{get_with_token, good_claims, host_unstarted, host_with_env, NOW};
use wasm_test::{Host, LogLevel};

const PEM_WITH_GARBAGE: &str =
    "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n";

fn provider_x(extra: Value) -> Value {
    let mut p =
        json!({"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}]});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn doc(extra_provider: Value, extra_top: Value) -> String {
    let mut d = json!({"providers": {"x": provider_x(extra_provider)}});
    for (k, v) in extra_top.as_object().unwrap() {
        d[k] = v.clone();
    }
    d.to_string()
}

/// Starts the plugin; returns whether it accepted the config, and the host.
fn start(config: &str, env: &[(&str, &str)]) -> (bool, Host) {
    let mut host = host_unstarted(config, env);
    let ok = host.start_plugin();
    assert!(
        host.trap().is_none(),
        "VM trapped on {config}: {:?}",
        host.trap()
    );
    (ok, host)
}

fn all_logs(host: &Host) -> String {
    host.logs()
        .iter()
        .map(|e| format!("[{}] {}\n", e.level.as_str(), e.message))
        .collect()
}

/// What a bad configuration breaks, the document, the VM environment, and
/// the fragments its error line must contain.
type BadConfig = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    Vec<&'static str>,
);

/// A configuration, its VM environment, and the secret it must not log.
type SecretCase<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);

fn bad_configs() -> Vec<BadConfig> {
    vec![
        (
            "unknown_field",
            doc(json!({"isuer": "typo"}), json!({})),
            vec![],
            vec!["providers.x", "unknown field `isuer`"],
        ),
        (
            "unknown_top_level_field",
            doc(json!({}), json!({"rulez": []})),
            vec![],
            vec!["unknown field `rulez`"],
        ),
        (
            "wrong_type_leeway_string",
            doc(json!({"leeway_s": "60"}), json!({})),
            vec![],
            vec!["providers.x.leeway_s", "invalid type"],
        ),
        (
            "wrong_type_algorithms_string",
            doc(json!({"algorithms": "HS256"}), json!({})),
            vec![],
            vec!["providers.x.algorithms", "invalid type"],
        ),
        (
            "unknown_algorithm_hs257",
            doc(json!({"algorithms": ["HS257"]}), json!({})),
            vec![],
            vec!["providers.x.algorithms[0]: unknown algorithm \"HS257\""],
        ),
        (
            "algorithm_none",
            doc(json!({"algorithms": ["none"]}), json!({})),
            vec![],
            vec!["providers.x.algorithms[0]"],
        ),
        (
            "pem_that_is_not_a_key",
            doc(
                json!({"algorithms": ["RS256"], "keys": [{"pem": PEM_WITH_GARBAGE}]}),
                json!({}),
            ),
            vec![],
            vec!["providers.x.keys[0].pem"],
        ),
        (
            "pem_not_pem_at_all",
            doc(
                json!({"algorithms": ["RS256"], "keys": [{"pem": "hello"}]}),
                json!({}),
            ),
            vec![],
            vec!["providers.x.keys[0].pem"],
        ),
        (
            "ec_key_for_rsa_only_provider",
            doc(
                json!({"algorithms": ["RS256"], "keys": [{"pem": fixture_key("ec256.pub.pem")}]}),
                json!({}),
            ),
            vec![],
            vec!["providers.x.keys[0]"],
        ),
        (
            "secret_env_naming_an_unset_variable",
            doc(
                json!({"keys": [{"secret_env": "JWT_GATE_UNSET_SECRET"}]}),
                json!({}),
            ),
            vec![],
            vec!["providers.x.keys[0].secret_env", "JWT_GATE_UNSET_SECRET"],
        ),
        (
            "pem_env_naming_an_unset_variable",
            doc(
                json!({"algorithms": ["RS256"], "keys": [{"pem_env": "JWT_GATE_UNSET_PEM"}]}),
                json!({}),
            ),
            vec![],
            vec!["providers.x.keys[0].pem_env", "JWT_GATE_UNSET_PEM"],
        ),
        (
            "rule_naming_an_unknown_provider",
            doc(
                json!({}),
                json!({"rules": [{"match": {"prefix": "/a/"}, "require": {"providers": ["nope"]}}]}),
            ),
            vec![],
            vec!["rules[0].require.providers[0]: unknown provider \"nope\""],
        ),
        (
            "invalid_regex",
            doc(
                json!({}),
                json!({"rules": [{"match": {"regex": "/a/(unclosed"}}]}),
            ),
            vec![],
            vec!["rules[0].match.regex", "invalid regex"],
        ),
        (
            "unknown_method",
            doc(
                json!({}),
                json!({"rules": [{"match": {"prefix": "/", "methods": ["GET", "GRAB"]}}]}),
            ),
            vec![],
            vec!["rules[0].match.methods[1]", "GRAB"],
        ),
        (
            "duplicate_json_key",
            format!(
                r#"{{"providers": {{"x": {{"issuer": "{ISSUER}", "issuer": "https://evil.test", "algorithms": ["HS256"], "keys": [{{"secret": "{}"}}]}}}}}}"#,
                hs_secret()
            ),
            vec![],
            vec!["duplicate", "issuer"],
        ),
        (
            "not_json",
            "providers: x".to_string(),
            vec![],
            vec!["invalid JSON"],
        ),
        (
            "no_providers",
            json!({"providers": {}}).to_string(),
            vec![],
            vec!["providers", "at least one provider"],
        ),
        (
            // serde_json alone reads a struct from an array, field by field.
            "struct_written_as_an_array",
            doc(json!({}), json!({"login": ["https://login.test/", "next"]})),
            vec![],
            vec!["login", "expected an object"],
        ),
        (
            "header_present_written_as_an_array",
            doc(
                json!({}),
                json!({"rules": [{"match": {"prefix": "/", "headers": {"x-a": [true]}}}]}),
            ),
            vec![],
            vec!["rules[0].match.headers.x-a", "a header value"],
        ),
        (
            "unknown_mode",
            doc(json!({}), json!({"mode": "off"})),
            vec![],
            vec!["mode", "off"],
        ),
    ]
}

#[test]
fn bad_configs_are_refused_with_one_error_line_naming_the_json_path() {
    for (name, config, env, fragments) in bad_configs() {
        let (ok, host) = start(&config, &env);
        assert!(!ok, "{name}: accepted {config}");
        let errors = host.logs_at(LogLevel::Error);
        assert_eq!(errors.len(), 1, "{name}: {}", all_logs(&host));
        for fragment in fragments {
            assert!(
                errors[0].contains(fragment),
                "{name}: {:?} does not contain {fragment:?}",
                errors[0]
            );
        }
    }
}

#[test]
fn refused_config_never_logs_the_secret_value() {
    let long = "a-long-enough-secret-with-a-typo-elsewhere-0123456789";
    let cases: Vec<SecretCase> = vec![
        // Not valid hex.
        (
            doc(
                json!({"keys": [{"secret": format!("zz{long}"), "encoding": "hex"}]}),
                json!({}),
            ),
            vec![],
            long,
        ),
        // Not valid base64.
        (
            doc(
                json!({"keys": [{"secret": format!("!!{long}"), "encoding": "base64"}]}),
                json!({}),
            ),
            vec![],
            long,
        ),
        // Valid secret, another field broken.
        (
            doc(
                json!({"keys": [{"secret": long}], "leeway_s": -1}),
                json!({}),
            ),
            vec![],
            long,
        ),
        (
            doc(json!({"keys": [{"secret": long, "kidd": "1"}]}), json!({})),
            vec![],
            long,
        ),
        // Not valid base64, from the environment.
        (
            doc(
                json!({"keys": [{"secret_env": "HS_SECRET", "encoding": "base64"}]}),
                json!({}),
            ),
            vec![("HS_SECRET", "!!env-secret-that-is-not-base64-at-all!!")],
            "env-secret-that-is-not-base64",
        ),
        // Environment PEM that is not a key.
        (
            doc(
                json!({"algorithms": ["RS256"], "keys": [{"pem_env": "RSA_PEM"}]}),
                json!({}),
            ),
            vec![(
                "RSA_PEM",
                "-----BEGIN PUBLIC KEY-----\nc2VjcmV0LXBlbS1ib2R5\n-----END PUBLIC KEY-----\n",
            )],
            "c2VjcmV0LXBlbS1ib2R5",
        ),
    ];
    for (config, env, secret) in cases {
        let (ok, host) = start(&config, &env);
        assert!(!ok, "accepted {config}");
        let logs = all_logs(&host);
        assert_eq!(host.logs_at(LogLevel::Error).len(), 1, "{logs}");
        assert!(!logs.contains(secret), "secret in the logs: {logs}");
    }
}

#[test]
fn secret_and_pem_from_the_vm_environment_verify_tokens() {
    let config = json!({"providers": {
        "hs": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["HS256"], "keys": [{"secret_env": "HS_SECRET"}],
               "claim_headers": {"x-user-id": "sub"}},
        "rs": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256"], "keys": [{"pem_env": "RSA_PEM"}],
               "claim_headers": {"x-user-id": "sub"}}}});
    let secret = hs_secret();
    let pem = fixture_key("rsa2048.pub.pem");
    let mut host = host_with_env(&config, &[("HS_SECRET", &secret), ("RSA_PEM", &pem)]);
    for alg in ["HS256", "RS256"] {
        let ex = get_with_token(&mut host, "/api", &mint(alg, &good_claims(), &Value::Null));
        assert!(ex.forwarded(), "{alg}: {ex:?}");
        assert_eq!(ex.upstream_header("x-user-id"), Some("user-1"));
    }
    let logs = all_logs(&host);
    assert!(!logs.contains(&secret), "secret in the logs: {logs}");
    assert!(host.logs_at(LogLevel::Error).is_empty(), "{logs}");
}

#[test]
fn env_secret_with_base64_encoding_is_decoded() {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(hs_secret());
    let config = json!({"providers": {"hs": {"issuer": ISSUER, "algorithms": ["HS256"],
        "keys": [{"secret_env": "HS_SECRET_B64", "encoding": "base64"}]}}});
    let mut host = host_with_env(&config, &[("HS_SECRET_B64", &encoded)]);
    let ex = get_with_token(
        &mut host,
        "/api",
        &mint("HS256", &util::mint::claims(NOW), &Value::Null),
    );
    assert!(ex.forwarded(), "{ex:?}");
}

#[test]
fn configuration_without_audiences_starts_with_a_warning() {
    let (ok, host) = start(&doc(json!({}), json!({})), &[]);
    assert!(ok, "{}", all_logs(&host));
    let warnings = host.logs_at(LogLevel::Warn).join("\n");
    assert!(warnings.contains("audiences"), "{warnings}");
}

#[test]
fn hmac_secret_shorter_than_32_bytes_is_refused_without_logging_it() {
    let short = "short-recognisable-secret"; // 25 bytes
    for (config, env) in [
        (doc(json!({"keys": [{"secret": short}]}), json!({})), vec![]),
        (
            doc(json!({"keys": [{"secret_env": "HS_SECRET"}]}), json!({})),
            vec![("HS_SECRET", short)],
        ),
        (doc(json!({"keys": [{"secret": ""}]}), json!({})), vec![]),
    ] {
        let (ok, host) = start(&config, &env);
        let logs = all_logs(&host);
        assert!(!ok, "accepted {config}: {logs}");
        let errors = host.logs_at(LogLevel::Error);
        assert_eq!(errors.len(), 1, "{logs}");
        assert!(errors[0].contains("providers.x.keys[0]"), "{logs}");
        assert!(!logs.contains(short), "secret in the logs: {logs}");
    }
}

#[test]
fn a_host_that_streams_through_a_refused_config_gets_503_not_a_dead_vm() {
    // Envoy fails the plugin instead, but the SDK would panic (and abort the VM) if the
    // root answered no context; any host that asks anyway gets a closed door.
    let (ok, mut host) = start(r#"{"providers": {}, "mode": "nonsense"}"#, &[]);
    assert!(!ok);
    let ex = util::get(&mut host, "/api/x", &[("authorization", "Bearer x.y.z")]);
    assert_eq!(ex.status(), Some(503), "{ex:?}");
    assert!(!ex.forwarded());
    assert!(host.trap().is_none(), "{:?}", host.trap());
}
