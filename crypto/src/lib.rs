//! Signature primitives: one function per key family, each taking an already-parsed
//! public key (or HMAC secret), the JWS signing input and the decoded signature.
//!
//! This is the only module that names the RustCrypto crates' verification APIs, so a
//! faster implementation for wasm (see `reference/wasm-crypto.md`) can replace one
//! function at a time without touching key loading or token parsing.
//!
//! The crates are called directly rather than through `jwt-compact`'s `Algorithm`
//! trait: jwt-gate parses tokens itself (strict base64url, duplicate keys, `crit`), the
//! trait has no ES384/ES512, and its RSA path does not reject a signature `>= n` for
//! PSS. Every check below is explicit instead.
//!
//! A crate of its own (re-exported by jwt-gate as `jwt_gate::crypto`) for one reason:
//! the release profile builds it with `opt-level = 3` while the rest of the filter is
//! built for size (`"s"`). At `"s"` LLVM neither unrolls the limb loops nor inlines the
//! iterator adapters in them, and under V8 an ES256 verification then takes about 1.8×
//! as long (`make verify-bench`). Code here only ever sees public values (keys,
//! signatures, hashes); nothing in it is constant-time except where noted.
#![warn(missing_docs, missing_debug_implementations)]

pub mod ed25519_fast;
mod emsa;
mod mont;
pub mod p256_fast;
pub mod rsa_fast;
mod weierstrass;
pub mod wide_ecdsa;

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A: 2048 is the minimum since 2014).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (the bound the `rsa` crate had).
pub const RSA_MAX_BITS: usize = 4096;

/// SHA-2 variant of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sha {
    /// SHA-256.
    S256,
    /// SHA-384.
    S384,
    /// SHA-512.
    S512,
}

/// An HMAC secret with its inner and outer pads already absorbed, for each SHA-2 size:
/// a verification clones the keyed state instead of hashing both pads again (two of
/// the six or so compression calls a typical HS256 token costs).
#[derive(Clone)]
pub struct HmacKey {
    s256: Hmac<Sha256>,
    s384: Hmac<Sha384>,
    s512: Hmac<Sha512>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)") // never the secret
    }
}

impl HmacKey {
    /// Keys all three sizes with `secret` (HMAC takes any length; `None` never happens
    /// in practice, it only keeps the crate's `Result` honest).
    #[must_use]
    pub fn new(secret: &[u8]) -> Option<Self> {
        Some(HmacKey {
            s256: <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret).ok()?,
            s384: <Hmac<Sha384> as hmac::digest::KeyInit>::new_from_slice(secret).ok()?,
            s512: <Hmac<Sha512> as hmac::digest::KeyInit>::new_from_slice(secret).ok()?,
        })
    }

    /// HMAC-SHA-2 of `input` compared with `tag` in constant time; the tag must be the
    /// full output length.
    #[must_use]
    pub fn verify(&self, sha: Sha, input: &[u8], tag: &[u8]) -> bool {
        fn check<M: Mac + Clone>(keyed: &M, input: &[u8], tag: &[u8]) -> bool {
            let mut mac = keyed.clone();
            mac.update(input);
            mac.verify_slice(tag).is_ok()
        }
        match sha {
            Sha::S256 => check(&self.s256, input, tag),
            Sha::S384 => check(&self.s384, input, tag),
            Sha::S512 => check(&self.s512, input, tag),
        }
    }
}

/// HMAC-SHA-2 in constant time with a one-off secret; the tag must be the full output
/// length. Keys kept for many verifications use [`HmacKey`].
#[must_use]
pub fn hmac(sha: Sha, secret: &[u8], input: &[u8], tag: &[u8]) -> bool {
    HmacKey::new(secret).is_some_and(|key| key.verify(sha, input, tag))
}

/// Bits in a big-endian RSA modulus (leading zero bytes allowed). RSASSA-PKCS1-v1_5
/// and RSASSA-PSS themselves are [`rsa_fast::RsaVerifier::verify`], built once per key.
#[must_use]
pub fn rsa_bits(n: &[u8]) -> usize {
    mont::bit_length(n)
}

/// ECDSA P-256 with SHA-256, raw `r || s` (64 bytes), by the wasm-tuned verifier
/// ([`p256_fast`]).
#[must_use]
pub fn p256(key: &p256_fast::P256Verifier, input: &[u8], sig: &[u8]) -> bool {
    <&[u8; 64]>::try_from(sig)
        .is_ok_and(|sig| key.verify_prehash(&<Sha256 as sha2::Digest>::digest(input).into(), sig))
}

/// ECDSA P-384 with SHA-384, raw `r || s` (96 bytes), by the wasm-tuned verifier
/// ([`wide_ecdsa`]).
#[must_use]
pub fn p384(key: &wide_ecdsa::P384Verifier, input: &[u8], sig: &[u8]) -> bool {
    key.verify_prehash(&<Sha384 as sha2::Digest>::digest(input), sig)
}

/// ECDSA P-521 with SHA-512, raw `r || s` (132 bytes), by the wasm-tuned verifier
/// ([`wide_ecdsa`]).
#[must_use]
pub fn p521(key: &wide_ecdsa::P521Verifier, input: &[u8], sig: &[u8]) -> bool {
    key.verify_prehash(&<Sha512 as sha2::Digest>::digest(input), sig)
}

/// Ed25519 (RFC 8032) with the strict checks: canonical `S`, no small-order `R` or key
/// ([`ed25519_fast`], the acceptance rules of `ed25519_dalek`'s `verify_strict`).
#[must_use]
pub fn ed25519(key: &ed25519_fast::Ed25519Verifier, input: &[u8], sig: &[u8]) -> bool {
    <&[u8; 64]>::try_from(sig).is_ok_and(|sig| key.verify(input, sig))
}
