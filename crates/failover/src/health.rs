//! A Route 53 health check of type CLOUDWATCH_METRIC: which alarms Route 53 accepts, and the
//! check's status, derived from the alarm's data. Which record DNS answers with is `routing`'s.
//!
//! Sources: Amazon Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
//! check is healthy" (health checks that monitor CloudWatch alarms) and "Values that you specify
//! when you create or update health checks" (monitor a CloudWatch alarm); Route 53 API
//! Reference, "AlarmIdentifier" and "HealthCheckConfig".
//!
//! Route 53 "monitors the data stream for the corresponding alarm instead of monitoring the alarm
//! state", so `SetAlarmState` cannot move a health check: the check here evaluates the alarm's
//! settings over the data itself and never takes a state CloudWatch reports.
//! (Over 400 lines through its table tests: the code is well under half of it.)

use serde::{Deserialize, Serialize};

use crate::alarm::{AlarmDefinition, AlarmSpec, AlarmSpecError, AlarmState};

aws_names! {
    /// A health check's status.
    pub enum HealthStatus ("health status") {
        Healthy => "Healthy",
        Unhealthy => "Unhealthy",
    }
}

impl HealthStatus {
    fn inverted(self) -> Self {
        match self {
            HealthStatus::Healthy => HealthStatus::Unhealthy,
            HealthStatus::Unhealthy => HealthStatus::Healthy,
        }
    }
}

aws_names! {
    /// The status to assume when the data cannot determine the alarm state
    /// (`InsufficientDataHealthStatus`).
    pub enum InsufficientDataHealthStatus ("insufficient-data health status") {
        Healthy => "Healthy",
        Unhealthy => "Unhealthy",
        /// The status from the last time the data determined the alarm state; healthy for a new
        /// check.
        LastKnownStatus => "LastKnownStatus",
    }
}

/// The health check's own settings (HealthCheckConfig), apart from the alarm it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthCheckSettings {
    pub insufficient_data_health_status: InsufficientDataHealthStatus,
    /// `Inverted`: Route 53 reports the opposite status.
    pub inverted: bool,
    /// `Disabled`: Route 53 stops watching the metric and considers the check healthy (before
    /// inversion).
    pub disabled: bool,
}

impl Default for HealthCheckSettings {
    /// `LastKnownStatus`, as the API uses when the setting is omitted; neither inverted nor
    /// disabled.
    fn default() -> Self {
        Self {
            insufficient_data_health_status: InsufficientDataHealthStatus::LastKnownStatus,
            inverted: false,
            disabled: false,
        }
    }
}

/// Why Route 53 refuses an alarm for a CLOUDWATCH_METRIC health check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HealthCheckError {
    #[error(
        "the alarm is \"{datapoints_to_alarm} out of {evaluation_periods}\": Route 53 does not \
         support \"M out of N\" alarms; set datapoints_to_alarm to evaluation_periods"
    )]
    MOutOfN {
        datapoints_to_alarm: u32,
        evaluation_periods: u32,
    },
    #[error("the alarm uses metric math ({expression:?}): Route 53 does not support it")]
    MetricMath { expression: String },
    #[error(
        "the alarm's period is {period_secs} s: a high-resolution alarm; Route 53 supports only \
         standard-resolution metrics (periods of 60 s or more)"
    )]
    HighResolutionPeriod { period_secs: u32 },
    #[error(
        "the metric is stored at {storage_resolution_secs} s resolution: Route 53 supports only \
         standard-resolution (60 s) metrics"
    )]
    HighResolutionMetric { storage_resolution_secs: u32 },
    #[error(
        "the alarm uses the extended statistic {statistic:?}: Route 53 supports only Average, \
         Minimum, Maximum, Sum and SampleCount"
    )]
    ExtendedStatistic { statistic: String },
    #[error("the alarm itself is invalid: {0}")]
    Alarm(#[from] AlarmSpecError),
}

/// Checks that Route 53 accepts `alarm` for a CLOUDWATCH_METRIC health check, and returns the
/// checked alarm. Route 53's own refusals are reported before any other fault of the alarm.
pub fn route53_accepts(alarm: &AlarmDefinition) -> Result<AlarmSpec, HealthCheckError> {
    if let Some(expression) = &alarm.metric_math {
        return Err(HealthCheckError::MetricMath {
            expression: expression.clone(),
        });
    }
    if let Some(statistic) = &alarm.extended_statistic {
        return Err(HealthCheckError::ExtendedStatistic {
            statistic: statistic.clone(),
        });
    }
    if matches!(alarm.period_secs, 10 | 20 | 30) {
        return Err(HealthCheckError::HighResolutionPeriod {
            period_secs: alarm.period_secs,
        });
    }
    if let Some(secs) = alarm.storage_resolution_secs.filter(|secs| *secs < 60) {
        return Err(HealthCheckError::HighResolutionMetric {
            storage_resolution_secs: secs,
        });
    }
    let spec = alarm.check()?;
    if spec.is_m_out_of_n() {
        return Err(HealthCheckError::MOutOfN {
            datapoints_to_alarm: spec.datapoints_to_alarm(),
            evaluation_periods: spec.evaluation_periods(),
        });
    }
    Ok(spec)
}

