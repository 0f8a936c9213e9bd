//! Verification keys: an HMAC secret or a parsed public key, bound to its family and,
//! optionally, to one `alg` and a `kid`.
//!
//! A [`Key`] is only ever used with an algorithm of its own family (an RSA or EC public
//! key is never an HMAC secret) and, when the configuration or JWK fixes an `alg`, only
//! with that algorithm. Its `Debug` output never shows HMAC material.

mod jwk;
mod pem;
mod secret;

use std::fmt;
use std::sync::Arc;

pub use jwk::{parse_jwks, parse_jwks_reusing, JwksOutcome};
pub use secret::{decode_secret, SecretEncoding};

use crate::alg::{Alg, KeyFamily};
use crate::crypto::p256_fast::P256Verifier;
use crate::crypto::wide_ecdsa::{P384Verifier, P521Verifier};
use crate::crypto::{self, Sha};

/// A verification key.
#[derive(Clone)]
pub struct Key {
    kid: Option<String>,
    alg: Option<Alg>,
    material: Material,
    /// The public key's canonical bytes, for keys read from a JWK Set (RSA, EC, Ed25519):
    /// a refreshed set that still holds the same key reuses `material` instead of
    /// building its tables again (milliseconds per EC or Ed25519 key in wasm). Never an
    /// HMAC secret.
    public: Option<Arc<[u8]>>,
}

/// The typed key material, already validated (size, point on the curve).
#[derive(Clone)]
enum Material {
    Hmac(Box<crypto::HmacKey>),
    Rsa(Arc<crypto::rsa_fast::RsaVerifier>),
    P256(Arc<P256Verifier>),
    P384(Arc<P384Verifier>),
    P521(Arc<P521Verifier>),
    Ed25519(Arc<crypto::ed25519_fast::Ed25519Verifier>),
}

impl Material {
    fn family(&self) -> KeyFamily {
        match self {
            Material::Hmac(_) => KeyFamily::Hmac,
            Material::Rsa(_) => KeyFamily::Rsa,
            Material::P256(_) => KeyFamily::EcP256,
            Material::P384(_) => KeyFamily::EcP384,
            Material::P521(_) => KeyFamily::EcP521,
            Material::Ed25519(_) => KeyFamily::Ed25519,
        }
    }
}

impl Key {
    fn new(material: Material, kid: Option<String>, alg: Option<Alg>) -> Result<Key, String> {
        let family = material.family();
        match alg {
            Some(a) if a.family() != family => Err(format!(
                "alg {a} does not fit a {} key",
                family_name(family)
            )),
            _ => Ok(Key {
                kid,
                alg,
                material,
                public: None,
            }),
        }
    }

    /// Whether both keys verify with the same built material (not a copy of it).
    #[cfg(test)]
    pub(crate) fn shares_material_with(&self, other: &Key) -> bool {
        match (&self.material, &other.material) {
            (Material::Rsa(a), Material::Rsa(b)) => Arc::ptr_eq(a, b),
            (Material::P256(a), Material::P256(b)) => Arc::ptr_eq(a, b),
            (Material::P384(a), Material::P384(b)) => Arc::ptr_eq(a, b),
            (Material::P521(a), Material::P521(b)) => Arc::ptr_eq(a, b),
            (Material::Ed25519(a), Material::Ed25519(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// An HMAC secret (HS256/384/512). `alg`, if given, must be an HS algorithm.
    pub fn hmac(secret: Vec<u8>, kid: Option<String>, alg: Option<Alg>) -> Result<Key, String> {
        if secret.is_empty() {
            return Err("secret must not be empty".to_string());
        }
        let key = crypto::HmacKey::new(&secret).ok_or("unusable HMAC secret")?;
        Key::new(Material::Hmac(Box::new(key)), kid, alg)
    }

    /// A public key in PEM: RSA (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`, 2048–4096
    /// bits), EC P-256/P-384/P-521 or Ed25519 (SPKI). `alg`, if given, must fit.
    pub fn from_pem(pem: &str, kid: Option<String>, alg: Option<Alg>) -> Result<Key, String> {
        Key::new(pem::parse(pem)?, kid, alg)
    }

    /// The key id, if configured (or given by the JWK).
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key is bound to, if any.
    #[must_use]
    pub fn alg(&self) -> Option<Alg> {
        self.alg
    }

    /// The key's family.
    #[must_use]
    pub fn family(&self) -> KeyFamily {
        self.material.family()
    }

    /// Whether this key may verify `alg`: same family, and `alg` is the bound one if any.
    #[must_use]
    pub fn usable_with(&self, alg: Alg) -> bool {
        alg.family() == self.family() && self.alg.is_none_or(|bound| bound == alg)
    }

    /// Checks `signature` over `signing_input` with `alg`. Always false when the key is
    /// not [`usable_with`](Key::usable_with) `alg`.
    #[must_use]
    pub fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> bool {
        if !self.usable_with(alg) {
            return false;
        }
        let (input, sig) = (signing_input, signature);
        match (&self.material, alg) {
            (Material::Hmac(k), Alg::HS256) => k.verify(Sha::S256, input, sig),
            (Material::Hmac(k), Alg::HS384) => k.verify(Sha::S384, input, sig),
            (Material::Hmac(k), Alg::HS512) => k.verify(Sha::S512, input, sig),
            (Material::Rsa(k), Alg::RS256) => k.verify(Sha::S256, false, input, sig),
            (Material::Rsa(k), Alg::RS384) => k.verify(Sha::S384, false, input, sig),
            (Material::Rsa(k), Alg::RS512) => k.verify(Sha::S512, false, input, sig),
            (Material::Rsa(k), Alg::PS256) => k.verify(Sha::S256, true, input, sig),
            (Material::Rsa(k), Alg::PS384) => k.verify(Sha::S384, true, input, sig),
            (Material::Rsa(k), Alg::PS512) => k.verify(Sha::S512, true, input, sig),
            (Material::P256(k), Alg::ES256) => crypto::p256(k, input, sig),
            (Material::P384(k), Alg::ES384) => crypto::p384(k, input, sig),
            (Material::P521(k), Alg::ES512) => crypto::p521(k, input, sig),
            (Material::Ed25519(k), Alg::EdDSA) => crypto::ed25519(k, input, sig),
            _ => false,
        }
    }
}

/// Human name of a family for error messages.
pub(crate) fn family_name(family: KeyFamily) -> &'static str {
    match family {
        KeyFamily::Hmac => "HMAC",
        KeyFamily::Rsa => "RSA",
        KeyFamily::EcP256 => "EC P-256",
        KeyFamily::EcP384 => "EC P-384",
        KeyFamily::EcP521 => "EC P-521",
        KeyFamily::Ed25519 => "Ed25519",
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.family())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
