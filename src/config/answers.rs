//! The top-level fields that shape local replies (`realm`, `deny_body`, `body_format`,
//! `status_overrides`, `resource_metadata`, `strip_failure_details`), checked and
//! compiled into [`Answers`].

use serde_json::{Map, Value};

use super::raw::BodyFormat;
use super::{ConfigError, Diagnostics, DEFAULT_REALM};
use crate::error::AuthError;
use crate::response::Answers;

/// The reply fields of the configuration, as written.
#[derive(Debug, Default)]
pub(super) struct RawAnswers {
    pub realm: Option<String>,
    pub deny_body: Option<String>,
    pub deny_content_type: Option<String>,
    pub body_format: Option<String>,
    pub status_overrides: Option<Value>,
    pub resource_metadata: Option<String>,
    pub strip_failure_details: bool,
}

/// Checks every field (each problem is recorded); `None` when one is wrong.
pub(super) fn compile(raw: RawAnswers, diag: &mut Diagnostics) -> Option<Answers> {
    let errors_before = diag.error_count();
    let realm = raw.realm.unwrap_or_else(|| DEFAULT_REALM.to_string());
    if realm.is_empty() || !quotable(&realm) {
        diag.error(
            "",
            ConfigError::new(
                "realm",
                "must be printable ASCII without quotes or backslashes",
            ),
        );
    }
    let body_format = match raw.body_format.as_deref() {
        None => Some(BodyFormat::Json),
        Some(name) => BodyFormat::from_name(name),
    };
    if body_format.is_none() {
        diag.error(
            "",
            ConfigError::new(
                "body_format",
                format!(
                    "unknown format {:?} (json or problem+json)",
                    raw.body_format.as_deref().unwrap_or_default()
                ),
            ),
        );
    } else if raw.deny_body.is_some() && raw.body_format.is_some() {
        diag.error(
            "",
            ConfigError::new(
                "body_format",
                "does not apply with deny_body (the body template)",
            ),
        );
    }
    if let Some(kind) = &raw.deny_content_type {
        let valid = kind.contains('/') && quotable(kind) && kind.len() <= 128;
        if raw.deny_body.is_none() {
            diag.error(
                "",
                ConfigError::new("deny_content_type", "applies only with deny_body"),
            );
        } else if !valid {
            diag.error(
                "",
                ConfigError::new(
                    "deny_content_type",
                    "must be a media type (type/subtype, printable ASCII, at most 128)",
                ),
            );
        }
    }
    let status_overrides = match raw.status_overrides {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => compile_overrides(&map, diag),
        Some(_) => {
            diag.error(
                "",
                ConfigError::new(
                    "status_overrides",
                    "must be an object of failure reason → status",
                ),
            );
            Vec::new()
        }
    };
    if let Some(url) = &raw.resource_metadata {
        let absolute = url.starts_with("https://") || url.starts_with("http://");
        if !absolute || !quotable(url) || url.contains(' ') {
            diag.error(
                "",
                ConfigError::new(
                    "resource_metadata",
                    "must be an absolute http(s) URL without spaces, quotes or backslashes",
                ),
            );
        } else if !url.starts_with("https://") {
            diag.warn(
                "resource_metadata",
                "is not https: RFC 9728 metadata is meant to be fetched over TLS",
            );
        }
    }
    (diag.error_count() == errors_before).then(|| Answers {
        realm,
        deny_body: raw.deny_body,
        deny_content_type: raw.deny_content_type,
        body_format: body_format.unwrap_or_default(),
        status_overrides,
        resource_metadata: raw.resource_metadata,
        strip_failure_details: raw.strip_failure_details,
    })
}

/// `status_overrides`: each key a failure label, each value a 4xx/5xx status.
fn compile_overrides(map: &Map<String, Value>, diag: &mut Diagnostics) -> Vec<(&'static str, u32)> {
    let mut overrides = Vec::with_capacity(map.len());
    for (reason, status) in map {
        let at = format!("status_overrides.{reason}");
        let Some(label) = AuthError::LABELS.iter().find(|l| **l == reason) else {
            diag.error(
                "",
                ConfigError::new(
                    at,
                    format!(
                        "unknown reason {reason:?} (one of: {})",
                        AuthError::LABELS.join(", ")
                    ),
                ),
            );
            continue;
        };
        match status.as_u64().filter(|s| (400..=599).contains(s)) {
            Some(code) => overrides.push((*label, u32::try_from(code).unwrap_or(500))),
            None => diag.error(
                "",
                ConfigError::new(at, format!("{status} is not a 4xx or 5xx status")),
            ),
        }
    }
    overrides
}

/// Safe inside a quoted header parameter: printable ASCII, no `"` or `\`.
fn quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}
