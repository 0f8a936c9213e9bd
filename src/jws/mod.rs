//! Compact JWS (RFC 7515 §7.1) as jwt-gate accepts it: exactly three strict base64url
//! segments, a strictly parsed header object, an algorithm from the provider's
//! allow-list, no `crit` extension, and a signature checked before the payload is read.
//!
//! Header `jku`, `x5u`, `jwk` and `x5c` are ignored: keys come only from configuration.

use serde_json::Value;

use crate::alg::Alg;
use crate::b64;
use crate::error::AuthError;
use crate::json::{self, JsonError};
use crate::keys::Key;

mod typ;
pub use typ::TypeAllowList;

/// Size and nesting limits for one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted token, in bytes (default 8192).
    pub max_token_bytes: usize,
    /// Deepest accepted JSON nesting in header and payload (default 16).
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_bytes: 8192,
            max_json_depth: 16,
        }
    }
}

/// The protected header fields jwt-gate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The signature algorithm (never `none`).
    pub alg: Alg,
    /// Key id, untrusted until the signature verifies.
    pub kid: Option<String>,
    /// Media type of the token (`JWT`, `at+jwt`, …), checked against the provider's
    /// [`TypeAllowList`] after the signature verifies.
    pub typ: Option<String>,
    /// Content type, not checked here.
    pub cty: Option<String>,
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    header: Header,
    signing_input: &'a str,
    payload_segment: &'a str,
    payload: Vec<u8>,
    signature: Signature,
}

/// The longest signature of any supported key: RSA-4096.
const MAX_SIGNATURE_BYTES: usize = crate::crypto::RSA_MAX_BITS / 8;

/// A decoded signature, held inline: no allocation per token.
type Signature = b64::Inline<MAX_SIGNATURE_BYTES>;

const NOT_THREE: &str = "token is not three base64url segments";
const BAD_HEADER_JSON: &str = "invalid JSON in token header";
const BAD_PAYLOAD_JSON: &str = "invalid JSON in token payload";
const DUPLICATE: &str = "duplicate key in token JSON";
const TOO_DEEP: &str = "token JSON nested too deeply";
const HEADER_NOT_OBJECT: &str = "token header is not a JSON object";
const PAYLOAD_NOT_OBJECT: &str = "token payload is not a JSON object";
const BAD_HEADER_FIELD: &str = "invalid token header field";

/// Splits and decodes `token`, and reads its header. Nothing is trusted yet.
pub fn parse<'a>(token: &'a str, limits: &Limits) -> Result<Jws<'a>, AuthError> {
    if token.len() > limits.max_token_bytes {
        return Err(AuthError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed(NOT_THREE));
    };
    let malformed = || AuthError::Malformed(NOT_THREE);
    // Every segment must be base64url before the header is read: the header is
    // decoded last, on the stack, into the closure that parses it.
    let payload = b64::decode_url(p).ok_or_else(malformed)?;
    // Longer than any key's signature: it cannot verify, so it is not one.
    let signature = b64::decode_url_inline(s).ok_or_else(malformed)?;
    let header =
        b64::with_decoded(h, |bytes| read_header(bytes, limits)).ok_or_else(malformed)??;
    // `h.len() + 1 + p.len()` is within `token`, which holds both dots.
    let signing_input = token
        .get(..h.len() + 1 + p.len())
        .ok_or(AuthError::Malformed(NOT_THREE))?;
    Ok(Jws {
        header,
        signing_input,
        payload_segment: p,
        payload,
        signature,
    })
}

fn json_error(e: &JsonError, invalid: &'static str) -> AuthError {
    match e {
        JsonError::DuplicateKey { .. } => AuthError::Malformed(DUPLICATE),
        JsonError::TooDeep { .. } => AuthError::Malformed(TOO_DEEP),
        JsonError::Invalid(_) => AuthError::Malformed(invalid),
    }
}

