//! Plugin configuration: parsed strictly (duplicate keys, unknown fields and wrong
//! types are errors naming their JSON path), then compiled into typed, validated
//! state that the request path only reads.

mod error;
mod provider;
pub mod raw;

pub use error::{join_path, ConfigError};
pub use provider::{
    Credential, JwsProvider, Provider, Warnings, DEFAULT_LEEWAY_S, DEFAULT_MAX_TOKEN_BYTES,
};
pub use raw::Mode;

use crate::json;
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
    /// `realm` of the challenge; printable ASCII without quotes or backslashes.
    pub realm: String,
    /// Verified-token cache entries per worker (0 = off).
    pub cache_size: usize,
    /// Body of every local reply instead of the JSON default.
    pub deny_body: Option<String>,
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
    pub fn parse(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Warnings), ConfigError> {
        let doc = json::parse_strict(bytes, MAX_CONFIG_DEPTH)
            .map_err(|e| ConfigError::new("", format!("invalid JSON: {e}")))?;
        let raw: RawConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
            ConfigError::new(
                e.path().to_string().trim_start_matches('.'),
                e.inner().to_string(),
            )
        })?;
        Config::compile(raw, env)
    }

    fn compile(
        raw: RawConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Warnings), ConfigError> {
        let mut warnings = Warnings::new();
        if raw.providers.is_empty() && raw.mode != Mode::Bypass {
            return Err(ConfigError::new(
                "providers",
                "at least one provider is required",
            ));
        }
        let mut providers = Vec::with_capacity(raw.providers.len());
        for (name, p) in raw.providers {
            let at = format!("providers.{name}");
            providers
                .push(provider::compile(&name, p, env, &mut warnings).map_err(|e| e.under(&at))?);
        }
        let names: Vec<String> = providers.iter().map(|p| p.name.clone()).collect();
        let rules = rules::compile(&raw.rules, raw.default_action, &names)?;
        let login = raw
            .login
            .map(compile_login)
            .transpose()
            .map_err(|e| e.under("login"))?;
        if login.is_none() {
            if let Some(i) = rules.rules().iter().position(|r| r.login_browser) {
                return Err(ConfigError::new(
                    format!("rules[{i}].login"),
                    "needs a top-level \"login\" section",
                ));
            }
        }
        let realm = raw.realm.unwrap_or_else(|| DEFAULT_REALM.to_string());
        if realm.is_empty()
            || !realm
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::new(
                "realm",
                "must be printable ASCII without quotes or backslashes",
            ));
        }
        if raw.mode == Mode::Bypass {
            warnings.push("mode is bypass: requests are NOT authenticated".into());
        }
        let mut stripped_headers = vec![DECISION_HEADER.to_string()];
        for name in providers.iter().flat_map(|p| p.outputs.header_names()) {
            if !stripped_headers.iter().any(|h| h == name) {
                stripped_headers.push(name.to_string());
            }
        }
        let config = Config {
            mode: raw.mode,
            providers,
            rules,
            login,
            realm,
            cache_size: raw.cache_size.unwrap_or(DEFAULT_CACHE_SIZE),
            deny_body: raw.deny_body,
            stripped_headers,
        };
        Ok((config, warnings))
    }
}

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
