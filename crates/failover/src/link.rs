//! The link contract, in one home: the metric the ping function publishes for each link, the
//! alarm and health check failberry puts on it, their names, and why. The ping function, the
//! local stack and `failberry-ctl` read the names from here; the SAM template is checked against
//! them by `tests/template.rs`.
//!
//! The metric: namespace [`NAMESPACE`], dimension [`DIMENSION`]`=<link>`, one
//! [`AVAILABILITY_METRIC`] sample per probe (1 when the link answered, 0 when not); the ping
//! function runs every minute and probes each link [`PROBES_PER_RUN`] times per run. Its targets
//! come from the document [`PING_CONFIG_KEY`]; each link's alarm is named by [`alarm_name`].
//!
//! Route 53 refuses "M out of N" alarms, metric math and high-resolution metrics, so flapping
//! can only be damped in the metric and by the number of periods. The choice:
//!
//! - **Average over 60 s** is the share of that minute's probes that got through. One minute is
//!   the finest period Route 53 accepts, and EventBridge schedules run no finer.
//! - **`LessThanThreshold` 0.5**: a minute breaches when most of its probes failed (2 or 3 of 3).
//! - **3 of 3 periods**: three bad minutes in a row. With 5 % independent probe loss a minute
//!   breaches with probability 3·0.05²·0.95 + 0.05³ ≈ 0.73 %; three in a row, ≈ 3.9·10⁻⁷ per
//!   minute, about one false failover in five years. One period would fail over every 2.3 hours
//!   or so, two periods about every 13 days.
//! - Reaction time: a dead link breaches from its first run and the alarm goes to ALARM at the
//!   third, 2 to 3 minutes after the link fails (Route 53's own delay to see the data and the
//!   record's TTL come on top and are not modelled). The first good minute after it is back puts
//!   a non-breaching datapoint among the three and the alarm returns to OK: within a minute.
//! - **Missing data is breaching**: a link nobody could measure is not known to be up. When the
//!   ping function dies both alarms go to ALARM and Route 53 answers with the primary, the wired
//!   link (fail-safe). The evaluation range (N + 2 = 5 periods) keeps re-evaluating the last
//!   real datapoints, so that happens at the fifth evaluation without data.
//! - A new alarm has no history: until three datapoints are in, missing ones are filled in as
//!   breaching, so a bad first minute raises ALARM at once (`X` plus two filled points). Past
//!   the first few minutes only three bad minutes in a row do.
//! - **`LastKnownStatus`** when data is insufficient: with missing data breaching, the alarm
//!   lacks data only before its first evaluation, when a new check is healthy anyway.

use std::num::NonZeroU32;

use crate::alarm::{AlarmDefinition, AlarmSpec, Comparison, TreatMissingData};
use crate::health::{CloudWatchMetricHealthCheck, HealthCheckSettings};
use crate::metric::Statistic;

/// How many times the ping function probes each link per run.
pub const PROBES_PER_RUN: usize = 3;

/// The CloudWatch namespace of the ping function's metrics.
pub const NAMESPACE: &str = "Failberry/Ping";

/// The dimension naming the link (the ping target's name) on every metric.
pub const DIMENSION: &str = "Target";

/// The metric the link alarm watches: 1 per probe that got through, 0 per one that did not.
pub const AVAILABILITY_METRIC: &str = "Availability";

/// The ping function's targets document in its bucket, unless `PING_CONFIG_KEY` names another.
pub const PING_CONFIG_KEY: &str = "ping.json";

/// What every link alarm's name starts with.
pub const ALARM_NAME_PREFIX: &str = "failberry-link-";

/// The alarm of the link whose failover record has `set_identifier` (also its ping target's
/// name): `failberry-link-<set identifier>`, as the template and the local stack name it.
pub fn alarm_name(set_identifier: &str) -> String {
    format!("{ALARM_NAME_PREFIX}{set_identifier}")
}

const MINUTE: NonZeroU32 = match NonZeroU32::new(60) {
    Some(minute) => minute,
    None => unreachable!(),
};

/// The alarm on one link's `Availability`: Average < 0.5 for 3 of 3 one-minute datapoints,
/// missing data breaching.
pub fn link_alarm() -> AlarmSpec {
    AlarmSpec {
        period_secs: MINUTE,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        threshold: 0.5,
        comparison: Comparison::LessThanThreshold,
        statistic: Statistic::Average,
        treat_missing_data: TreatMissingData::Breaching,
    }
}

/// [`link_alarm`] as settings, e.g. to print or to put in a template.
pub fn link_alarm_definition() -> AlarmDefinition {
    AlarmDefinition::from(link_alarm())
}

/// The health check's settings: `LastKnownStatus`, not inverted, enabled.
pub fn link_health_check_settings() -> HealthCheckSettings {
    HealthCheckSettings::default()
}

/// A new health check on [`link_alarm`].
pub fn link_health_check() -> CloudWatchMetricHealthCheck {
    CloudWatchMetricHealthCheck::from_accepted(link_alarm(), link_health_check_settings())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::route53_accepts;

    #[test]
    fn the_link_alarm_is_one_route53_accepts() {
        assert_eq!(route53_accepts(&link_alarm_definition()), Ok(link_alarm()));
        assert_eq!(
            link_alarm().to_string(),
            "Average < 0.5 for 3 of 3 datapoints of 60 s, missing data treated as breaching"
        );
    }

    #[test]
    fn a_link_alarm_is_named_for_its_set_identifier() {
        assert_eq!(alarm_name("wired"), "failberry-link-wired");
        assert_eq!(alarm_name("wireless-4g"), "failberry-link-wireless-4g");
    }

    #[test]
    fn the_flap_odds_in_the_docs_hold() {
        let loss: f64 = 0.05;
        let minute_breaches = 3.0 * loss.powi(2) * (1.0 - loss) + loss.powi(3);
        assert!((minute_breaches - 0.007_25).abs() < 1e-9);
        let per_minute = minute_breaches.powi(3);
        let years_between_false_failovers = 1.0 / per_minute / (60.0 * 24.0 * 365.0);
        assert!(
            (4.0..6.0).contains(&years_between_false_failovers),
            "{years_between_false_failovers}"
        );
    }
}
