//! `/app/`: a small HTML page saying who is signed in, from jwt-gate's headers only.

use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::echo::identity_headers;
use crate::common::html::{escape, page};

pub async fn app(headers: HeaderMap) -> Response {
    let ids = identity_headers(&headers);
    let text = |name: &str| match ids.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    };

    let who = match text("x-user-id") {
        Some(sub) => {
            let display = text("x-user-name")
                .or_else(|| text("x-user-email"))
                .unwrap_or_else(|| format!("user {sub}"));
            format!(
                "<p>Signed in as <strong>{}</strong> (sub <code>{}</code>).</p>",
                escape(&display),
                escape(&sub)
            )
        }
        None => "<p>No identity headers reached the backend: this request did not go \
                 through jwt-gate (or the route is public). \
                 <a href=\"/login?return_to=/app/\">Sign in</a></p>"
            .to_owned(),
    };

    let rows: String = ids
        .keys()
        .map(|name| {
            let value = text(name).unwrap_or_else(|| "—".to_owned());
            format!(
                "<tr><th><code>{}</code></th><td>{}</td></tr>",
                escape(name),
                escape(&value)
            )
        })
        .collect();

    let body = format!(
        "<h1>jwt-gate demo app</h1>\n{who}\n\
         <h2>Headers from jwt-gate</h2>\n<table>{rows}</table>\n\
         <p>The token itself {} reach the backend.</p>\n\
         <p><a href=\"/api/me\">/api/me</a> (JSON) · <a href=\"/logout\">Log out</a></p>",
        if headers.contains_key("authorization") || cookie_has_token(&headers) {
            "<strong>did</strong>"
        } else {
            "did not"
        }
    );
    (
        // Per-user content: never cache it in a shared cache.
        [(header::CACHE_CONTROL, "private, no-store")],
        Html(page("jwt-gate demo app", &body)),
    )
        .into_response()
}

fn cookie_has_token(headers: &HeaderMap) -> bool {
    headers.get_all("cookie").iter().any(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .split(';')
            .any(|pair| pair.trim_start().starts_with("access_token="))
    })
}
