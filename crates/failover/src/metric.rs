//! Metric samples and the statistics CloudWatch computes over one period of them: the datapoints
//! an alarm evaluates. Judging a datapoint against a threshold belongs to `alarm`.

use std::num::NonZeroU32;

aws_names! {
    /// The simple statistics CloudWatch offers an alarm (`Statistic` in PutMetricAlarm).
    /// Percentiles and the other extended statistics are left out: Route 53 refuses them and the
    /// model does not compute them.
    pub enum Statistic ("statistic") {
        Average => "Average",
        Sum => "Sum",
        Minimum => "Minimum",
        Maximum => "Maximum",
        SampleCount => "SampleCount",
    }
}

impl Statistic {
    /// The statistic of one period's sample values, or `None` when the period has no sample: a
    /// period without data has no datapoint at all (not a zero), even for `SampleCount` and
    /// `Sum`. Values that are not finite are skipped, as PutMetricData refuses them.
    pub fn compute(self, values: &[f64]) -> Option<f64> {
        let mut finite = values.iter().copied().filter(|v| v.is_finite()).peekable();
        finite.peek()?;
        let (count, sum, min, max) = finite.fold(
            (0_u64, 0.0_f64, f64::INFINITY, f64::NEG_INFINITY),
            |(count, sum, min, max), v| (count + 1, sum + v, min.min(v), max.max(v)),
        );
        Some(match self {
            Statistic::Average => sum / count as f64,
            Statistic::Sum => sum,
            Statistic::Minimum => min,
            Statistic::Maximum => max,
            Statistic::SampleCount => count as f64,
        })
    }
}

/// One raw value of a metric, as PutMetricData stores it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Unix time, in seconds.
    pub timestamp_secs: u64,
    pub value: f64,
}

impl Sample {
    pub fn new(timestamp_secs: u64, value: f64) -> Self {
        Self {
            timestamp_secs,
            value,
        }
    }
}

/// The datapoints of `periods` consecutive periods of `period_secs`, the first one starting at
/// `start_secs`, oldest first: `statistic` over the samples whose timestamp falls in each period,
/// `None` for a period without samples. Samples outside the range are ignored, in any order.
///
/// CloudWatch aligns periods on multiples of the period since the Unix epoch; pass an aligned
/// `start_secs` (see [`align_down`]) to get the datapoints CloudWatch would show.
pub fn aggregate(
    samples: &[Sample],
    statistic: Statistic,
    period_secs: NonZeroU32,
    start_secs: u64,
    periods: usize,
) -> Vec<Option<f64>> {
    let period = u64::from(period_secs.get());
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); periods];
    for sample in samples {
        let Some(offset) = sample.timestamp_secs.checked_sub(start_secs) else {
            continue;
        };
        let Ok(index) = usize::try_from(offset / period) else {
            continue;
        };
        if let Some(bucket) = buckets.get_mut(index) {
            bucket.push(sample.value);
        }
    }
    buckets
        .iter()
        .map(|values| statistic.compute(values))
        .collect()
}

/// The start of the period that holds `timestamp_secs`.
pub fn align_down(timestamp_secs: u64, period_secs: NonZeroU32) -> u64 {
    timestamp_secs - timestamp_secs % u64::from(period_secs.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: NonZeroU32 = match NonZeroU32::new(60) {
        Some(p) => p,
        None => unreachable!(),
    };

    #[test]
    fn statistics_of_one_period() {
        let probes = [1.0, 0.0, 1.0, 1.0];
        let cases = [
            ("average", Statistic::Average, &probes[..], Some(0.75)),
            ("sum", Statistic::Sum, &probes[..], Some(3.0)),
            ("minimum", Statistic::Minimum, &probes[..], Some(0.0)),
            ("maximum", Statistic::Maximum, &probes[..], Some(1.0)),
            (
                "sample count",
                Statistic::SampleCount,
                &probes[..],
                Some(4.0),
            ),
            (
                "no samples: no datapoint",
                Statistic::Average,
                &[][..],
                None,
            ),
            (
                "no samples: not a zero count",
                Statistic::SampleCount,
                &[][..],
                None,
            ),
            ("no samples: not a zero sum", Statistic::Sum, &[][..], None),
            (
                "non-finite values are not data",
                Statistic::Average,
                &[f64::NAN, 1.0, f64::INFINITY][..],
                Some(1.0),
            ),
            (
                "only non-finite values: no datapoint",
                Statistic::Maximum,
                &[f64::NAN][..],
                None,
            ),
        ];
        for (name, statistic, values, want) in cases {
            assert_eq!(statistic.compute(values), want, "{name}");
        }
    }

    #[test]
    fn samples_fall_into_their_periods() {
        let start = 1_700_000_040; // a multiple of 60
        let samples = [
            Sample::new(start + 61, 0.0),
            Sample::new(start + 1, 1.0),
            Sample::new(start + 59, 0.0),
            Sample::new(start + 60, 1.0),
            Sample::new(start + 180, 1.0),
            Sample::new(start - 1, 0.0),   // before the range
            Sample::new(start + 240, 0.0), // after the range
        ];
        let cases = [
            (
                "average per minute, a minute without samples is missing",
                Statistic::Average,
                vec![Some(0.5), Some(0.5), None, Some(1.0)],
            ),
            (
                "sample count per minute",
                Statistic::SampleCount,
                vec![Some(2.0), Some(2.0), None, Some(1.0)],
            ),
        ];
        for (name, statistic, want) in cases {
            assert_eq!(
                aggregate(&samples, statistic, MINUTE, start, 4),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn aggregating_nothing_gives_missing_periods() {
        assert_eq!(
            aggregate(&[], Statistic::Average, MINUTE, 0, 3),
            vec![None, None, None]
        );
        assert!(aggregate(&[Sample::new(5, 1.0)], Statistic::Sum, MINUTE, 0, 0).is_empty());
    }

    #[test]
    fn periods_align_on_the_epoch() {
        let cases = [
            ("inside a minute", 1_700_000_059, 1_700_000_040),
            ("on a boundary", 1_700_000_040, 1_700_000_040),
            ("zero", 0, 0),
        ];
        for (name, timestamp, want) in cases {
            assert_eq!(align_down(timestamp, MINUTE), want, "{name}");
        }
    }

    #[test]
    fn statistic_names_are_the_aws_ones() {
        for statistic in Statistic::ALL {
            assert_eq!(statistic.as_str().parse::<Statistic>(), Ok(*statistic));
        }
        let err = "p99".parse::<Statistic>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown statistic \"p99\"; expected one of: Average, Sum, Minimum, Maximum, SampleCount"
        );
    }
}
