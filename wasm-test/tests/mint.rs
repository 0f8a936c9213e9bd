//! The token-minting helper (tests/util/mint.rs) itself.

mod util;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Hmac;
use serde_json::{json, Value};
use sha2::Sha256;
use util::mint::{claims, hmac, hs_secret, mint, tamper};

#[test]
fn every_algorithm_mints_a_three_part_token() {
    for alg in [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "ES512", "EdDSA",
    ] {
        let token = mint(alg, &claims(1_700_000_000), &json!({"kid": "k1"}));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{alg}");
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": alg, "typ": "JWT", "kid": "k1"}));
        let signature_len = URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len();
        let expected = match alg {
            "HS256" => 32,
            "HS384" => 48,
            "HS512" | "EdDSA" | "ES256" => 64,
            "ES384" => 96,
            "ES512" => 132,
            _ => 256,
        };
        assert_eq!(signature_len, expected, "{alg}");
    }
}

#[test]
fn hs256_matches_an_independent_computation() {
    let token = mint("HS256", &json!({"sub": "x"}), &Value::Null);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let expected = hmac::<Hmac<Sha256>>(&hs_secret(), input.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap(), expected);
    assert_ne!(tamper(&token), token);
}
