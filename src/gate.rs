//! The decision for one request, as plain data: which headers to remove and add and
//! whether to forward, or which local reply to send. The glue only applies it.
//!
//! Order matters and is fixed: output headers are stripped first on every route and in
//! every mode (anti-spoofing), then the path is normalized (400 before any rule), then
//! the first matching rule decides.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::authjs::SessionCookie;
use crate::cache::{TokenCache, TokenKey};
use crate::claims::TimeClaims;
use crate::config::{Config, Credential, Mode, Provider, DECISION_HEADER};
use crate::cookie;
use crate::error::AuthError;
use crate::extract::{self, Found, RequestParts, Source};
use crate::header_map::Header;
use crate::keys::Key;
use crate::keystore::KeyStore;
use crate::output::RenderedHeader;
use crate::path;
use crate::revocation::Revocations;
use crate::rules::{Action, Requirement};
use crate::verify::{self, Failure, Verified};

/// The request as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path` as received (query included).
    pub path: &'a str,
    /// All headers, names lowercase (borrowed from the host's buffer when valid UTF-8).
    pub headers: &'a [Header<'a>],
}

impl<'a> Request<'a> {
    /// The request of a decoded header map: method and path from its `:method` and
    /// `:path` pseudo-headers (empty when absent).
    #[must_use]
    pub fn from_headers(headers: &'a [Header<'a>]) -> Self {
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_ref())
        };
        Request {
            method: pseudo(":method"),
            path: pseudo(":path"),
            headers,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// A browser navigation: `Sec-Fetch-Mode: navigate`, or `Accept` naming `text/html`.
    #[must_use]
    pub fn is_browser_navigation(&self) -> bool {
        self.header("sec-fetch-mode")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("navigate"))
            || self
                .header("accept")
                .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
    }
}

/// A change to the request headers, applied in order. Names and values are `Rc<str>`:
/// a cache hit sets the claim headers rendered when the token was verified, and
/// sharing them costs a reference count instead of two allocations per header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Remove every value of the header.
    Remove(Rc<str>),
    /// Replace the header with one value (`:path` included).
    Set(Rc<str>, Rc<str>),
    /// Append a value. Only for the output (claim and payload) headers: the
    /// anti-spoofing strip that opens every decision removed any the client sent, so
    /// appending gives exactly one value, and Envoy appends without the search of the
    /// header map that replacing costs (about 0.3 µs per request).
    Add(Rc<str>, Rc<str>),
}

/// Sends `ops` to the host in order through `send` (true: applied). An `Add` counts on
/// the strip before it; once the host refused any change, later `Add`s are sent as
/// `Set`, so a spoofed value that could not be removed is still overwritten.
pub fn apply_ops(ops: &[HeaderOp], send: &mut dyn FnMut(&HeaderOp) -> bool) {
    let mut all_applied = true;
    for op in ops {
        let applied = match op {
            HeaderOp::Add(name, value) if !all_applied => {
                send(&HeaderOp::Set(Rc::clone(name), Rc::clone(value)))
            }
            op => send(op),
        };
        all_applied &= applied;
    }
}

/// Why a request is not let through, with what the log line and the reply need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The reason.
    pub error: AuthError,
    /// The provider whose token failed, if any.
    pub provider: Option<String>,
    /// Its index in `Config::providers` (the glue may fetch its keys and retry).
    pub provider_index: Option<usize>,
    /// The failing token's `kid` (untrusted: log it escaped and truncated).
    pub kid: Option<String>,
    /// Scopes the route required (for the `scope` challenge parameter).
    pub required_scopes: Vec<String>,
    /// Send a browser to the login page instead of a 401.
    pub redirect_to_login: bool,
}

impl From<AuthError> for Denial {
    fn from(error: AuthError) -> Self {
        Denial::new(error)
    }
}

impl Denial {
    fn new(error: AuthError) -> Self {
        Denial {
            error,
            provider: None,
            provider_index: None,
            kid: None,
            required_scopes: Vec::new(),
            redirect_to_login: false,
        }
    }
}

/// What the glue does with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forward upstream after applying `ops`. `would_deny` is set in audit mode.
    Forward {
        /// Header changes, in order.
        ops: Vec<HeaderOp>,
        /// Audit mode: the denial that enforce mode would have sent.
        would_deny: Option<Denial>,
        /// Who verified, if a token did (the glue may still run the user check).
        authenticated: Option<Authenticated>,
    },
    /// Answer locally.
    Deny {
        /// Header changes (only matter if the host forwards anyway).
        ops: Vec<HeaderOp>,
        /// Why.
        denial: Denial,
    },
}