/// The status an alarm state gives a health check, before inversion: OK is healthy, ALARM
/// unhealthy, and INSUFFICIENT_DATA whatever `when_insufficient` says, where the last known
/// status of a check that never had one is healthy.
pub fn status_from_alarm(
    state: AlarmState,
    when_insufficient: InsufficientDataHealthStatus,
    last_known: Option<HealthStatus>,
) -> HealthStatus {
    match (state, when_insufficient) {
        (AlarmState::Ok, _) => HealthStatus::Healthy,
        (AlarmState::Alarm, _) => HealthStatus::Unhealthy,
        (AlarmState::InsufficientData, InsufficientDataHealthStatus::Healthy) => {
            HealthStatus::Healthy
        }
        (AlarmState::InsufficientData, InsufficientDataHealthStatus::Unhealthy) => {
            HealthStatus::Unhealthy
        }
        (AlarmState::InsufficientData, InsufficientDataHealthStatus::LastKnownStatus) => {
            last_known.unwrap_or(HealthStatus::Healthy)
        }
    }
}

/// A CLOUDWATCH_METRIC health check, fed the alarm's datapoints as they arrive. A new check is
/// healthy (unhealthy when inverted) until the data says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchMetricHealthCheck {
    alarm: AlarmSpec,
    settings: HealthCheckSettings,
    /// The alarm state the data implies, tracked by the check itself.
    state_from_data: AlarmState,
    /// The status (before inversion) the last time the data determined the alarm state.
    last_known: Option<HealthStatus>,
}

impl CloudWatchMetricHealthCheck {
    /// A new check on `alarm`, refused as Route 53 would refuse it.
    pub fn new(
        alarm: &AlarmDefinition,
        settings: HealthCheckSettings,
    ) -> Result<Self, HealthCheckError> {
        Ok(Self::from_accepted(route53_accepts(alarm)?, settings))
    }

    /// A new check on an alarm already known to pass [`route53_accepts`].
    pub(crate) fn from_accepted(alarm: AlarmSpec, settings: HealthCheckSettings) -> Self {
        Self {
            alarm,
            settings,
            state_from_data: AlarmState::INITIAL,
            last_known: None,
        }
    }

    pub fn alarm(&self) -> &AlarmSpec {
        &self.alarm
    }

    pub fn settings(&self) -> HealthCheckSettings {
        self.settings
    }

    /// The alarm state as the data shows it, whatever `SetAlarmState` did to the alarm.
    pub fn alarm_state_from_data(&self) -> AlarmState {
        self.state_from_data
    }

    /// The status Route 53 reports now.
    pub fn status(&self) -> HealthStatus {
        let status = if self.settings.disabled {
            HealthStatus::Healthy
        } else {
            status_from_alarm(
                self.state_from_data,
                self.settings.insufficient_data_health_status,
                self.last_known,
            )
        };
        if self.settings.inverted {
            status.inverted()
        } else {
            status
        }
    }

    /// Evaluates the alarm's settings over its datapoints so far (one per period, newest last)
    /// and returns the status. A disabled check watches nothing and stays as it is.
    pub fn observe(&mut self, datapoints: &[Option<f64>]) -> HealthStatus {
        if !self.settings.disabled {
            self.state_from_data = self.alarm.evaluate(datapoints, self.state_from_data);
            if self.state_from_data != AlarmState::InsufficientData {
                self.last_known = Some(status_from_alarm(
                    self.state_from_data,
                    InsufficientDataHealthStatus::LastKnownStatus,
                    None,
                ));
            }
        }
        self.status()
    }

