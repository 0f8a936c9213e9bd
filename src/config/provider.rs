//! Compiles one `providers.<name>` entry into a [`Provider`]: algorithms, keys,
//! token sources, claim policy and outputs, all validated.

use crate::alg::Alg;
use crate::authjs::{self, AuthJs};
use crate::claims::ClaimPolicy;
use crate::config::raw::{Explicit, RawKey, RawProvider, RawSource};
use crate::config::{join_path, ConfigError, ConfigWarning, Diagnostics};
use crate::extract::{self, Source};
use crate::jws::{Limits, TypeAllowList};
use crate::keys::{decode_secret, parse_jwks, Key, SecretEncoding};
use crate::output::Outputs;
use crate::remote::{self, KeysPolicy, RawRemoteJwks, RemoteJwks, RemoteSet};
use crate::revocation::Revocation;
use crate::tenant::TenantIssuer;
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
    /// Revoked tokens: the remote list's source and `deny_subjects`.
    pub revocation: Revocation,
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
    /// The remote JWKS sources and policy (keys then live in the VM's key store); boxed:
    /// it is most of the size of a provider that has it.
    pub remote: Option<Box<RemoteSet>>,
    /// Where tokens are looked for, in order.
    pub sources: Vec<Source>,
    /// Accepted header `typ` media types (RFC 8725 §3.11); `None` = any or none.
    pub typ: Option<TypeAllowList>,
    /// An issuer template with its tenants (then `ClaimPolicy::issuer` is `None` and
    /// `iss` is checked against this).
    pub tenant: Option<TenantIssuer>,
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

    /// The remote key set's sources and policy, if any.
    #[must_use]
    pub fn remote(&self) -> Option<&RemoteSet> {
        self.jws()?.remote.as_deref()
    }
}

/// Things worth a warning at configure time (never secrets).
pub type Warnings = Vec<ConfigWarning>;

/// `leeway_s` above this draws a warning: tokens stay usable minutes after `exp`.
pub const LEEWAY_WARNING_S: u64 = 300;

/// Compiles `raw`; `env` resolves `secret_env`/`pem_env` from the VM environment. Every
/// problem is recorded in `diag` under `providers.<name>`, and the compiler goes on with
/// the provider's next field, key and source; `None` when any error was found.
pub fn compile(
    name: &str,
    mut raw: RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
    diag: &mut Diagnostics,
) -> Option<Provider> {
    let at = format!("providers.{name}");
    let errors_before = diag.error_count();
    let (credential, issuer, audiences, default_max_bytes) = match raw.authjs.take() {
        Some(raw_authjs) => {
            let not_applicable = [
                ("issuer", raw.issuer != Explicit::Missing),
                ("audiences", raw.audiences.is_some()),
                ("algorithms", raw.algorithms.is_some()),
                ("keys", raw.keys.is_some()),
                ("from", raw.from.is_some()),
                ("typ", raw.typ.is_some()),
                ("on_keys_unavailable", raw.on_keys_unavailable.is_some()),
                ("stale_max_s", raw.stale_max_s.is_some()),
                ("tenants", raw.tenants.is_some()),
            ];
            for (field, _) in not_applicable.iter().filter(|(_, set)| *set) {
                diag.error(
                    &at,
                    ConfigError::new(*field, "does not apply to an authjs provider"),
                );
            }
            let authjs = diag.check(&format!("{at}.authjs"), authjs::compile(raw_authjs, env));
            (
                authjs.map(Credential::AuthJs),
                Some(None),
                Some(None),
                authjs::DEFAULT_MAX_BYTES,
            )
        }
        None => {
            let issuer = compile_issuer(&at, raw.issuer.clone(), diag);
            let audiences = compile_audiences(&at, raw.audiences.take(), diag);
            let jws = compile_jws(&at, &mut raw, env, diag);
            // A template is checked by the JWS half (`JwsProvider::tenant`), not as exact.
            let issuer = match &jws {
                Some(Credential::Jws(j)) if j.tenant.is_some() => Some(None),
                _ => issuer,
            };
            (jws, issuer, audiences, DEFAULT_MAX_TOKEN_BYTES)
        }
    };
    let leeway_s = raw.leeway_s.unwrap_or(DEFAULT_LEEWAY_S);
    if leeway_s > LEEWAY_WARNING_S {
        diag.warn(
            format!("{at}.leeway_s"),
            format!(
                "{leeway_s} s of clock skew: expired tokens stay usable that long \
                 (more than {LEEWAY_WARNING_S} s is rarely needed)"
            ),
        );
    }
    let require_exp = raw.require_exp.unwrap_or(true);
    if !require_exp {
        diag.warn(
            format!("{at}.require_exp"),
            "is false: tokens without exp never expire",
        );
    }
    let outputs = diag.check(
        &at,
        Outputs::compile(&raw.claim_headers, raw.payload_header.as_deref())
            .and_then(|o| o.with_filter_state(&raw.filter_state, raw.publish_token_hash)),
    );
    let max_token_bytes = raw.max_token_bytes.unwrap_or(default_max_bytes);
    if max_token_bytes == 0 {
        diag.error(
            &at,
            ConfigError::new("max_token_bytes", "must be greater than 0"),
        );
    }
    let user_check = match raw.user_check {
        None => Some(None),
        Some(raw_check) => diag
            .check(&format!("{at}.user_check"), UserCheck::compile(raw_check))
            .map(Some),
    };
    let revocation = diag.check(
        &at,
        Revocation::compile(raw.revocation.take(), raw.deny_subjects.take()),
    );
    let (
        Some(credential),
        Some(issuer),
        Some(audiences),
        Some(outputs),
        Some(user_check),
        Some(revocation),
    ) = (
        credential, issuer, audiences, outputs, user_check, revocation,
    )
    else {
        return None;
    };
    if diag.error_count() > errors_before {
        return None;
    }
    Some(Provider {
        name: name.to_string(),
        credential,
        policy: ClaimPolicy {
            issuer,
            audiences,
            require_exp,
            leeway_s,
            max_lifetime_s: raw.max_lifetime_s,
        },
        outputs,
        forward_token: raw.forward_token,
        limits: Limits {
            max_token_bytes,
            max_json_depth: MAX_JSON_DEPTH,
        },
        user_check,
        revocation,
    })
}

