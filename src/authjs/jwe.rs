//! The JWE side of Auth.js session cookies: key derivation (HKDF-SHA256), strict JWE
//! compact parsing (RFC 7516 §7.1) for `alg: dir`, and the two content encryptions
//! Auth.js uses: `A256CBC-HS512` (RFC 7518 §5.2.5) and `A256GCM` (RFC 7518 §5.3).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::error::AuthError;
use crate::{b64, json};

/// Nesting limit for the protected header.
const MAX_HEADER_DEPTH: usize = 4;

/// A JWE content-encryption algorithm (`enc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Enc {
    /// AES-256-CBC + HMAC-SHA-512/256, 64-byte key (Auth.js ≥ `@auth/core` 0.23).
    A256CbcHs512,
    /// AES-256-GCM, 32-byte key (NextAuth v4; `@auth/core` ≤ 0.22).
    A256Gcm,
}

impl Enc {
    fn from_name(name: &str) -> Option<Enc> {
        match name {
            "A256CBC-HS512" => Some(Enc::A256CbcHs512),
            "A256GCM" => Some(Enc::A256Gcm),
            _ => None,
        }
    }

    const fn key_len(self) -> usize {
        match self {
            Enc::A256CbcHs512 => 64,
            Enc::A256Gcm => 32,
        }
    }

    const fn iv_len(self) -> usize {
        match self {
            Enc::A256CbcHs512 => 16,
            Enc::A256Gcm => 12,
        }
    }

    const fn tag_len(self) -> usize {
        match self {
            Enc::A256CbcHs512 => 32,
            Enc::A256Gcm => 16,
        }
    }
}

/// A content-encryption key derived from one secret (and, for v5, one cookie name).
#[derive(Clone)]
pub(super) struct Key {
    pub(super) enc: Enc,
    bytes: Vec<u8>,
    /// RFC 7638 thumbprint of the key as an `oct` JWK, as Auth.js puts it in `kid`.
    pub(super) kid: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("enc", &self.enc)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Key {
    fn new(enc: Enc, bytes: Vec<u8>) -> Key {
        // `{"k":"…","kty":"oct"}` (members sorted, no whitespace), hashed with SHA-(key bits):
        // `calculateJwkThumbprint(…, sha${byteLength << 3})` in `@auth/core/src/jwt.ts`.
        let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, b64::encode_url(&bytes));
        let kid = match enc {
            Enc::A256CbcHs512 => b64::encode_url(&Sha512::digest(jwk.as_bytes())),
            Enc::A256Gcm => b64::encode_url(&Sha256::digest(jwk.as_bytes())),
        };
        Key { enc, bytes, kid }
    }
}

fn hkdf(secret: &[u8], salt: &[u8], info: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut okm = vec![0u8; len];
    Hkdf::<Sha256>::new(Some(salt), secret)
        .expand(info, &mut okm)
        .ok()?;
    Some(okm)
}

/// Auth.js v5: HKDF-SHA256(secret, salt = cookie name,
/// info = `Auth.js Generated Encryption Key (<cookie name>)`), 64 or 32 bytes by `enc`.
pub(super) fn derive_v5(secret: &[u8], cookie_name: &str, enc: Enc) -> Option<Key> {
    let info = format!("Auth.js Generated Encryption Key ({cookie_name})");
    Some(Key::new(
        enc,
        hkdf(
            secret,
            cookie_name.as_bytes(),
            info.as_bytes(),
            enc.key_len(),
        )?,
    ))
}

/// NextAuth v4: HKDF-SHA256(secret, empty salt, info = `NextAuth.js Generated Encryption Key`), 32 bytes.
pub(super) fn derive_v4(secret: &[u8]) -> Option<Key> {
    let bytes = hkdf(secret, b"", b"NextAuth.js Generated Encryption Key", 32)?;
    Some(Key::new(Enc::A256Gcm, bytes))
}

/// A parsed JWE compact serialization with `alg: dir`.
#[derive(Debug)]
pub(super) struct Jwe<'a> {
    /// The protected header as sent: the AAD.
    header_b64: &'a str,
    pub(super) enc: Enc,
    pub(super) kid: Option<String>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

/// Parses `token` strictly; `enc` must be one of `allowed`.
pub(super) fn parse<'a>(token: &'a str, allowed: &[Enc]) -> Result<Jwe<'a>, AuthError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(key), Some(iv), Some(ciphertext), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(AuthError::Malformed("session cookie is not a JWE"));
    };
    let header_bytes =
        b64::decode_url(header_b64).ok_or(AuthError::Malformed("bad base64url in JWE header"))?;
    let header = json::parse_strict(&header_bytes, MAX_HEADER_DEPTH)
        .map_err(|_| AuthError::Malformed("JWE header is not valid JSON"))?;
    let Value::Object(header) = header else {
        return Err(AuthError::Malformed("JWE header is not a JSON object"));
    };
    if header.get("alg").and_then(Value::as_str) != Some("dir") {
        return Err(AuthError::AlgNotAllowed);
    }
    let enc = header
        .get("enc")
        .and_then(Value::as_str)
        .and_then(Enc::from_name)
        .filter(|enc| allowed.contains(enc))
        .ok_or(AuthError::AlgNotAllowed)?;
    // Auth.js never compresses; a `zip` cookie was not made by it.
    if header.contains_key("zip") {
        return Err(AuthError::AlgNotAllowed);
    }
    // No JWE extension is understood, so any `crit` is one we would have to refuse.
    if header.contains_key("crit") {
        return Err(AuthError::UnsupportedCrit);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed("JWE kid is not a string")),
    };
    // `dir`: the encrypted-key segment is empty (RFC 7518 §4.5).
    if !key.is_empty() {
        return Err(AuthError::Malformed("JWE encrypted key must be empty"));
    }
    let segment = |s: &str| b64::decode_url(s).ok_or(AuthError::Malformed("bad base64url in JWE"));
    let (iv, ciphertext, tag) = (segment(iv)?, segment(ciphertext)?, segment(tag)?);
    if iv.len() != enc.iv_len() || tag.len() != enc.tag_len() {
        return Err(AuthError::Malformed("bad JWE IV or tag length"));
    }
    if enc == Enc::A256CbcHs512 && (ciphertext.is_empty() || ciphertext.len() % 16 != 0) {
        return Err(AuthError::Malformed("bad JWE ciphertext length"));
    }
    Ok(Jwe {
        header_b64,
        enc,
        kid,
        iv,
        ciphertext,
        tag,
    })
}

