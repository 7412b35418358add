//! Which samples of a run become CloudWatch metrics, and how often: the cheap defaults and the
//! opt-ins. Every target × metric name published in an hour is billed for that hour ($0.30 a
//! month when published all month), so a sample is published only where it buys something; the
//! rest stays in the run's JSON summary (the logs). Pure: the samples come from `service`, the
//! sending is left to the sinks.
//!
//! | metric | default | opted in (`"metrics": [...]`) |
//! |---|---|---|
//! | `Availability` | every run for a `link` (its alarm needs it); other targets' up/down folded into one aggregate, `Target=`[`AGGREGATE_TARGET`] (its Average is the share of sites up) | every run, its own |
//! | `Latency` | never (the summary has it) | every run |
//! | `StatusCode` | only a status the target does not expect | every run |
//! | `CertDaysLeft` | https only, in the run of the first minute of the UTC day | every run |

use serde::Serialize;

use crate::config::{PingConfig, Target, AGGREGATE_TARGET};
use crate::metrics::{MetricName, TargetMetrics};
use crate::summary::TargetReport;

/// How often a target's metric is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    EveryRun,
    /// One run a day: billed for one hour a day.
    Daily,
    /// Only in runs where the value is unexpected: billed for the hours with trouble.
    WhenUnexpected,
    /// Carried by the aggregate's samples, not a metric of its own.
    InAggregate,
    Never,
}

/// The cadence of `metric` for `target`.
pub fn cadence(target: &Target, metric: MetricName) -> Cadence {
    let opted = target.metrics.contains(&metric);
    match metric {
        MetricName::Availability if opted || target.link => Cadence::EveryRun,
        MetricName::Availability => Cadence::InAggregate,
        MetricName::CertDaysLeft if !target.is_https() => Cadence::Never,
        _ if opted => Cadence::EveryRun,
        MetricName::Latency => Cadence::Never,
        MetricName::StatusCode => Cadence::WhenUnexpected,
        MetricName::CertDaysLeft => Cadence::Daily,
    }
}

/// One metric series a document publishes (a target × metric name, or the aggregate), with its
/// cadence: what the bill counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub target: String,
    pub metric: MetricName,
    pub cadence: Cadence,
}

/// Every series `config` can publish; none for `Never` or `InAggregate`, one `EveryRun`
/// aggregate when any target folds into it.
pub fn series(config: &PingConfig) -> Vec<Series> {
    let mut out = Vec::new();
    let mut aggregated = false;
    for t in &config.targets {
        for metric in MetricName::ALL {
            match cadence(t, metric) {
                Cadence::Never => {}
                Cadence::InAggregate => aggregated = true,
                cadence => out.push(Series {
                    target: t.name.clone(),
                    metric,
                    cadence,
                }),
            }
        }
    }
    if aggregated {
        out.push(Series {
            target: AGGREGATE_TARGET.into(),
            metric: MetricName::Availability,
            cadence: Cadence::EveryRun,
        });
    }
    out
}

const DAY_SECS: i64 = 86_400;

/// The run at `now_secs` is the day's: it starts in the first minute of the UTC day (the
/// schedule runs once a minute; a run that starts late skips that day's sample).
fn daily_run(now_secs: i64) -> bool {
    now_secs.rem_euclid(DAY_SECS) < 60
}

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

    fn target(json: &str) -> Target {
        let doc = format!(r#"{{"targets": [{json}]}}"#);
        PingConfig::parse(doc.as_bytes()).unwrap().targets.remove(0)
    }

    #[test]
    fn cadences() {
        use Cadence::*;
        use MetricName::*;
        let site = r#"{"name": "s", "url": "https://a.example/"}"#;
        let http_site = r#"{"name": "s", "url": "http://a.example/"}"#;
        let link = r#"{"name": "wired", "url": "http://203.0.113.7:9000/", "link": true}"#;
        let opted = r#"{"name": "s", "url": "https://a.example/", "metrics": ["Availability", "Latency", "StatusCode", "CertDaysLeft"]}"#;
        let http_opted =
            r#"{"name": "s", "url": "http://a.example/", "metrics": ["CertDaysLeft"]}"#;
        let cases = [
            (
                "https site",
                site,
                [InAggregate, Never, WhenUnexpected, Daily],
            ),
            (
                "http site",
                http_site,
                [InAggregate, Never, WhenUnexpected, Never],
            ),
            ("link", link, [EveryRun, Never, WhenUnexpected, Never]),
            (
                "every opt-in",
                opted,
                [EveryRun, EveryRun, EveryRun, EveryRun],
            ),
            (
                "cert days on http mean nothing",
                http_opted,
                [InAggregate, Never, WhenUnexpected, Never],
            ),
        ];
        for (name, json, want) in cases {
            let t = target(json);
            let got = [Availability, Latency, StatusCode, CertDaysLeft].map(|m| cadence(&t, m));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn the_home_document_publishes_the_links_one_aggregate_and_daily_certificates() {
        let config = PingConfig::parse(
            br#"{"targets": [
                {"name": "wired", "url": "http://203.0.113.7:9000/", "link": true},
                {"name": "wireless", "url": "http://198.51.100.4:9000/", "link": true},
                {"name": "blog", "url": "https://blog.example.com/"},
                {"name": "nas", "url": "http://nas.example.com/", "metrics": ["Latency"]}]}"#,
        )
        .unwrap();
        let got: Vec<(String, MetricName, Cadence)> = series(&config)
            .into_iter()
            .map(|s| (s.target, s.metric, s.cadence))
            .collect();
        use Cadence::*;
        use MetricName::*;
        let want = [
            ("wired", Availability, EveryRun),
            ("wired", StatusCode, WhenUnexpected),
            ("wireless", Availability, EveryRun),
            ("wireless", StatusCode, WhenUnexpected),
            ("blog", StatusCode, WhenUnexpected),
            ("blog", CertDaysLeft, Daily),
            ("nas", Latency, EveryRun),
            ("nas", StatusCode, WhenUnexpected),
            ("sites", Availability, EveryRun),
        ]
        .map(|(t, m, c)| (t.to_string(), m, c));
        assert_eq!(got, want);
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

    #[test]
    fn the_day_starts_at_midnight_utc() {
        let cases = [
            (0, true),
            (59, true),
            (60, false),
            (86_399, false),
            (86_400, true),
            (-86_400, true),
        ];
        for (t, want) in cases {
            assert_eq!(daily_run(t), want, "{t}");
        }
    }
}
