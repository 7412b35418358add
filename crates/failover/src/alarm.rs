//! A CloudWatch metric alarm's definition: the settings as written (`AlarmDefinition`), the
//! checked `AlarmSpec` the model evaluates, and the states an alarm can be in (`AlarmState`).
//! How a state follows from datapoints lives in `evaluation`; what Route 53 accepts, in `health`.
//! (Over 400 lines through its table tests: the code is some 350 lines.)
//!
//! Source: Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms" / "Alarm evaluation",
//! and the CloudWatch API Reference, "PutMetricAlarm".

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::metric::Statistic;

aws_names! {
    /// How a datapoint is compared with the threshold (`ComparisonOperator`; the anomaly-detection
    /// band operators are not modelled).
    pub enum Comparison ("comparison operator") {
        GreaterThanThreshold => "GreaterThanThreshold",
        GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
        LessThanThreshold => "LessThanThreshold",
        LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
    }
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// The operator as a console shows it: `>`, `>=`, `<`, `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold => ">",
            Comparison::GreaterThanOrEqualToThreshold => ">=",
            Comparison::LessThanThreshold => "<",
            Comparison::LessThanOrEqualToThreshold => "<=",
        }
    }
}

aws_names! {
    /// How missing datapoints count when too few real ones are in the evaluation range
    /// (`TreatMissingData`; CloudWatch's default is `missing`).
    pub enum TreatMissingData ("treatment of missing data") {
        /// Not considered; all missing gives INSUFFICIENT_DATA.
        Missing => "missing",
        /// Counted as breaching the threshold.
        Breaching => "breaching",
        /// Counted as within the threshold.
        NotBreaching => "notBreaching",
        /// The current state is kept.
        Ignore => "ignore",
    }
}

aws_names! {
    /// The state of a metric alarm ("Alarm evaluation": metric alarm states).
    pub enum AlarmState ("alarm state") {
        /// The metric is within the threshold.
        Ok => "OK",
        /// The metric is outside the threshold.
        Alarm => "ALARM",
        /// The alarm has just started, or there is not enough data to decide.
        InsufficientData => "INSUFFICIENT_DATA",
    }
}

impl AlarmState {
    /// The state of an alarm that has just been created.
    pub const INITIAL: AlarmState = AlarmState::InsufficientData;
}

/// The evaluation window may not exceed one day for periods under an hour, seven days otherwise
/// (PutMetricAlarm, `Period`).
const MAX_WINDOW_SHORT_PERIODS_SECS: u64 = 86_400;
const MAX_WINDOW_SECS: u64 = 604_800;

/// An alarm as configured, before checking: the PutMetricAlarm settings that matter to the model,
/// in the project's snake_case with AWS's spelling of values. It can describe alarms the model
/// does not evaluate (metric math, extended statistics), so that `health` can say why Route 53
/// refuses them; [`AlarmDefinition::check`] turns it into an [`AlarmSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmDefinition {
    /// `Period`: seconds per datapoint.
    pub period_secs: u32,
    /// `EvaluationPeriods` ("N").
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm` ("M"); absent means N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: f64,
    pub comparison: Comparison,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<Statistic>,
    /// `ExtendedStatistic`, e.g. `p99`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    /// Absent means `missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// The expression, when the alarm watches metric math (its `Metrics` list) rather than one
    /// metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_math: Option<String>,
    /// The `StorageResolution` the metric is published with (PutMetricData): 1 for a
    /// high-resolution metric, 60 (the default when absent) for a standard one. Not an alarm
    /// setting, but Route 53 cares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_resolution_secs: Option<u32>,
}

impl AlarmDefinition {
    /// A simple "N of N" alarm on one standard-resolution metric that leaves missing data as
    /// missing; set the other fields with struct update syntax.
    pub fn new(
        period_secs: u32,
        evaluation_periods: u32,
        threshold: f64,
        comparison: Comparison,
        statistic: Statistic,
    ) -> Self {
        Self {
            period_secs,
            evaluation_periods,
            datapoints_to_alarm: None,
            threshold,
            comparison,
            statistic: Some(statistic),
            extended_statistic: None,
            treat_missing_data: None,
            metric_math: None,
            storage_resolution_secs: None,
        }
    }

