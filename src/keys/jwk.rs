//! JWK Sets (RFC 7517, RFC 7518 §6, RFC 8037 §2) as jwt-gate reads them.
//!
//! Members jwt-gate does not know (`x5c`, `x5t`, `issuer`, private members, …) are
//! ignored. A key that is not for signatures (`use` other than `sig`, `key_ops` without
//! `verify`), whose `kty`/`crv`/`alg` jwt-gate does not verify with, or whose `alg` is
//! not in the provider's allow-list is skipped with a warning naming its `kid`. A key
//! that claims to be usable but is malformed is an error when `strict` (inline set) and
//! skipped with a warning otherwise (fetched set). A set left with no key is an error.
//!
//! At most [`MAX_JWKS_KEYS`] usable keys are taken from one set; the entries after the
//! last of them are skipped with one warning. An EC or Ed25519 key costs a table built
//! in milliseconds and tens of KiB per VM, so a 256 KiB set of a few thousand such keys
//! (from a misconfigured URL or a compromised IdP) would otherwise take seconds of a
//! worker and hundreds of MiB.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{family_name, pem, Key, Material};
use crate::alg::Alg;
use crate::b64;
use crate::config::ConfigError;
use crate::crypto;

/// The most usable keys read from one JWK Set (IdPs publish a handful; rotation adds one
/// or two).
pub const MAX_JWKS_KEYS: usize = 64;

/// The usable keys of a JWK Set, and one warning per key that was left out.
#[derive(Debug, Clone, Default)]
pub struct JwksOutcome {
    /// Keys that can verify at least one allowed algorithm.
    pub keys: Vec<Key>,
    /// Why each other key was left out, naming its index and `kid`, never key material.
    pub skipped: Vec<String>,
}

/// Why one JWK was not taken.
enum Problem {
    /// Not a signature key jwt-gate can use: always a warning.
    Skip(String),
    /// Claims to be usable but is broken: an error when strict.
    Malformed(ConfigError),
}

fn bad(path: &str, message: impl Into<String>) -> Problem {
    Problem::Malformed(ConfigError::new(path, message))
}

/// Reads a JWK Set (`{"keys": [...]}`); `allowed` is the provider's algorithm list.
pub fn parse_jwks(json: &Value, allowed: &[Alg], strict: bool) -> Result<JwksOutcome, ConfigError> {
    parse_jwks_reusing(json, allowed, strict, &[])
}

/// [`parse_jwks`] for a refresh: an RSA, EC or Ed25519 key whose public bytes equal
/// those of a key in `previous` takes that key's built material (its `kid` and `alg`
/// still come from the new JWK), so a refresh that returns the same keys builds no
/// tables again.
pub fn parse_jwks_reusing(
    json: &Value,
    allowed: &[Alg],
    strict: bool,
    previous: &[Key],
) -> Result<JwksOutcome, ConfigError> {
    let set = json
        .as_object()
        .ok_or_else(|| ConfigError::new("", "a JWK Set must be a JSON object"))?;
    let list = match set.get("keys") {
        None => {
            return Err(ConfigError::new(
                "keys",
                "required (a JWK Set is {\"keys\": [...]})",
            ))
        }
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ConfigError::new("keys", "must be an array")),
    };
    let mut outcome = JwksOutcome::default();
    for (i, jwk) in list.iter().enumerate() {
        if outcome.keys.len() == MAX_JWKS_KEYS {
            outcome.skipped.push(format!(
                "keys[{i}..{}] skipped: a JWK Set is read up to its first {MAX_JWKS_KEYS} usable keys",
                list.len() - 1
            ));
            break;
        }
        let at = format!("keys[{i}]");
        let name = describe(&at, jwk);
        match one(jwk, allowed, previous) {
            Ok(key) => outcome.keys.push(key),
            Err(Problem::Skip(why)) => outcome.skipped.push(format!("{name} skipped: {why}")),
            Err(Problem::Malformed(e)) if strict => return Err(e.under(&at)),
            Err(Problem::Malformed(e)) => outcome
                .skipped
                .push(format!("{name} skipped: {}", e.under(&at))),
        }
    }
    if outcome.keys.is_empty() {
        let why = match outcome.skipped.first() {
            Some(first) => format!("no usable key in the JWK Set ({first})"),
            None => "no usable key in the JWK Set".to_string(),
        };
        return Err(ConfigError::new("keys", why));
    }
    Ok(outcome)
}

/// `keys[2] (kid "abc")`, the kid escaped and cut to 64 characters.
fn describe(at: &str, jwk: &Value) -> String {
    match jwk.get("kid").and_then(Value::as_str) {
        Some(kid) => {
            let short: String = kid.chars().take(64).collect();
            format!("{at} (kid {short:?})")
        }
        None => at.to_string(),
    }
}

