//! How CloudWatch turns the datapoints of an alarm's evaluation range into a state, missing
//! datapoints included. The alarm's settings live in `alarm`.
//!
//! Source: Amazon CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data",
//! sections "How alarm state is evaluated when data is missing" and "Avoiding premature
//! transitions to alarm state" (until 2023 a section of "Using Amazon CloudWatch alarms"; the
//! tables below are those of the awsdocs/amazon-cloudwatch-user-guide archive, May 2023):
//!
//! - CloudWatch retrieves more datapoints than N: the evaluation range (see
//!   [`AlarmSpec::evaluation_range`]).
//! - At least N real datapoints in the range: the most recent N real ones are evaluated and the
//!   missing-data setting is not needed.
//! - Fewer: missing datapoints are filled in with the setting, "as few times as possible", and
//!   every real datapoint in the range takes part. N datapoints are evaluated; fewer than M
//!   breaching gives OK, otherwise ALARM.
//! - `missing` and `ignore` fill nothing. With no real datapoint at all, `missing` gives
//!   INSUFFICIENT_DATA and `ignore` keeps the state. Otherwise the real datapoints decide when
//!   they can: M of them breaching gives ALARM, a non-breaching one gives OK. When only a few
//!   breaching ones are there, `missing` goes to ALARM if the oldest of them is at least M
//!   periods old (the premature-alarm rule) and to INSUFFICIENT_DATA if not; `ignore` keeps
//!   the state. That last paragraph is the model's reading of the tables, which it reproduces.

use crate::alarm::{AlarmSpec, AlarmState, TreatMissingData};

/// One datapoint of the evaluation range, judged against the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    Breaching,
    NotBreaching,
    Missing,
}

impl AlarmSpec {
    /// The state after one evaluation over `datapoints` (one per period, newest last; only the
    /// last [`AlarmSpec::evaluation_range`] matter and fewer count as missing at the start).
    /// `previous` is the state before it, kept by `ignore` and wherever the data cannot decide.
    /// A value that is not finite counts as missing.
    pub fn evaluate(&self, datapoints: &[Option<f64>], previous: AlarmState) -> AlarmState {
        let range = self.evaluation_range();
        let recent = &datapoints[datapoints.len().saturating_sub(range)..];
        let padding = range - recent.len();
        let points: Vec<Point> = std::iter::repeat_n(Point::Missing, padding)
            .chain(recent.iter().map(|datapoint| match datapoint {
                Some(value) if value.is_finite() => {
                    if self.breaches(*value) {
                        Point::Breaching
                    } else {
                        Point::NotBreaching
                    }
                }
                _ => Point::Missing,
            }))
            .collect();

        let n = self.evaluation_periods as usize;
        let m = self.datapoints_to_alarm as usize;
        let real: Vec<(usize, Point)> = points
            .iter()
            .enumerate()
            .filter(|(_, point)| **point != Point::Missing)
            .map(|(index, point)| (index, *point))
            .collect();

        if real.len() >= n {
            let breaching = real[real.len() - n..]
                .iter()
                .filter(|(_, point)| *point == Point::Breaching)
                .count();
            return state_from_count(breaching, m);
        }

        let breaching = real
            .iter()
            .filter(|(_, point)| *point == Point::Breaching)
            .count();
        let not_breaching = real.len() - breaching;
        let filled = n - real.len();
        match (self.treat_missing_data, real.is_empty()) {
            (TreatMissingData::Breaching, _) => state_from_count(breaching + filled, m),
            (TreatMissingData::NotBreaching, _) => state_from_count(breaching, m),
            (TreatMissingData::Missing, true) => AlarmState::InsufficientData,
            (TreatMissingData::Ignore, true) => previous,
            (_, false) if breaching >= m => AlarmState::Alarm,
            (_, false) if not_breaching > 0 => AlarmState::Ok,
            // Only breaching datapoints from here on, fewer than M.
            (TreatMissingData::Ignore, false) => previous,
            (TreatMissingData::Missing, false) => {
                // The oldest one's age counts the periods from it to the newest, both included.
                let oldest_age = real.first().map_or(0, |(index, _)| range - index);
                if oldest_age >= m {
                    AlarmState::Alarm
                } else {
                    AlarmState::InsufficientData
                }
            }
        }
    }
}

