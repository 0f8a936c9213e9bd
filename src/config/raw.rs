//! The plugin configuration exactly as written (serde types). Every struct denies
//! unknown fields: a typo in a security configuration must fail, not be ignored.
//! Meaning and cross-field checks live in `compile.rs`.

#![allow(missing_docs)] // field meanings: the configuration reference in README.md

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::keys::SecretEncoding;
use crate::rules::{RawAction, RawRule};

/// Top level of the plugin configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub mode: Mode,
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    pub default_action: Option<RawAction>,
    pub login: Option<RawLogin>,
    pub realm: Option<String>,
    pub cache_size: Option<usize>,
    pub deny_body: Option<String>,
}

/// How decisions are applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny what fails (the default).
    #[default]
    Enforce,
    /// Evaluate and report, never block.
    Audit,
    /// No checks at all (identity headers are still stripped).
    Bypass,
}

/// `login`: where browser navigations are sent when they carry no valid token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    pub url: String,
    pub return_param: Option<String>,
}

/// One token issuer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// `Missing` = not written (an error), `Null` = explicitly not checked.
    #[serde(default, deserialize_with = "explicit_null")]
    pub issuer: Explicit<String>,
    pub audiences: Option<Vec<String>>,
    pub algorithms: Option<Vec<String>>,
    pub keys: Option<Vec<RawKey>>,
    pub authjs: Option<crate::authjs::RawAuthJs>,
    pub from: Option<Vec<RawSource>>,
    pub require_exp: Option<bool>,
    pub leeway_s: Option<u64>,
    pub max_lifetime_s: Option<u64>,
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    pub payload_header: Option<String>,
    #[serde(default)]
    pub forward_token: bool,
    pub max_token_bytes: Option<usize>,
    pub user_check: Option<crate::usercheck::RawUserCheck>,
}

/// A field that distinguishes "absent" from an explicit `null`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Explicit<T> {
    /// The field was not written.
    #[default]
    Missing,
    /// The field was written as `null`.
    Null,
    /// The field has a value.
    Value(T),
}

fn explicit_null<'de, D, T>(d: D) -> Result<Explicit<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(match Option::<T>::deserialize(d)? {
        Some(v) => Explicit::Value(v),
        None => Explicit::Null,
    })
}

/// One entry of `keys`: exactly one of the key sources, plus optional `kid`/`alg`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    pub encoding: Option<SecretEncoding>,
    pub pem: Option<String>,
    pub pem_env: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub remote_jwks: Option<crate::remote::RawRemoteJwks>,
    pub kid: Option<String>,
    pub alg: Option<String>,
}

/// One entry of `from`: exactly one of `header`, `cookie`, `query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub header: Option<String>,
    pub prefix: Option<String>,
    pub cookie: Option<String>,
    pub query: Option<String>,
}

impl RawKey {
    /// Whether a key source other than `remote_jwks` is set.
    #[must_use]
    pub fn has_other_source(&self) -> bool {
        self.secret.is_some()
            || self.secret_env.is_some()
            || self.pem.is_some()
            || self.pem_env.is_some()
            || self.jwks.is_some()
    }
}
