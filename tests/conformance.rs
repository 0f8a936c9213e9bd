//! JOSE-level conformance: Wycheproof's JWS vectors, RFC 7515 Appendix A, RFC 7520 §4,
//! RFC 8037 A.4/A.5 and RFC 7797 §4.2, through `jws::parse` + `Jws::verify` with keys
//! loaded by `keys::parse_jwks` exactly as an inline JWK Set would be. Sources are
//! listed in `tests/vectors/README.md`.
//!
//! The vectors are JWS, not always JWT: a payload such as `foo` verifies here, and the
//! verifier pipeline would then refuse it as "token payload is not a JSON object". The
//! clock does not enter this layer (claims are checked after it), so the RFC tokens'
//! 2011 `exp` does not matter here.

// A test crate: helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use jwt_gate::alg::Alg;
use jwt_gate::error::AuthError;
use jwt_gate::jws::{self, Limits};
use jwt_gate::keys::parse_jwks;
use serde_json::{json, Value};

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Loads `jwk` as a one-key inline set and runs `token` through parse + verify with
/// every algorithm allowed. `Err` says where it stopped.
fn check(jwk: &Value, token: &str) -> Result<(), String> {
    let keys = parse_jwks(&json!({ "keys": [jwk] }), &Alg::ALL, true)
        .map_err(|e| format!("key: {e}"))?
        .keys;
    let parsed =
        jws::parse(token, &Limits::default()).map_err(|e| format!("parse: {}", e.label()))?;
    parsed
        .verify(&keys, &Alg::ALL)
        .map(|_| ())
        .map_err(|e| format!("verify: {}", e.label()))
}

/// Wycheproof cases whose "valid" does not fit a strict JWT verifier, with the reason.
const DELIBERATELY_REJECTED: &[(u64, &str)] = &[
    // A '?' inside the base64url header / payload. Wycheproof accepts decoders that skip
    // it; RFC 7515 §2 and RFC 4648 §3.3 let an implementation reject characters outside
    // the alphabet, and jwt-gate does (SPEC §3: strict base64url, no token malleability).
    (372, "'?' inserted in the header segment"),
    (373, "'?' inserted in the payload segment"),
    // RFC 7520 Figure 20 (PS384) checked with a JWK whose "alg" is "PS256". A JWK's alg
    // binds the key to that algorithm (RFC 7517 §4.4, SPEC §3), so the key never
    // verifies PS384. (The RFC's own key has no "alg"; rfc7520_section4 verifies it.)
    (346, "PS384 token, JWK bound to PS256"),
    (350, "PS384 token, JWK bound to PS256 (with key_ops)"),
    // RFC 7520 Figure 27 (ES512) with a JWK whose "alg" is "ES521", which is not a
    // registered algorithm: such a key is skipped (SPEC §2), leaving no key.
    (347, "JWK alg \"ES521\" is not a JWS algorithm"),
    (
        351,
        "JWK alg \"ES521\" is not a JWS algorithm (with key_ops)",
    ),
];

/// Wycheproof cases whose token cannot carry the defect their comment names: the
/// "invalidBase64Padding" cases are byte-for-byte the valid token of #357 (the padding
/// they describe is not in the data), so they verify. Padding itself is refused:
/// `padding_is_refused_in_every_segment` below.
const VECTOR_DEFECTS: &[(u64, u64)] = &[(367, 357), (370, 357)];

