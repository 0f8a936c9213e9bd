//! GLUE: the proxy-wasm `HttpContext`. Reads the request, asks `gate` for a verdict
//! and applies it: header changes, a local reply, or a pause while a callout (a
//! provider's keys, a user check) is under way; [`resume`] finishes paused requests.

use std::rc::Rc;

use log::{debug, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::abi;
use crate::config::Mode;
use crate::error::AuthError;
use crate::gate::{self, Authenticated, CacheUse, Denial, Env, HeaderOp, Outcome, Request};
use crate::header_map;
use crate::metrics::{self, Counter, Decision};
use crate::response;
use crate::root::{clock_ms, now_ms, Shared, WaitFor, Waiter};
use crate::usercheck::{self, OnError, UserStatus};

/// Longest `kid` echoed in a log line: it is attacker-controlled.
const MAX_LOGGED_KID: usize = 64;

/// One HTTP stream.
#[derive(Debug)]
pub struct Filter {
    context_id: u32,
    shared: Rc<Shared>,
}

impl Filter {
    /// A filter for stream `context_id`.
    #[must_use]
    pub fn new(context_id: u32, shared: Rc<Shared>) -> Self {
        Filter { context_id, shared }
    }
}

/// The stream of a plugin whose configuration was refused. Envoy never creates one (a
/// refused configuration fails the plugin), but the SDK panics, killing the VM, when
/// `create_http_context` returns nothing; a host that asks anyway gets a filter that
/// fails closed: 503 to every request.
#[derive(Debug)]
pub struct Unconfigured;

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        reply_unavailable("jwt-gate is not configured");
        Action::Pause
    }
}

/// A 503 for a failure of the host or the plugin itself, not of the request (no
/// configuration, no clock): the RFC 6750 `temporarily_unavailable` code and a fixed
/// message.
fn reply_unavailable(message: &'static str) {
    let body = format!(r#"{{"error":"temporarily_unavailable","message":"{message}"}}"#);
    let _ = abi::send_response(
        503,
        &[
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            ("retry-after", "5"),
        ],
        body.as_bytes(),
    );
}

/// What became of a request.
enum Step {
    Forwarded,
    Replied,
    Waiting,
}

impl Context for Filter {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if self
            .shared
            .on_fetch_response(token_id, num_headers, body_size)
        {
            return;
        }
        let Some((provider, subject, _)) = self.shared.user_calls.borrow_mut().remove(&token_id)
        else {
            return;
        };
        let status = (num_headers > 0)
            .then(|| abi::header_pairs(abi::Map::CalloutResponseHeaders))
            .and_then(|headers| headers.into_iter().find(|(n, _)| n == ":status"))
            .and_then(|(_, v)| v.parse().ok());
        let answer = usercheck::classify(status);
        let label = match answer {
            UserStatus::Active => "active",
            UserStatus::Gone => "not_found",
            UserStatus::Unknown => "error",
        };
        self.shared
            .metrics
            .increment(&format!("jwt_gate.user_checks.{label}"));
        if let Some(p) = self.shared.config.providers.get(provider) {
            if let Some(check) = &p.user_check {
                if let Some(value) = check.cache_value(answer, &subject, now_ms() / 1000) {
                    let key = check.cache_key(&p.name, &subject);
                    // A refused write only loses a cache entry.
                    let _ = abi::shared_data_set(&key, value.as_bytes());
                }
            }
        }
        self.shared
            .wake(WaitFor::User(token_id), Resume::UserAnswer(answer));
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match process(&self.shared, self.context_id, Waits::ALL, None) {
            Step::Forwarded => Action::Continue,
            Step::Replied | Step::Waiting => Action::Pause,
        }
    }
}

/// Why a paused request is being run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// The key fetch it waited for finished (it may still wait for a user check).
    KeysArrived,
    /// The user check it waited for answered.
    UserAnswer(UserStatus),
    /// Its wait ended without an answer: decide now.
    Expired,
}

