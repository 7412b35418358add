//! Which record of a failover pair Route 53 answers with, given the health of each, and why.
//! The health itself comes from `health`.
//!
//! Source: Amazon Route 53 Developer Guide, "How Amazon Route 53 chooses records when health
//! checking is configured" (failover records; records without a health check are always
//! healthy) and "Active-passive failover".

use std::fmt;

use serde::Serialize;

use crate::health::HealthStatus;

aws_names! {
    /// The record Route 53 answers with (the record's `Failover` value).
    pub enum FailoverAnswer ("failover record") {
        Primary => "PRIMARY",
        Secondary => "SECONDARY",
    }
}

/// The answer and the reason for it, in words for the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FailoverDecision {
    pub answer: FailoverAnswer,
    pub reason: &'static str,
}

/// `PRIMARY (primary healthy)`.
impl fmt::Display for FailoverDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.answer, self.reason)
    }
}

/// The answer for a failover pair whose records have these health check statuses; `None` is a
/// record without a health check, which Route 53 always considers healthy.
///
/// - primary healthy: the primary;
/// - primary unhealthy, secondary healthy: the secondary;
/// - both unhealthy: the primary ("If Route 53 considers both the primary and secondary records
///   unhealthy, Route 53 returns the primary record"), which makes the wired link the fail-safe
///   when nothing can be measured.
pub fn failover_answer(
    primary: Option<HealthStatus>,
    secondary: Option<HealthStatus>,
) -> FailoverDecision {
    use FailoverAnswer::{Primary, Secondary};
    use HealthStatus::{Healthy, Unhealthy};
    let (answer, reason) = match (primary, secondary) {
        (Some(Healthy), _) => (Primary, "primary healthy"),
        (None, _) => (
            Primary,
            "primary has no health check, so it is always healthy",
        ),
        (Some(Unhealthy), Some(Healthy)) => (
            Secondary,
            "primary unhealthy, secondary healthy: failing over",
        ),
        (Some(Unhealthy), None) => (
            Secondary,
            "primary unhealthy, secondary has no health check (always healthy): failing over",
        ),
        (Some(Unhealthy), Some(Unhealthy)) => (
            Primary,
            "both unhealthy: Route 53 answers the primary (fail-safe)",
        ),
    };
    FailoverDecision { answer, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use FailoverAnswer::{Primary, Secondary};
    use HealthStatus::{Healthy, Unhealthy};

    #[test]
    fn answers_of_a_failover_pair() {
        let cases = [
            (
                "both healthy",
                Some(Healthy),
                Some(Healthy),
                Primary,
                "primary healthy",
            ),
            (
                "only the secondary unhealthy",
                Some(Healthy),
                Some(Unhealthy),
                Primary,
                "primary healthy",
            ),
            (
                "only the primary unhealthy",
                Some(Unhealthy),
                Some(Healthy),
                Secondary,
                "primary unhealthy, secondary healthy: failing over",
            ),
            (
                "both unhealthy: fail-safe",
                Some(Unhealthy),
                Some(Unhealthy),
                Primary,
                "both unhealthy: Route 53 answers the primary (fail-safe)",
            ),
            (
                "primary without a health check",
                None,
                Some(Healthy),
                Primary,
                "primary has no health check, so it is always healthy",
            ),
            (
                "secondary without a health check",
                Some(Unhealthy),
                None,
                Secondary,
                "primary unhealthy, secondary has no health check (always healthy): failing over",
            ),
        ];
        for (name, primary, secondary, want_answer, want_reason) in cases {
            let got = failover_answer(primary, secondary);
            assert_eq!(got.answer, want_answer, "{name}");
            assert_eq!(got.reason, want_reason, "{name}");
        }
    }

    #[test]
    fn display_and_json_for_the_owner() {
        let decision = failover_answer(Some(Unhealthy), Some(Unhealthy));
        assert_eq!(
            decision.to_string(),
            "PRIMARY (both unhealthy: Route 53 answers the primary (fail-safe))"
        );
        assert_eq!(
            serde_json::to_value(decision).expect("serializes"),
            serde_json::json!({
                "answer": "PRIMARY",
                "reason": "both unhealthy: Route 53 answers the primary (fail-safe)",
            })
        );
    }

    fn any_status() -> impl Strategy<Value = Option<HealthStatus>> {
        prop_oneof![Just(None), Just(Some(Healthy)), Just(Some(Unhealthy))]
    }

    proptest! {
        #[test]
        fn never_the_secondary_while_it_is_unhealthy(primary in any_status(), secondary in any_status()) {
            let decision = failover_answer(primary, secondary);
            if secondary == Some(Unhealthy) {
                prop_assert_eq!(decision.answer, Primary);
            }
            if primary != Some(Unhealthy) {
                prop_assert_eq!(decision.answer, Primary, "a healthy primary is always the answer");
            }
        }
    }
}