/// `Some(None)` = not checked (explicit `null`, with a warning); `None` = an error.
fn compile_issuer(
    at: &str,
    raw: Explicit<String>,
    diag: &mut Diagnostics,
) -> Option<Option<String>> {
    match raw {
        Explicit::Missing => {
            diag.error(
                at,
                ConfigError::new(
                    "issuer",
                    "required (write \"issuer\": null to accept any issuer)",
                ),
            );
            None
        }
        Explicit::Null => {
            diag.warn(
                format!("{at}.issuer"),
                "is null: the iss claim is not checked",
            );
            Some(None)
        }
        Explicit::Value(iss) if iss.is_empty() => {
            diag.error(at, ConfigError::new("issuer", "must not be empty"));
            None
        }
        Explicit::Value(iss) => Some(Some(iss)),
    }
}

/// `Some(None)` = not checked (omitted, with a warning); `None` = an error.
fn compile_audiences(
    at: &str,
    raw: Option<Vec<String>>,
    diag: &mut Diagnostics,
) -> Option<Option<Vec<String>>> {
    match raw {
        None => {
            diag.warn(
                format!("{at}.audiences"),
                "not set: the aud claim is not checked",
            );
            Some(None)
        }
        Some(list) if list.is_empty() => {
            diag.error(
                at,
                ConfigError::new("audiences", "must not be empty (omit it to skip the check)"),
            );
            None
        }
        Some(list) => Some(Some(list)),
    }
}

/// The signed-token half of a provider: algorithms, keys (static and remote), sources,
/// accepted `typ`. Each key and source is checked even when an earlier one failed.
fn compile_jws(
    at: &str,
    raw: &mut RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
    diag: &mut Diagnostics,
) -> Option<Credential> {
    let errors_before = diag.error_count();
    let algorithms = match raw.algorithms.take() {
        None => {
            diag.error(at, ConfigError::new("algorithms", "required"));
            None
        }
        Some(names) => diag.check(at, compile_algorithms(&names)),
    };
    let (keys, sources) = match (raw.keys.take(), &algorithms) {
        (None, _) => {
            diag.error(at, ConfigError::new("keys", "required"));
            (Vec::new(), Vec::new())
        }
        (Some(list), _) if list.is_empty() => {
            diag.error(at, ConfigError::new("keys", "at least one key is required"));
            (Vec::new(), Vec::new())
        }
        // Keys are checked against the algorithms: without them, nothing to check.
        (Some(_), None) => (Vec::new(), Vec::new()),
        (Some(list), Some(algorithms)) => compile_keys(at, list, algorithms, env, diag),
    };
    let remote = compile_remote(at, raw, sources, diag);
    let sources = match raw.from.take() {
        None => vec![Source::default()],
        Some(list) if list.is_empty() => {
            diag.error(at, ConfigError::new("from", "must not be empty"));
            Vec::new()
        }
        Some(list) if list.len() > extract::MAX_SOURCES => {
            let most = extract::MAX_SOURCES;
            diag.error(
                at,
                ConfigError::new("from", format!("at most {most} sources")),
            );
            Vec::new()
        }
        Some(list) => list
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let here = format!("{at}.from[{i}]");
                let source = diag.check(&here, compile_source(s))?;
                if let Source::Query(name) = &source {
                    diag.warn(
                        format!("{here}.query"),
                        format!(
                            "token in the query parameter {name:?}: URLs end up in access \
                             logs, browser history and Referer headers (RFC 6750 §2.3)"
                        ),
                    );
                }
                Some(source)
            })
            .collect(),
    };
    let tenant = match &raw.issuer {
        Explicit::Value(iss) => diag
            .check(at, TenantIssuer::compile(iss, raw.tenants.as_ref()))
            .flatten(),
        _ if raw.tenants.is_some() => {
            diag.error(
                at,
                ConfigError::new(
                    "tenants",
                    "applies only to an issuer template containing {tenant}",
                ),
            );
            None
        }
        _ => None,
    };
    if tenant.as_ref().is_some_and(TenantIssuer::any) {
        diag.warn(
            format!("{at}.tenants"),
            "is \"*\": tokens of every tenant of this issuer are accepted (check $tenant in rules)",
        );
    }
    let typ = match raw.typ.take() {
        None => Some(None),
        Some(list) => diag
            .check(&format!("{at}.typ"), TypeAllowList::compile(&list))
            .map(Some),
    };
    let (Some(algorithms), Some(typ)) = (algorithms, typ) else {
        return None;
    };
    if diag.error_count() > errors_before {
        return None;
    }
    Some(Credential::Jws(JwsProvider {
        algorithms,
        keys,
        remote,
        sources,
        typ,
        tenant,
    }))
}