/// The plaintext, or `None` if `key` does not authenticate the JWE.
pub(super) fn decrypt(jwe: &Jwe<'_>, key: &Key) -> Option<Vec<u8>> {
    if key.enc != jwe.enc {
        return None;
    }
    match jwe.enc {
        Enc::A256CbcHs512 => decrypt_cbc_hs512(jwe, &key.bytes),
        Enc::A256Gcm => decrypt_gcm(jwe, &key.bytes),
    }
}

/// RFC 7518 §5.2.2.2: MAC key = first 32 bytes, encryption key = last 32; the tag
/// (first 32 bytes of HMAC-SHA-512 over AAD ‖ IV ‖ ciphertext ‖ AL) is checked, in
/// constant time, before anything is decrypted.
fn decrypt_cbc_hs512(jwe: &Jwe<'_>, key: &[u8]) -> Option<Vec<u8>> {
    let (mac_key, enc_key) = key.split_at_checked(32)?;
    let aad = jwe.header_b64.as_bytes();
    let aad_bits = u64::try_from(aad.len()).ok()?.checked_mul(8)?;
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(mac_key).ok()?;
    mac.update(aad);
    mac.update(&jwe.iv);
    mac.update(&jwe.ciphertext);
    mac.update(&aad_bits.to_be_bytes());
    mac.verify_truncated_left(&jwe.tag).ok()?;
    let mut buf = jwe.ciphertext.clone();
    let len = cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, &jwe.iv)
        .ok()?
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

fn decrypt_gcm(jwe: &Jwe<'_>, key: &[u8]) -> Option<Vec<u8>> {
    let nonce: [u8; 12] = jwe.iv.as_slice().try_into().ok()?;
    let tag: [u8; 16] = jwe.tag.as_slice().try_into().ok()?;
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let mut buf = jwe.ciphertext.clone();
    cipher
        .decrypt_in_place_detached(
            &Nonce::from(nonce),
            jwe.header_b64.as_bytes(),
            &mut buf,
            &Tag::from(tag),
        )
        .ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix B.3, the AEAD_AES_256_CBC_HMAC_SHA_512 vector (K, P, IV, A → E, T).
    #[test]
    fn a256cbc_hs512_matches_rfc7518_appendix_b3() {
        let k: Vec<u8> = (0u8..64).collect();
        let iv = hex("1af38c2dc2b96ffdd86694092341bc04");
        let c = hex(concat!(
            "4affaaadb78c31c5da4b1b590d10ffbd3dd8d5d302423526912da037ecbcc7bd",
            "822c301dd67c373bccb584ad3e9279c2e6d12a1374b77f077553df829410446b",
            "36ebd97066296ae6427ea75c2e0846a11a09ccf5370dc80bfecbad28c73f09b3",
            "a3b75e662a2594410ae496b2e2e6609e31e6e02cc837f053d21f37ff4f51950b",
            "be2638d09dd7a4930930806d0703b1f6",
        ));
        let t = hex("4dd3b4c088a7f45c216839645b2012bf2e6269a8c56a816dbc1b267761955bc5");
        let p = b"A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience";
        // The RFC's AAD is not base64url text, so call the primitive the way `decrypt` does.
        let aad = "The second principle of Auguste Kerckhoffs";
        let jwe = Jwe {
            header_b64: aad,
            enc: Enc::A256CbcHs512,
            kid: None,
            iv,
            ciphertext: c,
            tag: t,
        };
        assert_eq!(decrypt_cbc_hs512(&jwe, &k).as_deref(), Some(&p[..]));
        let mut bad = jwe;
        bad.header_b64 = "The second principle of Auguste Kerckhoffz";
        assert_eq!(decrypt_cbc_hs512(&bad, &k), None);
    }

    #[test]
    fn v5_gcm_key_is_the_prefix_of_the_cbc_key() {
        // Same HKDF info, so T(1) is shared: a cheap consistency check of the KDF.
        let cbc = derive_v5(b"s", "authjs.session-token", Enc::A256CbcHs512).unwrap();
        let gcm = derive_v5(b"s", "authjs.session-token", Enc::A256Gcm).unwrap();
        assert_eq!(cbc.bytes.get(..32), Some(&gcm.bytes[..]));
        assert_ne!(cbc.kid, gcm.kid);
        assert_eq!(cbc.kid.len(), 86);
        assert_eq!(gcm.kid.len(), 43);
    }

    #[test]
    fn key_debug_output_hides_the_key() {
        let key = derive_v4(b"s").unwrap();
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.bytes)));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
