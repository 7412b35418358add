//! The statistics CloudWatch computes over one period of samples: the datapoints an alarm
//! evaluates. Judging a datapoint against a threshold belongs to `alarm`.

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

#[cfg(test)]
mod tests {
    use super::*;

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
