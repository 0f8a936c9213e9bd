//! `jwt-gate-check --lint FILE`: every problem in a configuration, found by the
//! filter's own compiler (the `jwt-gate` crate, natively), with JSON paths.
//!
//! Exit status: 0 = clean, 1 = warnings only (the filter accepts it), 2 = errors
//! (the filter refuses it) or the file cannot be read.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// The one JSON object `jwt-gate-check --lint` prints.
#[derive(Debug, Serialize)]
pub struct LintReport {
    /// Whether the filter would accept the configuration (no errors).
    pub ok: bool,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// One error or warning.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the field (`providers.corp.keys[1].pem`; empty = the document).
    pub path: String,
    pub message: String,
}

impl LintReport {
    /// 0 = clean, 1 = warnings only, 2 = errors.
    pub fn exit_code(&self) -> i32 {
        match (self.errors.is_empty(), self.warnings.is_empty()) {
            (false, _) => 2,
            (true, false) => 1,
            (true, true) => 0,
        }
    }
}

/// Lints the file at `config`; `env` stands in for the VM environment.
pub fn lint(config: &Path, env: &[(String, String)]) -> anyhow::Result<LintReport> {
    let bytes = std::fs::read(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    let lookup = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let found = jwt_gate::config::lint(&bytes, &lookup);
    Ok(LintReport {
        ok: found.errors.is_empty(),
        errors: found
            .errors
            .into_iter()
            .map(|e| Problem {
                path: e.path,
                message: e.message,
            })
            .collect(),
        warnings: found
            .warnings
            .into_iter()
            .map(|w| Problem {
                path: w.path,
                message: w.message,
            })
            .collect(),
    })
}

/// The configuration's JSON Schema, as committed in `schema/jwt-gate.schema.json`
/// (pretty-printed, one trailing newline).
pub fn schema_text() -> String {
    let schema = jwt_gate::config::schema();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let problem = || Problem {
            path: String::new(),
            message: String::new(),
        };
        let report = |errors: usize, warnings: usize| LintReport {
            ok: errors == 0,
            errors: (0..errors).map(|_| problem()).collect(),
            warnings: (0..warnings).map(|_| problem()).collect(),
        };
        assert_eq!(report(0, 0).exit_code(), 0);
        assert_eq!(report(0, 2).exit_code(), 1);
        assert_eq!(report(1, 2).exit_code(), 2);
    }
}