    /// Checks the settings the way PutMetricAlarm would, and that the model can evaluate them.
    pub fn check(&self) -> Result<AlarmSpec, AlarmSpecError> {
        let period_secs = self.period_secs;
        if !matches!(period_secs, 10 | 20 | 30) && (period_secs == 0 || period_secs % 60 != 0) {
            return Err(AlarmSpecError::Period { period_secs });
        }
        let evaluation_periods = self.evaluation_periods;
        if evaluation_periods == 0 {
            return Err(AlarmSpecError::NoEvaluationPeriods);
        }
        let window_secs = u64::from(period_secs) * u64::from(evaluation_periods);
        let limit_secs = if period_secs < 3600 {
            MAX_WINDOW_SHORT_PERIODS_SECS
        } else {
            MAX_WINDOW_SECS
        };
        if window_secs > limit_secs {
            return Err(AlarmSpecError::WindowTooLong {
                window_secs,
                limit_secs,
            });
        }
        let datapoints_to_alarm = self.datapoints_to_alarm.unwrap_or(evaluation_periods);
        if datapoints_to_alarm == 0 || datapoints_to_alarm > evaluation_periods {
            return Err(AlarmSpecError::DatapointsToAlarm {
                datapoints_to_alarm,
                evaluation_periods,
            });
        }
        if !self.threshold.is_finite() {
            return Err(AlarmSpecError::Threshold);
        }
        if let Some(secs) = self.storage_resolution_secs {
            if secs != 1 && secs != 60 {
                return Err(AlarmSpecError::StorageResolution { secs });
            }
        }
        if let Some(expression) = &self.metric_math {
            return Err(AlarmSpecError::MetricMathNotModelled {
                expression: expression.clone(),
            });
        }
        let statistic = match (self.statistic, &self.extended_statistic) {
            (Some(_), Some(_)) => return Err(AlarmSpecError::TwoStatistics),
            (None, None) => return Err(AlarmSpecError::NoStatistic),
            (None, Some(extended)) => {
                return Err(AlarmSpecError::ExtendedStatisticNotModelled {
                    statistic: extended.clone(),
                })
            }
            (Some(statistic), None) => statistic,
        };
        Ok(AlarmSpec {
            period_secs: NonZeroU32::new(period_secs)
                .ok_or(AlarmSpecError::Period { period_secs })?,
            evaluation_periods,
            datapoints_to_alarm,
            threshold: self.threshold,
            comparison: self.comparison,
            statistic,
            treat_missing_data: self.treat_missing_data.unwrap_or(TreatMissingData::Missing),
        })
    }
}

/// Why an alarm definition is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlarmSpecError {
    #[error("period {period_secs} s: CloudWatch accepts 10, 20, 30 or a multiple of 60 seconds")]
    Period { period_secs: u32 },
    #[error("evaluation_periods is 0: an alarm evaluates at least one period")]
    NoEvaluationPeriods,
    #[error(
        "datapoints_to_alarm {datapoints_to_alarm} with evaluation_periods {evaluation_periods}: \
         it must be between 1 and evaluation_periods"
    )]
    DatapointsToAlarm {
        datapoints_to_alarm: u32,
        evaluation_periods: u32,
    },
    #[error(
        "period × evaluation_periods is {window_secs} s; CloudWatch allows at most {limit_secs} s"
    )]
    WindowTooLong { window_secs: u64, limit_secs: u64 },
    #[error("the threshold must be a finite number")]
    Threshold,
    #[error("storage resolution {secs} s: a metric is stored at 1 or 60 seconds")]
    StorageResolution { secs: u32 },
    #[error("the alarm needs a statistic (Average, Sum, Minimum, Maximum or SampleCount)")]
    NoStatistic,
    #[error("the alarm names both a statistic and an extended statistic; CloudWatch takes one")]
    TwoStatistics,
    #[error("extended statistic {statistic:?}: the model evaluates only simple statistics")]
    ExtendedStatisticNotModelled { statistic: String },
    #[error("metric math ({expression:?}): the model evaluates alarms on one metric only")]
    MetricMathNotModelled { expression: String },
}

/// A checked alarm on one metric, ready to evaluate. Build it with [`AlarmDefinition::check`]
/// (or deserialize it: the same checks run); it serializes back as an `AlarmDefinition`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AlarmDefinition", into = "AlarmDefinition")]
pub struct AlarmSpec {
    pub(crate) period_secs: NonZeroU32,
    pub(crate) evaluation_periods: u32,
    pub(crate) datapoints_to_alarm: u32,
    pub(crate) threshold: f64,
    pub(crate) comparison: Comparison,
    pub(crate) statistic: Statistic,
    pub(crate) treat_missing_data: TreatMissingData,
}

impl AlarmSpec {
    pub fn period_secs(&self) -> NonZeroU32 {
        self.period_secs
    }

    /// N.
    pub fn evaluation_periods(&self) -> u32 {
        self.evaluation_periods
    }

