//! Every way a JWKS answer can be bad, through the real artifact, before and after a good
//! key set. Before: the waiting request gets 503 with Retry-After and nothing is
//! forwarded. After: the last good keys stay in use, the failure is counted under its
//! reason, and forged tokens are refused whatever the IdP sent. (e2e/test_faults.py does
//! the same against a real Envoy and a misbehaving HTTP server.)

mod util;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Hmac;
use serde_json::{json, Value};
use sha2::Sha256;
use util::jwks::{jwks, rsa_jwk};
use util::mint::{claims, fixture_key, hmac, mint_with_key, tamper};
use util::NOW;
use wasm_test::{Action, Host};

fn good_jwks() -> Vec<u8> {
    jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")])
}

/// What the IdP (or Envoy on its behalf) answers a fetch with.
#[derive(Debug, Clone)]
enum Answer {
    Reply(u32, Vec<u8>),
    /// No answer: a reset, a connection cut mid-body.
    Fail,
}

/// (name, answer, the `jwt_gate.jwks_fetches.<reason>` it must count as).
fn bad_answers() -> Vec<(&'static str, Answer, &'static str)> {
    let good = good_jwks();
    let k1 = rsa_jwk("rsa2048.pub.pem", "k1");
    let mut huge = good[..good.len() - 1].to_vec();
    huge.extend_from_slice(b", \"padding\": \"");
    huge.resize(10 << 20, b'x');
    huge.extend_from_slice(b"\"}");
    let pem_secret = URL_SAFE_NO_PAD.encode(fixture_key("rsa2048.pub.pem"));
    let wrong_keys = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "k1",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "oct", "k": pem_secret, "alg": "HS256", "use": "sig", "kid": "k1"},
        {"kty": "RSA", "n": k1["n"], "e": k1["e"], "alg": "RS256", "use": "enc", "kid": "k1-enc"},
        {"kty": "RSA", "n": k1["n"], "e": k1["e"], "alg": "RS256", "key_ops": ["encrypt"], "kid": "k1-ops"},
        {"kty": "RSA", "n": k1["n"], "e": k1["e"], "alg": "PS256", "kid": "k1-ps"},
        {"kty": "RSA", "e": k1["e"], "alg": "RS256", "kid": "k1-no-n"},
    ]})
    .to_string()
    .into_bytes();
    let deep = format!("{{\"keys\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let duplicate = format!("{{\"keys\": [], \"keys\": [{k1}]}}");
    vec![
        (
            "500",
            Answer::Reply(500, b"{\"error\": \"oops\"}".to_vec()),
            "bad_status",
        ),
        (
            "503 (Envoy: connection refused)",
            Answer::Reply(503, b"upstream connect error".to_vec()),
            "bad_status",
        ),
        (
            "504 (Envoy: timeout)",
            Answer::Reply(504, b"upstream request timeout".to_vec()),
            "bad_status",
        ),
        (
            "302 to a login page",
            Answer::Reply(302, Vec::new()),
            "bad_status",
        ),
        (
            "200 with an empty body",
            Answer::Reply(200, Vec::new()),
            "invalid",
        ),
        ("no answer (reset, cut)", Answer::Fail, "unreachable"),
        (
            "HTML page",
            Answer::Reply(
                200,
                b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>".to_vec(),
            ),
            "invalid",
        ),
        (
            "10 MiB holding the right key",
            Answer::Reply(200, huge),
            "too_large",
        ),
        (
            "truncated JSON",
            Answer::Reply(200, good[..good.len() / 2].to_vec()),
            "invalid",
        ),
        (
            "not UTF-8",
            Answer::Reply(200, b"\xff\xfe{\"keys\": []}".to_vec()),
            "invalid",
        ),
        (
            "keys not an array",
            Answer::Reply(200, b"{\"keys\": {\"kty\": \"RSA\"}}".to_vec()),
            "invalid",
        ),
        (
            "duplicate keys member",
            Answer::Reply(200, duplicate.into_bytes()),
            "invalid",
        ),
        (
            "10,000 levels deep",
            Answer::Reply(200, deep.into_bytes()),
            "invalid",
        ),
        (
            "only unusable keys, some under the real kid",
            Answer::Reply(200, wrong_keys),
            "invalid",
        ),
    ]
}

fn host() -> Host {
    let config = json!({"providers": {"idp": {
        "issuer": util::mint::ISSUER, "algorithms": ["RS256"],
        "keys": [{"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks.json",
                                  "timeout_ms": 2000, "refresh_s": 600, "min_refetch_s": 30}}],
        // Keep-last-good through a failed refresh is the `stale` policy (jwks_policy.rs
        // covers `deny`, the default).
        "on_keys_unavailable": "stale", "stale_max_s": 86400,
        "claim_headers": {"x-user-id": "sub"}}}});
    util::jwks::started(&config, &["idp"])
}

