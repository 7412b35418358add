//! Steps a failover pair period by period, the way CloudWatch evaluates alarms with periods of a
//! minute or more (once a minute): each link's datapoint, alarm state (from the data), health
//! check status and the DNS answer, as a timeline for the tests that feed the model whole traces
//! (probe loss, outages). The rules themselves live in `evaluation`, `health` and `routing`.
//! (Over 400 lines through its tests: the code is about half of it.)

use std::fmt;

use serde::Serialize;

use crate::alarm::AlarmState;
use crate::health::{CloudWatchMetricHealthCheck, HealthStatus};
use crate::link::{link_alarm, link_health_check};
use crate::routing::{failover_answer, FailoverDecision};

/// Why two health checks cannot be stepped together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error(
        "the primary's alarm has {primary_secs} s periods and the secondary's {secondary_secs} s: \
         the model steps both links together, one period at a time"
    )]
    PeriodsDiffer {
        primary_secs: u32,
        secondary_secs: u32,
    },
}

/// One link's health check and its recent datapoints.
#[derive(Debug, Clone)]
struct Link {
    check: CloudWatchMetricHealthCheck,
    recent: Vec<Option<f64>>,
}

impl Link {
    fn new(check: CloudWatchMetricHealthCheck) -> Self {
        Self {
            check,
            recent: Vec::new(),
        }
    }

    fn observe(&mut self, datapoint: Option<f64>) -> LinkStep {
        self.recent.push(datapoint);
        let range = self.check.alarm().evaluation_range();
        if self.recent.len() > range {
            self.recent.drain(..self.recent.len() - range);
        }
        let health = self.check.observe(&self.recent);
        LinkStep {
            datapoint,
            alarm: self.check.alarm_state_from_data(),
            health,
        }
    }

    fn datapoint_from_probes(&self, probes: &[f64]) -> Option<f64> {
        self.check.alarm().statistic().compute(probes)
    }
}

/// The primary (wired) and secondary (wireless) links of a failover record pair, each with a
/// CLOUDWATCH_METRIC health check, stepped one period at a time.
#[derive(Debug, Clone)]
pub struct FailoverModel {
    primary: Link,
    secondary: Link,
    period_secs: u32,
    steps: usize,
}

impl FailoverModel {
    /// A pair of new health checks. Both alarms must share one period.
    pub fn new(
        primary: CloudWatchMetricHealthCheck,
        secondary: CloudWatchMetricHealthCheck,
    ) -> Result<Self, TimelineError> {
        let primary_secs = primary.alarm().period_secs().get();
        let secondary_secs = secondary.alarm().period_secs().get();
        if primary_secs != secondary_secs {
            return Err(TimelineError::PeriodsDiffer {
                primary_secs,
                secondary_secs,
            });
        }
        Ok(Self {
            primary: Link::new(primary),
            secondary: Link::new(secondary),
            period_secs: primary_secs,
            steps: 0,
        })
    }

    /// Both links with failberry's alarm and health check (see `link`).
    pub fn with_link_defaults() -> Self {
        Self {
            primary: Link::new(link_health_check()),
            secondary: Link::new(link_health_check()),
            period_secs: link_alarm().period_secs().get(),
            steps: 0,
        }
    }

    pub fn period_secs(&self) -> u32 {
        self.period_secs
    }

    /// The answer now, from the checks' current statuses.
    pub fn decision(&self) -> FailoverDecision {
        failover_answer(
            Some(self.primary.check.status()),
            Some(self.secondary.check.status()),
        )
    }

    /// One period: each link's datapoint (`None` when no data arrived), then one evaluation.
    pub fn step(&mut self, primary: Option<f64>, secondary: Option<f64>) -> TimelineStep {
        let index = self.steps;
        self.steps += 1;
        let primary = self.primary.observe(primary);
        let secondary = self.secondary.observe(secondary);
        TimelineStep {
            index,
            offset_secs: index as u64 * u64::from(self.period_secs),
            decision: failover_answer(Some(primary.health), Some(secondary.health)),
            primary,
            secondary,
        }
    }

    /// One period from raw probe results (e.g. 1.0 up, 0.0 down): each alarm's statistic over
    /// them makes the datapoint; no probe at all is a missing datapoint.
    pub fn step_probes(&mut self, primary: &[f64], secondary: &[f64]) -> TimelineStep {
        let primary = self.primary.datapoint_from_probes(primary);
        let secondary = self.secondary.datapoint_from_probes(secondary);
        self.step(primary, secondary)
    }

