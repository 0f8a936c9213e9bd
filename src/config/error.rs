//! A configuration error: the JSON path of the offending field, and what is wrong with it.

use std::fmt;

/// Rejects a plugin configuration. Displayed as `providers.corp.keys[1].pem: not a PEM public key`.
/// The message never contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the field, e.g. `rules[2].require.providers[0]` (empty = the whole document).
    pub path: String,
    /// What is wrong, e.g. `unknown provider "nope"`.
    pub message: String,
}

impl ConfigError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`keys[1]` + `pem` → `keys[1].pem`).
    #[must_use]
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

/// Joins two JSON path fragments: `a` + `b` → `a.b`, `a` + `[1]` → `a[1]`.
#[must_use]
pub fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ if rest.starts_with('[') => format!("{prefix}{rest}"),
        _ => format!("{prefix}.{rest}"),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_builds_a_json_path() {
        let e = ConfigError::new("pem", "not a PEM public key")
            .under("keys[1]")
            .under("providers.corp");
        assert_eq!(
            e.to_string(),
            "providers.corp.keys[1].pem: not a PEM public key"
        );
        assert_eq!(join_path("keys", "[0]"), "keys[0]");
    }
}
