//! Route rules: ordered, first match wins; no match → the default action.
//!
//! Compiled once at configure time from the `rules` and `default_action` JSON
//! ([`raw`]); on every request [`Rules::select`] runs on the path from
//! [`crate::path::normalize`] and the chosen [`Action`] says what a token must carry.

pub mod condition;
mod matcher;
pub mod raw;
mod require;

pub use matcher::Matcher;
pub use raw::{RawAction, RawCorsPreflight, RawRule};
pub use require::Requirement;

use crate::config::{ConfigError, Diagnostics};

/// What a matched rule (or the default) demands.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// No token needed (identity headers are still stripped).
    Allow,
    /// A valid token from one of the providers that meets the requirement.
    Require(Requirement),
    /// Verified when present (an invalid one is 401); none is fine.
    Optional(Requirement),
    /// 403 whatever the request carries.
    Deny,
}

impl Action {
    /// The config spelling, for logs and `jwt-gate-check`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Require(_) => "require",
            Action::Optional(_) => "optional",
            Action::Deny => "deny",
        }
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which requests it applies to.
    pub matcher: Matcher,
    /// What it demands.
    pub action: Action,
    /// `login: "browser"`: browser navigations get a redirect instead of 401.
    pub login_browser: bool,
    /// `cors_preflight: "allow"`: CORS preflights matching the rule pass without a token.
    pub cors_preflight: bool,
}

/// What a CORS preflight on a `cors_preflight: "allow"` rule gets.
static PREFLIGHT_ACTION: Action = Action::Allow;

/// The compiled rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    default: Action,
}

/// The outcome of [`Rules::select`].
#[derive(Debug, Clone, Copy)]
pub struct Selected<'a> {
    /// Index of the matched rule in `rules`; `None` = no rule matched (default action).
    pub index: Option<usize>,
    /// The matched rule; `None` for the default action.
    pub rule: Option<&'a Rule>,
    /// The action to apply.
    pub action: &'a Action,
    /// Whether browser navigations are redirected to the login page.
    pub login_browser: bool,
    /// A CORS preflight let through by the rule's `cors_preflight: "allow"`.
    pub cors_preflight: bool,
}

impl Rules {
    /// The first rule matching the request, or the default action. `normalized_path` is
    /// [`crate::path::normalize`]'s output; `header` looks a request header up by lowercase name.
    #[must_use]
    pub fn select(
        &self,
        method: &str,
        normalized_path: &str,
        header: &dyn Fn(&str) -> Option<String>,
    ) -> Selected<'_> {
        // Only computed when a rule could use it: most rule sets have no preflight rule.
        let mut preflight: Option<Option<String>> = None;
        let found = self.rules.iter().enumerate().find_map(|(index, r)| {
            if r.matcher.matches(method, normalized_path, header) {
                let is_preflight = r.cors_preflight
                    && preflight
                        .get_or_insert_with(|| preflight_method(method, header))
                        .is_some();
                return Some((index, r, is_preflight));
            }
            if !r.cors_preflight {
                return None;
            }
            // A preflight asks about another method: match the rule as that request would.
            let requested = preflight.get_or_insert_with(|| preflight_method(method, header));
            let requested = requested.as_deref()?;
            r.matcher
                .matches(requested, normalized_path, header)
                .then_some((index, r, true))
        });
        match found {
            Some((index, rule, is_preflight)) => Selected {
                index: Some(index),
                rule: Some(rule),
                action: if is_preflight {
                    &PREFLIGHT_ACTION
                } else {
                    &rule.action
                },
                login_browser: rule.login_browser && !is_preflight,
                cors_preflight: is_preflight,
            },
            None => Selected {
                index: None,
                rule: None,
                action: &self.default,
                login_browser: false,
                cors_preflight: false,
            },
        }
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What applies when no rule matches.
    #[must_use]
    pub fn default_action(&self) -> &Action {
        &self.default
    }
}

