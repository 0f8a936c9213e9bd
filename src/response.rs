//! Local replies: 400/401/403/503 (or the configured status) with an RFC 6750
//! challenge and a small JSON or RFC 9457 problem body, and the 302 to the login page
//! for browser navigations.

use serde_json::json;

use crate::config::{BodyFormat, Config, DEFAULT_REALM};
use crate::error::{AuthError, Reply};
use crate::gate::Denial;

/// Seconds a client is told to wait on a 503 when the glue knows no better.
const RETRY_AFTER_S: u64 = 5;
/// Bounds of a `Retry-After` taken from the fetch schedule: at least a second (the next
/// attempt may be due now), at most an hour (a client should not give up for longer).
const RETRY_AFTER_RANGE_S: (u64, u64) = (1, 3600);

/// How local replies look, compiled from the top-level configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// `realm` of the challenge; printable ASCII without quotes or backslashes.
    pub realm: String,
    /// The body template of every local reply (`{status}`, `{error}`, `{reason}`,
    /// `{message}` replaced).
    pub deny_body: Option<String>,
    /// Content type of `deny_body` (default `text/plain; charset=utf-8`).
    pub deny_content_type: Option<String>,
    /// `json` or `problem+json` (when there is no `deny_body`).
    pub body_format: BodyFormat,
    /// Failure label → status sent instead of the reason's default (4xx/5xx only).
    pub status_overrides: Vec<(&'static str, u32)>,
    /// RFC 9728 protected resource metadata URL, added to every challenge.
    pub resource_metadata: Option<String>,
    /// Tell clients only the RFC 6750 error code, never the reason.
    pub strip_failure_details: bool,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            realm: DEFAULT_REALM.to_string(),
            deny_body: None,
            deny_content_type: None,
            body_format: BodyFormat::Json,
            status_overrides: Vec::new(),
            resource_metadata: None,
            strip_failure_details: false,
        }
    }
}

impl Answers {
    /// The status sent for `error`: the configured override, else the reason's default.
    #[must_use]
    pub fn status(&self, error: &AuthError) -> u32 {
        let label = error.label();
        self.status_overrides
            .iter()
            .find(|(l, _)| *l == label)
            .map_or_else(|| error.reply().status(), |(_, status)| *status)
    }
}

/// A reply the filter sends instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u32,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
}

/// Builds the reply for `denial`. `original_path` is the `:path` as received (for the return URL).
#[must_use]
pub fn build(config: &Config, denial: &Denial, original_path: &str) -> LocalReply {
    build_retrying(config, denial, original_path, None)
}

/// [`build`], with the 503's `Retry-After` set to `retry_after_s` when the glue knows
/// when the failing dependency is next tried (the key set's next fetch, which backs off
/// after failures), clamped to 1 s – 1 h; without it, 5 s.
pub fn build_retrying(
    config: &Config,
    denial: &Denial,
    original_path: &str,
    retry_after_s: Option<u64>,
) -> LocalReply {
    if denial.redirect_to_login {
        if let Some(login) = &config.login {
            let sep = if login.url.contains('?') { '&' } else { '?' };
            let location = format!(
                "{}{sep}{}={}",
                login.url,
                login.return_param,
                percent_encode(original_path)
            );
            return LocalReply {
                status: 302,
                headers: vec![
                    ("location".into(), location),
                    ("cache-control".into(), "no-store".into()),
                ],
                body: String::new(),
            };
        }
    }
    let answers = &config.answers;
    let error = &denial.error;
    let reply = error.reply();
    let status = answers.status(error);
    let code = rfc6750_code(error);
    let mut headers = Vec::with_capacity(4);
    if matches!(
        reply,
        Reply::Unauthorized | Reply::Forbidden | Reply::BadRequest
    ) && *error != AuthError::RouteDenied
    {
        headers.push(("www-authenticate".into(), challenge(answers, denial, code)));
    }
    if reply == Reply::Unavailable {
        let (low, high) = RETRY_AFTER_RANGE_S;
        let seconds = retry_after_s.map_or(RETRY_AFTER_S, |s| s.clamp(low, high));
        headers.push(("retry-after".into(), seconds.to_string()));
    }
    let (content_type, body) = body(answers, error, code.unwrap_or(default_error(reply)), status);
    headers.push(("content-type".into(), content_type));
    headers.push(("cache-control".into(), "no-store".into()));
    LocalReply {
        status,
        headers,
        body,
    }
}

