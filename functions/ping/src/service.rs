//! One scheduled run: read the targets, probe them all concurrently within a bound, judge each
//! probe, publish the metrics and return the summary. The config document, the metric sinks and
//! the clock come in through traits, so the local stack can run it in-process at an accelerated
//! clock and tests against fakes.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use failberry_aws::{DocumentCache, DocumentError, DocumentSource, S3Documents};
use lambda_runtime::LambdaEvent;

use crate::cadence::select;
use crate::cloudwatch::CloudWatchSink;
use crate::config::{Emit, PingConfig, Target};
use crate::emf::EmfSink;
use crate::metrics::{Delivery, MetricSink, RunMetrics, TargetMetrics};
use crate::probe::{probe_all, Observation, Prober};
use crate::summary::{ProbeReport, Summary, TargetReport};
use crate::verdict::judge;

// The local stack runs the schedule at an accelerated clock: metric timestamps and certificate
// days follow it.
use failberry_proto::clock::unix_secs;
use failberry_proto::clock::{Clock, SystemClock};

/// Where the function finds its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_bucket: String,
    pub config_key: String,
    pub config_max_age: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PingError {
    /// No good configuration was ever read: the invocation fails (and the alarms, missing their
    /// data, fail safe). Retryable: the next scheduled run tries again.
    #[error("no usable ping configuration: {0}")]
    Config(#[from] DocumentError),
}

impl From<PingError> for lambda_runtime::Diagnostic {
    fn from(e: PingError) -> Self {
        let error_type = match e {
            PingError::Config(_) => "PingConfigUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct Ping<S, A, E, K> {
    pub config: DocumentCache<S, PingConfig>,
    pub prober: Prober,
    /// Used when the document says `"emit": "api"`.
    pub api: A,
    /// Used when the document says `"emit": "emf"`.
    pub emf: E,
    pub clock: K,
}

/// The deployed shape: the document in S3, PutMetricData, EMF on stdout.
pub type AwsPing<K = SystemClock> = Ping<S3Documents, CloudWatchSink, EmfSink, K>;

impl<K: Clock> AwsPing<K> {
    /// Builds the service from SDK clients made once, outside the handler. Trusts the Mozilla
    /// roots.
    pub fn from_clients(
        cloudwatch: aws_sdk_cloudwatch::Client,
        s3: aws_sdk_s3::Client,
        settings: Settings,
        clock: K,
    ) -> Self {
        let documents = S3Documents::new(s3, settings.config_bucket, settings.config_key);
        Ping {
            config: DocumentCache::new(documents, PingConfig::parse, settings.config_max_age),
            prober: Prober::with_webpki_roots(),
            api: CloudWatchSink::new(cloudwatch),
            emf: EmfSink::default(),
            clock,
        }
    }
}

impl<S, A, E, K> Ping<S, A, E, K> {
    /// Writes the EMF lines somewhere else than stdout (in-process callers, tests).
    pub fn with_emf<F>(self, emf: F) -> Ping<S, A, F, K> {
        Ping {
            config: self.config,
            prober: self.prober,
            api: self.api,
            emf,
            clock: self.clock,
        }
    }
}

/// Time kept back from the Lambda deadline to log and return the summary.
const DEADLINE_MARGIN: Duration = Duration::from_millis(250);
/// The deadline when the runtime gives none (tests, in-process callers).
const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

impl<S: DocumentSource, A: MetricSink, E: MetricSink, K: Clock> Ping<S, A, E, K> {
    /// The Lambda handler: an EventBridge scheduled event in, the summary out.
    pub async fn handle(&self, event: LambdaEvent<CloudWatchEvent>) -> Result<Summary, PingError> {
        let deadline = deadline_from(event.context.deadline, SystemTime::now(), Instant::now());
        let mut summary = self.run(deadline).await?;
        summary.scheduled_time = Some(event.payload.time.to_rfc3339());
        Ok(summary)
    }

    /// One run: probes every target, publishes the metrics before `deadline`, logs and returns
    /// the summary. Fails only when there is no configuration to run.
    pub async fn run(&self, deadline: Instant) -> Result<Summary, PingError> {
        let started = Instant::now();
        let probed = self.probe().await?;
        let delivery = self.publish(&probed, deadline).await;
        for t in probed.targets.iter().filter(|t| !t.up) {
            tracing::warn!(
                name = %t.name,
                error = t.error.map_or("", |e| e.as_str()),
                detail = t.detail.as_deref().unwrap_or(""),
                "target down"
            );
        }
        let up = probed.targets.iter().filter(|t| t.up).count();
        let summary = Summary {
            time: rfc3339(probed.metrics.timestamp),
            scheduled_time: None,
            up,
            down: probed.targets.len() - up,
            emit: probed.emit,
            metrics: delivery,
            duration_ms: crate::probe::ms(started.elapsed()),
            targets: probed.targets,
        };
        tracing::info!(
            up = summary.up,
            down = summary.down,
            duration_ms = summary.duration_ms,
            summary = %serde_json::to_string(&summary).unwrap_or_default(),
            "ping run done"
        );
        Ok(summary)
    }

    /// The run's first half: reads the targets, probes them all and judges each probe.
    pub async fn probe(&self) -> Result<Probed, PingError> {
        let config = self.config.get().await?;
        let now = self.clock.now();
        let observations = probe_all(&self.prober, &config.targets, config.concurrency).await;
        let now_secs = unix_secs(now);
        let targets: Vec<TargetReport> = config
            .targets
            .iter()
            .zip(&observations)
            .map(|(t, obs)| report(t, obs, now_secs))
            .collect();
        // What CloudWatch gets is the cheap selection (`cadence`); the summary keeps every sample.
        let pairs: Vec<(&Target, &TargetReport)> = config.targets.iter().zip(&targets).collect();
        let metrics = RunMetrics {
            timestamp: now,
            targets: select(&pairs, now_secs),
        };
        Ok(Probed {
            emit: config.emit,
            targets,
            metrics,
        })
    }

    /// The run's second half: the metrics published the way the document says, before
    /// `deadline`.
    pub async fn publish(&self, probed: &Probed, deadline: Instant) -> Delivery {
        match probed.emit {
            Emit::Api => self.api.publish(&probed.metrics, deadline).await,
            Emit::Emf => self.emf.publish(&probed.metrics, deadline).await,
        }
    }
}

/// What probing found, before it is published: each target's report and the run's metrics.
#[derive(Debug, Clone)]
pub struct Probed {
    pub emit: Emit,
    pub targets: Vec<TargetReport>,
    pub metrics: RunMetrics,
}

/// Judges a target's probes and picks the one that speaks for it: the first up probe when the
/// target is up (at least half its probes up), else the first down one.
fn report(target: &Target, observations: &[Observation], now: i64) -> TargetReport {
    let probes: Vec<ProbeReport> = observations
        .iter()
        .map(|obs| ProbeReport::new(obs, judge(target, obs, now)))
        .collect();
    let ups = probes.iter().filter(|p| p.up).count();
    let up = ups * 2 >= probes.len() && ups > 0;
    let lead = probes
        .iter()
        .find(|p| p.up == up)
        .or(probes.first())
        .cloned()
        .unwrap_or_default();
    TargetReport {
        name: target.name.clone(),
        url: target.url.to_string(),
        up,
        availability: if probes.is_empty() {
            0.0
        } else {
            ups as f64 / probes.len() as f64
        },
        status: lead.status,
        latency_ms: lead.latency_ms,
        phases: lead.phases,
        error: lead.error,
        detail: lead.detail,
        cert_days_left: lead.cert_days_left,
        probes,
    }
}

impl TargetReport {
    /// Every sample of the run for this target, one per probe (what is published of them is
    /// `cadence::select`'s choice).
    pub fn metrics(&self) -> TargetMetrics {
        TargetMetrics {
            target: self.name.clone(),
            availability: self
                .probes
                .iter()
                .map(|p| if p.up { 1.0 } else { 0.0 })
                .collect(),
            latency_ms: self.probes.iter().filter_map(|p| p.latency_ms).collect(),
            status_code: self
                .probes
                .iter()
                .filter_map(|p| p.status.map(f64::from))
                .collect(),
            cert_days_left: self
                .probes
                .iter()
                .filter_map(|p| p.cert_days_left.map(|d| d as f64))
                .collect(),
        }
    }
}

/// The Lambda deadline (Unix milliseconds; 0 when unknown) as an `Instant`, less the margin.
fn deadline_from(deadline_ms: u64, now: SystemTime, now_instant: Instant) -> Instant {
    if deadline_ms == 0 {
        return now_instant + DEFAULT_BUDGET;
    }
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline.duration_since(now).unwrap_or_default();
    now_instant + left.saturating_sub(DEADLINE_MARGIN)
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        let at = Instant::now();
        let ms = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64
        };
        let cases = [
            ("unknown", 0, DEFAULT_BUDGET),
            (
                "ten seconds left",
                ms(now + Duration::from_secs(10)),
                Duration::from_millis(9_750),
            ),
            (
                "already past",
                ms(now - Duration::from_secs(1)),
                Duration::ZERO,
            ),
        ];
        for (name, deadline_ms, want) in cases {
            assert_eq!(deadline_from(deadline_ms, now, at) - at, want, "{name}");
        }
    }
}