fn one(jwk: &Value, allowed: &[Alg], previous: &[Key]) -> Result<Key, Problem> {
    let obj = jwk
        .as_object()
        .ok_or_else(|| bad("", "a JWK must be a JSON object"))?;
    let kid = optional_str(obj, "kid")?.map(str::to_string);
    if let Some(usage) = optional_str(obj, "use")? {
        if usage != "sig" {
            return Err(Problem::Skip(format!("use is {usage:?}, not \"sig\"")));
        }
    }
    if let Some(ops) = obj.get("key_ops") {
        let ops = ops
            .as_array()
            .ok_or_else(|| bad("key_ops", "must be an array of strings"))?;
        if ops.iter().any(|op| !op.is_string()) {
            return Err(bad("key_ops", "must be an array of strings"));
        }
        if !ops.iter().any(|op| op == "verify") {
            return Err(Problem::Skip("key_ops lack \"verify\"".to_string()));
        }
    }
    let alg = match optional_str(obj, "alg")? {
        None => None,
        Some(name) => match Alg::from_name(name) {
            None => {
                return Err(Problem::Skip(format!(
                    "alg {name:?} is not a signature algorithm jwt-gate verifies"
                )))
            }
            Some(a) if !allowed.contains(&a) => {
                return Err(Problem::Skip(format!(
                    "alg {a} is not in the provider's algorithms"
                )))
            }
            Some(a) => Some(a),
        },
    };
    let (material, public) = match required_str(obj, "kty")? {
        "RSA" => {
            let (n, e) = (bytes(obj, "n", None)?, bytes(obj, "e", None)?);
            built(rsa_canonical(&n, &e), previous, || rsa(&n, &e))?
        }
        "EC" => {
            let sec1 = ec_point(obj)?;
            built(sec1.clone(), previous, || ec(&sec1))?
        }
        "OKP" => {
            let x = okp_x(obj)?;
            built(okp_canonical(&x), previous, || {
                pem::ed25519(&x).map_err(|m| bad("x", m))
            })?
        }
        "oct" => {
            let k = bytes(obj, "k", None)?;
            if k.is_empty() {
                return Err(bad("k", "must not be empty"));
            }
            let key = crypto::HmacKey::new(&k).ok_or_else(|| bad("k", "unusable HMAC secret"))?;
            (Material::Hmac(Box::new(key)), None)
        }
        other => return Err(Problem::Skip(format!("kty {other:?} is not supported"))),
    };
    let family = material.family();
    if alg.is_none() && !allowed.iter().any(|a| a.family() == family) {
        return Err(Problem::Skip(format!(
            "none of the provider's algorithms uses a {} key",
            family_name(family)
        )));
    }
    let key = Key::new(material, kid, alg).map_err(|m| bad("alg", m))?;
    Ok(Key { public, ..key })
}

/// Built material and, for public keys, the canonical public bytes it stands for.
type Built = (Material, Option<Arc<[u8]>>);

/// The material for the public key whose canonical bytes are `canonical`: taken from
/// the key in `previous` with the same bytes, or built.
fn built(
    canonical: Vec<u8>,
    previous: &[Key],
    build: impl FnOnce() -> Result<Material, Problem>,
) -> Result<Built, Problem> {
    let canonical: Arc<[u8]> = canonical.into();
    let reused = previous
        .iter()
        .find(|k| k.public.as_deref() == Some(&*canonical))
        .map(|k| k.material.clone());
    let material = match reused {
        Some(material) => material,
        None => build()?,
    };
    Ok((material, Some(canonical)))
}

fn optional_str<'v>(obj: &'v Map<String, Value>, name: &str) -> Result<Option<&'v str>, Problem> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(name, "must be a string")),
    }
}

fn required_str<'v>(obj: &'v Map<String, Value>, name: &str) -> Result<&'v str, Problem> {
    optional_str(obj, name)?.ok_or_else(|| bad(name, "required"))
}

/// A base64url member, optionally of an exact decoded length.
fn bytes(obj: &Map<String, Value>, name: &str, len: Option<usize>) -> Result<Vec<u8>, Problem> {
    let text = required_str(obj, name)?;
    let decoded =
        b64::decode_url(text).ok_or_else(|| bad(name, "not valid base64url (no padding)"))?;
    match len {
        Some(n) if decoded.len() != n => Err(bad(name, format!("must decode to {n} bytes"))),
        _ => Ok(decoded),
    }
}

fn rsa(n: &[u8], e: &[u8]) -> Result<Material, Problem> {
    pem::rsa(n, e).map_err(|m| {
        if m.contains("bits") {
            bad("n", m)
        } else {
            bad("", "not a valid RSA public key")
        }
    })
}

/// `"RSA"`, `n`'s length (4 bytes, big-endian), `n`, `e`: equal for equal keys only.
fn rsa_canonical(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut canonical = b"RSA".to_vec();
    canonical.extend_from_slice(&u32::try_from(n.len()).unwrap_or(u32::MAX).to_be_bytes());
    canonical.extend_from_slice(n);
    canonical.extend_from_slice(e);
    canonical
}

/// The uncompressed SEC1 point `04 || x || y` of an EC JWK, also its canonical form
/// (the length names the curve).
fn ec_point(obj: &Map<String, Value>) -> Result<Vec<u8>, Problem> {
    let crv = required_str(obj, "crv")?;
    let size = match crv {
        "P-256" => 32,
        "P-384" => 48,
        "P-521" => 66,
        other => return Err(Problem::Skip(format!("crv {other:?} is not supported"))),
    };
    let x = bytes(obj, "x", Some(size))?;
    let y = bytes(obj, "y", Some(size))?;
    let mut sec1 = Vec::with_capacity(1 + 2 * size);
    sec1.push(0x04);
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    Ok(sec1)
}

fn ec(sec1: &[u8]) -> Result<Material, Problem> {
    let parsed = match sec1.len() {
        65 => pem::ec_p256(sec1),
        97 => pem::ec_p384(sec1),
        _ => pem::ec_p521(sec1),
    };
    parsed.map_err(|_| bad("x", "point is not on the curve"))
}

/// The public key `x` of an OKP JWK (Ed25519, the only curve supported).
fn okp_x(obj: &Map<String, Value>) -> Result<Vec<u8>, Problem> {
    match required_str(obj, "crv")? {
        "Ed25519" => bytes(obj, "x", Some(32)),
        other => Err(Problem::Skip(format!("crv {other:?} is not supported"))),
    }
}

/// Canonical bytes of an Ed25519 key: its curve and 32-byte encoding.
fn okp_canonical(x: &[u8]) -> Vec<u8> {
    [b"Ed25519".as_slice(), x].concat()
}