fn state_from_count(breaching: usize, datapoints_to_alarm: usize) -> AlarmState {
    if breaching >= datapoints_to_alarm {
        AlarmState::Alarm
    } else {
        AlarmState::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::{AlarmDefinition, Comparison};
    use crate::metric::Statistic;
    use proptest::prelude::*;

    /// What a cell of the user guide's tables says.
    #[derive(Debug, Clone, Copy)]
    enum Want {
        State(AlarmState),
        RetainCurrentState,
    }
    const OK: Want = Want::State(AlarmState::Ok);
    const ALARM: Want = Want::State(AlarmState::Alarm);
    const INSUFFICIENT: Want = Want::State(AlarmState::InsufficientData);
    const RETAIN: Want = Want::RetainCurrentState;

    /// The threshold of the guide's figure is 3 units: `X` is above it, `0` below.
    fn spec(m: u32, treat: TreatMissingData) -> AlarmSpec {
        AlarmDefinition {
            datapoints_to_alarm: Some(m),
            treat_missing_data: Some(treat),
            ..AlarmDefinition::new(
                300,
                3,
                3.0,
                Comparison::GreaterThanThreshold,
                Statistic::Average,
            )
        }
        .check()
        .expect("the guide's alarm is valid")
    }

    /// The guide's notation, oldest first: `0` not breaching, `X` breaching, `-` missing.
    fn datapoints(notation: &str) -> Vec<Option<f64>> {
        notation
            .split_whitespace()
            .map(|point| match point {
                "0" => Some(1.0),
                "X" => Some(5.0),
                "-" => None,
                other => panic!("not in the guide's notation: {other}"),
            })
            .collect()
    }

    /// Checks one table row: one expected state per column MISSING, IGNORE, BREACHING,
    /// NOT BREACHING; "Retain current state" is checked from each possible previous state.
    fn check_row(name: &str, m: u32, notation: &str, want: [Want; 4]) {
        let columns = [
            TreatMissingData::Missing,
            TreatMissingData::Ignore,
            TreatMissingData::Breaching,
            TreatMissingData::NotBreaching,
        ];
        for (treat, want) in columns.into_iter().zip(want) {
            let spec = spec(m, treat);
            for previous in AlarmState::ALL.iter().copied() {
                let got = spec.evaluate(&datapoints(notation), previous);
                let want = match want {
                    Want::State(state) => state,
                    Want::RetainCurrentState => previous,
                };
                assert_eq!(
                    got, want,
                    "{name}: `{notation}`, {m} of 3, treat missing data as {treat}, previously {previous}"
                );
            }
        }
    }

    /// User guide, "How alarm state is evaluated when data is missing", first table: Datapoints
    /// to Alarm and Evaluation Periods both 3, evaluation range 5, most recent datapoint on the
    /// right. Columns: MISSING, IGNORE, BREACHING, NOT BREACHING.
    #[test]
    fn user_guide_table_3_of_3() {
        let rows = [
            (
                "row 1: three real datapoints, two breaching",
                "0 - X - X",
                [OK, OK, OK, OK],
            ),
            (
                "row 2: one real datapoint, not breaching",
                "0 - - - -",
                [OK, OK, OK, OK],
            ),
            (
                "row 3: all five missing",
                "- - - - -",
                [INSUFFICIENT, RETAIN, ALARM, OK],
            ),
            (
                "row 4: three most recent real datapoints breaching",
                "0 X X - X",
                [ALARM, ALARM, ALARM, ALARM],
            ),
            (
                "row 5: premature alarm state",
                "- - X - -",
                [ALARM, RETAIN, ALARM, OK],
            ),
        ];
        for (name, notation, want) in rows {
            check_row(name, 3, notation, want);
        }
    }

    /// The same table's rows that earlier editions of the guide printed and the current one
    /// dropped, and the examples of "Avoiding premature transitions to alarm state": with M = 3,
    /// `- - - - X` and `- - - X -` do not alarm yet when missing data is missing.
    #[test]
    fn user_guide_earlier_rows_and_premature_examples_3_of_3() {
        let rows = [
            (
                "earlier edition: newest datapoint breaching, alone",
                "- - - - X",
                [INSUFFICIENT, RETAIN, ALARM, OK],
            ),
            (
                "earlier edition: oldest datapoint breaching, alone",
                "X - - - -",
                [ALARM, RETAIN, ALARM, OK],
            ),
            (
                "premature example: breaching two periods ago",
                "- - - X -",
                [INSUFFICIENT, RETAIN, ALARM, OK],
            ),
            (
                "premature example: the next datapoint is fine",
                "- - - X 0",
                [OK, OK, OK, OK],
            ),
            (
                "premature example: fine after a gap",
                "- - X - 0",
                [OK, OK, OK, OK],
            ),
        ];
        for (name, notation, want) in rows {
            check_row(name, 3, notation, want);
        }
    }

    /// The guide's second table: Datapoints to Alarm 2, Evaluation Periods 3 (2 out of 3),
    /// evaluation range 5.
    #[test]
    fn user_guide_table_2_of_3() {
        let rows = [
            (
                "row 1: two of the three most recent real datapoints breaching",
                "0 - X - X",
                [ALARM, ALARM, ALARM, ALARM],
            ),
            (
                "row 2: older datapoints not needed",
                "0 0 X 0 X",
                [ALARM, ALARM, ALARM, ALARM],
            ),
            (
                "row 3: two real datapoints, one breaching",
                "0 - X - -",
                [OK, OK, ALARM, OK],
            ),
            (
                "row 4: one real datapoint, not breaching",
                "- - - - 0",
                [OK, OK, ALARM, OK],
            ),
            (
                "row 5: premature alarm state",
                "- - - X -",
                [ALARM, RETAIN, ALARM, OK],
            ),
        ];
        for (name, notation, want) in rows {
            check_row(name, 2, notation, want);
        }
    }

    /// "Using Amazon CloudWatch alarms", "Evaluating an alarm": with N = M = 3 and a threshold of
    /// 3 units, the alarm goes to ALARM in the fifth period of the figure, back to OK in the
    /// sixth, and a single breach in the ninth leaves it OK.
    #[test]
    fn user_guide_figure_3_of_3() {
        let spec = spec(3, TreatMissingData::Missing);
        let values = [1.0, 2.0, 4.0, 5.0, 4.0, 2.0, 1.0, 2.0, 4.0, 2.0];
        let (ok, alarm) = (AlarmState::Ok, AlarmState::Alarm);
        let want = [ok, ok, ok, ok, alarm, ok, ok, ok, ok, ok];
        let mut state = AlarmState::INITIAL;
        let mut history = Vec::new();
        for (period, (value, want)) in values.into_iter().zip(want).enumerate() {
            history.push(Some(value));
            state = spec.evaluate(&history, state);
            assert_eq!(state, want, "period {}", period + 1);
        }
    }

    #[test]
    fn only_the_evaluation_range_counts() {
        let spec = spec(3, TreatMissingData::Breaching);
        let cases = [
            (
                "old breaches fall out of the range",
                "X X X 0 0 0 0 0",
                AlarmState::Ok,
            ),
            (
                "a short history counts as missing at the start",
                "X",
                AlarmState::Alarm,
            ),
            (
                "nothing at all, missing treated as breaching",
                "",
                AlarmState::Alarm,
            ),
            (
                "the last real datapoints are re-evaluated after the metric stops",
                "0 0 0 0 - -",
                AlarmState::Ok,
            ),
            (
                "until they leave the range",
                "0 0 0 0 - - - - -",
                AlarmState::Alarm,
            ),
        ];
        for (name, notation, want) in cases {
            assert_eq!(
                spec.evaluate(&datapoints(notation), AlarmState::Ok),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn non_finite_values_count_as_missing() {
        let spec = spec(3, TreatMissingData::Missing);
        let got = spec.evaluate(&[Some(f64::NAN), Some(f64::INFINITY), None], AlarmState::Ok);
        assert_eq!(got, AlarmState::InsufficientData);
    }

    proptest! {
        #[test]
        fn evaluation_is_total_and_matches_plain_counting_without_gaps(
            values in proptest::collection::vec(-10.0_f64..10.0, 0..12),
            n in 1_u32..6,
            m_seed in 0_u32..6,
            treat in proptest::sample::select(TreatMissingData::ALL),
        ) {
            let m = 1 + m_seed % n;
            let spec = AlarmDefinition {
                datapoints_to_alarm: Some(m),
                treat_missing_data: Some(treat),
                ..AlarmDefinition::new(60, n, 0.0, Comparison::LessThanThreshold, Statistic::Average)
            }
            .check()
            .expect("valid");
            let datapoints: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
            let got = spec.evaluate(&datapoints, AlarmState::Ok);
            if values.len() >= n as usize {
                let breaching = values[values.len() - n as usize..].iter().filter(|v| **v < 0.0).count();
                let want = if breaching >= m as usize { AlarmState::Alarm } else { AlarmState::Ok };
                prop_assert_eq!(got, want);
            }
        }
    }
}
