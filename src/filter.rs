//! GLUE: the proxy-wasm `HttpContext`. Reads the request headers, asks `gate` for a
//! verdict, and applies it (header changes, or a local reply). Nothing else.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use log::{debug, info};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::config::Config;
use crate::gate::{self, Denial, HeaderOp, Outcome, Request};
use crate::metrics::{self, Decision};
use crate::response;
use crate::root::Metrics;

/// Longest `kid` echoed in a log line: it is attacker-controlled.
const MAX_LOGGED_KID: usize = 64;

/// One HTTP stream.
#[derive(Debug)]
pub struct Filter {
    context_id: u32,
    config: Rc<Config>,
    metrics: Rc<Metrics>,
}

impl Filter {
    /// A filter for stream `context_id`.
    #[must_use]
    pub fn new(context_id: u32, config: Rc<Config>, metrics: Rc<Metrics>) -> Self {
        Filter { context_id, config, metrics }
    }

    fn apply(&self, ops: &[HeaderOp]) {
        for op in ops {
            match op {
                HeaderOp::Remove(name) => self.set_http_request_header(name, None),
                HeaderOp::Set(name, value) => self.set_http_request_header(name, Some(value)),
            }
        }
    }

    fn log_denial(&self, verb: &str, denial: &Denial, rule: Option<usize>) {
        let kid: Option<String> = denial.kid.as_ref().map(|k| k.chars().take(MAX_LOGGED_KID).collect());
        info!(
            "#{} jwt-gate {verb}: reason={} provider={} kid={:?} rule={}",
            self.context_id,
            denial.error.label(),
            denial.provider.as_deref().unwrap_or("-"),
            kid.as_deref().unwrap_or(""),
            rule.map_or_else(|| "default".to_string(), |r| r.to_string()),
        );
        self.metrics.increment(&metrics::failure_metric(&denial.error));
    }
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes, not the SDK's String variant: that one panics on a non-UTF-8 header value.
        let headers: Vec<(String, String)> = self
            .get_http_request_headers_bytes()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let pseudo = |name: &str| headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
        let request = Request { method: pseudo(":method"), path: pseudo(":path"), headers: &headers };
        let now = self.get_current_time().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let verdict = gate::evaluate(&self.config, &request, now);
        // `jwt-gate-check` reads this line to explain which rule matched.
        match verdict.rule.and_then(|i| self.config.rules.rules().get(i).map(|r| (i, r))) {
            Some((i, rule)) => debug!("#{} jwt-gate rule={i} match={}", self.context_id, rule.matcher),
            None => debug!("#{} jwt-gate rule=default", self.context_id),
        }
        match verdict.outcome {
            Outcome::Forward { ops, would_deny, provider: _ } => {
                self.apply(&ops);
                let decision = match &would_deny {
                    Some(denial) => {
                        self.log_denial("would deny", denial, verdict.rule);
                        Decision::WouldDeny
                    }
                    None if self.config.mode == crate::config::Mode::Bypass => Decision::Bypass,
                    None => Decision::Allow,
                };
                self.metrics.increment(decision.metric());
                Action::Continue
            }
            Outcome::Deny { ops, denial } => {
                self.apply(&ops);
                self.log_denial("deny", &denial, verdict.rule);
                self.metrics.increment(Decision::Deny.metric());
                let reply = response::build(&self.config, &denial, request.path);
                let reply_headers: Vec<(&str, &str)> =
                    reply.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                self.send_http_response(reply.status, reply_headers, Some(reply.body.as_bytes()));
                Action::Pause
            }
        }
    }
}
