//! Compiles one `providers.<name>` entry into a [`Provider`]: algorithms, keys,
//! token sources, claim policy and outputs, all validated.

use crate::alg::Alg;
use crate::authjs::{self, AuthJs};
use crate::claims::ClaimPolicy;
use crate::config::raw::{Explicit, RawKey, RawProvider, RawSource};
use crate::config::ConfigError;
use crate::extract::Source;
use crate::jws::Limits;
use crate::keys::{decode_secret, parse_jwks, Key, SecretEncoding};
use crate::output::Outputs;
use crate::remote::RemoteJwks;
use crate::usercheck::UserCheck;

/// Default `max_token_bytes` for a JWT (SPEC §3).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Default clock-skew allowance.
pub const DEFAULT_LEEWAY_S: u64 = 60;
/// Shortest HMAC secret accepted: the HS256 hash size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// Nesting allowed in token JSON: real tokens nest two or three levels.
const MAX_JSON_DEPTH: usize = 16;

/// A compiled provider: everything needed to find, verify and project one issuer's tokens.
#[derive(Debug)]
pub struct Provider {
    /// The key under `providers`.
    pub name: String,
    /// What the credential is and how it is checked.
    pub credential: Credential,
    /// `iss`/`aud`/time checks.
    pub policy: ClaimPolicy,
    /// Headers produced for the upstream.
    pub outputs: Outputs,
    /// Keep the credential in the upstream request.
    pub forward_token: bool,
    /// Token size and JSON nesting limits.
    pub limits: Limits,
    /// Ask a service whether the subject still exists.
    pub user_check: Option<UserCheck>,
}

/// The kind of credential a provider accepts: exactly one, so a provider can never
/// hold both JWS keys and an Auth.js secret.
#[derive(Debug)]
pub enum Credential {
    /// Signed JWTs (JWS compact).
    Jws(JwsProvider),
    /// Auth.js / NextAuth encrypted session cookies.
    AuthJs(AuthJs),
}

/// A JWS provider's algorithms, keys and token sources.
#[derive(Debug)]
pub struct JwsProvider {
    /// The `alg` allow-list, never empty, never `none`.
    pub algorithms: Vec<Alg>,
    /// Static verification keys, each already bound to its family (and `alg`, when fixed).
    pub keys: Vec<Key>,
    /// The remote JWKS, fetched through the host (keys then live in the VM's key store).
    pub remote: Option<RemoteJwks>,
    /// Where tokens are looked for, in order.
    pub sources: Vec<Source>,
}

impl Provider {
    /// The JWS half, if this is a JWS provider.
    #[must_use]
    pub fn jws(&self) -> Option<&JwsProvider> {
        match &self.credential {
            Credential::Jws(j) => Some(j),
            Credential::AuthJs(_) => None,
        }
    }

    /// The remote JWKS settings, if any.
    #[must_use]
    pub fn remote(&self) -> Option<&RemoteJwks> {
        self.jws()?.remote.as_ref()
    }
}

/// Things worth a warning at configure time (never secrets).
pub type Warnings = Vec<String>;

/// Compiles `raw`; `env` resolves `secret_env`/`pem_env` from the VM environment.
pub fn compile(
    name: &str,
    mut raw: RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Warnings,
) -> Result<Provider, ConfigError> {
    let (credential, issuer, audiences, default_max_bytes) = match raw.authjs.take() {
        Some(raw_authjs) => {
            let not_applicable = [
                ("issuer", raw.issuer != Explicit::Missing),
                ("audiences", raw.audiences.is_some()),
                ("algorithms", raw.algorithms.is_some()),
                ("keys", raw.keys.is_some()),
                ("from", raw.from.is_some()),
            ];
            if let Some((field, _)) = not_applicable.iter().find(|(_, set)| *set) {
                return Err(ConfigError::new(
                    *field,
                    "does not apply to an authjs provider",
                ));
            }
            let authjs = authjs::compile(raw_authjs, env).map_err(|e| e.under("authjs"))?;
            (
                Credential::AuthJs(authjs),
                None,
                None,
                authjs::DEFAULT_MAX_BYTES,
            )
        }
        None => {
            let issuer = compile_issuer(name, raw.issuer.clone(), warnings)?;
            let audiences = compile_audiences(name, raw.audiences.take(), warnings)?;
            let jws = compile_jws(&mut raw, env, warnings)?;
            (jws, issuer, audiences, DEFAULT_MAX_TOKEN_BYTES)
        }
    };
    let leeway_s = raw.leeway_s.unwrap_or(DEFAULT_LEEWAY_S);
    let policy = ClaimPolicy {
        issuer,
        audiences,
        require_exp: raw.require_exp.unwrap_or(true),
        leeway_s,
        max_lifetime_s: raw.max_lifetime_s,
    };
    if !policy.require_exp {
        warnings.push(format!(
            "providers.{name}.require_exp is false: tokens without exp never expire"
        ));
    }
    let outputs = Outputs::compile(&raw.claim_headers, raw.payload_header.as_deref())?;
    let max_token_bytes = raw.max_token_bytes.unwrap_or(default_max_bytes);
    if max_token_bytes == 0 {
        return Err(ConfigError::new(
            "max_token_bytes",
            "must be greater than 0",
        ));
    }
    Ok(Provider {
        name: name.to_string(),
        credential,
        policy,
        outputs,
        forward_token: raw.forward_token,
        limits: Limits {
            max_token_bytes,
            max_json_depth: MAX_JSON_DEPTH,
        },
        user_check: raw
            .user_check
            .map(UserCheck::compile)
            .transpose()
            .map_err(|e| e.under("user_check"))?,
    })
}

