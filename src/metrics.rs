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

/// The counters that move on every request, each with a fixed slot: the glue resolves
/// a slot's host id once, so counting one is an array index instead of hashing its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// What happened to the request.
    Decision(Decision),
    /// The token had verified before.
    CacheHit,
    /// The token was verified (or failed) now.
    CacheMiss,
    /// A token whose signature had just failed, refused from memory.
    CacheForgedHit,
}

impl Counter {
    /// Number of slots ([`Counter::slot`] is below it).
    pub const COUNT: usize = Decision::ALL.len() + 3;

    /// This counter's slot.
    #[must_use]
    pub const fn slot(self) -> usize {
        match self {
            Counter::Decision(d) => d as usize,
            Counter::CacheHit => Decision::ALL.len(),
            Counter::CacheMiss => Decision::ALL.len() + 1,
            Counter::CacheForgedHit => Decision::ALL.len() + 2,
        }
    }

    /// Counter name.
    #[must_use]
    pub const fn metric(self) -> &'static str {
        match self {
            Counter::Decision(d) => d.metric(),
            Counter::CacheHit => "jwt_gate.cache.hit",
            Counter::CacheMiss => "jwt_gate.cache.miss",
            Counter::CacheForgedHit => "jwt_gate.cache.forged_hit",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_has_its_own_slot_below_count() {
        let all: Vec<Counter> = Decision::ALL
            .iter()
            .map(|d| Counter::Decision(*d))
            .chain([
                Counter::CacheHit,
                Counter::CacheMiss,
                Counter::CacheForgedHit,
            ])
            .collect();
        assert_eq!(all.len(), Counter::COUNT);
        let mut slots: Vec<usize> = all.iter().map(|c| c.slot()).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..Counter::COUNT).collect::<Vec<_>>());
    }
}
