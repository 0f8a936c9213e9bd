//! Public keys in PEM: SPKI (`PUBLIC KEY`: RSA, EC P-256/384/521, Ed25519) and PKCS#1
//! (`RSA PUBLIC KEY`). Also the shared constructors that check each family's rules
//! (RSA size, EC point on the curve, Ed25519 not of small order), used by JWKs too.

use std::sync::Arc;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::Material;
use crate::crypto::ed25519_fast::Ed25519Verifier;
use crate::crypto::p256_fast::P256Verifier;
use crate::crypto::rsa_fast::RsaVerifier;
use crate::crypto::wide_ecdsa::{P384Verifier, P521Verifier};
use crate::crypto::{RSA_MAX_BITS, RSA_MIN_BITS};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

const NOT_PEM: &str = "not a PEM public key";

/// Parses one PEM block (surrounding whitespace allowed; lines of any length).
pub(super) fn parse(text: &str) -> Result<Material, String> {
    let (label, der) = decode_block(text.trim()).ok_or(NOT_PEM)?;
    match label {
        "PUBLIC KEY" => spki(&der),
        "RSA PUBLIC KEY" => rsa_pkcs1(&der, "not a valid PKCS#1 RSA public key"),
        l if l.ends_with("PRIVATE KEY") => {
            Err("a private key; give the public key (PEM \"PUBLIC KEY\") instead".to_string())
        }
        "CERTIFICATE" => {
            Err("a certificate; give its public key (PEM \"PUBLIC KEY\") instead".to_string())
        }
        _ => Err(NOT_PEM.to_string()),
    }
}

/// `-----BEGIN L-----` base64 `-----END L-----` → (L, DER bytes).
fn decode_block(text: &str) -> Option<(&str, Vec<u8>)> {
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let (body, end) = rest.rsplit_once("-----END ")?;
    if end.strip_suffix("-----")? != label || label.is_empty() {
        return None;
    }
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    const PEM_B64: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let der = PEM_B64.decode(b64).ok()?;
    Some((label, der))
}

fn spki(der: &[u8]) -> Result<Material, String> {
    let info =
        SubjectPublicKeyInfoRef::from_der(der).map_err(|_| "not a valid SubjectPublicKeyInfo")?;
    let bits = info.subject_public_key.as_bytes().ok_or(NOT_PEM)?;
    let oid = info.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        return rsa_pkcs1(bits, "not a valid RSA public key");
    }
    if oid == ED25519 {
        if info.algorithm.parameters.is_some() {
            return Err("not a valid Ed25519 public key".to_string());
        }
        return ed25519(bits);
    }
    if oid != EC_PUBLIC_KEY {
        return Err(format!("unsupported public key algorithm {oid}"));
    }
    let curve = info
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or("EC public key without a named curve")?;
    match curve {
        c if c == SECP256R1 => ec_p256(bits),
        c if c == SECP384R1 => ec_p384(bits),
        c if c == SECP521R1 => ec_p521(bits),
        c => Err(format!(
            "unsupported EC curve {c} (P-256, P-384 and P-521 are supported)"
        )),
    }
}

/// A DER `RSAPublicKey` (RFC 8017 §A.1.1: `SEQUENCE { n INTEGER, e INTEGER }`), read
/// with the `pkcs1` crate (through `rsa`'s re-export) without any big-number type.
fn rsa_pkcs1(der: &[u8], invalid: &str) -> Result<Material, String> {
    let key = rsa::pkcs1::RsaPublicKey::from_der(der).map_err(|_| invalid.to_string())?;
    rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes())
}

/// An RSA key of 2048 to 4096 bits from its big-endian modulus and exponent (odd,
/// `3 ≤ e ≤ 2^33 − 1`), prepared for verification once (Montgomery constants).
pub(super) fn rsa(n: &[u8], e: &[u8]) -> Result<Material, String> {
    let bits = crate::crypto::rsa_bits(n);
    if bits < RSA_MIN_BITS {
        return Err(format!(
            "RSA key of {bits} bits is too small (at least {RSA_MIN_BITS} required)"
        ));
    }
    if bits > RSA_MAX_BITS {
        return Err(format!(
            "RSA key of {bits} bits is too large (at most {RSA_MAX_BITS})"
        ));
    }
    RsaVerifier::new(n, e).map(|key| Material::Rsa(Arc::new(key)))
}

/// A SEC1-encoded P-256 point (checked to lie on the curve, not the identity), with
/// the fast verifier's precomputed tables built now, at configure time.
pub(super) fn ec_p256(sec1: &[u8]) -> Result<Material, String> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
        .ok()
        .and_then(|key| P256Verifier::from_verifying_key(&key))
        .map(|v| Material::P256(Arc::new(v)))
        .ok_or_else(|| "not a valid P-256 public key".to_string())
}

/// A SEC1-encoded P-384 point, with the fast verifier's tables built now.
pub(super) fn ec_p384(sec1: &[u8]) -> Result<Material, String> {
    p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
        .ok()
        .and_then(|key| P384Verifier::from_verifying_key(&key))
        .map(|v| Material::P384(Arc::new(v)))
        .ok_or_else(|| "not a valid P-384 public key".to_string())
}

/// A SEC1-encoded P-521 point, with the fast verifier's tables built now.
pub(super) fn ec_p521(sec1: &[u8]) -> Result<Material, String> {
    p521::ecdsa::VerifyingKey::from_sec1_bytes(sec1)
        .ok()
        .and_then(|key| P521Verifier::from_verifying_key(&key))
        .map(|v| Material::P521(Arc::new(v)))
        .ok_or_else(|| "not a valid P-521 public key".to_string())
}

/// A 32-byte Ed25519 public key that decodes to a point not of small order.
pub(super) fn ed25519(bytes: &[u8]) -> Result<Material, String> {
    let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| "Ed25519 public key must be 32 bytes")?;
    match ed25519_dalek::VerifyingKey::from_bytes(&bytes) {
        Ok(key) if !key.is_weak() => Ok(Material::Ed25519(Arc::new(Ed25519Verifier::new(&key)))),
        _ => Err("not a valid Ed25519 public key".to_string()),
    }
}
