//! The token parser and the whole request decision, fed arbitrary bytes, validly signed
//! tokens with mutations (bit flips, insertions, truncation, segment swaps, re-encoded
//! headers and claims, re-signing with keys the gate does not trust, `alg: none`), and
//! junk JSON signed with the real secret. A token that is not byte-for-byte one the
//! configured keys signed never verifies and is never forwarded on a protected route.

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_gate::alg::Alg;
use jwt_gate::config::Config;
use jwt_gate::gate::{evaluate, Env, HeaderOp, Outcome, Request, VerifiedCache};
use jwt_gate::header_map::Header;
use jwt_gate::jws::{self, Limits};
use jwt_gate::keys::Key;
use jwt_gate::keystore::KeyStore;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::check;
use crate::keys::{b64, fixture, gate_config, hmac_sha256, hs_secret, valid_tokens, NOW};

thread_local! {
    static GATE: Config = Config::parse(gate_config().to_string().as_bytes(), &|_| None).unwrap().0;
}

/// The keys the gate trusts, for calling `Jws::verify` directly.
fn trusted_keys() -> Vec<Key> {
    vec![
        Key::hmac(hs_secret().into_bytes(), None, None).unwrap(),
        Key::from_pem(&fixture("rsa2048.pub.pem"), Some("rsa".into()), None).unwrap(),
        Key::from_pem(&fixture("ec256.pub.pem"), Some("ec".into()), None).unwrap(),
        Key::from_pem(&fixture("ed25519.pub.pem"), None, None).unwrap(),
    ]
}

/// Whether `token` verifies with the trusted keys (every algorithm allowed).
fn verifies(token: &str, keys: &[Key]) -> bool {
    jws::parse(token, &Limits::default()).is_ok_and(|parsed| {
        let _ = parsed.payload(&Limits::default());
        parsed.verify(keys, &Alg::ALL).is_ok()
    })
}

/// Where the token is presented, and what value jwt-gate reads from there.
#[derive(Debug, Clone, Copy)]
enum Placement {
    Bearer,
    Cookie,
}

/// Runs one request through the gate: `Ok(x-user-id values)` when it is forwarded,
/// `Err(reason)` when it is denied.
fn gate(path: &str, token: &str, placement: Placement) -> Result<Vec<String>, &'static str> {
    let header: Header<'_> = match placement {
        Placement::Bearer => ("authorization".into(), format!("Bearer {token}").into()),
        Placement::Cookie => (
            "cookie".into(),
            format!("theme=dark; access_token={token}").into(),
        ),
    };
    let headers = vec![header, ("x-user-id".into(), "spoofed".into())];
    GATE.with(|config| {
        let keys = KeyStore::new(config, NOW);
        let cache = RefCell::new(VerifiedCache::new(4));
        let verdict = evaluate(
            config,
            &Env::new(&keys, &cache),
            &Request {
                method: "GET",
                path,
                headers: &headers,
            },
            NOW,
        );
        match verdict.outcome {
            Outcome::Forward { ops, .. } => Ok(ops
                .iter()
                .filter_map(|op| match op {
                    HeaderOp::Add(n, v) if &**n == "x-user-id" => Some(v.to_string()),
                    _ => None,
                })
                .collect()),
            Outcome::Deny { denial, .. } => Err(denial.error.label()),
        }
    })
}

