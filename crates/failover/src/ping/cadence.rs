//! Which samples of a run become CloudWatch metrics, and how often: the cheap defaults and the
//! opt-ins. Every target × metric name published in an hour is billed for that hour ($0.30 a
//! month when published all month), so a sample is published only where it buys something; the
//! rest stays in the run's JSON summary (the logs). Pure: which samples of a run are kept is
//! `failberry-ping`'s (`cadence::select`), the bill is `failberry-ctl cost`'s.
//!
//! | metric | default | opted in (`"metrics": [...]`) |
//! |---|---|---|
//! | `Availability` | every run for a `link` (its alarm needs it); other targets' up/down folded into one aggregate, `Target=`[`AGGREGATE_TARGET`] (its Average is the share of sites up) | every run, its own |
//! | `Latency` | never (the summary has it) | every run |
//! | `StatusCode` | only a status the target does not expect | every run |
//! | `CertDaysLeft` | https only, in the run of the first minute of the UTC day | every run |

use serde::Serialize;

use super::config::{PingConfig, Target, AGGREGATE_TARGET};
use super::MetricName;

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
pub fn daily_run(now_secs: i64) -> bool {
    now_secs.rem_euclid(DAY_SECS) < 60
}

#[cfg(test)]
mod tests {
    use super::*;

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
