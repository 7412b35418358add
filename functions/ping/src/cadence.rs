//! Which samples of a run become CloudWatch metrics: each target's report filtered by its
//! cadences (`failberry_failover::ping::cadence`, where the table of defaults and opt-ins lives),
//! then the one aggregate. Pure: the samples come from `service`, the sending is left to the
//! sinks.

use failberry_failover::ping::{cadence, daily_run, Cadence, MetricName, Target, AGGREGATE_TARGET};

use crate::metrics::TargetMetrics;
use crate::summary::TargetReport;

/// The samples of one run that are published, from every target's report at `now_secs`:
/// per target what its cadences allow, then the aggregate (one sample per aggregated target, 1
/// when it was up).
pub fn select(targets: &[(&Target, &TargetReport)], now_secs: i64) -> Vec<TargetMetrics> {
    let mut out = Vec::new();
    let mut aggregate = Vec::new();
    for (target, report) in targets {
        let all = report.metrics();
        let keep = |metric: MetricName, values: Vec<f64>| match cadence(target, metric) {
            Cadence::EveryRun => values,
            Cadence::Daily if daily_run(now_secs) => values,
            Cadence::WhenUnexpected => values
                .into_iter()
                .filter(|v| !target.expect_status.iter().any(|r| r.contains(*v as u16)))
                .collect(),
            _ => Vec::new(),
        };
        if cadence(target, MetricName::Availability) == Cadence::InAggregate {
            aggregate.push(if report.up { 1.0 } else { 0.0 });
        }
        let published = TargetMetrics {
            target: all.target.clone(),
            availability: keep(MetricName::Availability, all.availability),
            latency_ms: keep(MetricName::Latency, all.latency_ms),
            status_code: keep(MetricName::StatusCode, all.status_code),
            cert_days_left: keep(MetricName::CertDaysLeft, all.cert_days_left),
        };
        if published.datapoints() > 0 {
            out.push(published);
        }
    }
    if !aggregate.is_empty() {
        out.push(TargetMetrics {
            target: AGGREGATE_TARGET.into(),
            availability: aggregate,
            ..TargetMetrics::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Phases;
    use crate::summary::ProbeReport;
    use failberry_failover::ping::PingConfig;

    fn target(json: &str) -> Target {
        let doc = format!(r#"{{"targets": [{json}]}}"#);
        PingConfig::parse(doc.as_bytes()).unwrap().targets.remove(0)
    }

    fn report(name: &str, probes: &[(bool, Option<u16>)], cert_days: Option<i64>) -> TargetReport {
        let probes: Vec<ProbeReport> = probes
            .iter()
            .map(|(up, status)| ProbeReport {
                up: *up,
                status: *status,
                latency_ms: status.map(|_| 12.0),
                cert_days_left: cert_days,
                ..ProbeReport::default()
            })
            .collect();
        let ups = probes.iter().filter(|p| p.up).count();
        TargetReport {
            name: name.into(),
            url: String::new(),
            up: ups * 2 >= probes.len() && ups > 0,
            availability: ups as f64 / probes.len() as f64,
            status: None,
            latency_ms: None,
            phases: Phases::default(),
            error: None,
            detail: None,
            cert_days_left: cert_days,
            probes,
        }
    }

    #[test]
    fn a_run_publishes_what_the_cadences_allow() {
        let link = target(
            r#"{"name": "wired", "url": "http://203.0.113.7:9000/", "link": true, "probes": 3}"#,
        );
        let site = target(r#"{"name": "blog", "url": "https://blog.example.com/"}"#);
        let fast =
            target(r#"{"name": "nas", "url": "https://nas.example.com/", "metrics": ["Latency"]}"#);
        let midnight = 1_764_201_600; // 2025-11-27T00:00:00Z
        let cases = [
            (
                "a quiet minute: the link's probes, the aggregate, the opted latency",
                midnight + 600,
                [
                    report(
                        "wired",
                        &[(true, Some(200)), (true, Some(200)), (false, None)],
                        None,
                    ),
                    report("blog", &[(true, Some(200))], Some(40)),
                    report("nas", &[(true, Some(200))], Some(40)),
                ],
                vec![
                    TargetMetrics {
                        target: "wired".into(),
                        availability: vec![1.0, 1.0, 0.0],
                        ..Default::default()
                    },
                    TargetMetrics {
                        target: "nas".into(),
                        latency_ms: vec![12.0],
                        ..Default::default()
                    },
                    TargetMetrics {
                        target: "sites".into(),
                        availability: vec![1.0, 1.0],
                        ..Default::default()
                    },
                ],
            ),
            (
                "the day's run adds certificate days; a 503 is published, a 200 is not",
                midnight + 5,
                [
                    report("wired", &[(true, Some(200))], None),
                    report("blog", &[(false, Some(503))], Some(40)),
                    report("nas", &[(true, Some(200))], Some(9)),
                ],
                vec![
                    TargetMetrics {
                        target: "wired".into(),
                        availability: vec![1.0],
                        ..Default::default()
                    },
                    TargetMetrics {
                        target: "blog".into(),
                        status_code: vec![503.0],
                        cert_days_left: vec![40.0],
                        ..Default::default()
                    },
                    TargetMetrics {
                        target: "nas".into(),
                        latency_ms: vec![12.0],
                        cert_days_left: vec![9.0],
                        ..Default::default()
                    },
                    TargetMetrics {
                        target: "sites".into(),
                        availability: vec![0.0, 1.0],
                        ..Default::default()
                    },
                ],
            ),
        ];
        for (name, now, reports, want) in cases {
            let pairs: Vec<(&Target, &TargetReport)> = [&link, &site, &fast]
                .into_iter()
                .zip(reports.iter())
                .collect();
            assert_eq!(select(&pairs, now), want, "{name}");
        }
    }

    #[test]
    fn only_links_publish_no_aggregate() {
        let link = target(r#"{"name": "wired", "url": "http://203.0.113.7:9000/", "link": true}"#);
        let r = report("wired", &[(false, None)], None);
        let got = select(&[(&link, &r)], 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].availability, vec![0.0]);
    }
}