/// Finishes a paused request from another context.
pub fn resume(shared: &Shared, context_id: u32, why: Resume) {
    if abi::set_effective_context(context_id).is_err() {
        return; // the stream is gone
    }
    let (waits, user) = match why {
        Resume::KeysArrived => (
            Waits {
                keys: false,
                user: true,
            },
            None,
        ),
        Resume::UserAnswer(answer) => (Waits::NONE, Some(answer)),
        Resume::Expired => (Waits::NONE, None),
    };
    if let Step::Forwarded = process(shared, context_id, waits, user) {
        let _ = abi::resume_request();
    }
}

/// Which callouts a request may still pause for.
#[derive(Debug, Clone, Copy)]
struct Waits {
    keys: bool,
    user: bool,
}

impl Waits {
    const ALL: Waits = Waits {
        keys: true,
        user: true,
    };
    const NONE: Waits = Waits {
        keys: false,
        user: false,
    };
}

/// Decides and applies. `waits`: the callouts the request may still pause for;
/// `user`: a user-check answer already received.
fn process(shared: &Shared, context_id: u32, waits: Waits, user: Option<UserStatus>) -> Step {
    // The decoded headers borrow from `wire`: no copy of any valid UTF-8 name or value.
    let wire = abi::header_map_bytes(abi::Map::RequestHeaders).unwrap_or_default();
    let headers = header_map::decode(&wire);
    let request = Request::from_headers(&headers);
    // Without a clock no `exp` can be checked: refuse rather than guess (0 would make
    // every expired token look fresh).
    let Some(now_ms) = clock_ms() else {
        reply_unavailable("clock unavailable");
        info!("#{context_id} jwt-gate deny: reason=clock_unavailable");
        return Step::Replied;
    };
    let config = &shared.config;
    let verdict = {
        let keys = shared.keys.borrow();
        let revocations = shared.revocations.borrow();
        let env = Env::new(&*keys, &shared.cache).with_revocations(&revocations);
        let verdict = gate::evaluate(config, &env, &request, now_ms / 1000);
        match env.cache_use.get() {
            Some(CacheUse::Hit) => shared.metrics.count_fixed(Counter::CacheHit),
            Some(CacheUse::Miss) => shared.metrics.count_fixed(Counter::CacheMiss),
            Some(CacheUse::ForgedHit) => shared.metrics.count_fixed(Counter::CacheForgedHit),
            None => {}
        }
        verdict
    };
    // `jwt-gate-check` reads this line to explain which rule matched.
    match verdict
        .rule
        .and_then(|i| config.rules.rules().get(i).map(|r| (i, r)))
    {
        Some((i, rule)) => debug!("#{context_id} jwt-gate rule={i} match={}", rule.matcher),
        None => debug!("#{context_id} jwt-gate rule=default"),
    }
    let (ops, would_deny) = match verdict.outcome {
        Outcome::Deny { ops, denial } => {
            if waits.keys && wait_for_keys(shared, context_id, &denial, now_ms) {
                return Step::Waiting;
            }
            return deny(
                shared,
                context_id,
                now_ms,
                &ops,
                &denial,
                verdict.rule,
                request.path,
            );
        }
        Outcome::Forward {
            ops,
            would_deny,
            authenticated: None,
        } => (ops, would_deny),
        Outcome::Forward {
            ops,
            would_deny,
            authenticated: Some(who),
        } => match check_user(shared, context_id, &who, waits.user, user, now_ms) {
            UserGate::Pass => {
                if let Some(state) = &who.state {
                    publish(state);
                }
                (ops, would_deny)
            }
            UserGate::Wait => return Step::Waiting,
            UserGate::Deny(denial) if config.mode == Mode::Audit => {
                let mut ops = ops;
                ops.push(gate::would_deny_header(&denial));
                (ops, Some(denial))
            }
            UserGate::Deny(denial) => {
                return deny(
                    shared,
                    context_id,
                    now_ms,
                    &ops,
                    &denial,
                    verdict.rule,
                    request.path,
                )
            }
        },
    };
    apply(&ops);
    let decision = match would_deny {
        Some(denial) => {
            log_denial(shared, context_id, "would deny", &denial, verdict.rule);
            Decision::WouldDeny
        }
        None if config.mode == Mode::Bypass => Decision::Bypass,
        None => Decision::Allow,
    };
    shared.metrics.count_fixed(Counter::Decision(decision));
    shared.metrics.flush_if_due(now_ms);
    Step::Forwarded
}