fn compile_issuer(
    name: &str,
    raw: Explicit<String>,
    warnings: &mut Warnings,
) -> Result<Option<String>, ConfigError> {
    match raw {
        Explicit::Missing => Err(ConfigError::new(
            "issuer",
            "required (write \"issuer\": null to accept any issuer)",
        )),
        Explicit::Null => {
            warnings.push(format!(
                "providers.{name}.issuer is null: the iss claim is not checked"
            ));
            Ok(None)
        }
        Explicit::Value(iss) if iss.is_empty() => {
            Err(ConfigError::new("issuer", "must not be empty"))
        }
        Explicit::Value(iss) => Ok(Some(iss)),
    }
}

fn compile_audiences(
    name: &str,
    raw: Option<Vec<String>>,
    warnings: &mut Warnings,
) -> Result<Option<Vec<String>>, ConfigError> {
    match raw {
        None => {
            warnings.push(format!(
                "providers.{name}.audiences not set: the aud claim is not checked"
            ));
            Ok(None)
        }
        Some(list) if list.is_empty() => Err(ConfigError::new(
            "audiences",
            "must not be empty (omit it to skip the check)",
        )),
        Some(list) => Ok(Some(list)),
    }
}

/// The signed-token half of a provider: algorithms, keys (static and remote), sources.
fn compile_jws(
    raw: &mut RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Warnings,
) -> Result<Credential, ConfigError> {
    let algorithms = compile_algorithms(
        &raw.algorithms
            .take()
            .ok_or_else(|| ConfigError::new("algorithms", "required"))?,
    )?;
    let raw_keys = raw
        .keys
        .take()
        .ok_or_else(|| ConfigError::new("keys", "required"))?;
    if raw_keys.is_empty() {
        return Err(ConfigError::new("keys", "at least one key is required"));
    }
    let mut keys = Vec::new();
    let mut remote = None;
    for (i, mut raw_key) in raw_keys.into_iter().enumerate() {
        let at = format!("keys[{i}]");
        if let Some(raw_remote) = raw_key.remote_jwks.take() {
            if remote.is_some() {
                return Err(ConfigError::new(at, "only one remote_jwks per provider"));
            }
            if raw_key.has_other_source()
                || raw_key.kid.is_some()
                || raw_key.alg.is_some()
                || raw_key.encoding.is_some()
            {
                return Err(ConfigError::new(
                    at,
                    "remote_jwks takes no other field (each JWK carries its kid and alg)",
                ));
            }
            remote = Some(
                RemoteJwks::compile(raw_remote)
                    .map_err(|e| e.under(&format!("{at}.remote_jwks")))?,
            );
            continue;
        }
        let mut compiled =
            compile_key(raw_key, &algorithms, env, warnings).map_err(|e| e.under(&at))?;
        if compiled
            .iter()
            .any(|key| !algorithms.iter().any(|a| key.usable_with(*a)))
        {
            return Err(ConfigError::new(
                at,
                "key does not fit any of the provider's algorithms",
            ));
        }
        keys.append(&mut compiled);
    }
    let sources = match raw.from.take() {
        None => vec![Source::default()],
        Some(list) if list.is_empty() => return Err(ConfigError::new("from", "must not be empty")),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, s)| compile_source(s).map_err(|e| e.under(&format!("from[{i}]"))))
            .collect::<Result<_, _>>()?,
    };
    Ok(Credential::Jws(JwsProvider {
        algorithms,
        keys,
        remote,
        sources,
    }))
}