/// The remote sources (failover order) with the provider's `on_keys_unavailable`
/// policy; the policy fields are an error on a provider without `remote_jwks`.
fn compile_remote(
    at: &str,
    raw: &mut RawProvider,
    sources: Vec<RemoteJwks>,
    diag: &mut Diagnostics,
) -> Option<Box<RemoteSet>> {
    let (on_unavailable, stale_max_s) = (raw.on_keys_unavailable.take(), raw.stale_max_s.take());
    let mut sources = sources.into_iter();
    let Some(primary) = sources.next() else {
        for (field, set) in [
            ("on_keys_unavailable", on_unavailable.is_some()),
            ("stale_max_s", stale_max_s.is_some()),
        ] {
            if set {
                diag.error(
                    at,
                    ConfigError::new(field, "applies only to a provider with remote_jwks"),
                );
            }
        }
        return None;
    };
    if !matches!(&raw.issuer, Explicit::Value(iss) if !iss.contains(crate::tenant::PLACEHOLDER))
        && std::iter::once(&primary)
            .chain(sources.as_slice())
            .any(|s| s.discovery.is_some())
    {
        diag.error(
            at,
            ConfigError::new(
                "issuer",
                "an exact issuer is required with discovery (the discovered issuer is checked \
                 against it)",
            ),
        );
    }
    let policy = diag.check(
        at,
        KeysPolicy::compile(on_unavailable.as_deref(), stale_max_s),
    )?;
    Some(Box::new(RemoteSet {
        primary,
        fallbacks: sources.collect(),
        policy,
    }))
}

/// A remote key source as written.
enum RawRemote {
    Jwks(RawRemoteJwks),
    Discovery(RawRemoteJwks),
}

const EXACTLY_ONE_KEY_SOURCE: &str =
    "exactly one of secret, secret_env, pem, pem_env, jwks, remote_jwks, discovery is required";

