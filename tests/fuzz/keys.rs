//! Fixture keys (`tests/fixtures/keys/`) and token minting for the fuzz properties.
//! Tokens are minted once per process: RSA signing is slow in a debug build.

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};

pub const NOW: u64 = 1_700_000_000;
pub const ISSUER: &str = "https://issuer.test";

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn hs_secret() -> String {
    fixture("hs256.secret").trim_end().to_string()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The DER inside a PEM file.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

pub fn hmac_sha256(key: &[u8], input: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// Signs `input` with `alg` and a fixture private key (`key_file`; the HMAC secret for HS*).
pub fn sign(alg: &str, key_file: &str, input: &[u8]) -> Vec<u8> {
    match alg {
        "HS256" => hmac_sha256(key_file.as_bytes(), input),
        "HS512" => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key_file.as_bytes()).unwrap();
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        }
        "RS256" => {
            use rsa::pkcs8::DecodePrivateKey;
            use rsa::signature::{SignatureEncoding, Signer};
            let key = rsa::RsaPrivateKey::from_pkcs8_pem(&fixture(key_file)).unwrap();
            let signing = rsa::pkcs1v15::SigningKey::<Sha256>::new(key);
            signing.sign(input).to_vec()
        }
        "ES256" => {
            use p256::ecdsa::{signature::Signer, Signature, SigningKey};
            use p256::pkcs8::DecodePrivateKey;
            let signature: Signature = SigningKey::from_pkcs8_pem(&fixture(key_file))
                .unwrap()
                .sign(input);
            signature.to_bytes().to_vec()
        }
        "EdDSA" => {
            use ed25519_dalek::Signer;
            // PKCS#8 for Ed25519 ends with the 32-byte seed (RFC 8410 §7).
            let der = pem_der(&fixture(key_file));
            let seed: [u8; 32] = der[der.len() - 32..].try_into().unwrap();
            let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
            signing.sign(input).to_bytes().to_vec()
        }
        other => panic!("cannot mint {other}"),
    }
}

/// A compact JWS of `claims` with header `{"alg", "typ": "JWT"}` plus `extra`.
pub fn mint(alg: &str, key_file: &str, extra: &Value, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let (Some(h), Some(e)) = (header.as_object_mut(), extra.as_object()) {
        h.extend(e.clone());
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(alg, key_file, input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// Claims every fixture provider accepts at [`NOW`].
pub fn good_claims() -> Value {
    json!({"iss": ISSUER, "aud": "api", "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300, "roles": ["reader"]})
}

/// Validly signed tokens for the fixture providers (see [`gate_config`]).
pub fn valid_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let c = good_claims();
        let secret = hs_secret();
        vec![
            mint("HS256", &secret, &Value::Null, &c),
            mint("HS512", &secret, &json!({"kid": "any"}), &c),
            mint("RS256", "rsa2048.key.pem", &json!({"kid": "rsa"}), &c),
            mint("ES256", "ec256.key.pem", &json!({"kid": "ec"}), &c),
            mint("EdDSA", "ed25519.key.pem", &Value::Null, &c),
        ]
    })
}

/// The configuration the tokens above are valid for: `/public/` open, `/admin` needs a
/// role no minted token has, everything else needs a valid token.
pub fn gate_config() -> Value {
    json!({
        "providers": {
            "hs": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["HS256", "HS512"],
                   "keys": [{"secret": hs_secret()}],
                   "claim_headers": {"x-user-id": "sub"}, "payload_header": "x-jwt-payload"},
            "pk": {"issuer": ISSUER, "audiences": ["api"], "algorithms": ["RS256", "ES256", "EdDSA"],
                   "keys": [{"pem": fixture("rsa2048.pub.pem"), "kid": "rsa"},
                            {"pem": fixture("ec256.pub.pem"), "kid": "ec"},
                            {"pem": fixture("ed25519.pub.pem")}],
                   "from": [{"header": "authorization", "prefix": "Bearer "}, {"cookie": "access_token"}],
                   "claim_headers": {"x-user-id": "sub"}}
        },
        "rules": [
            {"match": {"prefix": "/public/"}, "action": "allow"},
            {"match": {"prefix": "/admin"}, "require": {"claims": {"roles": ["admin"]}}}
        ]
    })
}