fn compile_algorithms(names: &[String]) -> Result<Vec<Alg>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::new(
            "algorithms",
            "at least one algorithm is required",
        ));
    }
    let mut algs = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let alg = Alg::from_name(name).ok_or_else(|| {
            ConfigError::new(
                format!("algorithms[{i}]"),
                format!("unknown algorithm {name:?}"),
            )
        })?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    Ok(algs)
}

fn compile_key(
    raw: RawKey,
    algorithms: &[Alg],
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Warnings,
) -> Result<Vec<Key>, ConfigError> {
    let given = [
        raw.secret.is_some(),
        raw.secret_env.is_some(),
        raw.pem.is_some(),
        raw.pem_env.is_some(),
        raw.jwks.is_some(),
        raw.remote_jwks.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ConfigError::new(
            "",
            "exactly one of secret, secret_env, pem, pem_env, jwks, remote_jwks is required",
        ));
    }
    let alg = match raw.alg.as_deref() {
        None => None,
        Some(name) => Some(
            Alg::from_name(name)
                .ok_or_else(|| ConfigError::new("alg", format!("unknown algorithm {name:?}")))?,
        ),
    };
    if raw.encoding.is_some() && raw.secret.is_none() && raw.secret_env.is_none() {
        return Err(ConfigError::new(
            "encoding",
            "applies only to secret and secret_env",
        ));
    }
    let from_env = |field: &str, var: &str| {
        env(var).ok_or_else(|| {
            ConfigError::new(field, format!("environment variable {var:?} is not set"))
        })
    };
    let encoding = raw.encoding.unwrap_or_default();
    if let Some(secret) = raw.secret.as_deref() {
        return hmac_key(secret, encoding, "secret", raw.kid.clone(), alg);
    }
    if let Some(var) = raw.secret_env.as_deref() {
        let secret = from_env("secret_env", var)?;
        return hmac_key(&secret, encoding, "secret_env", raw.kid.clone(), alg);
    }
    if let Some(pem) = raw.pem.as_deref() {
        return Key::from_pem(pem, raw.kid.clone(), alg)
            .map(|k| vec![k])
            .map_err(|m| ConfigError::new("pem", m));
    }
    if let Some(var) = raw.pem_env.as_deref() {
        let pem = from_env("pem_env", var)?;
        return Key::from_pem(&pem, raw.kid.clone(), alg)
            .map(|k| vec![k])
            .map_err(|m| ConfigError::new("pem_env", m));
    }
    if let Some(jwks) = raw.jwks.as_ref() {
        if raw.kid.is_some() || alg.is_some() {
            return Err(ConfigError::new(
                "",
                "kid and alg do not apply to jwks (each JWK carries its own)",
            ));
        }
        let outcome = parse_jwks(jwks, algorithms, true).map_err(|e| e.under("jwks"))?;
        warnings.extend(outcome.skipped);
        return Ok(outcome.keys);
    }
    Err(ConfigError::new(
        "",
        "exactly one of secret, secret_env, pem, pem_env, jwks, remote_jwks is required",
    ))
}

fn hmac_key(
    value: &str,
    encoding: SecretEncoding,
    field: &str,
    kid: Option<String>,
    alg: Option<Alg>,
) -> Result<Vec<Key>, ConfigError> {
    let bytes = decode_secret(value, encoding).map_err(|m| ConfigError::new(field, m))?;
    if bytes.len() < MIN_HMAC_SECRET_BYTES {
        return Err(ConfigError::new(
            field,
            format!(
                "secret is {} bytes; at least {MIN_HMAC_SECRET_BYTES} are required (RFC 7518 §3.2)",
                bytes.len()
            ),
        ));
    }
    Key::hmac(bytes, kid, alg)
        .map(|k| vec![k])
        .map_err(|m| ConfigError::new(field, m))
}

fn compile_source(raw: RawSource) -> Result<Source, ConfigError> {
    let RawSource {
        header,
        prefix,
        cookie,
        query,
    } = raw;
    match (header, cookie, query) {
        (Some(name), None, None) => {
            Source::header(&name, prefix.as_deref()).map_err(|m| ConfigError::new("header", m))
        }
        (None, Some(_), None) | (None, None, Some(_)) if prefix.is_some() => Err(ConfigError::new(
            "prefix",
            "applies only to a header source",
        )),
        (None, Some(name), None) => {
            Source::cookie(&name).map_err(|m| ConfigError::new("cookie", m))
        }
        (None, None, Some(name)) => Source::query(&name).map_err(|m| ConfigError::new("query", m)),
        _ => Err(ConfigError::new(
            "",
            "exactly one of header, cookie, query is required",
        )),
    }
}