/// The credential jwt-gate reads from a placement (`Bearer` and cookie values are
/// trimmed; a cookie value ends at `;` and may be quoted).
fn as_read(token: &str, placement: Placement) -> &str {
    match placement {
        Placement::Bearer => token.trim(),
        Placement::Cookie => {
            let v = token.split(';').next().unwrap_or("").trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    SwapSegments(usize, usize),
    /// Re-encodes the header with one member set (signature kept).
    Header(&'static str, Value),
    /// Re-encodes the payload with one claim set (signature kept).
    Claim(&'static str, Value),
    /// Re-signs header and payload with a key the gate does not trust.
    Resign(Resign),
    /// Appends `=` padding to a segment.
    Pad(usize),
    /// Rewrites a segment in the standard base64 alphabet.
    StdAlphabet(usize),
    ExtraSegment(String),
}

#[derive(Debug, Clone, Copy)]
enum Resign {
    /// HS256 keyed with the RSA public key's PEM (key confusion).
    HmacWithRsaPem,
    /// HS256 keyed with the EC public key's PEM.
    HmacWithEcPem,
    /// HS256 with another secret.
    HmacOtherSecret,
    /// RS256 with an RSA key nobody configured, under the trusted `kid`.
    OtherRsa,
    /// `alg: none` (in some casing) and an empty signature.
    None(&'static str),
}

fn token_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
        1 => prop::sample::select(b".=+/ \t\r\n\0\x7f\x80\xff\";,%".to_vec()),
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!("none"),
            json!("None"),
            json!("NONE"),
            json!("HS256"),
            json!("RS256"),
            json!("ES256"),
            json!("EdDSA"),
            json!("PS256"),
            json!("HS512"),
            json!(""),
            json!("../../../../dev/null"),
            json!("rsa"),
            json!("ec"),
            json!(null),
            json!(true),
            json!(0),
            json!(1e300),
            json!(["rsa"]),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!("https://attacker.example/jwks.json"),
            json!(["exp"]),
            json!(false),
            json!(u64::MAX),
            json!(-1),
            json!("admin"),
            json!(["admin"]),
            json!(NOW - 86_400),
            json!(NOW + 86_400),
            json!("user-1\r\nx-admin: 1"),
        ]),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(Value::String("k".repeat(5000))),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let header_field = prop::sample::select(vec![
        "alg", "kid", "typ", "cty", "crit", "b64", "jwk", "jku", "x5u", "x5c", "zip", "enc",
    ]);
    let claim = prop::sample::select(vec!["iss", "aud", "sub", "exp", "nbf", "iat", "roles"]);
    let resign = prop_oneof![
        Just(Resign::HmacWithRsaPem),
        Just(Resign::HmacWithEcPem),
        Just(Resign::HmacOtherSecret),
        Just(Resign::OtherRsa),
        prop::sample::select(vec!["none", "None", "NONE", "nOnE"]).prop_map(Resign::None),
    ];
    prop_oneof![
        4 => (any::<usize>(), 0..8u8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        3 => (any::<usize>(), token_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        2 => (any::<usize>(), token_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0..3usize, 0..3usize).prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        2 => (header_field, hostile_value()).prop_map(|(f, v)| Mutation::Header(f, v)),
        2 => (claim, hostile_value()).prop_map(|(c, v)| Mutation::Claim(c, v)),
        2 => resign.prop_map(Mutation::Resign),
        1 => (0..3usize).prop_map(Mutation::Pad),
        1 => (0..3usize).prop_map(Mutation::StdAlphabet),
        1 => "[A-Za-z0-9_-]{0,8}".prop_map(Mutation::ExtraSegment),
    ]
}

fn decode_json(segment: &str) -> Value {
    URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}))
}

fn set_member(segment: &str, name: &str, value: &Value) -> String {
    let mut doc = decode_json(segment);
    if let Some(map) = doc.as_object_mut() {
        map.insert(name.to_string(), value.clone());
    }
    b64(doc.to_string().as_bytes())
}

fn apply(token: &str, m: &Mutation) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let mut segs: Vec<String> = token.split('.').map(str::to_string).collect();
    let n = bytes.len();
    match m {
        Mutation::FlipBit(i, bit) if n > 0 => bytes[i % n] ^= 1 << bit,
        Mutation::Replace(i, b) if n > 0 => bytes[i % n] = *b,
        Mutation::Insert(i, b) => bytes.insert(i % (n + 1), *b),
        Mutation::Delete(i) if n > 0 => {
            bytes.remove(i % n);
        }
        Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
        Mutation::SwapSegments(a, b) if segs.len() == 3 => {
            segs.swap(*a, *b);
            return segs.join(".");
        }
        Mutation::Header(f, v) if segs.len() == 3 => {
            segs[0] = set_member(&segs[0], f, v);
            return segs.join(".");
        }
        Mutation::Claim(c, v) if segs.len() == 3 => {
            segs[1] = set_member(&segs[1], c, v);
            return segs.join(".");
        }
        Mutation::Resign(how) if segs.len() == 3 => return resign(&segs[0], &segs[1], *how),
        Mutation::Pad(i) if segs.len() == 3 => {
            segs[*i].push('=');
            return segs.join(".");
        }
        Mutation::StdAlphabet(i) if segs.len() == 3 => {
            segs[*i] = segs[*i].replace('-', "+").replace('_', "/");
            return segs.join(".");
        }
        Mutation::ExtraSegment(s) => return format!("{token}.{s}"),
        _ => {}
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn resign(header: &str, payload: &str, how: Resign) -> String {
    let (alg, key): (&str, Vec<u8>) = match how {
        Resign::HmacWithRsaPem => ("HS256", fixture("rsa2048.pub.pem").into_bytes()),
        Resign::HmacWithEcPem => ("HS256", fixture("ec256.pub.pem").into_bytes()),
        Resign::HmacOtherSecret => ("HS256", b"another-secret-of-at-least-32-bytes!!".to_vec()),
        Resign::OtherRsa => ("RS256", Vec::new()),
        Resign::None(casing) => {
            let h = set_member(header, "alg", &json!(casing));
            return format!("{h}.{payload}.");
        }
    };
    let h = set_member(header, "alg", &json!(alg));
    let input = format!("{h}.{payload}");
    let signature = if alg == "RS256" {
        crate::keys::sign("RS256", "rsa2048-other.key.pem", input.as_bytes())
    } else {
        hmac_sha256(&key, input.as_bytes())
    };
    format!("{input}.{}", b64(&signature))
}

#[test]
fn arbitrary_bytes_never_verify() {
    let keys = trusted_keys();
    let json_segment = || super::json_claims::value().prop_map(|v| b64(v.to_string().as_bytes()));
    let input = prop_oneof![
        (json_segment(), json_segment(), "[A-Za-z0-9_-]{0,90}")
            .prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        prop::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "[A-Za-z0-9_=.+/ -]{0,300}",
        (
            "[A-Za-z0-9_-]{0,60}",
            "[A-Za-z0-9_-]{0,200}",
            "[A-Za-z0-9_-]{0,350}"
        )
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
    ];
    check("tokens.arbitrary", input, |text, tally| {
        if verifies(&text, &keys) {
            return Err(tally.forgery(text));
        }
        tally.saw(match jws::parse(&text, &Limits::default()) {
            Ok(_) => "parsed".to_string(),
            Err(e) => e.label().to_string(),
        });
        prop_assert!(gate("/api/x", &text, Placement::Bearer).is_err());
        Ok(())
    });
}

#[test]
fn mutated_tokens_never_verify_and_are_never_forwarded() {
    let keys = trusted_keys();
    for t in valid_tokens() {
        assert!(verifies(t, &keys), "control token does not verify: {t}");
        assert_eq!(
            gate("/api/x", t, Placement::Bearer),
            Ok(vec!["user-1".to_string()])
        );
    }
    let strategy = (
        0..valid_tokens().len(),
        prop::collection::vec(mutation(), 1..4),
        prop_oneof![Just(Placement::Bearer), Just(Placement::Cookie)],
    );
    check(
        "tokens.mutated",
        strategy,
        |(i, mutations, placement), tally| {
            let original = &valid_tokens()[i];
            let token = mutations.iter().fold(original.clone(), |t, m| apply(&t, m));
            if token == *original {
                tally.saw("unchanged");
                prop_assert!(verifies(&token, &keys));
                return Ok(());
            }
            if verifies(&token, &keys) {
                return Err(tally.forgery(format!("{mutations:?} -> {token}")));
            }
            match gate("/api/x", &token, placement) {
                Err(reason) => tally.saw(reason),
                Ok(users) if as_read(&token, placement) == original => {
                    // Whitespace or quotes around the same bytes: the same credential.
                    prop_assert_eq!(users, vec!["user-1".to_string()]);
                    tally.saw("same_credential");
                }
                Ok(_) => return Err(tally.forgery(format!("forwarded {mutations:?} -> {token}"))),
            }
            Ok(())
        },
    );
}

/// A payload near the valid one: some claims dropped or replaced by hostile values.
fn junk_claims() -> impl Strategy<Value = Value> {
    let edit = (
        prop::sample::select(vec!["iss", "aud", "sub", "exp", "nbf", "iat", "roles"]),
        prop::option::of(hostile_value()),
    );
    prop::collection::vec(edit, 0..4).prop_map(|edits| {
        let mut claims = crate::keys::good_claims();
        for (name, value) in edits {
            match value {
                Some(v) => claims[name] = v,
                None => {
                    claims.as_object_mut().unwrap().remove(name);
                }
            }
        }
        claims
    })
}

/// Whether the gate may accept these claims (its documented policy, written out).
fn acceptable(header: &Value, claims: &Value) -> bool {
    let now = NOW as f64;
    // Absent is fine (except `exp`); present must be a number within the leeway.
    let time_ok = |k: &str, ok: &dyn Fn(f64) -> bool| match claims.get(k).map(Value::as_f64) {
        None => k != "exp",
        Some(Some(t)) => ok(t),
        Some(None) => false,
    };
    let text = |k: &str| header.get(k).is_none_or(Value::is_string);
    header.get("crit").is_none()
        && header.get("b64").is_none_or(|b| b == &json!(true))
        && text("kid")
        && text("typ")
        && text("cty")
        && claims["iss"] == json!(crate::keys::ISSUER)
        && (claims["aud"] == json!("api")
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("api"))))
        && time_ok("exp", &|t| now <= t + 60.0)
        && time_ok("nbf", &|t| t <= now + 60.0)
        && time_ok("iat", &|t| t <= now + 60.0)
}

#[test]
fn junk_signed_with_the_real_secret_passes_only_with_valid_claims() {
    let header_edit = (
        prop::sample::select(vec!["kid", "typ", "cty", "crit", "b64", "jwk", "x5c"]),
        hostile_value(),
    );
    let strategy = (prop::collection::vec(header_edit, 0..3), junk_claims());
    check("tokens.signed_junk", strategy, |(edits, claims), tally| {
        let mut header = json!({"alg": "HS256"});
        for (k, v) in edits {
            header[k] = v;
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let token = format!(
            "{input}.{}",
            b64(&hmac_sha256(hs_secret().as_bytes(), input.as_bytes()))
        );
        match gate("/api/x", &token, Placement::Bearer) {
            Err(reason) => tally.saw(reason),
            Ok(users) => {
                prop_assert!(acceptable(&header, &claims), "forwarded {header} {claims}");
                if let Some(sub) = claims["sub"].as_str() {
                    prop_assert_eq!(users, vec![sub.to_string()]);
                }
                tally.saw("forwarded");
            }
        }
        Ok(())
    });
}
