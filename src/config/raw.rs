//! The plugin configuration exactly as written (serde types). Every struct denies
//! unknown fields: a typo in a security configuration must fail, not be ignored.
//! Meaning and cross-field checks live in `mod.rs` and `provider.rs`.
//!
//! With the `schema` feature (never in the `.wasm`), these types also derive
//! `schemars::JsonSchema`: `schema/jwt-gate.schema.json` is generated from them, and the
//! `///` lines on fields become its descriptions.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::keys::SecretEncoding;
use crate::rules::{RawAction, RawRule};

/// jwt-gate plugin configuration (proxy-wasm plugin configuration JSON).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `enforce` (default), `audit` (never block, mark would-deny requests) or `bypass` (no checks).
    #[serde(default)]
    pub mode: Mode,
    /// Token issuers by name; at least one (unless `mode` is `bypass`).
    pub providers: BTreeMap<String, RawProvider>,
    /// Ordered route rules; the first match wins.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// What applies when no rule matches (default `require`, every provider).
    pub default_action: Option<RawAction>,
    /// Where `"login": "browser"` rules send browser navigations without a valid token.
    pub login: Option<RawLogin>,
    /// `realm` of the `WWW-Authenticate` challenge (default `jwt-gate`).
    pub realm: Option<String>,
    /// Verified-token cache entries per worker (default 1024, 0 = off).
    pub cache_size: Option<usize>,
    /// The body of every local reply instead of the JSON one: a template where `{status}`, `{error}` (RFC 6750 code), `{reason}` (failure label) and `{message}` are replaced (values never hold quotes, backslashes or control characters).
    pub deny_body: Option<String>,
    /// Content type of `deny_body` (default `text/plain; charset=utf-8`), e.g. `application/json` for a JSON template.
    pub deny_content_type: Option<String>,
    /// Body of local replies: `json` (default: `{"error", "message"}`) or `problem+json` (RFC 9457).
    // A string checked by the compiler (one more serde enum costs more .wasm).
    #[cfg_attr(feature = "schema", schemars(with = "Option<BodyFormat>"))]
    pub body_format: Option<String>,
    /// Failure reason (`bad_audience`, `expired`, … as in `jwt_gate.failures.<reason>`) → HTTP status (400–599) sent instead of the default.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "super::schema::status_overrides")
    )]
    // A JSON value checked by the compiler: serde code for one more map type costs
    // more .wasm than the few lines that read it.
    pub status_overrides: Option<serde_json::Value>,
    /// URL of the protected resource metadata (RFC 9728), sent as `resource_metadata` in every `WWW-Authenticate` challenge.
    pub resource_metadata: Option<String>,
    /// Hide the failure reason from clients (no `error_description`, no `scope`, a generic body); logs and metrics keep it.
    #[serde(default)]
    pub strip_failure_details: bool,
}

/// How decisions are applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// The body format of local replies.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum BodyFormat {
    /// `application/json` `{"error": <code>, "message": <description>}` (the default).
    #[default]
    #[cfg_attr(feature = "schema", schemars(rename = "json"))]
    Json,
    /// `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`.
    #[cfg_attr(feature = "schema", schemars(rename = "problem+json"))]
    ProblemJson,
}

impl BodyFormat {
    /// The configuration spelling.
    #[must_use]
    pub fn from_name(name: &str) -> Option<BodyFormat> {
        match name {
            "json" => Some(BodyFormat::Json),
            "problem+json" => Some(BodyFormat::ProblemJson),
            _ => None,
        }
    }
}

/// `login`: where browser navigations are sent when they carry no valid token.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Login")
)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    /// The login page: an absolute http(s) URL or a path starting with `/`.
    pub url: String,
    /// Query parameter carrying the original path and query (default `return_to`).
    pub return_param: Option<String>,
}

