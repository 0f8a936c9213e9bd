//! Route rules: ordered, first match wins; no match → the default action.
//!
//! Compiled once at configure time from the `rules` and `default_action` JSON
//! ([`raw`]); on every request [`Rules::select`] runs on the path from
//! [`crate::path::normalize`] and the chosen [`Action`] says what a token must carry.

mod matcher;
pub mod raw;
mod require;

pub use matcher::Matcher;
pub use raw::{RawAction, RawRule};
pub use require::Requirement;

use crate::config::ConfigError;

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
}

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
        let found = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matcher.matches(method, normalized_path, header));
        match found {
            Some((index, rule)) => Selected {
                index: Some(index),
                rule: Some(rule),
                action: &rule.action,
                login_browser: rule.login_browser,
            },
            None => Selected {
                index: None,
                rule: None,
                action: &self.default,
                login_browser: false,
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
    let mut rules = Vec::with_capacity(raw.len());
    for (i, rule) in raw.iter().enumerate() {
        rules.push(compile_rule(rule, providers).map_err(|e| e.under(&format!("rules[{i}]")))?);
    }
    let default = compile_action(default_action.unwrap_or_default(), None, providers)
        .map_err(|e| ConfigError::new("default_action", e.message))?;
    Ok(Rules { rules, default })
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
    Ok(Rule {
        matcher,
        action,
        login_browser,
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