#[allow(clippy::too_many_arguments)]
fn deny(
    shared: &Shared,
    context_id: u32,
    now_ms: u64,
    ops: &[HeaderOp],
    denial: &Denial,
    rule: Option<usize>,
    path: &str,
) -> Step {
    apply(ops);
    log_denial(shared, context_id, "deny", denial, rule);
    shared
        .metrics
        .count_fixed(Counter::Decision(Decision::Deny));
    shared.metrics.flush_if_due(now_ms);
    // Keys unavailable: tell the client when the next fetch is due (it backs off).
    let retry_after_s = match (&denial.error, denial.provider_index) {
        (AuthError::KeysUnavailable, Some(provider)) => {
            Some(shared.keys.borrow().retry_in(provider, now_ms / 1000))
        }
        _ => None,
    };
    let reply = response::build_retrying(&shared.config, denial, path, retry_after_s);
    let reply_headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let _ = abi::send_response(reply.status, &reply_headers, reply.body.as_bytes());
    Step::Replied
}

/// What the user check says about a verified token.
enum UserGate {
    Pass,
    Wait,
    Deny(Denial),
}

/// Runs the provider's user check: shared-data cache first, else one callout per
/// subject (concurrent requests for the same subject wait on the same call).
fn check_user(
    shared: &Shared,
    context_id: u32,
    who: &Authenticated,
    may_wait: bool,
    answer: Option<UserStatus>,
    now_ms: u64,
) -> UserGate {
    let Some(provider) = shared.config.providers.get(who.provider) else {
        return UserGate::Pass;
    };
    let Some(check) = provider.user_check.as_ref() else {
        return UserGate::Pass;
    };
    let denial = |error| Denial {
        provider: Some(provider.name.clone()),
        provider_index: Some(who.provider),
        ..Denial::from(error)
    };
    let Some(subject) = who.subject.as_deref() else {
        return UserGate::Deny(denial(AuthError::UserNotFound));
    };
    let key = check.cache_key(&provider.name, subject);
    // Any host error reads as a cache miss.
    let cached = || usercheck::cached(&abi::shared_data_get(&key)?, subject, now_ms / 1000);
    // A fresh answer (from the callout this request waited on) is not a cache lookup.
    let from_cache = if answer.is_none() { cached() } else { None };
    if answer.is_none() {
        let label = if from_cache.is_some() {
            "jwt_gate.user_checks.cache_hit"
        } else {
            "jwt_gate.user_checks.cache_miss"
        };
        shared.metrics.count(label);
    }
    let status = match answer.or(from_cache) {
        Some(status) => status,
        None if may_wait => {
            return start_user_call(shared, context_id, who.provider, subject, check, now_ms)
        }
        None => UserStatus::Unknown,
    };
    match (status, check.on_error) {
        (UserStatus::Active, _) | (UserStatus::Unknown, OnError::Allow) => UserGate::Pass,
        (UserStatus::Gone, _) => UserGate::Deny(denial(AuthError::UserNotFound)),
        (UserStatus::Unknown, OnError::Deny) => {
            UserGate::Deny(denial(AuthError::UserCheckUnavailable))
        }
    }
}