/// A token that passed its provider's checks and the route's requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Index into `Config::providers`.
    pub provider: usize,
    /// The `sub` claim, when it is a string (shared with the cache entry).
    pub subject: Option<Rc<str>>,
    /// Values published for other filters (`filter_state`, `publish_token_hash`),
    /// shared with the cache entry; `None` when the provider publishes nothing.
    pub state: Option<Published>,
}

/// The header that marks a request audit mode would have denied.
#[must_use]
pub fn would_deny_header(denial: &Denial) -> HeaderOp {
    HeaderOp::Set(
        DECISION_HEADER.into(),
        format!("would-deny; reason={}", denial.error.label()).into(),
    )
}

/// The full verdict: the matched rule (for `jwt-gate-check` and debug logs) and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Index into `rules`, `None` for the default action (or before matching).
    pub rule: Option<usize>,
    /// What to do.
    pub outcome: Outcome,
}

/// Where the gate gets each provider's current keys.
pub trait KeySource: fmt::Debug {
    /// Keys of provider `index`; `None` while a remote key set has never loaded.
    fn keys(&self, provider: usize) -> Option<Rc<Vec<Key>>>;
}

impl KeySource for KeyStore {
    fn keys(&self, provider: usize) -> Option<Rc<Vec<Key>>> {
        KeyStore::keys(self, provider)
    }
}

/// Values published for other filters, shared by every cache hit of its token.
pub type Published = Rc<[(String, String)]>;

/// What the cache keeps of a verified token: the claims (route requirements read
/// them), its time claims (re-checked on every hit: a cached token still expires on
/// time) and its provider's output headers, rendered once, so a hit sets headers
/// without reading the JSON again.
#[derive(Debug)]
pub struct Accepted {
    /// The verification result.
    pub verified: Verified,
    times: TimeClaims,
    headers: Result<Vec<RenderedHeader>, AuthError>,
    state: Result<Option<Published>, AuthError>,
    subject: Option<Rc<str>>,
    /// The `jti` claim, when it is a string and a revocation list is consulted.
    jti: Option<String>,
}

impl Accepted {
    fn new(provider: &Provider, verified: Verified, token: &str) -> Result<Self, AuthError> {
        let times = verified.times;
        // Shared (`Rc`) because every hit hands them out again.
        let headers = provider
            .outputs
            .render(&verified.claims, &verified.payload_b64);
        let state = if provider.outputs.publishes() {
            provider
                .outputs
                .render_state(&verified.claims, token)
                .map(|state| Some(Rc::from(state)))
        } else {
            Ok(None)
        };
        let subject = verified
            .claims
            .get("sub")
            .and_then(|v| v.as_str())
            .map(Rc::from);
        let jti = provider
            .revocation
            .remote
            .as_ref()
            .and_then(|_| verified.claims.get("jti"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Ok(Accepted {
            verified,
            times,
            headers,
            state,
            subject,
            jti,
        })
    }
}

/// How long a token whose signature failed is answered from memory, in seconds.
pub const FORGED_TTL_S: u64 = 30;
/// How many failed tokens are remembered (each kept whole: at most
/// `FORGED_MAX_TOKEN_BYTES` bytes, so at most 512 KiB per VM).
pub const FORGED_CAPACITY: usize = 256;
/// Longer tokens are not remembered (they still fail, at the cost of a verification).
pub const FORGED_MAX_TOKEN_BYTES: usize = 2048;

/// The per-VM caches of verification results: tokens that verified (with what the
/// gate keeps of them) and tokens whose signature failed, so a flood of one forged
/// token costs one verification per `FORGED_TTL_S` instead of one per request.
/// Both are keyed by the whole token: a different token can never hit either.
#[derive(Debug)]
pub struct VerifiedCache {
    accepted: TokenCache<Rc<Accepted>>,
    /// Failed token → until when (Unix seconds) it is answered from here.
    forged: TokenCache<u64>,
}

impl VerifiedCache {
    /// Room for `capacity` verified tokens (0 turns both caches off).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        VerifiedCache {
            accepted: TokenCache::new(capacity),
            forged: TokenCache::new(if capacity == 0 { 0 } else { FORGED_CAPACITY }),
        }
    }