    /// M.
    pub fn datapoints_to_alarm(&self) -> u32 {
        self.datapoints_to_alarm
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn comparison(&self) -> Comparison {
        self.comparison
    }

    pub fn statistic(&self) -> Statistic {
        self.statistic
    }

    pub fn treat_missing_data(&self) -> TreatMissingData {
        self.treat_missing_data
    }

    /// Whether this is an "M out of N" alarm (fewer datapoints to alarm than evaluation periods).
    pub fn is_m_out_of_n(&self) -> bool {
        self.datapoints_to_alarm < self.evaluation_periods
    }

    /// Whether one datapoint breaches the threshold.
    pub fn breaches(&self, value: f64) -> bool {
        self.comparison.breaches(value, self.threshold)
    }

    /// How many of the most recent periods an evaluation looks at: more than N, so that a few
    /// missing datapoints can be made up from older real ones. The user guide gives no formula
    /// ("depends on the length of the alarm period and whether it is based on a metric with
    /// standard resolution or high resolution"); its only worked example retrieves 5 datapoints
    /// for N = 3, so the model uses N + 2.
    pub fn evaluation_range(&self) -> usize {
        self.evaluation_periods as usize + 2
    }
}

impl TryFrom<AlarmDefinition> for AlarmSpec {
    type Error = AlarmSpecError;