#[test]
fn wycheproof_json_web_signature_vectors() {
    let set = vector("wycheproof_json_web_signature_test.json");
    let (mut checked, mut mismatches) = (0, Vec::new());
    let mut tokens = std::collections::HashMap::new();
    for group in set["testGroups"].as_array().unwrap() {
        // HMAC groups have only a private (oct) JWK; asymmetric groups use the public one.
        let jwk = if group["public"].is_object() {
            &group["public"]
        } else {
            &group["private"]
        };
        for case in group["tests"].as_array().unwrap() {
            let id = case["tcId"].as_u64().unwrap();
            let token = case["jws"].as_str().unwrap();
            let outcome = check(jwk, token);
            let expected_valid = case["result"] == "valid";
            let deliberate = DELIBERATELY_REJECTED.iter().any(|(i, _)| *i == id);
            if let Some((_, same_as)) = VECTOR_DEFECTS.iter().find(|(i, _)| *i == id) {
                assert_eq!(
                    Some(token),
                    tokens.get(same_as).map(String::as_str),
                    "#{id}"
                );
                assert_eq!(outcome, Ok(()), "#{id}");
                checked += 1;
                continue;
            }
            tokens.insert(id, token.to_string());
            checked += 1;
            match (expected_valid && !deliberate, &outcome) {
                (true, Err(why)) => mismatches.push(format!(
                    "#{id} {}: valid but rejected ({why})",
                    case["comment"]
                )),
                (false, Ok(())) => mismatches.push(format!("#{id} {}: accepted", case["comment"])),
                _ => {}
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(checked, 401);
}

#[test]
fn padding_is_refused_in_every_segment() {
    // What Wycheproof #367/#370 meant to test, on the token of #357.
    let jwk = json!({"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    let good = "eyJraWQiOiJoczI1Ni1rZXkiLCJhbGciOiJIUzI1NiJ9.VGVzdA.c1LROH7eNQwUT8KMVEO52VC3WZ9e_AnDWbZ7aMmowV8";
    assert_eq!(check(&jwk, good), Ok(()));
    for padded in [
        good.replacen("J9.", "J9=.", 1),
        good.replacen(".VGVzdA.", ".VGVzdA==.", 1),
        format!("{good}="),
    ] {
        assert_ne!(padded, good);
        assert_eq!(
            check(&jwk, &padded).unwrap_err(),
            "parse: malformed",
            "{padded}"
        );
    }
}

#[test]
fn wycheproof_json_serialization_is_not_a_compact_token() {
    // tcId 17: a valid JWS in JSON serialization. jwt-gate reads compact tokens only.
    let token =
        r#"{"payload":"Zm9v","signatures":[{"protected":"eyJhbGciOiJIUzI1NiJ9","signature":"x"}]}"#;
    assert!(matches!(
        jws::parse(token, &Limits::default()),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn rfc7515_appendix_a_examples_verify() {
    let set = vector("rfc7515_appendix_a.json");
    for ex in set["examples"].as_array().unwrap() {
        let token = ex["jws"].as_str().unwrap();
        let section = &ex["section"];
        check(&ex["jwk"], token).unwrap_or_else(|e| panic!("{section}: {e}"));
        let keys = parse_jwks(&json!({ "keys": [ex["jwk"]] }), &Alg::ALL, true)
            .unwrap()
            .keys;
        let parsed = jws::parse(token, &Limits::default()).unwrap();
        let payload = parsed.payload(&Limits::default());
        if ex["payload_is_jwt"] == true {
            assert_eq!(payload.unwrap()["exp"], 1_300_819_380, "{section}");
        } else {
            assert!(
                matches!(payload, Err(AuthError::Malformed(_))),
                "{section}: not a JSON object"
            );
        }
        // Any change to the signing input breaks it, and the key never serves another alg.
        let tampered = token
            .replacen(".eyJpc3MiOiJqb2", ".eyJpc3MiOiJqb3", 1)
            .replacen(".UGF5bG9hZA.", ".UGF5bG9hZQ.", 1);
        assert_eq!(
            jws::parse(&tampered, &Limits::default())
                .unwrap()
                .verify(&keys, &Alg::ALL)
                .unwrap_err(),
            AuthError::BadSignature,
            "{section}"
        );
        let alg = parsed.header().alg;
        let others: Vec<Alg> = Alg::ALL.into_iter().filter(|a| *a != alg).collect();
        assert_eq!(
            parsed.verify(&keys, &others).unwrap_err(),
            AuthError::AlgNotAllowed,
            "{section}"
        );
    }
}

#[test]
fn rfc7520_section4_examples_verify() {
    for (file, alg) in [
        ("rfc7520_4_1.rsa_v15_signature.json", Alg::RS256),
        ("rfc7520_4_2.rsa-pss_signature.json", Alg::PS384),
        ("rfc7520_4_3.ecdsa_signature.json", Alg::ES512),
        (
            "rfc7520_4_4.hmac-sha2_integrity_protection.json",
            Alg::HS256,
        ),
    ] {
        let ex = vector(&format!("jose-cookbook/{file}"));
        let token = ex["output"]["compact"].as_str().unwrap();
        // The cookbook JWKs carry the private members too; parse_jwks ignores them.
        check(&ex["input"]["key"], token).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed = jws::parse(token, &Limits::default()).unwrap();
        assert_eq!(parsed.header().alg, alg);
        assert_eq!(
            parsed.header().kid.as_deref(),
            ex["signing"]["protected"]["kid"].as_str()
        );
        // The RFC 7520 payload is prose, not a JWT claims set.
        assert!(parsed.payload(&Limits::default()).is_err());
    }
}

#[test]
fn rfc8037_ed25519_example_verifies() {
    // RFC 8037 A.4 signs "Example of Ed25519 signing"; A.5 verifies it with the public key.
    let ex = vector("jose-cookbook/rfc8037_ed25519_jws.json");
    let mut public = ex["input"]["key"].clone();
    public.as_object_mut().unwrap().remove("d");
    let token = ex["output"]["compact"].as_str().unwrap();
    check(&public, token).unwrap();
    let sig = ex["signing"]["sig"].as_str().unwrap();
    let forged = token.replace(sig, &sig.replacen('h', "i", 1));
    assert_eq!(
        check(&public, &forged).unwrap_err(),
        "verify: bad_signature"
    );
}

#[test]
fn rfc7797_unencoded_payload_is_refused() {
    // RFC 7797 §4.2: {"alg":"HS256","b64":false,"crit":["b64"]}, detached payload "$.02".
    // The signature is genuine, but jwt-gate understands no `crit` extension.
    let ex = vector("jose-cookbook/rfc7797_4.2_hmac_b64_false.json");
    let key = &ex["input"]["key"];
    let token = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY";
    assert_eq!(check(key, token).unwrap_err(), "parse: unsupported_crit");
    // The cookbook's variant without `crit` is refused too: b64 other than true never passes.
    let no_crit = format!(
        "{}..{}",
        ex["signing"]["protected_b64u"].as_str().unwrap(),
        ex["signing"]["sig"].as_str().unwrap()
    );
    assert_eq!(check(key, &no_crit).unwrap_err(), "parse: unsupported_crit");
}

mod no_panics {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes (lossily as text) and dotted base64url-looking strings never
        /// panic the parser, and never verify.
        #[test]
        fn random_input_never_panics_or_verifies(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                                 dotted in "[A-Za-z0-9_=.+/-]{0,300}") {
            let keys = parse_jwks(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), &Alg::ALL, true).unwrap().keys;
            for text in [String::from_utf8_lossy(&bytes).into_owned(), dotted] {
                if let Ok(parsed) = jws::parse(&text, &Limits::default()) {
                    prop_assert!(parsed.verify(&keys, &Alg::ALL).is_err());
                    let _ = parsed.payload(&Limits::default());
                }
            }
        }
    }
}