    /// Forgets everything (the key set changed: results may differ now).
    pub fn clear(&mut self) {
        self.accepted.clear();
        self.forged.clear();
    }

    /// Number of verified tokens held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.accepted.len()
    }

    /// Whether no verified token is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }
}

/// Where a verification result came from, for the cache metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// The token had verified before.
    Hit,
    /// Verified (or failed) now.
    Miss,
    /// Its signature had failed within `FORGED_TTL_S`: refused without verifying.
    ForgedHit,
}

/// The per-VM state a decision reads: current keys and the verified-token cache.
#[derive(Debug)]
pub struct Env<'a> {
    /// Each provider's current keys.
    pub keys: &'a dyn KeySource,
    /// Verified tokens.
    pub cache: &'a RefCell<VerifiedCache>,
    /// Set by `evaluate`: where the last verification result came from (for metrics).
    pub cache_use: Cell<Option<CacheUse>>,
    /// The fetched revocation lists (`None`: none consulted).
    pub revocations: Option<&'a Revocations>,
}

impl<'a> Env<'a> {
    /// An environment over `keys` and `cache`.
    #[must_use]
    pub fn new(keys: &'a dyn KeySource, cache: &'a RefCell<VerifiedCache>) -> Self {
        Env {
            keys,
            cache,
            cache_use: Cell::new(None),
            revocations: None,
        }
    }

