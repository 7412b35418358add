//! The integration-test harness: a local stack (the ddns function behind the API Gateway stand-in)
//! on a free port, over the moto server that `make test` starts. Tests run in parallel, so each
//! stack gets its own bucket and hosted zone instead of resetting the shared emulator.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_route53::types::RrType;
use failberry_ddns::SystemClock;
use failberry_local::seed::{self, HostSeed};
use failberry_local::{emulator, server};
use tokio::sync::oneshot;

/// The emulator's URL, set by `make test`.
pub fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("integration tests need the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

pub struct Stack {
    /// Base URL of the API, e.g. `http://127.0.0.1:40123`.
    pub api: String,
    pub sdk: aws_config::SdkConfig,
    pub bucket: String,
    pub zone_id: String,
    pub clock: Arc<SystemClock>,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Stack {
    pub async fn start(hosts: &[HostSeed]) -> Stack {
        let sdk = emulator::sdk_config(&moto_url()).await;
        let bucket = format!("failberry-test-{:016x}", fastrand::u64(..));
        let seeded = seed::seed(&sdk, &bucket, hosts)
            .await
            .expect("seeding the emulator");
        let clock = Arc::new(SystemClock);
        let app = Arc::new(emulator::ddns(&sdk, &bucket, Duration::ZERO, clock.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a free port");
        let api = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server::serve(listener, server::ddns_function(app), async {
            let _ = stopped.await;
        }));
        Stack {
            api,
            sdk,
            bucket,
            zone_id: seeded.zone_id,
            clock,
            http: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    pub fn route53(&self) -> aws_sdk_route53::Client {
        emulator::route53_client(&self.sdk)
    }

    /// The values of `name`'s record of `rtype`, as Route53 holds them (empty when absent).
    pub async fn record(&self, name: &str, rtype: &str) -> Vec<String> {
        let out = self
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .expect("listing records");
        let rtype = RrType::from(rtype);
        out.resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name && *s.r#type() == rtype)
            .flat_map(|s| s.resource_records().iter().map(|r| r.value().to_string()))
            .collect()
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
        emulator::s3_client(&self.sdk)
            .put_object()
            .bucket(&self.bucket)
            .key(seed::CONFIG_KEY)
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

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
