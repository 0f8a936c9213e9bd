//! Plugin configuration: parsed strictly (duplicate keys, unknown fields and wrong
//! types are errors naming their JSON path), then compiled into typed, validated
//! state that the request path only reads.

mod answers;
mod error;
mod lint;
mod objects_only;
mod provider;
pub mod raw;
#[cfg(feature = "schema")]
mod schema;

pub use error::{join_path, ConfigError, ConfigWarning, Diagnostics};
pub use lint::lint;
pub use provider::{
    Credential, JwsProvider, Provider, Warnings, DEFAULT_LEEWAY_S, DEFAULT_MAX_TOKEN_BYTES,
    LEEWAY_WARNING_S,
};
pub use raw::{BodyFormat, Mode};
#[cfg(feature = "schema")]
pub use schema::schema;

use crate::json;
use crate::response::Answers;
use crate::rules::{self, Rules};
use raw::RawConfig;

/// Header added upstream in `audit` mode; always stripped from client requests.
pub const DECISION_HEADER: &str = "x-jwt-gate-decision";
/// Default verified-token cache entries per worker.
pub const DEFAULT_CACHE_SIZE: usize = 1024;
/// Default `realm` of the `WWW-Authenticate` challenge.
pub const DEFAULT_REALM: &str = "jwt-gate";
/// Nesting allowed in the configuration document.
const MAX_CONFIG_DEPTH: usize = 64;

/// The compiled configuration, shared read-only by every request of a VM.
#[derive(Debug)]
pub struct Config {
    /// `enforce`, `audit` or `bypass`.
    pub mode: Mode,
    /// Providers in name order (rules refer to them by index).
    pub providers: Vec<Provider>,
    /// Route rules and the default action.
    pub rules: Rules,
    /// Login redirect for browser navigations.
    pub login: Option<Login>,
    /// How local replies look: realm, body format, status overrides, details shown.
    pub answers: Answers,
    /// Verified-token cache entries per worker (0 = off).
    pub cache_size: usize,
    /// Every header jwt-gate produces: removed from each incoming request first.
    pub stripped_headers: Vec<String>,
}

/// Where browser navigations without a valid token are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The login page.
    pub url: String,
    /// Query parameter carrying the original path and query.
    pub return_param: String,
}

impl Config {
    /// Parses and compiles a plugin configuration. `env` reads the VM environment.
    ///
    /// # Errors
    ///
    /// The first problem in document order (all of them: [`lint`]).
    pub fn parse(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Warnings), ConfigError> {
        let raw = parse_raw(bytes)?;
        let mut diag = Diagnostics::default();
        let config = Config::compile(raw, env, &mut diag);
        match (config, diag.errors.into_iter().next()) {
            (Some(config), None) => Ok((config, diag.warnings)),
            (_, Some(first)) => Err(first),
            // `compile` records a reason for every `None`; never refuse silently.
            (None, None) => Err(ConfigError::new("", "configuration not accepted")),
        }
    }

    /// Compiles `raw`, recording every problem in `diag` and going on wherever a part
    /// (provider, key, source, rule, top-level field) can be checked on its own.
    /// `None` when any error was recorded.
    fn compile(
        raw: RawConfig,
        env: &dyn Fn(&str) -> Option<String>,
        diag: &mut Diagnostics,
    ) -> Option<Config> {
        let errors_before = diag.error_count();
        if raw.providers.is_empty() && raw.mode != Mode::Bypass {
            diag.error(
                "",
                ConfigError::new("providers", "at least one provider is required"),
            );
        }
        // Rules are checked against every provider name, compiled or not, so one bad
        // provider does not also make every rule naming it an error.
        let names: Vec<String> = raw.providers.keys().cloned().collect();
        let mut providers = Vec::with_capacity(raw.providers.len());
        for (name, p) in raw.providers {
            if let Some(p) = provider::compile(&name, p, env, diag) {
                providers.push(p);
            }
        }
        let rules = rules::compile_all(&raw.rules, raw.default_action, &names, diag);
        let login = raw
            .login
            .and_then(|l| diag.check("login", compile_login(l)));
        if login.is_none() {
            for (i, _) in raw
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.login.is_some())
            {
                diag.error(
                    "",
                    ConfigError::new(
                        format!("rules[{i}].login"),
                        "needs a top-level \"login\" section",
                    ),
                );
            }
        }
        let answers = answers::compile(
            answers::RawAnswers {
                realm: raw.realm,
                deny_body: raw.deny_body,
                deny_content_type: raw.deny_content_type,
                body_format: raw.body_format,
                status_overrides: raw.status_overrides,
                resource_metadata: raw.resource_metadata,
                strip_failure_details: raw.strip_failure_details,
            },
            diag,
        );
        if raw.mode == Mode::Bypass {
            diag.warn("mode", "is bypass: requests are NOT authenticated");
        }
        if diag.error_count() > errors_before {
            return None;
        }
        let (Some(rules), Some(answers)) = (rules, answers) else {
            return None;
        };
        let mut stripped_headers = vec![DECISION_HEADER.to_string()];
        for name in providers.iter().flat_map(|p| p.outputs.header_names()) {
            if !stripped_headers.iter().any(|h| h == name) {
                stripped_headers.push(name.to_string());
            }
        }
        Some(Config {
            mode: raw.mode,
            providers,
            rules,
            login,
            answers,
            cache_size: raw.cache_size.unwrap_or(DEFAULT_CACHE_SIZE),
            stripped_headers,
        })
    }
}

