//! GLUE: the proxy-wasm `HttpContext`. Reads the request, asks `gate` for a verdict
//! and applies it: header changes, a local reply, or a pause while a provider's keys
//! are fetched (the root resumes the stream through [`resume`]).

use std::rc::Rc;

use log::{debug, info};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};

use crate::config::Mode;
use crate::error::AuthError;
use crate::gate::{self, Denial, HeaderOp, Outcome, Request};
use crate::metrics::{self, Decision};
use crate::response;
use crate::root::{now_ms, Shared, Waiter};

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
        self.shared
            .on_fetch_response(token_id, num_headers, body_size);
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match process(&self.shared, self.context_id, true) {
            Step::Forwarded => Action::Continue,
            Step::Replied | Step::Waiting => Action::Pause,
        }
    }
}

/// Re-runs a paused request from another context (keys arrived, or its wait ended).
pub fn resume(shared: &Shared, context_id: u32) {
    if hostcalls::set_effective_context(context_id).is_err() {
        return; // the stream is gone
    }
    if let Step::Forwarded = process(shared, context_id, false) {
        let _ = hostcalls::resume_http_request();
    }
}

/// Decides and applies. `may_wait`: a request whose keys are missing may pause for a fetch.
fn process(shared: &Shared, context_id: u32, may_wait: bool) -> Step {
    // Bytes, not the SDK's String variant: that one panics on a non-UTF-8 header value.
    let headers: Vec<(String, String)> = hostcalls::get_map_bytes(MapType::HttpRequestHeaders)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let pseudo = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let request = Request {
        method: pseudo(":method"),
        path: pseudo(":path"),
        headers: &headers,
    };
    let now_ms = now_ms();
    let config = &shared.config;
    let verdict = gate::evaluate(config, &*shared.keys.borrow(), &request, now_ms / 1000);
    // `jwt-gate-check` reads this line to explain which rule matched.
    match verdict
        .rule
        .and_then(|i| config.rules.rules().get(i).map(|r| (i, r)))
    {
        Some((i, rule)) => debug!("#{context_id} jwt-gate rule={i} match={}", rule.matcher),
        None => debug!("#{context_id} jwt-gate rule=default"),
    }
    match verdict.outcome {
        Outcome::Forward {
            ops,
            would_deny,
            provider: _,
        } => {
            apply(&ops);
            let decision = match &would_deny {
                Some(denial) => {
                    log_denial(shared, context_id, "would deny", denial, verdict.rule);
                    Decision::WouldDeny
                }
                None if config.mode == Mode::Bypass => Decision::Bypass,
                None => Decision::Allow,
            };
            shared.metrics.increment(decision.metric());
            Step::Forwarded
        }
        Outcome::Deny { ops, denial } => {
            if may_wait && wait_for_keys(shared, context_id, &denial, now_ms) {
                return Step::Waiting;
            }
            apply(&ops);
            log_denial(shared, context_id, "deny", &denial, verdict.rule);
            shared.metrics.increment(Decision::Deny.metric());
            let reply = response::build(config, &denial, request.path);
            let reply_headers: Vec<(&str, &str)> = reply
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let _ = hostcalls::send_http_response(
                reply.status,
                reply_headers,
                Some(reply.body.as_bytes()),
            );
            Step::Replied
        }
    }
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
        .and_then(|p| p.remote.as_ref())
    else {
        return false;
    };
    let fetch = match denial.error {
        AuthError::KeysUnavailable => true,
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
    let timeout_ms = u64::try_from(remote.timeout.as_millis()).unwrap_or(u64::MAX);
    shared.waiters.borrow_mut().push(Waiter {
        context_id,
        provider,
        deadline_ms: now_ms.saturating_add(timeout_ms),
    });
    true
}

fn apply(ops: &[HeaderOp]) {
    for op in ops {
        let _ = match op {
            HeaderOp::Remove(name) => {
                hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None)
            }
            HeaderOp::Set(name, value) => {
                hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
            }
        };
    }
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
        .increment(&metrics::failure_metric(&denial.error));
}