/// `Bearer realm="…"` with the RFC 6750 `error`, `error_description` and `scope`
/// (the last two not when details are stripped) and the RFC 9728 `resource_metadata`.
fn challenge(answers: &Answers, denial: &Denial, code: Option<&str>) -> String {
    let error = &denial.error;
    let mut challenge = format!("Bearer realm=\"{}\"", answers.realm);
    if let Some(code) = code {
        challenge.push_str(&format!(", error=\"{code}\""));
        if !answers.strip_failure_details {
            challenge.push_str(&format!(", error_description=\"{}\"", error.description()));
        }
    }
    if *error == AuthError::InsufficientScope
        && !denial.required_scopes.is_empty()
        && !answers.strip_failure_details
    {
        challenge.push_str(&format!(", scope=\"{}\"", denial.required_scopes.join(" ")));
    }
    if let Some(url) = &answers.resource_metadata {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    challenge
}

/// Content type and body: the `deny_body` template, else JSON or an RFC 9457 problem.
/// With `strip_failure_details` the reason gives way to the status's reason phrase.
fn body(answers: &Answers, error: &AuthError, code: &str, status: u32) -> (String, String) {
    let detail = (!answers.strip_failure_details).then(|| error.description());
    if let Some(template) = &answers.deny_body {
        let kind = answers
            .deny_content_type
            .clone()
            .unwrap_or_else(|| "text/plain; charset=utf-8".to_string());
        // Every value is ours and free of quotes, backslashes and control characters
        // (error::tests), so a JSON template stays valid JSON.
        let reason = if answers.strip_failure_details {
            ""
        } else {
            error.label()
        };
        let body = template
            .replace("{status}", &status.to_string())
            .replace("{error}", code)
            .replace("{reason}", reason)
            .replace("{message}", detail.unwrap_or(reason_phrase(status)));
        return (kind, body);
    }
    match answers.body_format {
        BodyFormat::Json => (
            "application/json".to_string(),
            json!({"error": code, "message": detail.unwrap_or(reason_phrase(status))}).to_string(),
        ),
        BodyFormat::ProblemJson => {
            let title = reason_phrase(status);
            let problem = match detail {
                Some(detail) => json!({"type": "about:blank", "title": title, "status": status,
                                       "detail": detail, "error": code}),
                None => json!({"type": "about:blank", "title": title, "status": status,
                               "error": code}),
            };
            ("application/problem+json".to_string(), problem.to_string())
        }
    }
}

/// The RFC 6750 §3.1 error code; none when no credential was presented (§3.1: "the
/// resource server SHOULD NOT include an error code").
fn rfc6750_code(error: &AuthError) -> Option<&'static str> {
    match error.reply() {
        _ if *error == AuthError::Missing => None,
        Reply::BadRequest => Some("invalid_request"),
        Reply::Forbidden if *error == AuthError::RouteDenied => None,
        Reply::Forbidden => Some("insufficient_scope"),
        Reply::Unauthorized => Some("invalid_token"),
        Reply::Unavailable => Some("temporarily_unavailable"),
    }
}

fn default_error(reply: Reply) -> &'static str {
    match reply {
        Reply::BadRequest => "invalid_request",
        Reply::Unauthorized => "unauthorized",
        Reply::Forbidden => "forbidden",
        Reply::Unavailable => "temporarily_unavailable",
    }
}