/// The document as serde types: strict JSON (no duplicate keys, bounded nesting), then
/// the first field that does not deserialize, with its path.
fn parse_raw(bytes: &[u8]) -> Result<RawConfig, ConfigError> {
    let doc = json::parse_strict(bytes, MAX_CONFIG_DEPTH)
        .map_err(|e| ConfigError::new("", format!("invalid JSON: {e}")))?;
    deserialize(&doc)
}

/// Deserializes `value` as `T` (a struct only from an object: [`objects_only`]); the
/// error names the JSON path inside `value`.
fn deserialize<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(objects_only::ObjectsOnly(value)).map_err(|e| {
        ConfigError::new(
            e.path().to_string().trim_start_matches('.'),
            redact_values(&e.inner().to_string()),
        )
    })
}

/// serde quotes the offending value (`invalid type: string "s3cr3t…", expected a
/// sequence`; ``unknown variant `…` ``): a secret put in the wrong field would reach the
/// log. Values of [`REDACT_FROM_CHARS`] characters or more are dropped (every secret
/// jwt-gate accepts is at least that long: HMAC secrets are ≥ 32 bytes, PEM keys far
/// longer); shorter ones (`"off"` for a mode) stay: they help more than they risk.
fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let quoted = rest.find("string \"").map(|i| (i, "string \"", '"'));
        let variant = rest
            .find("unknown variant `")
            .map(|i| (i, "unknown variant `", '`'));
        let next = match (quoted, variant) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((at, opener, close)) = next else {
            out.push_str(rest);
            return out;
        };
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let redacted = if close == '"' {
            "a string"
        } else {
            "unknown variant"
        };
        let value = after.get(opener.len()..).unwrap_or_default();
        // The value ends at the first unescaped closing quote (serde escapes inner ones).
        let mut escaped = false;
        let end = value.char_indices().find(|&(_, c)| {
            let done = c == close && !escaped;
            escaped = c == '\\' && !escaped;
            done
        });
        let Some((i, c)) = end else {
            out.push_str(redacted);
            return out;
        };
        let quoted = value.get(..i).unwrap_or_default();
        if quoted.chars().count() >= REDACT_FROM_CHARS {
            out.push_str(redacted);
        } else {
            out.push_str(opener);
            out.push_str(quoted);
            out.push(close);
        }
        rest = value.get(i + c.len_utf8()..).unwrap_or_default();
    }
}

/// Shortest quoted value [`redact_values`] drops.
const REDACT_FROM_CHARS: usize = 32;

fn compile_login(raw: raw::RawLogin) -> Result<Login, ConfigError> {
    let absolute = raw.url.starts_with("https://") || raw.url.starts_with("http://");
    let relative = raw.url.starts_with('/') && !raw.url.starts_with("//");
    if !(absolute || relative) || raw.url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ConfigError::new(
            "url",
            "must be an absolute http(s) URL or a path starting with /",
        ));
    }
    let return_param = raw.return_param.unwrap_or_else(|| "return_to".to_string());
    if return_param.is_empty()
        || !return_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    {
        return Err(ConfigError::new(
            "return_param",
            "must be a non-empty unreserved query parameter name",
        ));
    }
    Ok(Login {
        url: raw.url,
        return_param,
    })
}

#[cfg(test)]
mod tests;
