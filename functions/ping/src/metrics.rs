//! The metrics one run produces (namespace and dimension from the link contract,
//! `failberry_failover::link`), the `MetricSink` capability that sends them somewhere, and the
//! pure packing of datapoints into as few PutMetricData requests as the API's limits allow. The
//! sinks themselves live in `cloudwatch` and `emf`.

use std::future::Future;
use std::time::{Instant, SystemTime};

use serde::Serialize;

pub use failberry_failover::link::{DIMENSION, NAMESPACE};
pub use failberry_failover::ping::{MetricName, Unit};

/// PutMetricData limits (CloudWatch API reference, PutMetricData): at most 1000 metrics per
/// request, a 1 MB request, and 150 distinct values per datum in `Values`/`Counts`.
pub const MAX_DATUMS_PER_REQUEST: usize = 1000;
pub const MAX_REQUEST_BYTES: usize = 1_000_000;
pub const MAX_VALUES_PER_DATUM: usize = 150;
/// Room for the parts of a request that are not datums (action, version, namespace, headers).
const REQUEST_OVERHEAD_BYTES: usize = 4_096;

/// One target's samples from one run: one value per probe (none when not applicable).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetMetrics {
    pub target: String,
    pub availability: Vec<f64>,
    pub latency_ms: Vec<f64>,
    pub status_code: Vec<f64>,
    pub cert_days_left: Vec<f64>,
}

impl TargetMetrics {
    pub fn values(&self, metric: MetricName) -> &[f64] {
        match metric {
            MetricName::Availability => &self.availability,
            MetricName::Latency => &self.latency_ms,
            MetricName::StatusCode => &self.status_code,
            MetricName::CertDaysLeft => &self.cert_days_left,
        }
    }

    pub fn datapoints(&self) -> usize {
        MetricName::ALL.iter().map(|m| self.values(*m).len()).sum()
    }
}

/// Every sample of one run, stamped with the run's time.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    pub timestamp: SystemTime,
    pub targets: Vec<TargetMetrics>,
}

impl RunMetrics {
    /// How many PutMetricData datums the run makes: one per target and metric with samples.
    pub fn datum_count(&self) -> usize {
        datums(self).len()
    }
}

/// What became of a run's metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// PutMetricData requests the run needed (0 for EMF).
    pub requests: usize,
    /// PutMetricData calls made, retries included.
    pub attempts: u32,
    /// EMF lines written.
    pub lines: usize,
    /// Samples delivered.
    pub datapoints: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<Lost>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lost {
    pub datapoints: usize,
    pub targets: Vec<String>,
    pub reason: String,
}

/// Somewhere metrics go. Never fails the run: what could not be delivered is reported as `lost`.
pub trait MetricSink: Send + Sync {
    /// Delivers `run`, retrying as the sink sees fit but giving up at `deadline`.
    fn publish(&self, run: &RunMetrics, deadline: Instant)
        -> impl Future<Output = Delivery> + Send;
}

/// One PutMetricData datum: a metric of a target, its distinct values and how often each came.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub target: String,
    pub metric: MetricName,
    pub values: Vec<f64>,
    pub counts: Vec<f64>,
}

impl Datum {
    pub fn samples(&self) -> usize {
        self.counts.iter().sum::<f64>() as usize
    }

    /// An upper bound of the datum's size in a request, whatever the wire protocol: the AWS
    /// query form (the most verbose one) spells out every member path, e.g.
    /// `&MetricData.member.1000.Values.member.150=<value>`, and percent-encodes the dimension
    /// value (at most 3 bytes per byte).
    pub fn estimated_bytes(&self) -> usize {
        320 + 3 * self.target.len() + 140 * self.values.len()
    }
}

/// The datums of a run: one per target and metric with samples, folding equal samples into
/// `Values`/`Counts` (an Availability of `[1, 1, 0]` is values `[1, 0]`, counts `[2, 1]`).
pub fn datums(run: &RunMetrics) -> Vec<Datum> {
    let mut out = Vec::new();
    for t in &run.targets {
        for metric in MetricName::ALL {
            let mut folded: Vec<(f64, f64)> = Vec::new();
            for v in t.values(metric) {
                match folded.iter_mut().find(|(x, _)| x == v) {
                    Some((_, n)) => *n += 1.0,
                    None => folded.push((*v, 1.0)),
                }
            }
            for chunk in folded.chunks(MAX_VALUES_PER_DATUM) {
                out.push(Datum {
                    target: t.target.clone(),
                    metric,
                    values: chunk.iter().map(|(v, _)| *v).collect(),
                    counts: chunk.iter().map(|(_, n)| *n).collect(),
                });
            }
        }
    }
    out
}

