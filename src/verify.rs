//! One provider's verification pipeline: parse → pick key → signature → registered
//! claims. Nothing in the payload is read before the signature verifies.

use serde_json::Value;

use crate::claims::{self, TimeClaims};
use crate::config::Provider;
use crate::error::AuthError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::authjs::{AuthJs, SessionCookie};
use crate::jws;
use crate::keys::Key;
use crate::tenant;

/// A token that passed every check of its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The payload (a JSON object).
    pub claims: Value,
    /// The payload segment as received (base64url of the signed JSON); empty when the
    /// provider has no payload header, the only reader.
    pub payload_b64: String,
    /// Its `exp`, `nbf` and `iat`, as validated.
    pub times: TimeClaims,
}

/// Why a token failed, with the header `kid` (untrusted, for logs only) when it had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The reason.
    pub error: AuthError,
    /// The token header's `kid`, if the header parsed.
    pub kid: Option<String>,
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        Failure { error, kid: None }
    }
}

/// Verifies `token` for `provider` with its current `keys` at `now` (Unix seconds).
pub fn verify(
    provider: &Provider,
    keys: &[Key],
    token: &str,
    now: u64,
) -> Result<Verified, Failure> {
    let parsed = jws::parse(token, &provider.limits)?;
    // The kid is copied only into a failure (it is for the log line).
    let fail = |error| Failure {
        error,
        kid: parsed.header().kid.clone(),
    };
    parsed
        .verify(
            keys,
            provider.jws().map_or(&[][..], |j| j.algorithms.as_slice()),
        )
        .map_err(fail)?;
    check_type(provider, parsed.header().typ.as_deref()).map_err(fail)?;
    let mut claims = parsed.payload(&provider.limits).map_err(fail)?;
    let times = claims::validated_times(&claims, &provider.policy, now).map_err(fail)?;
    let tenant = match provider.jws().and_then(|j| j.tenant.as_ref()) {
        Some(template) => Some(
            claims
                .get("iss")
                .and_then(Value::as_str)
                .and_then(|iss| template.matches(iss))
                .map(str::to_string)
                .ok_or_else(|| fail(AuthError::BadIssuer))?,
        ),
        None => None,
    };
    tenant::set_claim(&mut claims, tenant.as_deref()).map_err(fail)?;
    let payload_b64 = if provider.outputs.payload_header.is_some() {
        parsed.payload_segment().to_string()
    } else {
        String::new()
    };
    Ok(Verified {
        claims,
        payload_b64,
        times,
    })
}

/// The provider's `typ` allow-list, if any (RFC 8725 §3.11). Checked after the
/// signature, so a forged token is reported as one whatever its `typ`.
fn check_type(provider: &Provider, typ: Option<&str>) -> Result<(), AuthError> {
    match provider.jws().and_then(|j| j.typ.as_ref()) {
        Some(allowed) if !allowed.accepts(typ) => Err(AuthError::BadType),
        _ => Ok(()),
    }
}

/// Decrypts an Auth.js session cookie and checks its time claims (the cookie's
/// authenticity is the AEAD tag: only the holder of the secret could have made it).
pub fn verify_authjs(
    provider: &Provider,
    authjs: &AuthJs,
    cookie: &SessionCookie,
    now: u64,
) -> Result<Verified, Failure> {
    let mut claims = authjs.decrypt(cookie, provider.limits.max_token_bytes)?;
    let times = claims::validated_times(&claims, &provider.policy, now)?;
    tenant::set_claim(&mut claims, None)?;
    let payload_b64 = if provider.outputs.payload_header.is_some() {
        URL_SAFE_NO_PAD.encode(claims.to_string())
    } else {
        String::new()
    };
    Ok(Verified {
        claims,
        payload_b64,
        times,
    })
}