fn valid(sub: &str) -> String {
    let mut c = claims(NOW);
    c["sub"] = json!(sub);
    c["exp"] = json!(NOW + 3600);
    mint_with_key("RS256", "rsa2048.key.pem", &c, &json!({"kid": "k1"}))
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Tokens no answer of the IdP may let through.
fn forged() -> Vec<(&'static str, String)> {
    let mut c = claims(NOW);
    c["sub"] = json!("mallory");
    c["exp"] = json!(NOW + 3600);
    let payload = b64(&c);
    let hs_input = format!("{}.{payload}", b64(&json!({"alg": "HS256", "kid": "k1"})));
    let hs_sig = hmac::<Hmac<Sha256>>(&fixture_key("rsa2048.pub.pem"), hs_input.as_bytes());
    let mut expired = c.clone();
    expired["iat"] = json!(NOW - 7200);
    expired["exp"] = json!(NOW - 3600);
    vec![
        ("tampered signature", tamper(&valid("mallory"))),
        (
            "foreign key under the real kid",
            mint_with_key("RS256", "rsa2048-other.key.pem", &c, &json!({"kid": "k1"})),
        ),
        (
            "foreign key under an unknown kid",
            mint_with_key("RS256", "rsa2048-other.key.pem", &c, &json!({"kid": "k9"})),
        ),
        (
            "HS256 keyed with the RSA public key",
            format!("{hs_input}.{}", URL_SAFE_NO_PAD.encode(hs_sig)),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64(&json!({"alg": "none", "kid": "k1"}))),
        ),
        (
            "expired",
            mint_with_key("RS256", "rsa2048.key.pem", &expired, &json!({"kid": "k1"})),
        ),
    ]
}

/// Sends a request with `token`; every fetch it starts (or waits on) gets `answer`.
/// Returns 200 when forwarded (then `x-user-id` is checked against `sub`), else the
/// local reply's status.
fn drive(host: &mut Host, token: &str, answer: &Answer, sub: Option<&str>) -> u32 {
    let id = host.init_http_context();
    let auth = format!("Bearer {token}");
    let headers = [
        (":method", "GET"),
        (":path", "/api"),
        (":authority", "gw"),
        ("authorization", auth.as_str()),
        ("x-user-id", "spoofed"),
    ];
    let action = host.call_on_request_headers(id, &headers, true);
    for _ in 0..4 {
        let Some(call) = host.pending_http_calls().into_iter().next() else {
            break;
        };
        match answer {
            Answer::Reply(status, body) => host
                .respond_to_http_call(call.token, *status, &[], body)
                .unwrap(),
            Answer::Fail => host.fail_http_call(call.token).unwrap(),
        }
    }
    assert!(host.trap().is_none(), "trapped: {:?}", host.trap_details());
    if let Some(reply) = host.local_response(id) {
        if reply.status == 503 {
            assert!(reply.header("retry-after").is_some(), "{reply:?}");
        }
        return reply.status;
    }
    assert!(
        action == Action::Continue || host.resumed(id),
        "request left paused"
    );
    assert_eq!(host.request_header(id, "x-user-id").as_deref(), sub);
    200
}

#[test]
fn before_any_good_key_set_every_bad_answer_gives_503_and_nothing_passes() {
    for (name, answer, reason) in bad_answers() {
        let mut host = host();
        assert_eq!(
            drive(&mut host, &valid("vera"), &answer, None),
            503,
            "{name}"
        );
        assert!(
            host.metric(&format!("jwt_gate.jwks_fetches.{reason}")) >= Some(1),
            "{name}: {:?}",
            host.metrics()
        );
        for (forgery, token) in forged() {
            let got = drive(&mut host, &token, &answer, None);
            assert!(matches!(got, 401 | 503), "{name}, {forgery}: {got}");
        }
        // The IdP is mended: the next fetch (due min_refetch_s after a failure) loads the keys.
        host.advance(Duration::from_secs(31));
        host.tick();
        assert_eq!(
            drive(
                &mut host,
                &valid("vera"),
                &Answer::Reply(200, good_jwks()),
                Some("vera")
            ),
            200,
            "{name}"
        );
        assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(1), "{name}");
    }
}

#[test]
fn after_a_good_key_set_every_bad_refresh_keeps_it() {
    for (name, answer, reason) in bad_answers() {
        let mut host = host();
        let good = Answer::Reply(200, good_jwks());
        assert_eq!(drive(&mut host, &valid("first"), &good, Some("first")), 200);
        // The refresh is due and fails.
        host.advance(Duration::from_secs(601));
        host.tick();
        let refresh = host.pending_http_calls();
        assert_eq!(refresh.len(), 1, "{name}: refresh started");
        match &answer {
            Answer::Reply(status, body) => host
                .respond_to_http_call(refresh[0].token, *status, &[], body)
                .unwrap(),
            Answer::Fail => host.fail_http_call(refresh[0].token).unwrap(),
        }
        assert_eq!(
            host.metric(&format!("jwt_gate.jwks_fetches.{reason}")),
            Some(1),
            "{name}"
        );
        assert!(host
            .logs()
            .iter()
            .any(|l| l.message.contains("keeping the last good key set")));
        for n in 0..3 {
            let sub = format!("after-{n}");
            assert_eq!(
                drive(&mut host, &valid(&sub), &answer, Some(&sub)),
                200,
                "{name}"
            );
        }
        for (forgery, token) in forged() {
            assert_eq!(
                drive(&mut host, &token, &answer, None),
                401,
                "{name}, {forgery}"
            );
        }
        assert_eq!(
            drive(&mut host, &valid("last"), &answer, Some("last")),
            200,
            "{name}"
        );
    }
}