    /// The same environment, also checking tokens against `revocations`.
    #[must_use]
    pub fn with_revocations(mut self, revocations: &'a Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Whether provider `index` has revoked this verified token: `deny_subjects`, then
    /// the fetched list. Checked per request, after the cache, so a token revoked after
    /// it was cached is refused from the next list on.
    fn revoked(&self, index: usize, provider: &Provider, accepted: &Accepted) -> bool {
        let sub = accepted.subject.as_deref();
        provider.revocation.denies_subject(sub)
            || (provider.revocation.remote.is_some()
                && self
                    .revocations
                    .is_some_and(|r| r.revokes(index, accepted.jti.as_deref(), sub)))
    }
}

/// Decides `req` at `now` (Unix seconds).
#[must_use]
pub fn evaluate(config: &Config, env: &Env<'_>, req: &Request<'_>, now: u64) -> Verdict {
    // Room for every op one request can produce without growing: the strips, as many
    // claim headers (the stripped names include them all), the credential's removal.
    let mut ops = Vec::with_capacity(2 * config.stripped_headers.len() + 4);
    // Only headers the client actually sent need removing: one host call saved per
    // absent header on every request.
    ops.extend(
        config
            .stripped_headers
            .iter()
            .filter(|h| req.header(h).is_some())
            .map(|h| HeaderOp::Remove(h.as_str().into())),
    );
    if config.mode == Mode::Bypass {
        return Verdict {
            rule: None,
            outcome: Outcome::Forward {
                ops,
                would_deny: None,
                authenticated: None,
            },
        };
    }
    let (rule, result) = decide(config, env, req, now, &mut ops);
    let outcome = match (result, config.mode) {
        (Ok(authenticated), _) => Outcome::Forward {
            ops,
            would_deny: None,
            authenticated,
        },
        (Err(denial), Mode::Audit) => {
            ops.push(would_deny_header(&denial));
            Outcome::Forward {
                ops,
                would_deny: Some(denial),
                authenticated: None,
            }
        }
        (Err(denial), _) => Outcome::Deny { ops, denial },
    };
    Verdict { rule, outcome }
}

/// Matches the rule and runs its action; `Ok` names who verified, if a token did.
fn decide(
    config: &Config,
    env: &Env<'_>,
    req: &Request<'_>,
    now: u64,
    ops: &mut Vec<HeaderOp>,
) -> (Option<usize>, Result<Option<Authenticated>, Denial>) {
    let normalized = match path::normalize(req.path) {
        Ok(p) => p,
        Err(e) => return (None, Err(Denial::new(e))),
    };
    let lookup = |name: &str| req.header(name).map(str::to_string);
    let selected = config.rules.select(req.method, &normalized, &lookup);
    let rule = selected.index;
    let result = match selected.action {
        Action::Allow => Ok(None),
        Action::Deny => Err(Denial::new(AuthError::RouteDenied)),
        Action::Require(requirement) => authenticate(config, env, requirement, req, now, ops, true),
        Action::Optional(requirement) => {
            authenticate(config, env, requirement, req, now, ops, false)
        }
    };
    let result = result.map_err(|mut d| {
        d.redirect_to_login = selected.login_browser
            && config.login.is_some()
            && d.error.reply() == crate::error::Reply::Unauthorized
            && req.is_browser_navigation();
        d
    });
    (rule, result)
}

/// Tries the requirement's providers in order; the first that verifies a token wins.
fn authenticate(
    config: &Config,
    env: &Env<'_>,
    requirement: &Requirement,
    req: &Request<'_>,
    now: u64,
    ops: &mut Vec<HeaderOp>,
    required: bool,
) -> Result<Option<Authenticated>, Denial> {
    let parts = RequestParts {
        headers: req.headers,
        path: req.path,
    };
    let mut best: Option<Denial> = None;
    for (index, provider) in requirement
        .providers()
        .iter()
        .filter_map(|i| Some((*i, config.providers.get(*i)?)))
    {
        let failure = match present(provider, parts) {
            Ok(None) => continue,
            Ok(Some(presented)) => match verify_cached(env, index, provider, &presented, now) {
                Ok(accepted) if env.revoked(index, provider, &accepted) => {
                    return Err(Denial {
                        provider: Some(provider.name.clone()),
                        provider_index: Some(index),
                        ..Denial::new(AuthError::Revoked)
                    });
                }
                Ok(accepted) => {
                    return accept(provider, requirement, &accepted, &presented, req, now, ops)
                        .map(|state| {
                            Some(Authenticated {
                                provider: index,
                                subject: accepted.subject.clone(), // an `Rc`: no copy
                                state,
                            })
                        });
                }
                Err(failure) => failure,
            },
            Err(error) => Failure { error, kid: None },
        };
        let denial = Denial {
            provider: Some(provider.name.clone()),
            provider_index: Some(index),
            kid: failure.kid,
            ..Denial::new(failure.error)
        };
        if best
            .as_ref()
            .is_none_or(|b| rank(&denial.error) > rank(&b.error))
        {
            best = Some(denial);
        }
    }
    match best {
        Some(denial) => Err(denial),
        None if required => Err(Denial::new(AuthError::Missing)),
        None => Ok(None),
    }
}

/// The cache first (re-checking the time claims on a hit: `iss` and `aud` were
/// checked against this same provider when the entry was made), then the full
/// verification, whose success is cached.
fn verify_cached(
    env: &Env<'_>,
    index: usize,
    provider: &Provider,
    presented: &Presented<'_>,
    now: u64,
) -> Result<Rc<Accepted>, Failure> {
    let token = presented.value();
    let key = TokenKey::new(token);
    let hit = env.cache.borrow_mut().accepted.get(index, &key);
    if let Some(accepted) = hit {
        env.cache_use.set(Some(CacheUse::Hit));
        accepted.times.check(&provider.policy, now)?;
        return Ok(accepted);
    }
    let forged_until = env.cache.borrow_mut().forged.get(index, &key);
    if forged_until.is_some_and(|until| now < until) {
        env.cache_use.set(Some(CacheUse::ForgedHit));
        return Err(Failure::from(AuthError::BadSignature));
    }
    env.cache_use.set(Some(CacheUse::Miss));
    let verified = match (presented, &provider.credential) {
        (Presented::Token(found), Credential::Jws(_)) => {
            let key_set = env.keys.keys(index).ok_or(AuthError::KeysUnavailable)?;
            verify::verify(provider, &key_set, found.token, now).inspect_err(|failure| {
                if failure.error == AuthError::BadSignature && token.len() <= FORGED_MAX_TOKEN_BYTES
                {
                    let until = now.saturating_add(FORGED_TTL_S);
                    env.cache.borrow_mut().forged.insert(index, &key, until);
                }
            })?
        }
        (Presented::Session(cookie), Credential::AuthJs(authjs)) => {
            verify::verify_authjs(provider, authjs, cookie, now)?
        }
        _ => return Err(Failure::from(AuthError::Missing)),
    };
    let accepted = Rc::new(Accepted::new(provider, verified, token)?);
    env.cache
        .borrow_mut()
        .accepted
        .insert(index, &key, Rc::clone(&accepted));
    Ok(accepted)
}

/// A credential found in the request for one provider.
enum Presented<'a> {
    /// A JWS from one of the provider's sources (borrowed from the request).
    Token(Found<'a>),
    /// An Auth.js session cookie (reassembled from chunks).
    Session(SessionCookie),
}

impl Presented<'_> {
    /// The credential as a string (the cache key).
    fn value(&self) -> &str {
        match self {
            Presented::Token(found) => found.token,
            Presented::Session(cookie) => &cookie.value,
        }
    }
}