    /// Evaluates once per period over `history` (one datapoint per period, oldest first), as
    /// CloudWatch does every period, and returns the status at its end.
    pub fn replay(&mut self, history: &[Option<f64>]) -> HealthStatus {
        let mut health = self.status();
        for end in 1..=history.len() {
            health = self.observe(&history[..end]);
        }
        health
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::Comparison;
    use crate::metric::Statistic;

    fn availability() -> AlarmDefinition {
        AlarmDefinition::new(
            60,
            1,
            0.5,
            Comparison::LessThanThreshold,
            Statistic::Average,
        )
    }

    #[test]
    fn alarms_route53_refuses() {
        let base = AlarmDefinition {
            evaluation_periods: 3,
            ..availability()
        };
        let cases = [
            (
                "M out of N",
                AlarmDefinition {
                    datapoints_to_alarm: Some(2),
                    ..base.clone()
                },
                HealthCheckError::MOutOfN {
                    datapoints_to_alarm: 2,
                    evaluation_periods: 3,
                },
            ),
            (
                "metric math",
                AlarmDefinition {
                    metric_math: Some("FILL(m1, 0)".into()),
                    ..base.clone()
                },
                HealthCheckError::MetricMath {
                    expression: "FILL(m1, 0)".into(),
                },
            ),
            (
                "high-resolution alarm period",
                AlarmDefinition {
                    period_secs: 10,
                    ..base.clone()
                },
                HealthCheckError::HighResolutionPeriod { period_secs: 10 },
            ),
            (
                "high-resolution metric under a one-minute alarm",
                AlarmDefinition {
                    storage_resolution_secs: Some(1),
                    ..base.clone()
                },
                HealthCheckError::HighResolutionMetric {
                    storage_resolution_secs: 1,
                },
            ),
            (
                "percentile",
                AlarmDefinition {
                    statistic: None,
                    extended_statistic: Some("p90".into()),
                    ..base.clone()
                },
                HealthCheckError::ExtendedStatistic {
                    statistic: "p90".into(),
                },
            ),
            (
                "an alarm CloudWatch would refuse too",
                AlarmDefinition {
                    period_secs: 90,
                    ..base.clone()
                },
                HealthCheckError::Alarm(AlarmSpecError::Period { period_secs: 90 }),
            ),
            (
                "a sub-minute period CloudWatch does not offer",
                AlarmDefinition {
                    period_secs: 45,
                    ..base.clone()
                },
                HealthCheckError::Alarm(AlarmSpecError::Period { period_secs: 45 }),
            ),
        ];
        for (name, alarm, want) in cases {
            assert_eq!(route53_accepts(&alarm), Err(want), "{name}");
        }
    }

    #[test]
    fn refusals_say_what_to_change() {
        let alarm = AlarmDefinition {
            evaluation_periods: 3,
            datapoints_to_alarm: Some(2),
            ..availability()
        };
        let err = route53_accepts(&alarm).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the alarm is \"2 out of 3\": Route 53 does not support \"M out of N\" alarms; \
             set datapoints_to_alarm to evaluation_periods"
        );
    }

    #[test]
    fn alarms_route53_accepts() {
        let cases = [
            ("one period", availability()),
            (
                "N out of N, stated",
                AlarmDefinition {
                    evaluation_periods: 3,
                    datapoints_to_alarm: Some(3),
                    ..availability()
                },
            ),
            (
                "standard-resolution metric, stated",
                AlarmDefinition {
                    storage_resolution_secs: Some(60),
                    ..availability()
                },
            ),
            (
                "five-minute periods",
                AlarmDefinition {
                    period_secs: 300,
                    ..availability()
                },
            ),
        ];
        for (name, alarm) in cases {
            assert!(route53_accepts(&alarm).is_ok(), "{name}");
        }
    }

    #[test]
    fn status_from_each_alarm_state() {
        use HealthStatus::{Healthy, Unhealthy};
        use InsufficientDataHealthStatus as When;
        let cases = [
            (
                "OK is healthy",
                AlarmState::Ok,
                When::Unhealthy,
                Some(Unhealthy),
                Healthy,
            ),
            (
                "ALARM is unhealthy",
                AlarmState::Alarm,
                When::Healthy,
                Some(Healthy),
                Unhealthy,
            ),
            (
                "insufficient, Healthy",
                AlarmState::InsufficientData,
                When::Healthy,
                Some(Unhealthy),
                Healthy,
            ),
            (
                "insufficient, Unhealthy",
                AlarmState::InsufficientData,
                When::Unhealthy,
                Some(Healthy),
                Unhealthy,
            ),
            (
                "insufficient, last known unhealthy",
                AlarmState::InsufficientData,
                When::LastKnownStatus,
                Some(Unhealthy),
                Unhealthy,
            ),
            (
                "insufficient, last known healthy",
                AlarmState::InsufficientData,
                When::LastKnownStatus,
                Some(Healthy),
                Healthy,
            ),
            (
                "insufficient, nothing known yet: healthy",
                AlarmState::InsufficientData,
                When::LastKnownStatus,
                None,
                Healthy,
            ),
        ];
        for (name, state, when, last_known, want) in cases {
            assert_eq!(status_from_alarm(state, when, last_known), want, "{name}");
        }
    }