    /// Steps through two series of datapoints (oldest first); the shorter one is missing data
    /// once it runs out.
    pub fn run(mut self, primary: &[Option<f64>], secondary: &[Option<f64>]) -> Timeline {
        let initial = self.decision();
        let steps = (0..primary.len().max(secondary.len()))
            .map(|i| {
                self.step(
                    primary.get(i).copied().flatten(),
                    secondary.get(i).copied().flatten(),
                )
            })
            .collect();
        Timeline {
            period_secs: self.period_secs,
            initial,
            steps,
        }
    }

    /// Steps through two series of per-period probe results, as [`FailoverModel::step_probes`].
    pub fn run_probes(self, primary: &[Vec<f64>], secondary: &[Vec<f64>]) -> Timeline {
        let primary: Vec<Option<f64>> = primary
            .iter()
            .map(|probes| self.primary.datapoint_from_probes(probes))
            .collect();
        let secondary: Vec<Option<f64>> = secondary
            .iter()
            .map(|probes| self.secondary.datapoint_from_probes(probes))
            .collect();
        self.run(&primary, &secondary)
    }
}

/// What the model saw and decided, period by period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub period_secs: u32,
    /// The answer before the first step (new health checks are healthy: the primary).
    pub initial: FailoverDecision,
    pub steps: Vec<TimelineStep>,
}

impl Timeline {
    /// The steps at which the DNS answer changed.
    pub fn answer_changes(&self) -> Vec<&TimelineStep> {
        let mut previous = self.initial.answer;
        self.steps
            .iter()
            .filter(|step| {
                let changed = step.decision.answer != previous;
                previous = step.decision.answer;
                changed
            })
            .collect()
    }

    /// The answer after the last step.
    pub fn last_decision(&self) -> FailoverDecision {
        self.steps.last().map_or(self.initial, |step| step.decision)
    }
}

/// One evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimelineStep {
    /// Periods since the start, from 0.
    pub index: usize,
    /// Seconds since the start of the first period.
    pub offset_secs: u64,
    pub primary: LinkStep,
    pub secondary: LinkStep,
    pub decision: FailoverDecision,
}

/// One link at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkStep {
    /// This period's datapoint; `None` when no data arrived.
    pub datapoint: Option<f64>,
    /// The alarm state the data implies.
    pub alarm: AlarmState,
    pub health: HealthStatus,
}

/// `0.00 OK Healthy`, or `- ALARM Unhealthy` for a missing datapoint.
impl fmt::Display for LinkStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.datapoint {
            Some(value) => write!(f, "{value:.2}")?,
            None => f.write_str("-")?,
        }
        write!(f, " {} {}", self.alarm, self.health)
    }
}

