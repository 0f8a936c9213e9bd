//! Helpers the native whole-request tests share (`tests/gate.rs`, `tests/standards.rs`):
//! a pinned clock, HS256 tokens minted with the test secret, one request through
//! `gate::evaluate`, and the reason of a denial.
#![allow(dead_code)] // each test crate uses its own subset

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jwt_gate::config::Config;
use jwt_gate::error::AuthError;
use jwt_gate::gate::{evaluate, Env, HeaderOp, Outcome, Request, Verdict, VerifiedCache};
use jwt_gate::header_map::Header;
use jwt_gate::keystore::KeyStore;
use serde_json::Value;
use sha2::Sha256;

/// The pinned clock (Unix seconds).
pub const NOW: u64 = 1_700_000_000;
/// The providers' HMAC secret.
pub const SECRET: &str = "jwt-gate-test-hmac-secret-0123456789abcdef";

/// A JWS with `header` and `claims`, signed HS256 with [`SECRET`].
pub fn mint(header: &Value, claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{h}.{p}").as_bytes());
    format!(
        "{h}.{p}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// One request through `evaluate` at [`NOW`], with fresh keys and an empty cache.
pub fn run(config: &Config, method: &str, path: &str, headers: &[(&str, &str)]) -> Verdict {
    let headers: Vec<Header<'_>> = headers
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let keys = KeyStore::new(config, NOW);
    let cache = RefCell::new(VerifiedCache::new(16));
    evaluate(
        config,
        &Env::new(&keys, &cache),
        &Request {
            method,
            path,
            headers: &headers,
        },
        NOW,
    )
}

/// The reason of a denial (panics on anything else).
pub fn denied(v: &Verdict) -> AuthError {
    match &v.outcome {
        Outcome::Deny { denial, .. } => denial.error.clone(),
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// The header operations of a forwarded request that audit mode would not have denied
/// (panics on anything else).
pub fn forwarded_ops(v: &Verdict) -> &[HeaderOp] {
    match &v.outcome {
        Outcome::Forward {
            ops,
            would_deny: None,
            ..
        } => ops,
        other => panic!("expected forward, got {other:?}"),
    }
}
