//! PutMetricData failures moto cannot produce on demand (throttling, 5xx, a deadline running
//! out), fed through `aws-smithy-mocks` into the real `CloudWatchSink` and SDK client.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::error::ErrorMetadata;
use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataError, PutMetricDataOutput};
use aws_sdk_cloudwatch::types::error::InvalidParameterValueException;
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use failberry_ping::{CloudWatchSink, MetricSink, RunMetrics, TargetMetrics};

fn run(targets: usize) -> RunMetrics {
    RunMetrics {
        timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000),
        targets: (0..targets)
            .map(|i| TargetMetrics {
                target: format!("t{i}"),
                availability: vec![1.0],
                latency_ms: vec![12.0],
                status_code: vec![200.0],
                cert_days_left: vec![40.0],
            })
            .collect(),
    }
}

fn throttling() -> PutMetricDataError {
    PutMetricDataError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test(start_paused = true)]
async fn two_hundred_targets_go_out_in_one_call() {
    let rule = mock!(Client::put_metric_data)
        .match_requests(|input| {
            input.namespace() == Some("Failberry/Ping") && input.metric_data().len() == 800
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    let sink = CloudWatchSink::new(mock_client!(aws_sdk_cloudwatch, [&rule]));
    let delivery = sink.publish(&run(200), later()).await;
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        (delivery.requests, delivery.attempts, delivery.datapoints),
        (1, 1, 800)
    );
    assert!(delivery.lost.is_none());
}

#[tokio::test(start_paused = true)]
async fn datums_carry_the_dimension_unit_time_and_values() {
    let rule = mock!(Client::put_metric_data)
        .match_requests(|input| {
            let d = &input.metric_data()[1];
            let dim = &d.dimensions()[0];
            d.metric_name() == Some("Latency")
                && (dim.name(), dim.value()) == (Some("Target"), Some("t0"))
                && d.unit() == Some(&aws_sdk_cloudwatch::types::StandardUnit::Milliseconds)
                && d.values() == [12.0]
                && d.counts() == [1.0]
                && d.storage_resolution() == Some(60)
                && d.timestamp().map(|t| t.secs()) == Some(1_764_000_000)
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    let sink = CloudWatchSink::new(mock_client!(aws_sdk_cloudwatch, [&rule]));
    let delivery = sink.publish(&run(1), later()).await;
    assert_eq!(rule.num_calls(), 1, "the request matched");
    assert!(delivery.lost.is_none());
}

#[tokio::test(start_paused = true)]
async fn throttling_and_5xx_are_retried_until_they_succeed() {
    let rule = mock!(Client::put_metric_data)
        .sequence()
        .error(throttling)
        .http_status(503, None)
        .output(|| PutMetricDataOutput::builder().build())
        .build();
    let sink = CloudWatchSink::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&rule]
    ));
    let delivery = sink.publish(&run(3), later()).await;
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(
        (delivery.requests, delivery.attempts, delivery.datapoints),
        (1, 3, 12)
    );
    assert!(delivery.lost.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_lasting_outage_reports_what_was_lost() {
    let rule = mock!(Client::put_metric_data)
        .sequence()
        .http_status(500, None)
        .times(10)
        .build();
    let sink = CloudWatchSink::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&rule]
    ));
    let delivery = sink.publish(&run(2), later()).await;
    assert_eq!(delivery.attempts, 4, "the back-off policy's attempts");
    let lost = delivery.lost.expect("reported as lost");
    assert_eq!(
        (lost.datapoints, lost.targets),
        (8, vec!["t0".to_string(), "t1".to_string()])
    );
    assert!(lost.reason.contains("after 4 attempts"), "{}", lost.reason);
    assert_eq!(delivery.datapoints, 0);
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_is_not_retried() {
    let rule = mock!(Client::put_metric_data).then_error(|| {
        PutMetricDataError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("The value NaN is not valid")
                .build(),
        )
    });
    let sink = CloudWatchSink::new(mock_client!(aws_sdk_cloudwatch, [&rule]));
    let delivery = sink.publish(&run(1), later()).await;
    assert_eq!((rule.num_calls(), delivery.attempts), (1, 1));
    assert_eq!(delivery.lost.expect("lost").datapoints, 4);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_deadline() {
    let rule = mock!(Client::put_metric_data)
        .sequence()
        .error(throttling)
        .times(100)
        .build();
    let sink = CloudWatchSink::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&rule]
    ))
    .with_backoff(failberry_aws::Backoff {
        attempts: 100,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    });
    let start = tokio::time::Instant::now();
    let delivery = sink
        .publish(&run(1), Instant::now() + Duration::from_secs(5))
        .await;
    assert!(
        start.elapsed() < Duration::from_millis(5_100),
        "{:?}",
        start.elapsed()
    );
    let lost = delivery.lost.expect("lost at the deadline");
    assert!(lost.reason.contains("deadline"), "{}", lost.reason);
    assert!(rule.num_calls() > 1 && rule.num_calls() < 100);
}