/// `00:03:00 primary 0.00 ALARM Unhealthy | secondary 1.00 OK Healthy -> SECONDARY (...)`.
impl fmt::Display for TimelineStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.offset_secs;
        write!(
            f,
            "{:02}:{:02}:{:02} primary {} | secondary {} -> {}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            self.primary,
            self.secondary,
            self.decision,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::{AlarmDefinition, Comparison};
    use crate::health::HealthCheckSettings;
    use crate::link::PROBES_PER_RUN;
    use crate::metric::Statistic;
    use crate::routing::FailoverAnswer;
    use proptest::prelude::*;

    const LOSS: f64 = 0.05;

    /// One link's probe results per minute: each probe of a run is lost with probability
    /// `loss` while the link is up, every probe fails while it is down, and there are no probes
    /// at all while the ping function is dead.
    fn probes(
        rng: &mut fastrand::Rng,
        minutes: usize,
        loss: f64,
        state: impl Fn(usize) -> LinkCondition,
    ) -> Vec<Vec<f64>> {
        (0..minutes)
            .map(|minute| match state(minute) {
                LinkCondition::Up => (0..PROBES_PER_RUN)
                    .map(|_| if rng.f64() < loss { 0.0 } else { 1.0 })
                    .collect(),
                LinkCondition::Down => vec![0.0; PROBES_PER_RUN],
                LinkCondition::Unmeasured => Vec::new(),
            })
            .collect()
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum LinkCondition {
        Up,
        Down,
        Unmeasured,
    }
    use LinkCondition::{Down, Unmeasured, Up};

    fn first_answer_from(timeline: &Timeline, minute: usize, answer: FailoverAnswer) -> usize {
        timeline.steps[minute..]
            .iter()
            .find(|step| step.decision.answer == answer)
            .map_or(usize::MAX, |step| step.index)
    }

    #[test]
    fn six_hours_of_five_percent_probe_loss_never_flip() {
        let minutes = 6 * 60;
        let mut rng = fastrand::Rng::with_seed(20_240_601);
        let wired = probes(&mut rng, minutes, LOSS, |_| Up);
        let wireless = probes(&mut rng, minutes, LOSS, |_| Up);
        let timeline = FailoverModel::with_link_defaults().run_probes(&wired, &wireless);

        let lost = wired
            .iter()
            .chain(&wireless)
            .flatten()
            .filter(|probe| **probe == 0.0)
            .count();
        let bad_minutes = timeline
            .steps
            .iter()
            .flat_map(|step| [step.primary, step.secondary])
            .filter(|link| link.datapoint.is_some_and(|value| value < 0.5))
            .count();
        assert!(
            (60..160).contains(&lost),
            "about 5 % of 2160 probes lost: {lost}"
        );
        assert!(bad_minutes > 0, "some single minutes breach");

        assert_eq!(timeline.answer_changes(), Vec::<&TimelineStep>::new());
        for step in &timeline.steps {
            assert_eq!(step.decision.answer, FailoverAnswer::Primary, "{step}");
            assert_eq!(step.primary.alarm, AlarmState::Ok, "{step}");
            assert_eq!(step.secondary.alarm, AlarmState::Ok, "{step}");
        }
    }

    #[test]
    fn a_wired_outage_fails_over_within_three_minutes_and_back() {
        let (outage, recovery, minutes) = (120, 180, 240);
        let mut rng = fastrand::Rng::with_seed(7);
        let wired = probes(&mut rng, minutes, LOSS, |minute| {
            if (outage..recovery).contains(&minute) {
                Down
            } else {
                Up
            }
        });
        let wireless = probes(&mut rng, minutes, LOSS, |_| Up);
        let timeline = FailoverModel::with_link_defaults().run_probes(&wired, &wireless);

        let failover = first_answer_from(&timeline, outage, FailoverAnswer::Secondary);
        assert!(failover - outage < 3, "failed over at minute {failover}");
        assert_eq!(
            timeline.steps[failover].decision.reason,
            "primary unhealthy, secondary healthy: failing over"
        );
        let failback = first_answer_from(&timeline, recovery, FailoverAnswer::Primary);
        assert!(failback - recovery < 3, "failed back at minute {failback}");

        let changes: Vec<(usize, FailoverAnswer)> = timeline
            .answer_changes()
            .iter()
            .map(|step| (step.index, step.decision.answer))
            .collect();
        assert_eq!(
            changes,
            vec![
                (failover, FailoverAnswer::Secondary),
                (failback, FailoverAnswer::Primary)
            ]
        );
    }

    #[test]
    fn a_dead_ping_function_fails_safe_to_the_primary() {
        let (death, minutes) = (60, 80);
        let mut rng = fastrand::Rng::with_seed(11);
        let alive = |minute| if minute < death { Up } else { Unmeasured };
        let wired = probes(&mut rng, minutes, LOSS, alive);
        let wireless = probes(&mut rng, minutes, LOSS, alive);
        let timeline = FailoverModel::with_link_defaults().run_probes(&wired, &wireless);

        let both_alarm = timeline
            .steps
            .iter()
            .find(|step| step.primary.alarm == AlarmState::Alarm)
            .map_or(usize::MAX, |step| step.index);
        // The evaluation range (periods + 2) keeps the last real datapoints in view until then.
        let range = crate::link::link_alarm().evaluation_range();
        assert_eq!(
            both_alarm,
            death + range - 1,
            "the last evaluation without data"
        );
        for step in &timeline.steps[both_alarm..] {
            assert_eq!(step.primary.alarm, AlarmState::Alarm, "{step}");
            assert_eq!(step.secondary.alarm, AlarmState::Alarm, "{step}");
            assert_eq!(step.primary.health, HealthStatus::Unhealthy, "{step}");
            assert_eq!(step.secondary.health, HealthStatus::Unhealthy, "{step}");
        }
        assert!(timeline.answer_changes().is_empty(), "never the secondary");
        assert_eq!(
            timeline.last_decision().reason,
            "both unhealthy: Route 53 answers the primary (fail-safe)"
        );
    }

    /// The demo's story: the wire fails, DNS moves to the wireless link, the wire comes back,
    /// DNS returns, then the ping function dies and DNS stays with the wire.
    #[test]
    fn the_demo_story() {
        let minutes = 120;
        let mut rng = fastrand::Rng::with_seed(3);
        let wired = probes(&mut rng, minutes, 0.0, |minute| match minute {
            10..30 => Down,
            60.. => Unmeasured,
            _ => Up,
        });
        let wireless = probes(&mut rng, minutes, 0.0, |minute| {
            if minute < 60 {
                Up
            } else {
                Unmeasured
            }
        });
        let timeline = FailoverModel::with_link_defaults().run_probes(&wired, &wireless);
        let changes: Vec<(usize, FailoverAnswer)> = timeline
            .answer_changes()
            .iter()
            .map(|step| (step.index, step.decision.answer))
            .collect();
        // The wire dies at minute 10: the alarm fires at its second dead minute.
        let periods = crate::link::LinkPolicy::CHOSEN.periods as usize;
        assert_eq!(
            changes,
            vec![
                (10 + periods - 1, FailoverAnswer::Secondary),
                (30, FailoverAnswer::Primary)
            ]
        );
        assert_eq!(timeline.steps[70].primary.alarm, AlarmState::Alarm);
        assert_eq!(timeline.steps[70].secondary.alarm, AlarmState::Alarm);
        assert_eq!(timeline.last_decision().answer, FailoverAnswer::Primary);
    }

    #[test]
    fn a_dead_wireless_link_changes_nothing() {
        let up = vec![Some(1.0); 10];
        let down = vec![Some(0.0); 10];
        let timeline = FailoverModel::with_link_defaults().run(&up, &down);
        assert_eq!(timeline.steps[9].secondary.health, HealthStatus::Unhealthy);
        assert!(timeline.answer_changes().is_empty());
    }

    #[test]
    fn both_links_need_the_same_period() {
        let alarm = |period_secs| AlarmDefinition {
            period_secs,
            ..AlarmDefinition::new(
                60,
                1,
                0.5,
                Comparison::LessThanThreshold,
                Statistic::Average,
            )
        };
        let check = |period_secs| {
            CloudWatchMetricHealthCheck::new(&alarm(period_secs), HealthCheckSettings::default())
                .expect("accepted")
        };
        let err = FailoverModel::new(check(60), check(300)).unwrap_err();
        assert_eq!(
            err,
            TimelineError::PeriodsDiffer {
                primary_secs: 60,
                secondary_secs: 300
            }
        );
        assert!(FailoverModel::new(check(300), check(300)).is_ok());
    }

    #[test]
    fn a_step_prints_and_serializes_for_the_owner() {
        let mut model = FailoverModel::with_link_defaults();
        for _ in 0..3 {
            model.step(Some(0.0), Some(1.0));
        }
        let step = model.step_probes(&[0.0, 0.0, 1.0], &[]);
        assert_eq!(
            step.to_string(),
            "00:03:00 primary 0.33 ALARM Unhealthy | secondary - OK Healthy -> SECONDARY \
             (primary unhealthy, secondary healthy: failing over)"
        );
        assert_eq!(
            serde_json::to_value(step).expect("serializes"),
            serde_json::json!({
                "index": 3,
                "offset_secs": 180,
                "primary": {"datapoint": 1.0 / 3.0, "alarm": "ALARM", "health": "Unhealthy"},
                "secondary": {"datapoint": null, "alarm": "OK", "health": "Healthy"},
                "decision": {
                    "answer": "SECONDARY",
                    "reason": "primary unhealthy, secondary healthy: failing over",
                },
            })
        );
    }

    fn any_datapoint() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            1 => Just(None),
            1 => Just(Some(f64::NAN)),
            6 => (0.0_f64..=1.0).prop_map(Some),
        ]
    }

    proptest! {
        #[test]
        fn never_the_secondary_while_it_is_unhealthy(
            primary in proptest::collection::vec(any_datapoint(), 0..40),
            secondary in proptest::collection::vec(any_datapoint(), 0..40),
        ) {
            let timeline = FailoverModel::with_link_defaults().run(&primary, &secondary);
            for step in &timeline.steps {
                if step.secondary.health == HealthStatus::Unhealthy {
                    prop_assert_eq!(step.decision.answer, FailoverAnswer::Primary, "{}", step);
                }
            }
        }
    }
}
