//! `jwt-gate-check`: one request through the real filter, offline.
//!
//! Callouts cannot reach anything here, so every HTTP call the filter
//! dispatches (e.g. a remote JWKS fetch) is failed the way Envoy reports an
//! unreachable cluster; the report then shows what the filter does without
//! its identity provider.

pub mod args;
pub mod lint;

use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{artifact, Action, Host, LogLevel};
use args::Args;

/// Callout rounds to fail before giving up on a filter that keeps
/// dispatching (each failure may trigger a retry).
const MAX_CALLOUT_ROUNDS: usize = 16;

/// The one JSON object `jwt-gate-check` prints.
#[derive(Debug, Serialize)]
pub struct Report {
    pub config_ok: bool,
    pub config_error: Option<String>,
    /// `"continue"` or `"respond"`.
    pub action: &'static str,
    pub status: Option<u32>,
    pub request_headers: Map<String, Value>,
    pub response_headers: Map<String, Value>,
    pub body: Option<String>,
    /// Index of the rule that matched; `None` for the default action (or
    /// when the filter did not say, e.g. a path refused before matching).
    pub rule: Option<usize>,
    /// The matched rule's `match`, as the filter displays it
    /// (`prefix "/api/" methods [POST]`).
    pub rule_match: Option<String>,
    pub logs: Vec<String>,
}

impl Report {
    /// 0 = forwarded, 1 = local reply, 2 = configuration rejected.
    pub fn exit_code(&self) -> i32 {
        match (self.config_ok, self.action) {
            (false, _) => 2,
            (true, "continue") => 0,
            (true, _) => 1,
        }
    }
}

/// Runs the check. Errors are problems running it at all (unreadable
/// config file, missing or invalid artifact), not filter decisions.
pub fn run(args: &Args) -> anyhow::Result<Report> {
    let config = std::fs::read(&args.config)
        .with_context(|| format!("cannot read config {}", args.config.display()))?;
    let wasm = match &args.wasm {
        Some(path) => path.clone(),
        None => artifact::release_wasm()?,
    };
    // Debug lines on: the filter explains its rule choice at debug level.
    let mut host = Host::new(&wasm)?
        .with_plugin_config(config)
        .with_log_level(LogLevel::Trace);
    for (name, value) in &args.env {
        host = host.with_env(name, value);
    }
    if let Some(secs) = args.now {
        host = host.with_now(UNIX_EPOCH + Duration::from_secs(secs));
    }

    let config_ok = host.start_plugin();
    if !config_ok {
        return Ok(rejected(&host));
    }
    fail_callouts(&mut host);

    let id = host.init_http_context();
    let action = host.call_on_request_headers(id, &request(args), true);
    fail_callouts(&mut host);

    let mut report = Report {
        config_ok,
        config_error: None,
        action: "continue",
        status: None,
        request_headers: Map::new(),
        response_headers: Map::new(),
        body: None,
        rule: None,
        rule_match: None,
        logs: Vec::new(),
    };
    if let Some(reply) = host.local_response(id) {
        report.action = "respond";
        report.status = Some(reply.status);
        report.response_headers = object(&reply.headers);
        report.body = Some(reply.body_text());
    } else if action == Action::Continue || host.resumed(id) {
        report.request_headers = object(&host.request_headers(id));
    } else {
        // Paused with neither a reply nor a resume: Envoy would hold the
        // request until its timeout. Nothing goes upstream.
        report.action = "respond";
    }
    host.complete_http_context(id);
    (report.rule, report.rule_match) = matched_rule(&host, id);
    report.logs = log_lines(&host);
    Ok(report)
}

fn rejected(host: &Host) -> Report {
    let mut errors = host.logs_at(LogLevel::Error);
    errors.extend(host.logs_at(LogLevel::Critical));
    if let Some(trap) = host.trap() {
        errors.push(trap.to_string());
    }
    Report {
        config_ok: false,
        config_error: (!errors.is_empty()).then(|| errors.join("\n")),
        action: "respond",
        status: None,
        request_headers: Map::new(),
        response_headers: Map::new(),
        body: None,
        rule: None,
        rule_match: None,
        logs: log_lines(host),
    }
}

/// The rule the filter chose for stream `id`, from its debug line
/// `#<id> jwt-gate rule=<n> match=<matcher>` (or `rule=default`). The last
/// such line wins: a paused request is decided again when it resumes.
fn matched_rule(host: &Host, id: u32) -> (Option<usize>, Option<String>) {
    let prefix = format!("#{id} jwt-gate rule=");
    let Some(rest) = host
        .logs()
        .iter()
        .rev()
        .filter(|e| e.level == LogLevel::Debug)
        .find_map(|e| e.message.strip_prefix(&prefix))
    else {
        return (None, None);
    };
    parse_rule(rest)
}

/// `3 match=prefix "/api/"` → (3, `prefix "/api/"`); `default` → none.
fn parse_rule(rest: &str) -> (Option<usize>, Option<String>) {
    let (index, matcher) = match rest.split_once(" match=") {
        Some((index, matcher)) => (index, Some(matcher.to_string())),
        None => (rest, None),
    };
    match index.trim().parse() {
        Ok(index) => (Some(index), matcher),
        Err(_) => (None, None),
    }
}

/// The request as Envoy would hand it to the filter: pseudo-headers first,
/// `--header` values override the defaults, `--token` adds a bearer.
fn request(args: &Args) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = vec![
        (":method".into(), args.method.clone()),
        (":path".into(), args.path.clone()),
        (":authority".into(), "localhost".into()),
        (":scheme".into(), "http".into()),
    ];
    for (name, value) in &args.headers {
        match headers
            .iter_mut()
            .find(|(n, _)| n.starts_with(':') && n == name)
        {
            Some(slot) => slot.1 = value.clone(),
            None => headers.push((name.clone(), value.clone())),
        }
    }
    if let Some(token) = &args.token {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    headers
}

fn fail_callouts(host: &mut Host) {
    for _ in 0..MAX_CALLOUT_ROUNDS {
        let pending = host.pending_http_calls();
        if pending.is_empty() {
            return;
        }
        for call in pending {
            let _ = host.fail_http_call(call.token);
        }
    }
}

/// Repeated headers are joined with `,` (HTTP list semantics).
fn object(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in pairs {
        match map.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                map.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    map
}

/// Guest log lines as `[level] message`, plus the host's own note if the
/// VM trapped.
fn log_lines(host: &Host) -> Vec<String> {
    let mut lines: Vec<String> = host
        .logs()
        .iter()
        .map(|e| format!("[{}] {}", e.level.as_str(), e.message))
        .collect();
    if let Some(trap) = host.trap() {
        lines.push(format!("[critical] host: {trap}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::parse_rule;

    #[test]
    fn rule_line_is_parsed_into_index_and_match() {
        assert_eq!(
            parse_rule("3 match=prefix \"/api/\" methods [POST]"),
            (Some(3), Some("prefix \"/api/\" methods [POST]".to_string()))
        );
        assert_eq!(parse_rule("default"), (None, None));
        assert_eq!(parse_rule("x match=y"), (None, None));
    }
}