/// Looks for the provider's credential.
fn present<'a>(
    provider: &Provider,
    parts: RequestParts<'a>,
) -> Result<Option<Presented<'a>>, AuthError> {
    match &provider.credential {
        Credential::Jws(jws) => Ok(extract::extract(&jws.sources, parts)?.map(Presented::Token)),
        Credential::AuthJs(authjs) => Ok(authjs.find(parts.headers)?.map(Presented::Session)),
    }
}

/// With several providers, report the failure that says most: a wrong issuer may only
/// mean the token belongs to another provider, a bad signature means it is bad.
fn rank(e: &AuthError) -> u8 {
    match e {
        AuthError::Missing => 0,
        // Waiting for keys outranks everything: the glue may fetch them and retry.
        AuthError::KeysUnavailable => 3,
        AuthError::BadIssuer | AuthError::UnknownKid | AuthError::NoMatchingKey => 1,
        _ => 2,
    }
}

/// A verified token: check the route's claims and scopes, then produce the header
/// changes; returns the values to publish for other filters.
fn accept(
    provider: &Provider,
    requirement: &Requirement,
    accepted: &Accepted,
    presented: &Presented<'_>,
    req: &Request<'_>,
    now: u64,
    ops: &mut Vec<HeaderOp>,
) -> Result<Option<Published>, Denial> {
    let provider_denial = |error| Denial {
        provider: Some(provider.name.clone()),
        required_scopes: requirement.required_scopes().to_vec(),
        ..Denial::new(error)
    };
    requirement
        .check_age(&accepted.verified.claims, now)
        .map_err(provider_denial)?;
    requirement
        .check(&accepted.verified.claims)
        .map_err(provider_denial)?;
    let headers = accepted
        .headers
        .as_ref()
        .map_err(|e| provider_denial(e.clone()))?;
    let state = accepted
        .state
        .as_ref()
        .map_err(|e| provider_denial(e.clone()))?;
    if !provider.forward_token {
        remove_credential(provider, presented, req, ops);
    }
    // `Rc` clones: the values rendered when the token was verified, not copies.
    ops.extend(
        headers
            .iter()
            .map(|(n, v)| HeaderOp::Add(Rc::clone(n), Rc::clone(v))),
    );
    Ok(state.clone())
}

/// Rewrites the `Cookie` headers without the cookies `drop` names.
fn remove_cookies(req: &Request<'_>, ops: &mut Vec<HeaderOp>, drop: &dyn Fn(&str) -> bool) {
    let kept: Vec<String> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .filter_map(|(_, v)| cookie::without_matching(v, drop))
        .collect();
    ops.push(HeaderOp::Remove("cookie".into()));
    if !kept.is_empty() {
        ops.push(HeaderOp::Set("cookie".into(), kept.join("; ").into()));
    }
}

fn remove_credential(
    provider: &Provider,
    presented: &Presented<'_>,
    req: &Request<'_>,
    ops: &mut Vec<HeaderOp>,
) {
    let (jws, found) = match (&provider.credential, presented) {
        (Credential::AuthJs(authjs), _) => {
            return remove_cookies(req, ops, &|name| authjs.is_session_cookie(name))
        }
        (Credential::Jws(jws), Presented::Token(found)) => (jws, found),
        (Credential::Jws(_), Presented::Session(_)) => return,
    };
    // Copied only when a query parameter carried the token.
    let mut path = Cow::Borrowed(req.path);
    for source in found.sources.iter().filter_map(|i| jws.sources.get(i)) {
        match source {
            Source::Header { name, .. } => ops.push(HeaderOp::Remove(Rc::clone(name))),
            Source::Cookie(name) => remove_cookies(req, ops, &|n| n == name),
            Source::Query(name) => {
                path = Cow::Owned(extract::path_without_query_param(&path, name));
            }
        }
    }
    if path != req.path {
        ops.push(HeaderOp::Set(":path".into(), path.into()));
    }
}