/// Packs datums, in order, into requests within the count and size limits. Datums are small
/// and alike, so filling each request before opening the next gives the fewest requests:
/// `ceil(n / 1000)` unless the values make the size bind first.
pub fn plan_requests(datums: Vec<Datum>) -> Vec<Vec<Datum>> {
    let budget = MAX_REQUEST_BYTES - REQUEST_OVERHEAD_BYTES;
    let mut requests: Vec<Vec<Datum>> = Vec::new();
    let mut size = 0;
    for d in datums {
        let bytes = d.estimated_bytes();
        let fits = requests
            .last()
            .is_some_and(|r| r.len() < MAX_DATUMS_PER_REQUEST && size + bytes <= budget);
        if !fits {
            requests.push(Vec::new());
            size = 0;
        }
        size += bytes;
        requests.last_mut().expect("just pushed").push(d);
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(targets: usize, probes: usize) -> RunMetrics {
        RunMetrics {
            timestamp: SystemTime::UNIX_EPOCH,
            targets: (0..targets)
                .map(|i| TargetMetrics {
                    // The longest name the config allows.
                    target: format!("{i:0>64}"),
                    availability: (0..probes).map(|p| (p % 2) as f64).collect(),
                    latency_ms: (0..probes).map(|p| 10.0 + p as f64).collect(),
                    status_code: vec![200.0; probes],
                    cert_days_left: vec![42.0; probes],
                })
                .collect(),
        }
    }

    #[test]
    fn two_hundred_targets_with_four_metrics_take_one_request() {
        let requests = plan_requests(datums(&run(200, 1)));
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].len(), 800);
    }

    #[test]
    fn requests_are_as_few_as_the_limits_allow() {
        let cases = [
            ("nothing", 0, 1, 0),
            ("one target", 1, 1, 1),
            ("250 targets: exactly 1000 datums", 250, 1, 1),
            ("251 targets: 1004 datums", 251, 1, 2),
            ("625 targets: 2500 datums", 625, 1, 3),
            // 3 probes: Availability folds to 2 values, Latency 3, the others 1 each.
            ("200 targets with 3 probes", 200, 3, 1),
        ];
        for (name, targets, probes, want) in cases {
            let d = datums(&run(targets, probes));
            let n = d.len();
            let requests = plan_requests(d);
            assert_eq!(requests.len(), want, "{name}");
            assert_eq!(
                requests.iter().map(Vec::len).sum::<usize>(),
                n,
                "{name}: nothing dropped"
            );
            for r in &requests {
                assert!(r.len() <= MAX_DATUMS_PER_REQUEST, "{name}");
                let bytes: usize = r.iter().map(Datum::estimated_bytes).sum();
                assert!(
                    bytes + REQUEST_OVERHEAD_BYTES <= MAX_REQUEST_BYTES,
                    "{name}: {bytes}"
                );
            }
        }
    }

    #[test]
    fn the_size_limit_binds_when_datums_carry_many_values() {
        // 150 distinct values per datum: ~21 KB each, so about 46 per request.
        let d: Vec<Datum> = (0..100)
            .map(|i| Datum {
                target: format!("t{i}"),
                metric: MetricName::Latency,
                values: (0..150).map(f64::from).collect(),
                counts: vec![1.0; 150],
            })
            .collect();
        let per_request = (MAX_REQUEST_BYTES - REQUEST_OVERHEAD_BYTES) / d[0].estimated_bytes();
        let requests = plan_requests(d);
        assert_eq!(requests.len(), 100usize.div_ceil(per_request));
        assert!(requests.iter().all(|r| r.len() <= per_request));
    }

    #[test]
    fn equal_samples_fold_into_counts() {
        let run = RunMetrics {
            timestamp: SystemTime::UNIX_EPOCH,
            targets: vec![TargetMetrics {
                target: "wired".into(),
                availability: vec![1.0, 0.0, 1.0],
                latency_ms: vec![12.5, 14.0],
                status_code: vec![200.0, 200.0],
                cert_days_left: vec![],
            }],
        };
        let d = datums(&run);
        let got: Vec<(MetricName, Vec<f64>, Vec<f64>)> = d
            .iter()
            .map(|d| (d.metric, d.values.clone(), d.counts.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (MetricName::Availability, vec![1.0, 0.0], vec![2.0, 1.0]),
                (MetricName::Latency, vec![12.5, 14.0], vec![1.0, 1.0]),
                (MetricName::StatusCode, vec![200.0], vec![2.0]),
            ],
            "no CertDaysLeft datum without samples"
        );
        assert_eq!(d.iter().map(Datum::samples).sum::<usize>(), 7);
    }

    #[test]
    fn more_than_150_distinct_values_split_into_several_datums() {
        let run = RunMetrics {
            timestamp: SystemTime::UNIX_EPOCH,
            targets: vec![TargetMetrics {
                target: "t".into(),
                latency_ms: (0..151).map(f64::from).collect(),
                ..Default::default()
            }],
        };
        let d = datums(&run);
        assert_eq!(
            d.iter().map(|d| d.values.len()).collect::<Vec<_>>(),
            vec![150, 1]
        );
    }
}