/// The method a CORS preflight asks about: `OPTIONS` (exactly: a lenient match would
/// widen what passes without a token) with `Origin` and `Access-Control-Request-Method`.
fn preflight_method(method: &str, header: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if method != "OPTIONS" || header("origin").is_none() {
        return None;
    }
    header("access-control-request-method")
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
}

/// Compiles `rules` and `default_action` (absent = `require` any provider) against the
/// configured provider names; the requirement's provider indices index `providers`.
///
/// # Errors
///
/// The first invalid field, with its JSON path:
/// `rules[2].require.providers[0]: unknown provider "nope"`.
pub fn compile(
    raw: &[RawRule],
    default_action: Option<RawAction>,
    providers: &[String],
) -> Result<Rules, ConfigError> {
    let mut diag = Diagnostics::default();
    match compile_all(raw, default_action, providers, &mut diag) {
        Some(rules) if diag.errors.is_empty() => Ok(rules),
        _ => Err(diag
            .errors
            .into_iter()
            .next()
            .unwrap_or_else(|| ConfigError::new("rules", "invalid"))),
    }
}

/// [`compile`], recording every rule's first error in `diag` (paths absolute:
/// `rules[2].match.regex`) instead of stopping at the first rule that fails.
pub fn compile_all(
    raw: &[RawRule],
    default_action: Option<RawAction>,
    providers: &[String],
    diag: &mut Diagnostics,
) -> Option<Rules> {
    let errors_before = diag.error_count();
    let mut rules = Vec::with_capacity(raw.len());
    for (i, rule) in raw.iter().enumerate() {
        if let Some(rule) = diag.check(&format!("rules[{i}]"), compile_rule(rule, providers)) {
            rules.push(rule);
        }
    }
    let default = diag.check(
        "",
        compile_action(default_action.unwrap_or_default(), None, providers)
            .map_err(|e| ConfigError::new("default_action", e.message)),
    )?;
    (diag.error_count() == errors_before).then_some(Rules { rules, default })
}

fn compile_rule(raw: &RawRule, providers: &[String]) -> Result<Rule, ConfigError> {
    let matcher = matcher::compile_match(&raw.matcher).map_err(|e| e.under("match"))?;
    let action = raw.action.unwrap_or_default();
    let action = compile_action(action, raw.require.as_ref(), providers)?;
    let login_browser = raw.login.is_some();
    if login_browser && matches!(action, Action::Allow | Action::Deny) {
        return Err(ConfigError::new(
            "login",
            format!("does not apply to action {:?}", action.name()),
        ));
    }
    let cors_preflight = match raw.cors_preflight.as_deref() {
        None => false,
        Some("allow") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "cors_preflight",
                format!("unknown value {other:?} (the only value is \"allow\")"),
            ))
        }
    };
    if cors_preflight && action == Action::Allow {
        return Err(ConfigError::new(
            "cors_preflight",
            "does not apply to action \"allow\" (every request passes already)",
        ));
    }
    Ok(Rule {
        matcher,
        action,
        login_browser,
        cors_preflight,
    })
}

/// Error paths are relative to the rule (`require.providers[0]`, `action`).
fn compile_action(
    action: RawAction,
    require: Option<&raw::RawRequire>,
    providers: &[String],
) -> Result<Action, ConfigError> {
    let requirement = || {
        let req = require::compile_require(require, providers).map_err(|e| e.under("require"))?;
        if req.providers().is_empty() {
            return Err(ConfigError::new(
                "action",
                "requires a token but no providers are configured",
            ));
        }
        Ok(req)
    };
    match action {
        RawAction::Allow | RawAction::Deny if require.is_some() => Err(ConfigError::new(
            "require",
            format!("does not apply to action {:?}", action.name()),
        )),
        RawAction::Allow => Ok(Action::Allow),
        RawAction::Deny => Ok(Action::Deny),
        RawAction::Require => Ok(Action::Require(requirement()?)),
        RawAction::Optional => Ok(Action::Optional(requirement()?)),
    }
}

#[cfg(test)]
mod tests;