/// The reason phrase of a 4xx/5xx status (RFC 9110 §15 and the IANA registry), the
/// `title` of an `about:blank` problem (RFC 9457 §4.2.1).
#[must_use]
pub fn reason_phrase(status: u32) -> &'static str {
    // A table rather than a `match`: data is smaller than code in the .wasm.
    const PHRASES: [(u32, &str); 38] = [
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (402, "Payment Required"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (406, "Not Acceptable"),
        (407, "Proxy Authentication Required"),
        (408, "Request Timeout"),
        (409, "Conflict"),
        (410, "Gone"),
        (411, "Length Required"),
        (412, "Precondition Failed"),
        (413, "Content Too Large"),
        (414, "URI Too Long"),
        (415, "Unsupported Media Type"),
        (416, "Range Not Satisfiable"),
        (417, "Expectation Failed"),
        (421, "Misdirected Request"),
        (422, "Unprocessable Content"),
        (423, "Locked"),
        (424, "Failed Dependency"),
        (425, "Too Early"),
        (426, "Upgrade Required"),
        (428, "Precondition Required"),
        (429, "Too Many Requests"),
        (431, "Request Header Fields Too Large"),
        (451, "Unavailable For Legal Reasons"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
        (505, "HTTP Version Not Supported"),
        (506, "Variant Also Negotiates"),
        (507, "Insufficient Storage"),
        (508, "Loop Detected"),
        (511, "Network Authentication Required"),
    ];
    match PHRASES.iter().find(|(code, _)| *code == status) {
        Some((_, phrase)) => phrase,
        None if status < 500 => "Client Error",
        None => "Server Error",
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the return path
/// is one opaque query value (it can never add a parameter or change the host).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SECRET: &str = "jwt-gate-test-hmac-secret-0123456789abcdef";

    fn config(top: &str) -> Config {
        let doc = format!(
            r#"{{"providers": {{"corp": {{"issuer": "https://issuer.test", "audiences": ["api"],
                "algorithms": ["HS256"], "keys": [{{"secret": "{SECRET}"}}]}}}}{top}}}"#
        );
        Config::parse(doc.as_bytes(), &|_| None).unwrap().0
    }

    fn reply(config: &Config, error: AuthError) -> LocalReply {
        build(config, &Denial::from(error), "/api")
    }

    fn scoped(error: AuthError, scopes: &[&str]) -> Denial {
        let mut denial = Denial::from(error);
        denial.required_scopes = scopes.iter().map(|s| (*s).to_string()).collect();
        denial
    }

    fn header<'a>(reply: &'a LocalReply, name: &str) -> Option<&'a str> {
        reply
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn body_json(reply: &LocalReply) -> Value {
        serde_json::from_str(&reply.body).unwrap()
    }

    #[test]
    fn default_reply_is_the_rfc6750_challenge_and_a_small_json_body() {
        let r = reply(&config(""), AuthError::Expired);
        assert_eq!(r.status, 401);
        assert_eq!(
            header(&r, "www-authenticate"),
            Some(
                r#"Bearer realm="jwt-gate", error="invalid_token", error_description="token expired""#
            )
        );
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(
            body_json(&r),
            serde_json::json!({"error": "invalid_token", "message": "token expired"})
        );
    }

    #[test]
    fn problem_json_follows_rfc9457() {
        let c = config(r#", "body_format": "problem+json""#);
        let r = reply(&c, AuthError::BadType);
        assert_eq!(header(&r, "content-type"), Some("application/problem+json"));
        assert_eq!(
            body_json(&r),
            serde_json::json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
                               "detail": "token type not accepted", "error": "invalid_token"})
        );
        let r = reply(&c, AuthError::KeysUnavailable);
        assert_eq!(body_json(&r)["title"], "Service Unavailable");
        assert_eq!(body_json(&r)["status"], 503);
        assert_eq!(header(&r, "retry-after"), Some("5"));
    }

    #[test]
    fn retry_after_follows_the_fetch_schedule_within_bounds() {
        let c = config("");
        let denial = Denial::from(AuthError::KeysUnavailable);
        let retry =
            |s| header(&build_retrying(&c, &denial, "/", s), "retry-after").map(String::from);
        assert_eq!(retry(None).as_deref(), Some("5"));
        assert_eq!(retry(Some(27)).as_deref(), Some("27"));
        assert_eq!(retry(Some(0)).as_deref(), Some("1"), "a fetch due now");
        assert_eq!(retry(Some(86_400)).as_deref(), Some("3600"));
        // Only 503s carry it.
        let denial = Denial::from(AuthError::Expired);
        assert_eq!(
            header(&build_retrying(&c, &denial, "/", Some(27)), "retry-after"),
            None
        );
    }

    #[test]
    fn status_overrides_change_only_the_status_of_their_reason() {
        let c = config(
            r#", "status_overrides": {"bad_audience": 403, "keys_unavailable": 500}, "body_format": "problem+json""#,
        );
        let r = reply(&c, AuthError::BadAudience);
        assert_eq!(r.status, 403);
        assert_eq!(body_json(&r)["status"], 403);
        assert_eq!(body_json(&r)["title"], "Forbidden");
        assert!(header(&r, "www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#));
        assert_eq!(reply(&c, AuthError::KeysUnavailable).status, 500);
        assert_eq!(reply(&c, AuthError::BadIssuer).status, 401);
    }

    #[test]
    fn resource_metadata_is_added_to_every_challenge() {
        let c = config(
            r#", "resource_metadata": "https://api.example.com/.well-known/oauth-protected-resource""#,
        );
        let want =
            r#", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#;
        for error in [
            AuthError::Missing,
            AuthError::Expired,
            AuthError::MultipleTokens,
        ] {
            let r = reply(&c, error);
            assert!(
                header(&r, "www-authenticate").unwrap().ends_with(want),
                "{r:?}"
            );
        }
        let r = build(&c, &scoped(AuthError::InsufficientScope, &["a", "b"]), "/");
        assert_eq!(
            header(&r, "www-authenticate"),
            Some(
                r#"Bearer realm="jwt-gate", error="insufficient_scope", error_description="insufficient scope", scope="a b", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
            )
        );
    }

    #[test]
    fn strip_failure_details_hides_the_reason_from_the_client() {
        for top in ["", r#", "body_format": "problem+json""#] {
            let c = config(&format!(r#", "strip_failure_details": true{top}"#));
            let r = reply(&c, AuthError::BadSignature);
            assert_eq!(
                header(&r, "www-authenticate"),
                Some(r#"Bearer realm="jwt-gate", error="invalid_token""#)
            );
            assert!(!r.body.contains("signature"), "{}", r.body);
            let r = build(&c, &scoped(AuthError::InsufficientScope, &["admin"]), "/");
            assert_eq!(
                header(&r, "www-authenticate"),
                Some(r#"Bearer realm="jwt-gate", error="insufficient_scope""#)
            );
            assert!(!r.body.contains("insufficient scope"), "{}", r.body);
        }
        let c = config(r#", "strip_failure_details": true"#);
        assert_eq!(
            body_json(&reply(&c, AuthError::Expired)),
            serde_json::json!({"error": "invalid_token", "message": "Unauthorized"})
        );
        let c = config(r#", "strip_failure_details": true, "body_format": "problem+json""#);
        let body = body_json(&reply(&c, AuthError::Expired));
        assert_eq!(body.get("detail"), None);
        assert_eq!(body["title"], "Unauthorized");
    }

    #[test]
    fn deny_body_is_a_template_with_its_own_content_type() {
        let template = r#"{"code":{status},"err":"{error}","why":"{reason}","msg":"{message}"}"#;
        let c = config(&format!(
            r#", "deny_body": {}, "deny_content_type": "application/json""#,
            serde_json::to_string(template).unwrap()
        ));
        let r = reply(&c, AuthError::Expired);
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"code": 401, "err": "invalid_token", "why": "expired",
                   "msg": AuthError::Expired.description()})
        );
        // Every reason renders valid JSON through a JSON template.
        for error in [
            AuthError::Missing,
            AuthError::MultipleTokens,
            AuthError::Malformed("bad base64url"),
            AuthError::KeysUnavailable,
            AuthError::InsufficientScope,
            AuthError::RouteDenied,
            AuthError::BadPath,
            AuthError::TokenTooOld,
            AuthError::Revoked,
        ] {
            let r = reply(&c, error.clone());
            assert!(
                serde_json::from_str::<Value>(&r.body).is_ok(),
                "{error:?}: {}",
                r.body
            );
        }
        // strip_failure_details empties the reason and keeps only the status phrase.
        let stripped = config(&format!(
            r#", "deny_body": {}, "strip_failure_details": true"#,
            serde_json::to_string(template).unwrap()
        ));
        let r = reply(&stripped, AuthError::Expired);
        assert!(r.body.contains(r#""why":"""#), "{}", r.body);
        assert!(!r.body.contains("expired"), "{}", r.body);
    }

    #[test]
    fn deny_body_stays_a_fixed_text_body() {
        let c = config(r#", "deny_body": "no", "status_overrides": {"missing": 403}"#);
        let r = reply(&c, AuthError::Missing);
        assert_eq!((r.status, r.body.as_str()), (403, "no"));
        assert_eq!(
            header(&r, "content-type"),
            Some("text/plain; charset=utf-8")
        );
    }

    #[test]
    fn every_override_status_has_a_reason_phrase() {
        for status in 400..=599 {
            assert!(!reason_phrase(status).is_empty());
        }
        assert_eq!(reason_phrase(418), "Client Error");
        assert_eq!(reason_phrase(599), "Server Error");
    }

    #[test]
    fn return_path_is_fully_encoded() {
        assert_eq!(
            percent_encode("/app/x?a=1&b=//evil.com"),
            "%2Fapp%2Fx%3Fa%3D1%26b%3D%2F%2Fevil.com"
        );
    }
}
