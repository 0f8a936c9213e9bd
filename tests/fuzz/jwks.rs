//! Remote JWKS answers (`KeyStore::finished`): random statuses, `Cache-Control` values,
//! and bodies (the real key set, with junk keys of every type, truncated, oversized,
//! garbage), under random `refresh_s` / `min_refetch_s`. A failed answer keeps the last
//! good key set, a successful one replaces it, the next fetch is never due at once (no
//! fetch flood) and always due by `refresh_s`, and only a served key verifies a token.

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_gate::alg::Alg;
use jwt_gate::config::Config;
use jwt_gate::jws::{self, Limits};
use jwt_gate::keys::Key;
use jwt_gate::keystore::KeyStore;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePublicKey as _;
use proptest::prelude::*;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::check;
use crate::keys::{b64, fixture, good_claims, hmac_sha256, mint, NOW};

fn rsa_jwk(file: &str, kid: &str) -> Value {
    let key = rsa::RsaPublicKey::from_public_key_pem(&fixture(file)).unwrap();
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
           "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
}

fn ec_jwk(kid: &str) -> Value {
    let key = p256::PublicKey::from_public_key_pem(&fixture("ec256.pub.pem")).unwrap();
    let point = key.to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
}

/// Keys an IdP might publish that must never verify an RS256/ES256 token here.
fn junk_jwks() -> Vec<Value> {
    let good = rsa_jwk("rsa2048.pub.pem", "k1");
    let mut bad_point = ec_jwk("k1");
    bad_point["y"] = bad_point["x"].clone();
    let mut enc = good.clone();
    enc["use"] = json!("enc");
    let mut ops = good.clone();
    ops["key_ops"] = json!(["encrypt"]);
    let mut oaep = good.clone();
    oaep["alg"] = json!("RSA-OAEP");
    let mut hs = good.clone();
    hs["alg"] = json!("HS256");
    vec![
        json!({"kty": "oct", "kid": "k1", "k": b64(fixture("rsa2048.pub.pem").as_bytes())}),
        json!({"kty": "oct", "kid": "k1", "alg": "HS256", "k": b64(b"0123456789abcdef0123456789abcdef")}),
        json!({"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "k1", "n": 5, "e": null}),
        json!({"kty": "OKP", "crv": "X25519", "kid": "k1", "x": b64(&[9; 32])}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "!!"}),
        json!({"kty": "EC", "crv": "P-384", "kid": "k1", "x": "AA", "y": "AA"}),
        bad_point,
        enc,
        ops,
        oaep,
        hs,
        json!({"kid": "k1"}),
        json!("k1"),
        json!(null),
        json!({"kty": "RSA", "kid": ["k1"], "n": good["n"], "e": good["e"], "x5c": ["AAAA"], "jku": "https://evil"}),
    ]
}

#[derive(Debug, Clone)]
enum Body {
    /// The real key set plus these junk keys (indices into `junk_jwks`), good key first or last.
    Good(Vec<usize>, bool),
    /// Only junk keys.
    Junk(Vec<usize>),
    /// The real key set cut at this byte.
    Truncated(usize),
    /// Over the 256 KiB limit.
    Oversized,
    Garbage(Vec<u8>),
    Json(Value),
}

#[derive(Debug, Clone)]
struct Answer {
    /// `None`: the callout failed.
    status: Option<u32>,
    cache_control: Option<String>,
    body: Body,
    /// Seconds until the next answer.
    later: u64,
}

fn answer() -> impl Strategy<Value = Answer> {
    let n = junk_jwks().len();
    let body = prop_oneof![
        4 => (prop::collection::vec(0..n, 0..4), any::<bool>()).prop_map(|(j, first)| Body::Good(j, first)),
        2 => prop::collection::vec(0..n, 0..4).prop_map(Body::Junk),
        1 => any::<usize>().prop_map(Body::Truncated),
        1 => Just(Body::Oversized),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Garbage),
        1 => prop::sample::select(vec![json!({"keys": []}), json!({"keys": {}}), json!([]), json!({}), json!(null), json!({"keys": [{}]})]).prop_map(Body::Json),
    ];
    let status = prop_oneof![6 => Just(Some(200)), 1 => Just(None), 2 => prop::option::of(prop::sample::select(vec![0u32, 204, 301, 404, 500, 503, 999, u32::MAX]))];
    let cc = prop::option::of(prop_oneof![
        "max-age=[0-9]{1,6}",
        Just("max-age=18446744073709551615".to_string()),
        Just("max-age=99999999999999999999".to_string()),
        Just("public, max-age=\"5\"".to_string()),
        Just("no-store".to_string()),
        "[ -~]{0,20}",
    ]);
    (status, cc, body, 0..1000u64).prop_map(|(status, cache_control, body, later)| Answer {
        status,
        cache_control,
        body,
        later,
    })
}

fn body_bytes(body: &Body) -> Vec<u8> {
    let good = rsa_jwk("rsa2048.pub.pem", "k1");
    let junk = junk_jwks();
    match body {
        Body::Good(j, first) => {
            let mut keys: Vec<Value> = j.iter().map(|&i| junk[i].clone()).collect();
            if *first {
                keys.insert(0, good);
            } else {
                keys.push(good);
            }
            json!({"keys": keys}).to_string().into_bytes()
        }
        Body::Junk(j) => json!({"keys": j.iter().map(|&i| junk[i].clone()).collect::<Vec<_>>()})
            .to_string()
            .into_bytes(),
        Body::Truncated(at) => {
            let text = json!({"keys": [good]}).to_string().into_bytes();
            text[..at % text.len()].to_vec()
        }
        Body::Oversized => json!({"keys": [good], "pad": "x".repeat(256 * 1024)})
            .to_string()
            .into_bytes(),
        Body::Garbage(b) => b.clone(),
        Body::Json(v) => v.to_string().into_bytes(),
    }
}

