//! RSA verification through the real artifact at every supported modulus size. The
//! `.wasm` computes RSA with SIMD128 column products (`src/crypto/mont.rs`), a path the
//! native differential and Wycheproof suites cannot reach (they run the scalar
//! fallback): here freshly generated 2048-, 3072- and 4096-bit keys sign RS256 and PS256
//! tokens that must all be accepted, and the same tokens with one signature bit flipped
//! (at a different place each time) must all be refused.

mod util;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use util::{config_with, get_with_token, good_claims, host_with};

/// Tokens per key and algorithm.
const TOKENS: usize = 6;

fn jwk(key: &RsaPrivateKey) -> Value {
    json!({"kty": "RSA", "kid": "k",
           "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
           "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
}

/// A JWS for `sub` signed with `key` (RS256, or PS256 with a random salt).
fn token(key: &RsaPrivateKey, alg: &str, sub: &str) -> String {
    let mut claims = good_claims();
    claims["sub"] = json!(sub);
    let header = json!({"alg": alg, "kid": "k"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let digest = Sha256::digest(input.as_bytes());
    let signature = match alg {
        "RS256" => key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap(),
        _ => key
            .sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), &digest)
            .unwrap(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `token` with bit `bit` of its signature flipped.
fn flip(token: &str, bit: usize) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let at = bit % (bytes.len() * 8);
    bytes[at / 8] ^= 1 << (at % 8);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[test]
fn rsa_keys_of_2048_3072_and_4096_bits_verify_in_the_wasm_and_refuse_flipped_bits() {
    for bits in [2048, 3072, 4096] {
        let key = RsaPrivateKey::new(&mut OsRng, bits).unwrap();
        let provider = json!({
            "issuer": util::mint::ISSUER, "audiences": ["api"],
            "algorithms": ["RS256", "PS256"], "keys": [{"jwks": {"keys": [jwk(&key)]}}],
            "claim_headers": {"x-user-id": "sub"}
        });
        let mut host = host_with(config_with(provider));
        for alg in ["RS256", "PS256"] {
            for i in 0..TOKENS {
                let sub = format!("user-{bits}-{alg}-{i}");
                let good = token(&key, alg, &sub);
                let ex = get_with_token(&mut host, "/api", &good);
                assert!(
                    ex.forwarded(),
                    "{bits} {alg} #{i}: {ex:?} {:?}",
                    host.logs()
                );
                assert_eq!(ex.upstream_header("x-user-id"), Some(sub.as_str()));
                // Spread the flipped bits over the whole signature, high limbs included.
                let bit = (i * 7919 + bits / 3) % bits;
                let ex = get_with_token(&mut host, "/api", &flip(&good, bit));
                assert_eq!(ex.status(), Some(401), "{bits} {alg} #{i} bit {bit}");
            }
        }
    }
}