    /// Feeds one datapoint per step and returns the status after each.
    fn statuses(
        alarm: &AlarmDefinition,
        settings: HealthCheckSettings,
        steps: &[Option<f64>],
    ) -> Vec<HealthStatus> {
        let mut check =
            CloudWatchMetricHealthCheck::new(alarm, settings).expect("Route 53 accepts it");
        let mut history = Vec::new();
        steps
            .iter()
            .map(|datapoint| {
                history.push(*datapoint);
                check.observe(&history)
            })
            .collect()
    }

    #[test]
    fn status_follows_the_data() {
        use HealthStatus::{Healthy, Unhealthy};
        use InsufficientDataHealthStatus as When;
        let settings = |when| HealthCheckSettings {
            insufficient_data_health_status: when,
            ..HealthCheckSettings::default()
        };
        let down_then_silent = [Some(0.0), None, None, None, None];
        let cases = [
            (
                "a link that goes down and up",
                settings(When::LastKnownStatus),
                vec![Some(1.0), Some(0.0), Some(1.0)],
                vec![Healthy, Unhealthy, Healthy],
            ),
            (
                "last known status carries an outage through silence",
                settings(When::LastKnownStatus),
                down_then_silent.to_vec(),
                vec![Unhealthy; 5],
            ),
            (
                "Healthy forgives silence once the data runs out",
                settings(When::Healthy),
                down_then_silent.to_vec(),
                vec![Unhealthy, Unhealthy, Unhealthy, Healthy, Healthy],
            ),
            (
                "silence from the start, last known status: a new check is healthy",
                settings(When::LastKnownStatus),
                vec![None, None],
                vec![Healthy, Healthy],
            ),
            (
                "silence from the start, Unhealthy",
                settings(When::Unhealthy),
                vec![None, None],
                vec![Unhealthy, Unhealthy],
            ),
            (
                "inverted",
                HealthCheckSettings {
                    inverted: true,
                    ..settings(When::LastKnownStatus)
                },
                vec![None, Some(1.0), Some(0.0)],
                vec![Unhealthy, Unhealthy, Healthy],
            ),
            (
                "disabled: always healthy",
                HealthCheckSettings {
                    disabled: true,
                    ..settings(When::Unhealthy)
                },
                vec![Some(0.0), None],
                vec![Healthy, Healthy],
            ),
            (
                "disabled and inverted: always unhealthy",
                HealthCheckSettings {
                    disabled: true,
                    inverted: true,
                    ..settings(When::Unhealthy)
                },
                vec![Some(1.0)],
                vec![Unhealthy],
            ),
        ];
        for (name, settings, steps, want) in cases {
            assert_eq!(statuses(&availability(), settings, &steps), want, "{name}");
        }
    }

    #[test]
    fn settings_from_json_default_like_the_api() {
        let cases = [
            ("empty", "{}", HealthCheckSettings::default()),
            (
                "Unhealthy, inverted",
                r#"{"insufficient_data_health_status":"Unhealthy","inverted":true}"#,
                HealthCheckSettings {
                    insufficient_data_health_status: InsufficientDataHealthStatus::Unhealthy,
                    inverted: true,
                    disabled: false,
                },
            ),
        ];
        for (name, json, want) in cases {
            let got: HealthCheckSettings = serde_json::from_str(json).expect(name);
            assert_eq!(got, want, "{name}");
        }
        assert!(serde_json::from_str::<HealthCheckSettings>(r#"{"invert":true}"#).is_err());
    }

    #[test]
    fn a_new_check_is_healthy() {
        let check =
            CloudWatchMetricHealthCheck::new(&availability(), HealthCheckSettings::default())
                .expect("accepted");
        assert_eq!(check.status(), HealthStatus::Healthy);
        assert_eq!(check.alarm_state_from_data(), AlarmState::InsufficientData);
    }

    #[test]
    fn a_replayed_history_ends_where_its_last_periods_say() {
        let cases = [
            (
                "fails at the end",
                vec![Some(1.0), Some(1.0), Some(0.0)],
                HealthStatus::Unhealthy,
            ),
            (
                "recovers at the end",
                vec![Some(0.0), Some(0.0), Some(1.0)],
                HealthStatus::Healthy,
            ),
            (
                "no data: a new check is healthy",
                vec![],
                HealthStatus::Healthy,
            ),
        ];
        for (name, history, want) in cases {
            let mut check =
                CloudWatchMetricHealthCheck::new(&availability(), HealthCheckSettings::default())
                    .expect("accepted");
            assert_eq!(check.replay(&history), want, "{name}");
        }
    }
}