fn config(refresh_s: u64, min_refetch_s: u64) -> Config {
    let doc = json!({"providers": {"idp": {"issuer": crate::keys::ISSUER, "algorithms": ["RS256", "ES256"],
        "keys": [{"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks", "refresh_s": refresh_s, "min_refetch_s": min_refetch_s}}]}}});
    Config::parse(doc.to_string().as_bytes(), &|_| None)
        .unwrap()
        .0
}

/// RS256 by the served key; RS256 by a key never served (same `kid`); HS256 keyed
/// with the served key's PEM (key confusion); ES256 by a key never served.
fn tokens() -> [String; 4] {
    let c = good_claims();
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","kid":"k1"}"#),
        b64(c.to_string().as_bytes())
    );
    let confused = format!(
        "{input}.{}",
        b64(&hmac_sha256(
            fixture("rsa2048.pub.pem").as_bytes(),
            input.as_bytes()
        ))
    );
    [
        mint("RS256", "rsa2048.key.pem", &json!({"kid": "k1"}), &c),
        mint("RS256", "rsa2048-other.key.pem", &json!({"kid": "k1"}), &c),
        confused,
        mint("ES256", "ec256.key.pem", &json!({"kid": "k1"}), &c),
    ]
}

fn verifies(token: &str, keys: &[Key]) -> bool {
    jws::parse(token, &Limits::default()).is_ok_and(|p| p.verify(keys, &Alg::ALL).is_ok())
}

#[test]
fn fetched_key_sets_replace_or_keep_the_last_good_one() {
    let tokens = tokens();
    let strategy = (
        1..2000u64,
        0..2000u64,
        prop::collection::vec(answer(), 1..6),
    );
    check(
        "jwks.answers",
        strategy,
        |(refresh_s, min_refetch_s, answers), tally| {
            let config = config(refresh_s, min_refetch_s);
            let mut store = KeyStore::new(&config, NOW);
            prop_assert_eq!(store.due(&config, NOW), vec![0]);
            let mut now = NOW;
            let mut good_loaded = false;
            for a in &answers {
                let before = store.keys(0);
                store.started(0);
                let body = body_bytes(&a.body);
                let result = store.finished(
                    &config,
                    0,
                    now,
                    a.status
                        .map(|s| (s, a.cache_control.as_deref(), body.as_slice())),
                );
                let after = store.keys(0);
                match &result {
                    Ok((n, _)) => {
                        prop_assert_eq!(a.status, Some(200));
                        let keys = after.clone().unwrap();
                        prop_assert!(
                            *n > 0 && keys.len() == *n,
                            "{n} keys reported, {} stored",
                            keys.len()
                        );
                        // The served key's modulus, under whatever JWK carried it.
                        let n = rsa_jwk("rsa2048.pub.pem", "k1")["n"]
                            .as_str()
                            .unwrap()
                            .to_string();
                        good_loaded = String::from_utf8_lossy(&body).contains(&n);
                        tally.saw("loaded");
                    }
                    Err(e) => {
                        // Keep the last good set: the very same one.
                        prop_assert!(
                            match (&before, &after) {
                                (Some(b), Some(a)) => Rc::ptr_eq(b, a),
                                (None, None) => true,
                                _ => false,
                            },
                            "key set changed by a failed fetch"
                        );
                        tally.saw(e.label());
                    }
                }
                // Never due again at once (no fetch flood); always due by `refresh_s`.
                prop_assert!(
                    store.due(&config, now).is_empty(),
                    "due again at once after {result:?}"
                );
                prop_assert_eq!(store.due(&config, now + refresh_s), vec![0]);
                let keys = after.map(|k| k.to_vec()).unwrap_or_default();
                prop_assert_eq!(
                    verifies(&tokens[0], &keys),
                    good_loaded,
                    "served key: {}",
                    good_loaded
                );
                for forged in &tokens[1..] {
                    if verifies(forged, &keys) {
                        return Err(tally.forgery(format!("{forged} after {a:?}")));
                    }
                }
                now += a.later;
            }
            Ok(())
        },
    );
}

#[test]
fn regression_max_age_with_min_refetch_above_refresh_does_not_panic() {
    // Found by `jwks.answers`: `refresh_s: 1, min_refetch_s: 2` is a valid configuration,
    // and `age.clamp(2, 1)` panicked on an answer carrying `Cache-Control: max-age`
    // (in the .wasm: a trap taking down every request on the worker).
    let config = config(1, 2);
    let mut store = KeyStore::new(&config, NOW);
    store.started(0);
    let body = body_bytes(&Body::Good(vec![], true));
    let loaded = store.finished(&config, 0, NOW, Some((200, Some("max-age=0"), &body)));
    assert!(matches!(loaded, Ok((1, _))), "{loaded:?}");
    assert!(store.due(&config, NOW).is_empty());
    assert_eq!(
        store.due(&config, NOW + 1),
        vec![0],
        "refresh_s still bounds the period"
    );
}
