//! The `MetricSink` over CloudWatch's PutMetricData: a run's datapoints packed by
//! `metrics::plan_requests`, each request sent under failberry's one retry policy
//! (`failberry_aws::SdkRetry`: jittered back-off on throttling, 5xx and network errors), bounded
//! by the invocation's deadline. The sink turns the client's own retries off when it is built, so
//! no two policies stack. What still fails is logged and reported as lost.

use std::time::{Instant, SystemTime};

use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use failberry_aws::{describe_attempts, Backoff, SdkRetry};

use crate::metrics::{
    datums, plan_requests, Datum, Delivery, Lost, MetricSink, RunMetrics, Unit, DIMENSION,
    NAMESPACE,
};

#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    client: aws_sdk_cloudwatch::Client,
    retry: SdkRetry,
}

impl CloudWatchSink {
    /// PutMetricData is retried by the sink's own jittered policy, bounded by the deadline: the
    /// SDK's retries are turned off here, so that whoever builds the client does not stack two.
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_cloudwatch::Client::from_conf(config),
            retry: CLOUDWATCH_RETRY,
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.retry = self.retry.with_backoff(backoff);
        self
    }
}

/// CloudWatch's own "try again" codes beside the common throttling ones.
const CLOUDWATCH_RETRY: SdkRetry = SdkRetry::new(&[
    "RequestLimitExceeded",
    "InternalServiceError",
    "InternalFailure",
]);

fn to_sdk(d: &Datum, timestamp: SystemTime) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(d.metric.as_str())
        .dimensions(
            Dimension::builder()
                .name(DIMENSION)
                .value(&d.target)
                .build(),
        )
        .timestamp(DateTime::from(timestamp))
        .unit(match d.metric.unit() {
            Unit::Milliseconds => StandardUnit::Milliseconds,
            Unit::None => StandardUnit::None,
        })
        .set_values(Some(d.values.clone()))
        .set_counts(Some(d.counts.clone()))
        // Standard resolution: Route53 health checks refuse alarms on high-resolution metrics.
        .storage_resolution(60)
        .build()
}

impl MetricSink for CloudWatchSink {
    async fn publish(&self, run: &RunMetrics, deadline: Instant) -> Delivery {
        let requests = plan_requests(datums(run));
        let mut delivery = Delivery {
            requests: requests.len(),
            ..Default::default()
        };
        let mut lost = Lost::default();
        // The contents of every request that could not be sent, for the log line: the metrics
        // are then not lost for good (they can be read back from the logs).
        let mut lost_batch: Vec<serde_json::Value> = Vec::new();
        for request in &requests {
            let data: Vec<MetricDatum> = request.iter().map(|d| to_sdk(d, run.timestamp)).collect();
            let samples: usize = request.iter().map(Datum::samples).sum();
            let attempt = self.retry.call(|| {
                self.client
                    .put_metric_data()
                    .namespace(NAMESPACE)
                    .set_metric_data(Some(data.clone()))
                    .send()
            });
            let failure = match tokio::time::timeout_at(deadline.into(), attempt).await {
                Ok((Ok(_), attempts)) => {
                    delivery.attempts += attempts;
                    delivery.datapoints += samples;
                    continue;
                }
                Ok((Err(e), attempts)) => {
                    delivery.attempts += attempts;
                    describe_attempts(&e, attempts)
                }
                Err(_) => "the invocation's deadline came first".to_string(),
            };
            lost.datapoints += samples;
            lost_batch.extend(request.iter().map(|d| {
                serde_json::json!({"target": d.target, "metric": d.metric.as_str(),
                                   "values": d.values, "counts": d.counts})
            }));
            for d in request {
                if !lost.targets.contains(&d.target) {
                    lost.targets.push(d.target.clone());
                }
            }
            lost.reason = failure;
        }
        if lost.datapoints > 0 {
            tracing::error!(
                lost_datapoints = lost.datapoints,
                targets = %lost.targets.join(","),
                reason = %lost.reason,
                timestamp = failberry_proto::clock::unix_secs(run.timestamp),
                batch = %serde_json::Value::Array(lost_batch),
                "metrics lost: PutMetricData failed"
            );
            delivery.lost = Some(lost);
        }
        delivery
    }
}
