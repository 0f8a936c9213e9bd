//! Auth.js (v5, `@auth/core`) and NextAuth.js (v4) encrypted session cookies.
//!
//! With the JWT session strategy, Auth.js keeps the session in a cookie holding a JWE
//! (compact, `alg: dir`) encrypted with a key derived from `AUTH_SECRET`:
//!
//! | version | `enc` | HKDF-SHA256 salt | info | key |
//! |---|---|---|---|---|
//! | 5 (`@auth/core` ≥ 0.23) | `A256CBC-HS512` | cookie name | `Auth.js Generated Encryption Key (<cookie name>)` | 64 B |
//! | 5 (`@auth/core` 0.18.1–0.22) | `A256GCM` | cookie name | same | 32 B |
//! | 4 (`next-auth` 4.x) | `A256GCM` | empty | `NextAuth.js Generated Encryption Key` | 32 B |
//!
//! The cookie name in the salt includes the `__Secure-` prefix (Auth.js uses it over
//! https) and never a chunk suffix. Since `@auth/core` 0.24 the header carries `kid`,
//! the RFC 7638 thumbprint of the derived key, which picks the secret on rotation.
//! Sources: `packages/core/src/jwt.ts` (`encode`, `decode`, `getDerivedEncryptionKey`),
//! `packages/core/src/lib/utils/cookie.ts` (`SessionStore`, chunking), and the v4
//! branch's `src/jwt/index.ts`; `tests/authjs/` holds cookies made by those libraries.
//!
//! Only decryption lives here. `exp` and the other time claims are checked by the caller
//! ([`crate::claims::validate`]), like for a JWT.

mod cookie;
mod jwe;
mod raw;

use std::fmt;

use serde_json::Value;

pub use self::cookie::SessionCookie;
use self::jwe::{Enc, Key};
pub use self::raw::{OneOrMany, RawAuthJs};
use crate::config::ConfigError;
use crate::error::AuthError;
use crate::extract::Source;
use crate::header_map::Header;
use crate::json;

/// Default `max_bytes` for [`AuthJs::decrypt`]: 64 KiB of (reassembled) cookie.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// Nesting limit for the decrypted claims.
const MAX_PAYLOAD_DEPTH: usize = 32;

/// The prefix Auth.js puts on cookie names over https.
const SECURE_PREFIX: &str = "__Secure-";

/// Which Auth.js generation made the cookie: decides the key derivation and `enc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// NextAuth.js v4 (`next-auth` 4.x).
    V4,
    /// Auth.js v5 (`@auth/core`, `next-auth` 5).
    V5,
}

impl Version {
    const fn encs(self) -> &'static [Enc] {
        match self {
            Version::V4 => &[Enc::A256Gcm],
            Version::V5 => &[Enc::A256CbcHs512, Enc::A256Gcm],
        }
    }

    const fn default_cookie(self) -> &'static str {
        match self {
            Version::V4 => "next-auth.session-token",
            Version::V5 => "authjs.session-token",
        }
    }
}

/// A compiled `authjs` provider: cookie names and the keys derived from every secret.
pub struct AuthJs {
    version: Version,
    /// Session cookie names, preferred first: `__Secure-<cookie>`, then `<cookie>`.
    names: Vec<String>,
    /// For each entry of `names`, the keys of every secret (newest first).
    keys: Vec<Vec<Key>>,
}

impl fmt::Debug for AuthJs {
    // Keys stay out of logs; their count and the cookie names are enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthJs")
            .field("version", &self.version)
            .field("names", &self.names)
            .field("keys", &self.keys.first().map_or(0, Vec::len))
            .finish()
    }
}