/// Every entry of `keys`: static keys, and the `remote_jwks` / `discovery` sources in
/// failover order (only the first sets the schedule: `refresh_s`, `min_refetch_s`).
fn compile_keys(
    at: &str,
    raw_keys: Vec<RawKey>,
    algorithms: &[Alg],
    env: &dyn Fn(&str) -> Option<String>,
    diag: &mut Diagnostics,
) -> (Vec<Key>, Vec<RemoteJwks>) {
    let mut keys = Vec::new();
    let mut remote = Vec::new();
    let mut remote_entries = 0usize;
    for (i, mut raw_key) in raw_keys.into_iter().enumerate() {
        let here = format!("{at}.keys[{i}]");
        let remote_source = match (raw_key.remote_jwks.take(), raw_key.discovery.take()) {
            (None, None) => None,
            (Some(jwks), None) => Some(RawRemote::Jwks(jwks)),
            (None, Some(discovery)) => Some(RawRemote::Discovery(discovery)),
            (Some(_), Some(_)) => {
                diag.error(&here, ConfigError::new("", EXACTLY_ONE_KEY_SOURCE));
                continue;
            }
        };
        if let Some(raw_remote) = remote_source {
            let (name, refresh_s, min_refetch_s) = match &raw_remote {
                RawRemote::Jwks(r) => ("remote_jwks", r.refresh_s, r.min_refetch_s),
                RawRemote::Discovery(d) => ("discovery", d.refresh_s, d.min_refetch_s),
            };
            remote_entries = remote_entries.saturating_add(1);
            if remote_entries > 1 && (refresh_s.is_some() || min_refetch_s.is_some()) {
                let field = if refresh_s.is_some() {
                    "refresh_s"
                } else {
                    "min_refetch_s"
                };
                diag.error(
                    &format!("{here}.{name}"),
                    ConfigError::new(
                        field,
                        "applies only to the first remote source (it sets the schedule; the \
                         others are fallbacks)",
                    ),
                );
            } else if raw_key.has_other_source()
                || raw_key.kid.is_some()
                || raw_key.alg.is_some()
                || raw_key.encoding.is_some()
            {
                diag.error(
                    &here,
                    ConfigError::new(
                        "",
                        format!("{name} takes no other field (each JWK carries its kid and alg)"),
                    ),
                );
            } else if let Some(source) = diag.check(
                &format!("{here}.{name}"),
                match raw_remote {
                    RawRemote::Jwks(r) => RemoteJwks::compile(r),
                    RawRemote::Discovery(d) => remote::compile_discovery(d),
                },
            ) {
                remote.push(source);
            }
            continue;
        }
        let Some((mut compiled, notes)) = diag.check(&here, compile_key(raw_key, algorithms, env))
        else {
            continue;
        };
        for note in notes {
            diag.warn(join_path(&here, &note.path), note.message);
        }
        if compiled
            .iter()
            .any(|key| !algorithms.iter().any(|a| key.usable_with(*a)))
        {
            diag.error(
                &here,
                ConfigError::new("", "key does not fit any of the provider's algorithms"),
            );
            continue;
        }
        keys.append(&mut compiled);
    }
    (keys, remote)
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

/// One static key; its warnings come back with paths relative to it.
fn compile_key(
    raw: RawKey,
    algorithms: &[Alg],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Key>, Vec<ConfigWarning>), ConfigError> {
    let given = [
        raw.secret.is_some(),
        raw.secret_env.is_some(),
        raw.pem.is_some(),
        raw.pem_env.is_some(),
        raw.jwks.is_some(),
        raw.remote_jwks.is_some(),
        raw.discovery.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ConfigError::new("", EXACTLY_ONE_KEY_SOURCE));
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
    let hmac = |value: &str, field: &str| {
        hmac_key(value, encoding, field, raw.kid.clone(), alg, algorithms)
    };
    if let Some(secret) = raw.secret.as_deref() {
        return hmac(secret, "secret");
    }
    if let Some(var) = raw.secret_env.as_deref() {
        return hmac(&from_env("secret_env", var)?, "secret_env");
    }
    if let Some(pem) = raw.pem.as_deref() {
        return Key::from_pem(pem, raw.kid.clone(), alg)
            .map(|k| (vec![k], Vec::new()))
            .map_err(|m| ConfigError::new("pem", m));
    }
    if let Some(var) = raw.pem_env.as_deref() {
        let pem = from_env("pem_env", var)?;
        return Key::from_pem(&pem, raw.kid.clone(), alg)
            .map(|k| (vec![k], Vec::new()))
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
        let notes = outcome
            .skipped
            .into_iter()
            .map(|why| ConfigWarning::new("jwks", why))
            .collect();
        return Ok((outcome.keys, notes));
    }
    Err(ConfigError::new("", EXACTLY_ONE_KEY_SOURCE))
}

/// An HMAC key: an error under [`MIN_HMAC_SECRET_BYTES`], a warning when it is shorter
/// than the hash of an HS384/HS512 it may verify (RFC 7518 §3.2: "a key of the same size
/// as the hash output or larger MUST be used").
fn hmac_key(
    value: &str,
    encoding: SecretEncoding,
    field: &str,
    kid: Option<String>,
    alg: Option<Alg>,
    algorithms: &[Alg],
) -> Result<(Vec<Key>, Vec<ConfigWarning>), ConfigError> {
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
    let notes = [(Alg::HS384, 48), (Alg::HS512, 64)]
        .into_iter()
        .filter(|(hs, needed)| {
            algorithms.contains(hs) && alg.is_none_or(|a| a == *hs) && bytes.len() < *needed
        })
        .map(|(hs, needed)| {
            ConfigWarning::new(
                field,
                format!(
                    "secret is {} bytes; {} needs at least {needed} (RFC 7518 §3.2)",
                    bytes.len(),
                    hs.name()
                ),
            )
        })
        .collect();
    Key::hmac(bytes, kid, alg)
        .map(|k| (vec![k], notes))
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
