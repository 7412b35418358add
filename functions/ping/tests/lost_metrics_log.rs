//! A metric batch CloudWatch would not take is logged, in one structured line, with its contents
//! (target, metric, values and counts, the run's time), so the datapoints can still be read back
//! from the logs. The failure comes from the SDK's mock client: moto cannot fail on purpose.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use failberry_ping::{CloudWatchSink, MetricSink, RunMetrics, TargetMetrics};

/// The log lines written while the test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_lost_batch_is_logged_with_its_contents() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .sequence()
        .http_status(503, None)
        .times(10)
        .build();
    let sink = CloudWatchSink::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&rule]
    ));
    let run = RunMetrics {
        timestamp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000),
        targets: vec![TargetMetrics {
            target: "wired".into(),
            availability: vec![1.0, 0.0],
            latency_ms: vec![12.5],
            status_code: vec![200.0],
            cert_days_left: vec![40.0],
        }],
    };
    let delivery = sink
        .publish(&run, Instant::now() + Duration::from_secs(60))
        .await;
    assert!(delivery.lost.is_some());

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| {
            l["fields"]["message"] == "metrics lost: PutMetricData failed"
        })
        .collect();
    assert_eq!(lines.len(), 1, "one line for the run: {text}");
    let fields = &lines[0]["fields"];
    assert_eq!(fields["timestamp"], 1_764_000_000);
    let batch: Vec<serde_json::Value> =
        serde_json::from_str(fields["batch"].as_str().unwrap()).unwrap();
    let latency = batch
        .iter()
        .find(|d| d["target"] == "wired" && d["metric"] == "Latency")
        .expect("the latency datum is in the line");
    assert_eq!(latency["values"], serde_json::json!([12.5]));
    let availability = batch
        .iter()
        .find(|d| d["metric"] == "Availability")
        .unwrap();
    let sum: f64 = availability["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_f64())
        .sum();
    assert_eq!(
        sum, 2.0,
        "both availability samples are in the line: {availability}"
    );
    assert!(fields["reason"]
        .as_str()
        .unwrap()
        .contains("after 4 attempts"));
}