fn start_user_call(
    shared: &Shared,
    context_id: u32,
    provider: usize,
    subject: &str,
    check: &usercheck::UserCheck,
    now_ms: u64,
) -> UserGate {
    let existing = shared
        .user_calls
        .borrow()
        .iter()
        .find(|(_, (p, s, _))| *p == provider && s == subject)
        .map(|(t, _)| *t);
    // The wait is bounded by the root's tick even if the calling stream dies.
    let deadline_ms = now_ms.saturating_add(check.timeout_ms).saturating_add(1000);
    let token = match existing {
        Some(token) => token,
        None => {
            let path = check.path_for(subject);
            let headers = [
                (":method", "GET"),
                (":path", path.as_str()),
                (":authority", check.authority.as_str()),
            ];
            let timeout = std::time::Duration::from_millis(check.timeout_ms);
            // Through the SDK: its dispatcher must register the token to route the
            // answer back (it panics on a status other than Ok/BadArgument/InternalFailure).
            match hostcalls::dispatch_http_call(
                &check.cluster,
                headers.to_vec(),
                None,
                vec![],
                timeout,
            ) {
                Ok(token) => {
                    shared
                        .user_calls
                        .borrow_mut()
                        .insert(token, (provider, subject.to_string(), deadline_ms));
                    token
                }
                // Could not even ask: decide as for an unusable answer.
                Err(_) => {
                    shared.metrics.increment("jwt_gate.user_checks.error");
                    return match check.on_error {
                        OnError::Allow => UserGate::Pass,
                        OnError::Deny => {
                            UserGate::Deny(Denial::from(AuthError::UserCheckUnavailable))
                        }
                    };
                }
            }
        }
    };
    shared.waiters.borrow_mut().push(Waiter {
        context_id,
        wait_for: WaitFor::User(token),
        deadline_ms,
    });
    UserGate::Wait
}

/// Keys never loaded, or an unknown `kid` that a (rate-limited) re-fetch may bring:
/// pause the request behind the fetch instead of failing it.
fn wait_for_keys(shared: &Shared, context_id: u32, denial: &Denial, now_ms: u64) -> bool {
    let Some(provider) = denial.provider_index else {
        return false;
    };
    let Some(remote) = shared
        .config
        .providers
        .get(provider)
        .and_then(|p| p.remote())
    else {
        return false;
    };
    let fetch = match denial.error {
        // Not while backing off after failed fetches: then 503 at once.
        AuthError::KeysUnavailable => shared.keys.borrow().fetch_allowed(provider, now_ms / 1000),
        AuthError::UnknownKid => {
            let allowed =
                shared
                    .keys
                    .borrow_mut()
                    .kid_miss(&shared.config, provider, now_ms / 1000);
            allowed || shared.keys.borrow().in_flight(provider)
        }
        _ => false,
    };
    if !fetch || !shared.start_fetch(provider) {
        return false;
    }
    let timeout_ms = u64::try_from(remote.wait_timeout().as_millis()).unwrap_or(u64::MAX);
    shared.waiters.borrow_mut().push(Waiter {
        context_id,
        wait_for: WaitFor::Keys(provider),
        deadline_ms: now_ms.saturating_add(timeout_ms),
    });
    true
}

/// Publishes a verified token's values for other filters: Envoy stores property
/// `jwt_gate.<name>` as filter state `wasm.jwt_gate.<name>` (RBAC, access logs, Lua).
/// A refused write only loses that value.
fn publish(state: &[(String, String)]) {
    for (name, value) in state {
        let _ = abi::set_property(name, value.as_bytes());
    }
}

fn apply(ops: &[HeaderOp]) {
    gate::apply_ops(ops, &mut |op| {
        match op {
            HeaderOp::Remove(name) => abi::remove_request_header(name),
            HeaderOp::Set(name, value) => abi::set_request_header(name, value),
            HeaderOp::Add(name, value) => abi::add_request_header(name, value),
        }
        .is_ok()
    });
}

fn log_denial(shared: &Shared, context_id: u32, verb: &str, denial: &Denial, rule: Option<usize>) {
    let kid: String = denial
        .kid
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(MAX_LOGGED_KID)
        .collect();
    info!(
        "#{context_id} jwt-gate {verb}: reason={} provider={} kid={kid:?} rule={}",
        denial.error.label(),
        denial.provider.as_deref().unwrap_or("-"),
        rule.map_or_else(|| "default".to_string(), |r| r.to_string()),
    );
    shared
        .metrics
        .count(&metrics::failure_metric(&denial.error));
}
