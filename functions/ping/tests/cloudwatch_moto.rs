//! The deployed shape end to end against the AWS emulator (moto, started by `make test`): the
//! config document read from S3, probes of local servers, PutMetricData, and the datapoints read
//! back with GetMetricStatistics and GetMetricData as an alarm would see them.

mod support;

use std::time::{Duration, Instant, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, Statistic};
use aws_sdk_s3::config::{Credentials, Region};
use failberry_aws::S3Documents;
use failberry_ping::{AwsPing, Settings};
use failberry_proto::Clock;
use support::{answer, closed_port, http_server};

fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("this test needs the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// A run at a whole minute, an hour ago: the alarm period the datapoints land in is known.
struct MinuteClock(SystemTime);

impl Clock for MinuteClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

fn minute_an_hour_ago() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(now - now % 60 - 3600)
}

#[tokio::test]
async fn datapoints_of_a_run_read_back_as_an_alarm_sees_them() {
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let suffix = format!("{:08x}", fastrand::u32(..));
    let bucket = format!("failberry-ping-{suffix}");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");

    let site = http_server(answer(200, "ok")).await;
    let closed = closed_port().await;
    let (up, down) = (format!("site-{suffix}"), format!("wired-{suffix}"));
    let doc = format!(
        r#"{{"targets": [
            {{"name": "{up}", "url": "{}", "probes": 3, "metrics": ["Availability", "Latency", "StatusCode"]}},
            {{"name": "{down}", "url": "http://{closed}/", "probes": 2, "link": true}}
        ]}}"#,
        site.url("http")
    );
    S3Documents::new(s3.clone(), &bucket, "ping.json")
        .put(doc.into_bytes(), None)
        .await
        .expect("config document written");

    let at = minute_an_hour_ago();
    let app = AwsPing::from_clients(
        cloudwatch.clone(),
        s3,
        Settings {
            config_bucket: bucket,
            config_key: "ping.json".into(),
            config_max_age: Duration::ZERO,
        },
        MinuteClock(at),
    );
    let summary = app
        .run(Instant::now() + Duration::from_secs(30))
        .await
        .expect("run");
    assert_eq!((summary.up, summary.down), (1, 1));
    assert_eq!(summary.metrics.requests, 1, "{:?}", summary.metrics);
    assert!(summary.metrics.lost.is_none(), "{:?}", summary.metrics);

    let stats = |metric: &'static str, target: String| {
        let cloudwatch = cloudwatch.clone();
        async move {
            let out = cloudwatch
                .get_metric_statistics()
                .namespace("Failberry/Ping")
                .metric_name(metric)
                .dimensions(Dimension::builder().name("Target").value(target).build())
                .start_time(DateTime::from(at - Duration::from_secs(60)))
                .end_time(DateTime::from(at + Duration::from_secs(60)))
                .period(60)
                .statistics(Statistic::Average)
                .statistics(Statistic::SampleCount)
                .send()
                .await
                .expect("GetMetricStatistics");
            out.datapoints()
                .iter()
                .map(|d| {
                    (
                        d.average().unwrap_or(f64::NAN),
                        d.sample_count().unwrap_or(0.0),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(stats("Availability", up.clone()).await, vec![(1.0, 3.0)]);
    assert_eq!(stats("Availability", down.clone()).await, vec![(0.0, 2.0)]);
    assert_eq!(stats("StatusCode", up.clone()).await, vec![(200.0, 3.0)]);
    assert!(
        stats("Latency", down.clone()).await.is_empty(),
        "a target that never answered has no latency"
    );

    // GetMetricData, as `failberry-ctl status` and the failover model read the link.
    let query = MetricDataQuery::builder()
        .id("latency")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("Failberry/Ping")
                        .metric_name("Latency")
                        .dimensions(Dimension::builder().name("Target").value(&up).build())
                        .build(),
                )
                .period(60)
                .stat("SampleCount")
                .build(),
        )
        .build();
    let out = cloudwatch
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(DateTime::from(at - Duration::from_secs(60)))
        .end_time(DateTime::from(at + Duration::from_secs(60)))
        .send()
        .await
        .expect("GetMetricData");
    let result = &out.metric_data_results()[0];
    assert_eq!(
        result.values(),
        [3.0],
        "three answered probes, three latencies"
    );
    assert_eq!(result.timestamps()[0].secs(), DateTime::from(at).secs());
}
