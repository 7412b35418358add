//! The integration-test harness: the local stack (`failberry_local::Stack::start`, the ddns function
//! behind the API Gateway stand-in on a free port) over the moto server that `make test` starts,
//! plus the checks tests make of it. Tests run in parallel, so each stack gets its own bucket and
//! hosted zone instead of resetting the shared emulator.

pub mod camera;

use std::ops::Deref;

use failberry_local::seed::HostSeed;
use failberry_local::StackOptions;

/// The emulator's URL, set by `make test`.
pub fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("integration tests need the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

/// A started `failberry_local::Stack` (its fields and clients through `Deref`) and an HTTP client.
pub struct Stack {
    stack: failberry_local::Stack,
    pub http: reqwest::Client,
}

impl Deref for Stack {
    type Target = failberry_local::Stack;

    fn deref(&self) -> &Self::Target {
        &self.stack
    }
}

impl Stack {
    pub async fn start(hosts: &[HostSeed]) -> Stack {
        let options = StackOptions {
            bucket: format!("failberry-test-{:016x}", fastrand::u64(..)),
            hosts: hosts.to_vec(),
            ..StackOptions::default()
        };
        let stack = failberry_local::Stack::start(&moto_url(), options)
            .await
            .expect("starting the local stack");
        Stack {
            stack,
            http: reqwest::Client::new(),
        }
    }

    /// The values of `name`'s record of `rtype`, as Route53 holds them (empty when absent).
    pub async fn record(&self, name: &str, rtype: &str) -> Vec<String> {
        self.stack
            .records(name, rtype)
            .await
            .expect("listing records")
    }

    /// Every record set in the zone, as `name type values` lines: for "nothing changed" checks.
    pub async fn zone_snapshot(&self) -> Vec<String> {
        let out = self
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .expect("listing records");
        out.resource_record_sets()
            .iter()
            .map(|s| {
                let values: Vec<&str> = s.resource_records().iter().map(|r| r.value()).collect();
                format!(
                    "{} {} {:?} {}",
                    s.name(),
                    s.r#type().as_str(),
                    s.ttl(),
                    values.join(",")
                )
            })
            .collect()
    }

    /// Replaces the config document.
    pub async fn put_config(&self, doc: &serde_json::Value) {
        self.s3()
            .put_object()
            .bucket(&self.bucket)
            .key(failberry_proto::hosts::CONFIG_KEY)
            .body(serde_json::to_vec(doc).unwrap().into())
            .send()
            .await
            .expect("writing config");
    }

    /// Creates another hosted zone and returns its id.
    pub async fn create_zone(&self, name: &str) -> String {
        let out = self
            .route53()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("test-{:016x}", fastrand::u64(..)))
            .send()
            .await
            .expect("creating zone");
        out.hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    }
}

/// A host seed for loopback tests: the API sees 127.0.0.1, so source-address tests allow it.
pub fn loopback_host(hostname: &str) -> HostSeed {
    HostSeed {
        hostname: hostname.into(),
        allow_private: true,
        ..HostSeed::default()
    }
}

/// Writes a link's `Availability` samples, `(unix seconds, value)`, as the ping function
/// publishes them (namespace, metric, dimension from the link contract; unit None, which the
/// reader asks for).
pub async fn put_availability(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    target: &str,
    samples: &[(i64, f64)],
) {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    use failberry_failover::link;
    let data: Vec<MetricDatum> = samples
        .iter()
        .map(|(at, v)| {
            MetricDatum::builder()
                .metric_name(link::AVAILABILITY_METRIC)
                .dimensions(
                    Dimension::builder()
                        .name(link::DIMENSION)
                        .value(target)
                        .build(),
                )
                .timestamp(DateTime::from_secs(*at))
                .value(*v)
                .unit(StandardUnit::None)
                .build()
        })
        .collect();
    cloudwatch
        .put_metric_data()
        .namespace(link::NAMESPACE)
        .set_metric_data(Some(data))
        .send()
        .await
        .expect("putting datapoints");
}
