//! The `MetricSink` over CloudWatch's PutMetricData: a run's datapoints packed by
//! `metrics::plan_requests`, each request retried with jittered back-off on throttling, 5xx and
//! network errors until the deadline (the client's own retries are turned off in `main`, so this
//! is the one retry policy). What still fails is logged and reported as lost.

use std::time::{Instant, SystemTime};

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use failberry_aws::{retry, Backoff};

use crate::metrics::{
    datums, plan_requests, Datum, Delivery, Lost, MetricSink, RunMetrics, Unit, DIMENSION,
    NAMESPACE,
};

#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    client: aws_sdk_cloudwatch::Client,
    backoff: Backoff,
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
            backoff: Backoff::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
}

const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
];

fn retryable<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    failberry_aws::transient(e, RETRYABLE_CODES)
}

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
        for request in &requests {
            let data: Vec<MetricDatum> = request.iter().map(|d| to_sdk(d, run.timestamp)).collect();
            let samples: usize = request.iter().map(Datum::samples).sum();
            let attempt = retry(self.backoff, retryable, || {
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
                    format!(
                        "{} (after {attempts} attempts)",
                        failberry_aws::describe(&e)
                    )
                }
                Err(_) => "the invocation's deadline came first".to_string(),
            };
            lost.datapoints += samples;
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
                "metrics lost: PutMetricData failed"
            );
            delivery.lost = Some(lost);
        }
        delivery
    }
}
