//! Mints JWTs for every algorithm jwt-gate verifies, signed with the fixture
//! keys in `tests/fixtures/keys/` (see its README).
//!
//! ```ignore
//! let token = mint("ES256", &json!({"iss": ISSUER, "sub": "u1", "exp": NOW + 300}), &json!({"kid": "ec"}));
//! ```

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Sha256, Sha384, Sha512};

/// Issuer used by the fixture configs.
pub const ISSUER: &str = "https://issuer.test";

/// A fixture file (`tests/fixtures/keys/<name>`) as text.
pub fn fixture_key(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The HMAC secret the HS* fixtures use (file contents, trailing newline
/// removed).
pub fn hs_secret() -> String {
    fixture_key("hs256.secret")
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

/// The default signing key file for an algorithm.
pub fn default_key_file(alg: &str) -> &'static str {
    match alg {
        "HS256" | "HS384" | "HS512" => "hs256.secret",
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => "rsa2048.key.pem",
        "ES256" => "ec256.key.pem",
        "ES384" => "ec384.key.pem",
        "ES512" => "ec521.key.pem",
        "EdDSA" => "ed25519.key.pem",
        other => panic!("no fixture key for {other}"),
    }
}

/// Claims a valid token for the fixture provider carries at `now`.
pub fn claims(now: u64) -> Value {
    json!({"iss": ISSUER, "sub": "user-1", "iat": now, "exp": now + 300})
}

/// A compact JWS: header `{"alg": alg, "typ": "JWT"}` merged with
/// `header_extra` (an object; `null` for none), payload `claims`, signed
/// with the algorithm's default fixture key.
pub fn mint(alg: &str, claims: &Value, header_extra: &Value) -> String {
    mint_with_key(alg, default_key_file(alg), claims, header_extra)
}

/// Like [`mint`] with another fixture key (e.g. `rsa2048-other.key.pem`,
/// a key the gate does not trust).
pub fn mint_with_key(alg: &str, key_file: &str, claims: &Value, header_extra: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let (Some(header), Some(extra)) = (header.as_object_mut(), header_extra.as_object()) {
        header.extend(extra.clone());
    }
    let input = format!("{}.{}", b64(&header.to_string()), b64(&claims.to_string()));
    let signature = sign(alg, key_file, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A compact JWS with exactly `header` (no `typ` added), signed with the
/// algorithm's default fixture key.
pub fn mint_exact_header(alg: &str, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(&header.to_string()), b64(&claims.to_string()));
    let signature = sign(alg, default_key_file(alg), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Replaces the signature with one of the same length that is wrong.
pub fn tamper(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[0] ^= 0x01;
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json.as_bytes())
}

fn sign(alg: &str, key_file: &str, input: &[u8]) -> Vec<u8> {
    let key = if key_file == "hs256.secret" {
        hs_secret()
    } else {
        fixture_key(key_file)
    };
    match alg {
        "HS256" => hmac::<Hmac<Sha256>>(&key, input),
        "HS384" => hmac::<Hmac<Sha384>>(&key, input),
        "HS512" => hmac::<Hmac<Sha512>>(&key, input),
        "RS256" => rs::<Sha256>(&key, input),
        "RS384" => rs::<Sha384>(&key, input),
        "RS512" => rs::<Sha512>(&key, input),
        "PS256" => ps::<Sha256>(&key, input),
        "PS384" => ps::<Sha384>(&key, input),
        "PS512" => ps::<Sha512>(&key, input),
        "ES256" => {
            use p256::ecdsa::{signature::Signer, Signature, SigningKey};
            use p256::pkcs8::DecodePrivateKey;
            let signature: Signature = SigningKey::from_pkcs8_pem(&key).unwrap().sign(input);
            signature.to_bytes().to_vec()
        }
        "ES384" => {
            use p384::ecdsa::{signature::Signer, Signature, SigningKey};
            use p384::pkcs8::DecodePrivateKey;
            let signature: Signature = SigningKey::from_pkcs8_pem(&key).unwrap().sign(input);
            signature.to_bytes().to_vec()
        }
        "ES512" => {
            use p521::ecdsa::{signature::Signer, Signature, SigningKey};
            use p521::pkcs8::DecodePrivateKey;
            let secret = p521::SecretKey::from_pkcs8_pem(&key).unwrap();
            let signing = SigningKey::from_slice(&secret.to_bytes()).unwrap();
            let signature: Signature = signing.sign(input);
            signature.to_bytes().to_vec()
        }
        "EdDSA" => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            use ed25519_dalek::{Signer, SigningKey};
            SigningKey::from_pkcs8_pem(&key)
                .unwrap()
                .sign(input)
                .to_bytes()
                .to_vec()
        }
        other => panic!("cannot sign with {other}"),
    }
}

pub fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &str, input: &[u8]) -> Vec<u8> {
    let mut mac = <M as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

fn rsa_key(pem: &str) -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap()
}

fn rs<D>(pem: &str, input: &[u8]) -> Vec<u8>
where
    D: sha2::Digest + rsa::pkcs8::AssociatedOid,
{
    use rsa::signature::{SignatureEncoding, Signer};
    rsa::pkcs1v15::SigningKey::<D>::new(rsa_key(pem))
        .sign(input)
        .to_vec()
}

fn ps<D>(pem: &str, input: &[u8]) -> Vec<u8>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    rsa::pss::BlindedSigningKey::<D>::new(rsa_key(pem))
        .sign_with_rng(&mut rsa::rand_core::OsRng, input)
        .to_vec()
}
