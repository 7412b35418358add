//! The link contract, in one home: the metric the ping function publishes for each link, the
//! alarm and health check failberry puts on it, their names, and why. The ping function, the
//! local stack and `failberry-ctl` read the names from here; the SAM template is checked against
//! them by `tests/template_resources.rs`.
//!
//! The metric: namespace [`NAMESPACE`], dimension [`DIMENSION`]`=<link>`, one
//! [`AVAILABILITY_METRIC`] sample per probe (1 when the link answered, 0 when not); the ping
//! function runs every minute and probes each link [`PROBES_PER_RUN`] times per run, the probes
//! [`PROBE_SPACING_MS`] apart. Its targets come from the document [`PING_CONFIG_KEY`]; each
//! link's alarm is named by [`alarm_name`].
//!
//! Route 53 refuses "M out of N" alarms, metric math and high-resolution metrics, so flapping
//! can only be damped in the metric and by the number of periods. The choice is the model's
//! ([`LinkPolicy::CHOSEN`]): of every policy with at most [`MAX_FALSE_FAILOVERS_A_MONTH`] expected
//! false failovers a month at [`PROBE_LOSS`] independent probe loss, the one that fails over
//! soonest, then the one with the fewest probes ([`LinkPolicy::figures`] gives both numbers):
//!
//! - **Average over 60 s** is the share of that minute's probes that got through. One minute is
//!   the finest period Route 53 accepts, and EventBridge schedules run no finer.
//! - **`LessThanThreshold` 0.5**: a minute breaches when most of its probes failed: 3 or 4 of 4,
//!   with probability 4·0.05³·0.95 + 0.05⁴ ≈ 0.048 % at 5 % loss.
//! - **2 of 2 periods**: two bad minutes in a row, ≈ 2.3·10⁻⁷ per minute, about 0.01 false
//!   failovers a month (one in eight years). Three probes would need three periods (0.016 a
//!   month, the old policy); with 2 periods they would flap twice a month. One period cannot meet
//!   the bound with the 10 probes a target may have.
//! - **Spread probes**: losses are independent only if the probes do not share one moment of
//!   loss, so a run's probes of one target start [`PROBE_SPACING_MS`] apart (0.6 s in all, billed
//!   as ping Lambda time: see `docs/cost.md`).
//! - Reaction time: counted in ping runs, the alarm goes to ALARM at the second run that finds the
//!   link dead, 1 to 2 minutes after it failed (plus up to the spread if it dies in the middle of
//!   a run). The project's model moves the health check and the answer with the alarm; on AWS,
//!   CloudWatch's evaluation, Route 53's reading of the alarm (not documented, not modelled) and
//!   the failover record's TTL (60 s in the template) come on top. The first good minute after the
//!   link is back puts a non-breaching datapoint among the two and the alarm returns to OK.
//! - **Missing data is breaching**: a link nobody could measure is not known to be up. When the
//!   ping function dies both alarms go to ALARM and Route 53 answers with the primary, the wired
//!   link (fail-safe). The evaluation range (N + 2 = 4 periods) keeps re-evaluating the last
//!   real datapoints, so that happens at the fourth evaluation without data.
//! - A new alarm has no history: until two datapoints are in, missing ones are filled in as
//!   breaching, so a bad first minute raises ALARM at once (`X` plus one filled point). Past
//!   the first minutes only two bad minutes in a row do.
//! - **`LastKnownStatus`** when data is insufficient: with missing data breaching, the alarm
//!   lacks data only before its first evaluation, when a new check is healthy anyway.

use std::num::NonZeroU32;

use crate::alarm::{AlarmDefinition, AlarmSpec, Comparison, TreatMissingData};
use crate::health::{CloudWatchMetricHealthCheck, HealthCheckSettings};
use crate::metric::Statistic;

/// The probe loss the policy is sized for: 5 % of probes lost independently of each other.
pub const PROBE_LOSS: f64 = 0.05;

/// The most false failovers a month the policy may expect at [`PROBE_LOSS`].
pub const MAX_FALSE_FAILOVERS_A_MONTH: f64 = 0.1;

/// The most probes a target may have a run (the ping document refuses more).
pub const MAX_PROBES: u32 = 10;

/// The most periods the model considers (each adds a minute to the reaction time).
const MAX_PERIODS: u32 = 5;

/// Minutes in the month of the bill and of the model (30 days).
const MINUTES_A_MONTH: f64 = 30.0 * 24.0 * 60.0;

/// How many times the ping function probes each link per run: the model's choice.
pub const PROBES_PER_RUN: usize = LinkPolicy::CHOSEN.probes_per_run as usize;

/// Milliseconds between the starts of one target's probes within a run, so that one short
/// moment of loss cannot take them all.
pub const PROBE_SPACING_MS: u64 = 200;

/// What decides that a link is down: `probes_per_run` probes a minute, a minute breaching when
/// their Average is below `threshold`, an alarm after `periods` breaching minutes in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkPolicy {
    pub probes_per_run: u32,
    pub threshold: f64,
    pub periods: u32,
}

/// What a [`LinkPolicy`] gives, from [`LinkPolicy::figures`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkFigures {
    /// Seconds from the link failing to the alarm, counted in one-minute ping runs: at best
    /// (it fails just before a run) and at worst (just after one).
    pub detection_secs: (u32, u32),
    /// The chance that one minute breaches although the link is up.
    pub minute_breaches: f64,
    /// False failovers expected in a 30-day month: runs of `periods` breaching minutes that
    /// start at a minute following a good one.
    pub false_failovers_a_month: f64,
}

