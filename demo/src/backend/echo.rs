//! The JSON echo of `/api/...`: method, path and the identity headers received.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Always present in the echo (null when absent), so a test can assert "not received".
pub const IDENTITY_HEADERS: [&str; 4] = [
    "x-user-id",
    "x-user-email",
    "x-user-roles",
    "x-jwt-gate-decision",
];

/// Any header with one of these prefixes is echoed too: the claim headers are whatever
/// jwt-gate's `claim_headers`/`payload_header` configure (`x-user-name`, `x-jwt-payload`).
const ECHOED_PREFIXES: [&str; 2] = ["x-user-", "x-jwt-"];

/// The identity headers as JSON: a string per header, an array if it came more than once.
pub fn identity_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in IDENTITY_HEADERS {
        out.insert(name.to_owned(), Value::Null);
    }
    for name in headers.keys() {
        let n = name.as_str();
        if !ECHOED_PREFIXES.iter().any(|p| n.starts_with(p)) {
            continue;
        }
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = match <[Value; 1]>::try_from(values) {
            Ok([single]) => single,
            Err(many) => Value::Array(many),
        };
        out.insert(n.to_owned(), value);
    }
    out
}

/// Names of the cookies that reached the backend; values are never echoed (one of them
/// could be the token jwt-gate was supposed to strip).
fn cookie_names(headers: &HeaderMap) -> Vec<String> {
    let mut names = Vec::new();
    for value in headers.get_all("cookie") {
        for pair in String::from_utf8_lossy(value.as_bytes()).split(';') {
            let name = pair.split('=').next().unwrap_or("").trim();
            if !name.is_empty() {
                names.push(name.to_owned());
            }
        }
    }
    names
}

pub async fn echo(method: Method, uri: Uri, headers: HeaderMap) -> Json<Value> {
    Json(json!({
        "service": "backend",
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": identity_headers(&headers),
        "authorization_received": headers.contains_key("authorization"),
        "cookie_received": headers.contains_key("cookie"),
        "cookie_names": cookie_names(&headers),
    }))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "service": "backend" }))
}

pub async fn not_found(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "error": "not_found",
            "message": "no such route on backend",
            "method": method.as_str(),
            "path": uri.path(),
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_for_cookies_and_arrays_for_repeats() {
        let mut h = HeaderMap::new();
        h.append("cookie", "access_token=secret; theme=dark".parse().unwrap());
        h.append("x-user-roles", "admin".parse().unwrap());
        h.append("x-user-roles", "reader".parse().unwrap());
        h.append("x-user-name", "Alice".parse().unwrap());
        h.append("x-other", "no".parse().unwrap());
        assert_eq!(cookie_names(&h), ["access_token", "theme"]);
        let ids = identity_headers(&h);
        assert_eq!(ids["x-user-roles"], json!(["admin", "reader"]));
        assert_eq!(ids["x-user-name"], "Alice");
        assert_eq!(ids["x-user-id"], Value::Null);
        assert!(!ids.contains_key("x-other"));
    }
}