/// The header members jwt-gate reads, taken as the strict parser meets them (no map
/// is built: this runs for every token that is not in the cache).
#[derive(Default)]
struct RawHeader {
    alg: Option<Value>,
    kid: Option<Value>,
    typ: Option<Value>,
    cty: Option<Value>,
    crit: bool,
    b64: Option<Value>,
}

fn read_header(bytes: &[u8], limits: &Limits) -> Result<Header, AuthError> {
    let mut raw = RawHeader::default();
    let object = json::parse_members(
        bytes,
        limits.max_json_depth,
        &mut |name, value| match name {
            "alg" => raw.alg = Some(value),
            "kid" => raw.kid = Some(value),
            "typ" => raw.typ = Some(value),
            "cty" => raw.cty = Some(value),
            "crit" => raw.crit = true,
            "b64" => raw.b64 = Some(value),
            _ => {}
        },
    )
    .map_err(|e| json_error(&e, BAD_HEADER_JSON))?;
    if !object {
        return Err(AuthError::Malformed(HEADER_NOT_OBJECT));
    }
    let alg = match raw.alg {
        Some(Value::String(name)) => Alg::from_name(&name).ok_or(AuthError::AlgNotAllowed)?,
        None => return Err(AuthError::AlgNotAllowed),
        Some(_) => return Err(AuthError::Malformed(BAD_HEADER_FIELD)),
    };
    // jwt-gate understands no extension (RFC 7515 §4.1.11), and unencoded payloads
    // (RFC 7797 `b64: false`) are refused even when not marked critical.
    if raw.crit || raw.b64.is_some_and(|b| b != Value::Bool(true)) {
        return Err(AuthError::UnsupportedCrit);
    }
    let text = |v: Option<Value>| match v {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AuthError::Malformed(BAD_HEADER_FIELD)),
    };
    Ok(Header {
        alg,
        kid: text(raw.kid)?,
        typ: text(raw.typ)?,
        cty: text(raw.cty)?,
    })
}

impl<'a> Jws<'a> {
    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload segment as received (base64url), e.g. for a payload header.
    #[must_use]
    pub fn payload_segment(&self) -> &'a str {
        self.payload_segment
    }

    /// Finds a key that verifies the signature.
    ///
    /// The header `alg` must be in `allowed`. With a `kid`, the candidates are the keys
    /// with that `kid` plus keys configured without one (as Envoy's `jwt_authn` does);
    /// without a `kid`, every key. Only keys [`usable_with`](Key::usable_with) the
    /// algorithm are tried.
    pub fn verify<'k>(&self, keys: &'k [Key], allowed: &[Alg]) -> Result<&'k Key, AuthError> {
        let alg = self.header.alg;
        if !allowed.contains(&alg) {
            return Err(AuthError::AlgNotAllowed);
        }
        let kid = self.header.kid.as_deref();
        let by_kid = |k: &&Key| kid.is_none() || k.kid().is_none() || k.kid() == kid;
        if kid.is_some() && !keys.iter().any(|k| k.kid() == kid || k.kid().is_none()) {
            return Err(AuthError::UnknownKid);
        }
        let mut candidates = keys
            .iter()
            .filter(by_kid)
            .filter(|k| k.usable_with(alg))
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::NoMatchingKey);
        }
        let input = self.signing_input.as_bytes();
        candidates
            .find(|k| k.verify(alg, input, self.signature.as_slice()))
            .ok_or(AuthError::BadSignature)
    }

    /// The payload as a JSON object, parsed strictly. Call only after [`Jws::verify`].
    pub fn payload(&self, limits: &Limits) -> Result<Value, AuthError> {
        match json::parse_strict(&self.payload, limits.max_json_depth) {
            Ok(value @ Value::Object(_)) => Ok(value),
            Ok(_) => Err(AuthError::Malformed(PAYLOAD_NOT_OBJECT)),
            Err(e) => Err(json_error(&e, BAD_PAYLOAD_JSON)),
        }
    }
}

#[cfg(test)]
mod tests;
