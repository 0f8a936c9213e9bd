//! Local replies: 400/401/403/503 with an RFC 6750 challenge and a small JSON body,
//! and the 302 to the login page for browser navigations.

use crate::config::Config;
use crate::error::{AuthError, Reply};
use crate::gate::Denial;

/// Seconds a client is told to wait when keys are unavailable.
const RETRY_AFTER_S: u32 = 5;

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
    let error = &denial.error;
    let reply = error.reply();
    let code = rfc6750_code(error);
    let mut headers = Vec::with_capacity(3);
    let mut challenge = format!("Bearer realm=\"{}\"", config.realm);
    if let Some(code) = code {
        challenge.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            error.description()
        ));
    }
    if *error == AuthError::InsufficientScope && !denial.required_scopes.is_empty() {
        challenge.push_str(&format!(", scope=\"{}\"", denial.required_scopes.join(" ")));
    }
    if matches!(
        reply,
        Reply::Unauthorized | Reply::Forbidden | Reply::BadRequest
    ) && *error != AuthError::RouteDenied
    {
        headers.push(("www-authenticate".into(), challenge));
    }
    if reply == Reply::Unavailable {
        headers.push(("retry-after".into(), RETRY_AFTER_S.to_string()));
    }
    let body = match &config.deny_body {
        Some(body) => {
            headers.push(("content-type".into(), "text/plain; charset=utf-8".into()));
            body.clone()
        }
        None => {
            headers.push(("content-type".into(), "application/json".into()));
            serde_json::json!({"error": code.unwrap_or(default_error(reply)), "message": error.description()}).to_string()
        }
    };
    headers.push(("cache-control".into(), "no-store".into()));
    LocalReply {
        status: reply.status(),
        headers,
        body,
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

    #[test]
    fn return_path_is_fully_encoded() {
        assert_eq!(
            percent_encode("/app/x?a=1&b=//evil.com"),
            "%2Fapp%2Fx%3Fa%3D1%26b%3D%2F%2Fevil.com"
        );
    }
}