/// One token issuer.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Provider")
)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Exact `iss`, or a template with `{tenant}` (see `tenants`); required (write `null` to skip the check). Not with `authjs`.
    // `Missing` = not written (an error), `Null` = explicitly not checked.
    #[serde(default, deserialize_with = "explicit_null")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub issuer: Explicit<String>,
    /// Accepted `aud` values (any-of); omitted = not checked (a warning).
    pub audiences: Option<Vec<String>>,
    /// `alg` allow-list: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA.
    pub algorithms: Option<Vec<String>>,
    /// Verification keys; each entry exactly one key source.
    pub keys: Option<Vec<RawKey>>,
    /// An Auth.js / NextAuth session cookie provider, instead of `keys`/`algorithms`/`issuer`/`audiences`.
    pub authjs: Option<crate::authjs::RawAuthJs>,
    /// Accepted header `typ` media types (e.g. `at+jwt` for RFC 9068 access tokens), compared case-insensitively, `application/` optional; a token without `typ` is then refused.
    pub typ: Option<Vec<String>>,
    /// Ordered token sources (default `Authorization: Bearer`).
    pub from: Option<Vec<RawSource>>,
    /// Reject tokens without `exp` (default true).
    pub require_exp: Option<bool>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`, in seconds (default 60).
    pub leeway_s: Option<u64>,
    /// Longest accepted `exp - iat` (or `exp - now`), in seconds.
    pub max_lifetime_s: Option<u64>,
    /// Request header → claim path (dots for nesting) written for the upstream.
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    /// Request header receiving the base64url payload.
    pub payload_header: Option<String>,
    /// Name → claim path published for other filters as Envoy filter state `wasm.jwt_gate.<name>` (RBAC `filter_state` principals, `%FILTER_STATE(...)%` in access logs).
    #[serde(default)]
    pub filter_state: BTreeMap<String, String>,
    /// Also publish `wasm.jwt_gate.token_sha256`: the first 16 bytes of the token's SHA-256, hex (never the token).
    #[serde(default)]
    pub publish_token_hash: bool,
    /// Keep the credential in the upstream request (default false).
    #[serde(default)]
    pub forward_token: bool,
    /// Longer tokens are rejected before parsing (default 8192; 65536 for `authjs`).
    pub max_token_bytes: Option<usize>,
    /// Ask a service whether the token's subject still exists.
    pub user_check: Option<crate::usercheck::RawUserCheck>,
    /// When remote keys cannot be refreshed: `deny` (503 once a due refresh fails; the default) or `stale` (keep the last good keys up to `stale_max_s` past their refresh time, then 503).
    // A string checked by the compiler (a serde enum costs more .wasm).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::remote::OnKeysUnavailable>")
    )]
    pub on_keys_unavailable: Option<String>,
    /// With `on_keys_unavailable: stale`: seconds the last good keys stay usable past their refresh time.
    pub stale_max_s: Option<u64>,
    /// With an `issuer` template containing `{tenant}`: the accepted tenants, or `"*"` for any; the matched one is the claim `$tenant`.
    // A JSON value checked by the compiler (an untagged serde enum costs more .wasm).
    #[cfg_attr(feature = "schema", schemars(with = "Option<Tenants>"))]
    pub tenants: Option<serde_json::Value>,
    /// A list of revoked `jti` / `sub` values fetched from a service, refreshed every `refresh_s`, kept last-good when a refresh fails and shared between workers. A listed token gets 401 `token revoked`; until the first list loads, tokens are not refused for revocation.
    pub revocation: Option<crate::revocation::RawRevocation>,
    /// Subjects (`sub`) always refused with 401 `token revoked`.
    pub deny_subjects: Option<Vec<String>>,
}

/// `tenants`: a list of tenants, or `"*"` (schema only; the compiler reads the JSON).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Tenants {
    /// Any tenant.
    Any(AnyTenant),
    /// These tenants.
    List(Vec<String>),
}

/// `"*"`.
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
enum AnyTenant {
    /// Any tenant.
    #[serde(rename = "*")]
    Any,
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
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Key")
)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// HMAC secret (at least 32 bytes after decoding; discouraged inline, see `secret_env`).
    pub secret: Option<String>,
    /// Name of the VM environment variable holding the HMAC secret.
    pub secret_env: Option<String>,
    /// Encoding of `secret` / `secret_env` (default `utf8`).
    pub encoding: Option<SecretEncoding>,
    /// PEM public key: SPKI or PKCS#1 RSA, EC P-256/384/521, Ed25519.
    pub pem: Option<String>,
    /// Name of the VM environment variable holding a PEM public key.
    pub pem_env: Option<String>,
    /// Inline JWK Set (`{"keys": [...]}`).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")
    )]
    pub jwks: Option<serde_json::Value>,
    /// A JWK Set fetched through the host.
    pub remote_jwks: Option<crate::remote::RawRemoteJwks>,
    /// A JWK Set found through OpenID Connect discovery: `uri` is the issuer's `/.well-known/openid-configuration`, its `jwks_uri` is fetched through `jwks_clusters`.
    pub discovery: Option<crate::remote::RawRemoteJwks>,
    /// Key id matched against the token's `kid` (not with `jwks`/`remote_jwks`/`discovery`).
    pub kid: Option<String>,
    /// The one algorithm this key verifies (not with `jwks`/`remote_jwks`/`discovery`).
    pub alg: Option<String>,
}

/// One entry of `from`: exactly one of `header`, `cookie`, `query`.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Source")
)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Request header carrying the token.
    pub header: Option<String>,
    /// Scheme before the token in `header`, matched case-insensitively (e.g. `Bearer `).
    pub prefix: Option<String>,
    /// Cookie carrying the token.
    pub cookie: Option<String>,
    /// Query parameter carrying the token (discouraged: URLs end up in logs).
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