/// Compiles the `authjs` object. Error paths are relative to it (`secret_env[1]`).
///
/// # Errors
/// Both or neither of `secret_env`/`secret`, an empty list or secret, an unset or empty
/// environment variable, a `version` other than 4 or 5, an invalid `cookie` name.
/// Messages name variables, never secret values.
pub fn compile(
    raw: RawAuthJs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthJs, ConfigError> {
    let version = match raw.version.unwrap_or(5) {
        4 => Version::V4,
        5 => Version::V5,
        _ => return Err(ConfigError::new("version", "must be 4 or 5")),
    };
    let secrets = secrets(raw.secret_env, raw.secret, env)?;
    let cookie = raw
        .cookie
        .unwrap_or_else(|| version.default_cookie().to_string());
    if Source::cookie(&cookie).is_err() {
        return Err(ConfigError::new(
            "cookie",
            format!("invalid cookie name {cookie:?}"),
        ));
    }
    let names = if cookie.starts_with(SECURE_PREFIX) || cookie.starts_with("__Host-") {
        vec![cookie]
    } else {
        vec![format!("{SECURE_PREFIX}{cookie}"), cookie]
    };
    let mut keys = Vec::with_capacity(names.len());
    for name in &names {
        let mut for_name = Vec::new();
        for secret in &secrets {
            let derived = match version {
                Version::V4 => vec![jwe::derive_v4(secret.as_bytes())],
                Version::V5 => version
                    .encs()
                    .iter()
                    .map(|&enc| jwe::derive_v5(secret.as_bytes(), name, enc))
                    .collect(),
            };
            for key in derived {
                for_name.push(
                    key.ok_or_else(|| ConfigError::new("", "cannot derive the session key"))?,
                );
            }
        }
        keys.push(for_name);
    }
    Ok(AuthJs {
        version,
        names,
        keys,
    })
}

/// The secrets, newest first; exactly one of `secret_env` and `secret`.
fn secrets(
    secret_env: Option<OneOrMany<String>>,
    secret: Option<OneOrMany<String>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let (field, entries, from_env) = match (secret_env, secret) {
        (Some(vars), None) => ("secret_env", vars.into_indexed(), true),
        (None, Some(values)) => ("secret", values.into_indexed(), false),
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "",
                "set either secret_env or secret, not both",
            ))
        }
        (None, None) => return Err(ConfigError::new("", "secret_env (or secret) is required")),
    };
    if entries.is_empty() {
        return Err(ConfigError::new(field, "must not be empty"));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (suffix, entry) in entries {
        let path = format!("{field}{suffix}");
        let value = if from_env {
            match env(&entry) {
                Some(value) if !value.is_empty() => value,
                Some(_) => {
                    return Err(ConfigError::new(
                        path,
                        format!("environment variable {entry:?} is empty"),
                    ))
                }
                None => {
                    return Err(ConfigError::new(
                        path,
                        format!("environment variable {entry:?} is not set"),
                    ))
                }
            }
        } else if entry.is_empty() {
            return Err(ConfigError::new(path, "must not be empty"));
        } else {
            entry
        };
        out.push(value);
    }
    Ok(out)
}

impl AuthJs {
    /// The version the cookies are expected from.
    #[must_use]
    pub const fn version(&self) -> Version {
        self.version
    }

    /// The session cookie names looked for, preferred first (`__Secure-` before plain).
    /// Chunks are `<name>.0`, `<name>.1`, ….
    #[must_use]
    pub fn cookie_names(&self) -> &[String] {
        &self.names
    }

    /// Whether the cookie `name` is (part of) a session cookie: one of
    /// [`cookie_names`](Self::cookie_names), or one of them followed by `.` and anything
    /// (the upstream Auth.js would read such a cookie as a chunk: strip it too).
    #[must_use]
    pub fn is_session_cookie(&self, name: &str) -> bool {
        self.names.iter().any(|n| {
            name.strip_prefix(n.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }

    /// The session cookie in the request (all `Cookie` headers), reassembled from its
    /// chunks. `Ok(None)` = no session cookie. A `__Secure-` cookie wins over a plain one.
    ///
    /// # Errors
    /// `Malformed` when a chunk is missing, a session cookie name is sent twice with
    /// different values, or the cookie is both whole and chunked; `TooLarge` beyond 64 chunks.
    pub fn find(&self, headers: &[Header<'_>]) -> Result<Option<SessionCookie>, AuthError> {
        cookie::find(&self.names, headers)
    }

    /// Decrypts the session cookie and returns its claims (a JSON object). Time claims
    /// are not checked here.
    ///
    /// # Errors
    /// `TooLarge` above `max_bytes`; `Malformed` for anything but a strict JWE compact
    /// serialization with an empty key segment, or for a payload that is not one JSON
    /// object; `AlgNotAllowed` for an `alg` other than `dir`, an `enc` the version does
    /// not use, or `zip`; `UnsupportedCrit` for `crit`; `BadSignature` when no configured
    /// secret authenticates it.
    pub fn decrypt(&self, cookie: &SessionCookie, max_bytes: usize) -> Result<Value, AuthError> {
        if cookie.value.len() > max_bytes {
            return Err(AuthError::TooLarge);
        }
        let token = jwe::parse(&cookie.value, self.version.encs())?;
        let keys = self
            .names
            .iter()
            .position(|n| *n == cookie.name_used)
            .and_then(|i| self.keys.get(i))
            .map_or(&[][..], Vec::as_slice);
        // v5 cookies name their key; v4 ones do not (and jose ignores `kid` there).
        let kid = match self.version {
            Version::V5 => token.kid.as_deref(),
            Version::V4 => None,
        };
        let plaintext = keys
            .iter()
            .filter(|key| key.enc == token.enc && kid.is_none_or(|kid| key.kid == kid))
            .find_map(|key| jwe::decrypt(&token, key))
            .ok_or(AuthError::BadSignature)?;
        match json::parse_strict(&plaintext, MAX_PAYLOAD_DEPTH) {
            Ok(claims @ Value::Object(_)) => Ok(claims),
            Ok(_) => Err(AuthError::Malformed("session payload is not a JSON object")),
            Err(_) => Err(AuthError::Malformed("session payload is not valid JSON")),
        }
    }
}