impl LinkPolicy {
    /// The policy in the template and the ping defaults, checked against [`LinkPolicy::choose`]
    /// by a test (a `const` so that [`PROBES_PER_RUN`] and [`link_alarm`] can use it).
    pub const CHOSEN: LinkPolicy = LinkPolicy {
        probes_per_run: 4,
        threshold: 0.5,
        periods: 2,
    };

    /// How fast this policy fails over and how often it would when nothing is wrong, with each
    /// probe lost independently with probability `probe_loss`.
    pub fn figures(&self, probe_loss: f64) -> LinkFigures {
        let n = self.probes_per_run;
        // A minute breaches when fewer than `needed_up` of its probes got through.
        let minute_breaches: f64 = (0..=n)
            .filter(|up| (*up as f64) / (n as f64) < self.threshold)
            .map(|up| {
                binomial(n, up)
                    * (1.0 - probe_loss).powi(up as i32)
                    * probe_loss.powi((n - up) as i32)
            })
            .sum();
        let false_failovers_a_month =
            MINUTES_A_MONTH * (1.0 - minute_breaches) * minute_breaches.powi(self.periods as i32);
        LinkFigures {
            detection_secs: (60 * (self.periods - 1), 60 * self.periods),
            minute_breaches,
            false_failovers_a_month,
        }
    }

    /// Of the policies with threshold 0.5 (a minute is bad when most of its probes failed), at
    /// most [`MAX_PROBES`] probes and [`MAX_PERIODS`] periods, whose expected false failovers
    /// stay within `max_false_failovers_a_month`: the one with the shortest worst-case detection,
    /// then the fewest probes (Lambda time). `None` when none qualifies.
    pub fn choose(probe_loss: f64, max_false_failovers_a_month: f64) -> Option<LinkPolicy> {
        (1..=MAX_PERIODS)
            .flat_map(|periods| {
                (1..=MAX_PROBES).map(move |probes_per_run| LinkPolicy {
                    probes_per_run,
                    threshold: 0.5,
                    periods,
                })
            })
            .filter(|policy| {
                policy.figures(probe_loss).false_failovers_a_month <= max_false_failovers_a_month
            })
            // The worst-case detection is a minute a period: fewest periods first.
            .min_by_key(|policy| (policy.periods, policy.probes_per_run))
    }
}

/// n choose k, exactly enough for n ≤ [`MAX_PROBES`].
fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

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

/// The alarm on one link's `Availability`: [`LinkPolicy::CHOSEN`] (Average < 0.5 for 2 of 2
/// one-minute datapoints), missing data breaching.
pub fn link_alarm() -> AlarmSpec {
    let policy = LinkPolicy::CHOSEN;
    AlarmSpec {
        period_secs: MINUTE,
        evaluation_periods: policy.periods,
        datapoints_to_alarm: policy.periods,
        threshold: policy.threshold,
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
            "Average < 0.5 for 2 of 2 datapoints of 60 s, missing data treated as breaching"
        );
    }

    #[test]
    fn a_link_alarm_is_named_for_its_set_identifier() {
        assert_eq!(alarm_name("wired"), "failberry-link-wired");
        assert_eq!(alarm_name("wireless-4g"), "failberry-link-wireless-4g");
    }

    #[test]
    fn the_model_gives_the_figures_of_the_docs() {
        // (probes, periods) → (worst detection s, false failovers a month), at 5 % loss.
        let cases = [
            ("the old policy: 3 probes, 3 of 3", 3, 3, 180, 0.0163),
            ("3 probes, 2 of 2 flaps twice a month", 3, 2, 120, 2.25),
            ("the chosen: 4 probes, 2 of 2", 4, 2, 120, 0.0100),
            ("the issue's example: 5 probes, 2 of 2", 5, 2, 120, 0.0579),
            ("one period, the most probes", 10, 1, 60, 0.119),
            ("one probe, one period", 1, 1, 60, 2052.0),
        ];
        for (name, probes_per_run, periods, worst, flaps) in cases {
            let figures = LinkPolicy {
                probes_per_run,
                threshold: 0.5,
                periods,
            }
            .figures(PROBE_LOSS);
            assert_eq!(figures.detection_secs, (worst - 60, worst), "{name}");
            let relative = (figures.false_failovers_a_month - flaps).abs() / flaps;
            assert!(relative < 0.01, "{name}: {figures:?}");
        }
    }

    #[test]
    fn the_chosen_policy_is_the_models_and_meets_the_goals() {
        assert_eq!(
            LinkPolicy::choose(PROBE_LOSS, MAX_FALSE_FAILOVERS_A_MONTH),
            Some(LinkPolicy::CHOSEN)
        );
        let figures = LinkPolicy::CHOSEN.figures(PROBE_LOSS);
        assert!(figures.detection_secs.1 <= 120, "{figures:?}");
        assert!(figures.false_failovers_a_month <= 0.1, "{figures:?}");
        assert!((figures.minute_breaches - 4.8125e-4).abs() < 1e-9);
        // The spread of one run's probes stays well inside a run.
        assert!(PROBE_SPACING_MS * (PROBES_PER_RUN as u64 - 1) < 1_000);
    }

    #[test]
    fn the_choice_follows_the_bound_and_the_loss() {
        let cases = [
            (
                "a looser bound: one period of 8 probes",
                0.05,
                3.0,
                Some((8, 1)),
            ),
            (
                "a stricter bound takes more probes",
                0.05,
                0.001,
                Some((6, 2)),
            ),
            ("no loss: one probe, one period", 0.0, 0.1, Some((1, 1))),
            ("half the probes lost: nothing qualifies", 0.5, 0.1, None),
        ];
        for (name, loss, bound, want) in cases {
            let got = LinkPolicy::choose(loss, bound).map(|p| (p.probes_per_run, p.periods));
            assert_eq!(got, want, "{name}");
        }
    }
}
