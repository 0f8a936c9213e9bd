//! Configuration problems: an error (the JSON path of the offending field, and what is
//! wrong with it) refuses the plugin; a warning names a risky but accepted choice.

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

/// A risky but accepted choice (`providers.corp.audiences: not set: …`), logged at
/// configure time and reported by `jwt-gate-check --lint`. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// JSON path of the field (empty = the whole document).
    pub path: String,
    /// What is risky about it.
    pub message: String,
}

impl ConfigWarning {
    /// A warning at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigWarning {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found while compiling a configuration: the compiler records an error
/// and goes on with the next provider, key, source or rule wherever it can, so one
/// `jwt-gate-check --lint` run reports them all. Paths are absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Errors, in document order (the first one is what `on_configure` logs).
    pub errors: Vec<ConfigError>,
    /// Warnings, in document order.
    pub warnings: Vec<ConfigWarning>,
}

impl Diagnostics {
    /// Records `error` nested under `at`.
    pub fn error(&mut self, at: &str, error: ConfigError) {
        self.errors.push(error.under(at));
    }

    /// Records a warning at `path`.
    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigWarning::new(path, message));
    }

    /// The value, or `None` after recording the error nested under `at`.
    pub fn check<T>(&mut self, at: &str, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.error(at, e)).ok()
    }

    /// How many errors are recorded (to tell whether a step added any).
    #[must_use]
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }
}

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

    #[test]
    fn diagnostics_collect_nested_errors_and_warnings() {
        let mut d = Diagnostics::default();
        assert_eq!(d.check("providers.a", Ok::<_, ConfigError>(1)), Some(1));
        assert_eq!(
            d.check::<()>("providers.a", Err(ConfigError::new("keys[0]", "bad"))),
            None
        );
        d.warn("providers.a.leeway_s", "large");
        assert_eq!(d.error_count(), 1);
        assert_eq!(d.errors[0].to_string(), "providers.a.keys[0]: bad");
        assert_eq!(d.warnings[0].to_string(), "providers.a.leeway_s: large");
    }
}
