//! Metric names (core side). The glue registers each name once per VM and counts
//! through the ids; names follow `jwt_gate.<family>.<label>` so Envoy exposes them as
//! `jwt_gate_<family>_<label>` in `/stats/prometheus`.

use crate::error::AuthError;

/// What happened to a request, one counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forwarded after checks passed (or on an `allow` route).
    Allow,
    /// Answered locally.
    Deny,
    /// Audit mode: forwarded, but enforce mode would have denied.
    WouldDeny,
    /// Bypass mode: forwarded without checks.
    Bypass,
}

impl Decision {
    /// Every decision.
    pub const ALL: [Decision; 4] = [
        Decision::Allow,
        Decision::Deny,
        Decision::WouldDeny,
        Decision::Bypass,
    ];

    /// Counter name.
    #[must_use]
    pub const fn metric(self) -> &'static str {
        match self {
            Decision::Allow => "jwt_gate.requests.allow",
            Decision::Deny => "jwt_gate.requests.deny",
            Decision::WouldDeny => "jwt_gate.requests.would_deny",
            Decision::Bypass => "jwt_gate.requests.bypass",
        }
    }
}

/// Counter name for a failure reason.
#[must_use]
pub fn failure_metric(error: &AuthError) -> String {
    format!("jwt_gate.failures.{}", error.label())
}

/// Gauge set to 1 while the plugin runs in bypass mode.
pub const BYPASS_GAUGE: &str = "jwt_gate.bypass_mode";