    fn try_from(definition: AlarmDefinition) -> Result<Self, Self::Error> {
        definition.check()
    }
}

impl From<AlarmSpec> for AlarmDefinition {
    fn from(spec: AlarmSpec) -> Self {
        Self {
            datapoints_to_alarm: Some(spec.datapoints_to_alarm),
            treat_missing_data: Some(spec.treat_missing_data),
            ..AlarmDefinition::new(
                spec.period_secs.get(),
                spec.evaluation_periods,
                spec.threshold,
                spec.comparison,
                spec.statistic,
            )
        }
    }
}

/// Reads like the CloudWatch console: `Average < 0.5 for 3 of 3 datapoints of 60 s, missing data
/// treated as breaching`.
impl fmt::Display for AlarmSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} for {} of {} datapoints of {} s, missing data treated as {}",
            self.statistic,
            self.comparison.symbol(),
            self.threshold,
            self.datapoints_to_alarm,
            self.evaluation_periods,
            self.period_secs,
            self.treat_missing_data,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn availability() -> AlarmDefinition {
        AlarmDefinition::new(
            60,
            3,
            0.5,
            Comparison::LessThanThreshold,
            Statistic::Average,
        )
    }

    #[test]
    fn definitions_that_cloudwatch_refuses() {
        let base = availability();
        let cases = [
            (
                "period not a multiple of 60",
                AlarmDefinition {
                    period_secs: 90,
                    ..base.clone()
                },
                AlarmSpecError::Period { period_secs: 90 },
            ),
            (
                "period zero",
                AlarmDefinition {
                    period_secs: 0,
                    ..base.clone()
                },
                AlarmSpecError::Period { period_secs: 0 },
            ),
            (
                "no evaluation period",
                AlarmDefinition {
                    evaluation_periods: 0,
                    ..base.clone()
                },
                AlarmSpecError::NoEvaluationPeriods,
            ),
            (
                "more datapoints to alarm than evaluation periods",
                AlarmDefinition {
                    datapoints_to_alarm: Some(4),
                    ..base.clone()
                },
                AlarmSpecError::DatapointsToAlarm {
                    datapoints_to_alarm: 4,
                    evaluation_periods: 3,
                },
            ),
            (
                "zero datapoints to alarm",
                AlarmDefinition {
                    datapoints_to_alarm: Some(0),
                    ..base.clone()
                },
                AlarmSpecError::DatapointsToAlarm {
                    datapoints_to_alarm: 0,
                    evaluation_periods: 3,
                },
            ),
            (
                "more than a day of one-minute periods",
                AlarmDefinition {
                    evaluation_periods: 1441,
                    ..base.clone()
                },
                AlarmSpecError::WindowTooLong {
                    window_secs: 86_460,
                    limit_secs: 86_400,
                },
            ),
            (
                "more than a week of hourly periods",
                AlarmDefinition {
                    period_secs: 3600,
                    evaluation_periods: 169,
                    ..base.clone()
                },
                AlarmSpecError::WindowTooLong {
                    window_secs: 608_400,
                    limit_secs: 604_800,
                },
            ),
            (
                "threshold not a number",
                AlarmDefinition {
                    threshold: f64::NAN,
                    ..base.clone()
                },
                AlarmSpecError::Threshold,
            ),
            (
                "storage resolution neither 1 nor 60",
                AlarmDefinition {
                    storage_resolution_secs: Some(5),
                    ..base.clone()
                },
                AlarmSpecError::StorageResolution { secs: 5 },
            ),
            (
                "no statistic",
                AlarmDefinition {
                    statistic: None,
                    ..base.clone()
                },
                AlarmSpecError::NoStatistic,
            ),
            (
                "statistic and extended statistic",
                AlarmDefinition {
                    extended_statistic: Some("p99".into()),
                    ..base.clone()
                },
                AlarmSpecError::TwoStatistics,
            ),
            (
                "extended statistic",
                AlarmDefinition {
                    statistic: None,
                    extended_statistic: Some("p99".into()),
                    ..base.clone()
                },
                AlarmSpecError::ExtendedStatisticNotModelled {
                    statistic: "p99".into(),
                },
            ),
            (
                "metric math",
                AlarmDefinition {
                    metric_math: Some("FILL(m1, 0)".into()),
                    ..base.clone()
                },
                AlarmSpecError::MetricMathNotModelled {
                    expression: "FILL(m1, 0)".into(),
                },
            ),
        ];
        for (name, definition, want) in cases {
            assert_eq!(definition.check(), Err(want), "{name}");
        }
    }

    #[test]
    fn definitions_that_cloudwatch_accepts() {
        let base = availability();
        let cases = [
            ("one-minute periods", base.clone(), 3),
            (
                "high-resolution period",
                AlarmDefinition {
                    period_secs: 10,
                    storage_resolution_secs: Some(1),
                    ..base.clone()
                },
                3,
            ),
            (
                "M out of N",
                AlarmDefinition {
                    datapoints_to_alarm: Some(2),
                    ..base.clone()
                },
                2,
            ),
            (
                "exactly one day",
                AlarmDefinition {
                    evaluation_periods: 1440,
                    ..base.clone()
                },
                1440,
            ),
        ];
        for (name, definition, want_m) in cases {
            match definition.check() {
                Ok(spec) => assert_eq!(spec.datapoints_to_alarm(), want_m, "{name}"),
                Err(err) => panic!("{name}: refused: {err}"),
            }
        }
    }

    #[test]
    fn unset_fields_take_cloudwatch_defaults() {
        let spec = availability().check().expect("valid");
        assert_eq!(spec.datapoints_to_alarm(), 3, "M defaults to N");
        assert_eq!(spec.treat_missing_data(), TreatMissingData::Missing);
        assert!(!spec.is_m_out_of_n());
        assert_eq!(
            spec.evaluation_range(),
            5,
            "the user guide's range for N = 3"
        );
    }

    #[test]
    fn comparisons() {
        let cases = [
            (
                "greater, above",
                Comparison::GreaterThanThreshold,
                4.0,
                true,
            ),
            (
                "greater, equal",
                Comparison::GreaterThanThreshold,
                3.0,
                false,
            ),
            (
                "greater or equal, equal",
                Comparison::GreaterThanOrEqualToThreshold,
                3.0,
                true,
            ),
            ("less, below", Comparison::LessThanThreshold, 2.0, true),
            ("less, equal", Comparison::LessThanThreshold, 3.0, false),
            (
                "less or equal, equal",
                Comparison::LessThanOrEqualToThreshold,
                3.0,
                true,
            ),
            (
                "less or equal, above",
                Comparison::LessThanOrEqualToThreshold,
                3.5,
                false,
            ),
        ];
        for (name, comparison, value, want) in cases {
            assert_eq!(comparison.breaches(value, 3.0), want, "{name}");
        }
    }

    #[test]
    fn spec_round_trips_through_json_with_aws_spellings() {
        let json = r#"{"period_secs":60,"evaluation_periods":3,"threshold":0.5,
            "comparison":"LessThanThreshold","statistic":"Average","treat_missing_data":"notBreaching"}"#;
        let spec: AlarmSpec = serde_json::from_str(json).expect("valid spec");
        assert_eq!(spec.treat_missing_data(), TreatMissingData::NotBreaching);
        let back: AlarmSpec =
            serde_json::from_value(serde_json::to_value(spec).expect("serializes"))
                .expect("parses");
        assert_eq!(back, spec);

        let refused = r#"{"period_secs":45,"evaluation_periods":3,"threshold":0.5,
            "comparison":"LessThanThreshold","statistic":"Average"}"#;
        let err = serde_json::from_str::<AlarmSpec>(refused).unwrap_err();
        assert!(err.to_string().contains("period 45 s"), "{err}");

        let unknown = r#"{"period_secs":60,"evaluation_periods":3,"threshold":0.5,
            "comparison":"Above","statistic":"Average"}"#;
        let err = serde_json::from_str::<AlarmSpec>(unknown).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown comparison operator \"Above\""),
            "{err}"
        );
    }

    #[test]
    fn display_reads_like_the_console() {
        let spec = AlarmDefinition {
            treat_missing_data: Some(TreatMissingData::Breaching),
            ..availability()
        }
        .check()
        .expect("valid");
        assert_eq!(
            spec.to_string(),
            "Average < 0.5 for 3 of 3 datapoints of 60 s, missing data treated as breaching"
        );
        assert_eq!(
            AlarmState::InsufficientData.to_string(),
            "INSUFFICIENT_DATA"
        );
    }
}
