//! [`Stack::start`]: the one way to start the local stack, used by `failberry-local serve`, the
//! demo, the integration tests and the bench (as mini-redis's `tests/server.rs` starts its
//! server). It seeds the emulator (a bucket of its own, the zone, the ddns config document),
//! binds its listener (port 0 unless told otherwise), serves the ddns and clips functions behind
//! the API Gateway stand-in, and returns the handles. The server stops when the `Stack` is dropped.
//!
//! Stacks never reset the emulator: each one has its own bucket and zone, so several can share one
//! moto (the tests run in parallel). `serve` resets it before starting, as it always did.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_route53::types::RrType;
use failberry_proto::hosts::CONFIG_KEY;
use failberry_proto::signing::REPLAY_PREFIX;
use failberry_proto::SystemClock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::emulator;
use crate::seed::{self, HostSeed};
use crate::server::{self, Function};

/// Sees every request before the function does (the demo's eavesdropper).
pub type Tap = Arc<dyn Fn(&lambda_http::Request) + Send + Sync>;

/// The ddns function as the stack runs it: on the system clock, against the emulator.
pub type LocalDdns = failberry_ddns::AwsDdns<Arc<SystemClock>>;

/// The clips function as the stack runs it: clips, config and nonces all in the stack's bucket.
pub type LocalClips = failberry_clips::AwsClips<Arc<SystemClock>>;

/// How to start a stack; [`StackOptions::default`] is a loopback stack on a free port with the
/// demo host, a bucket of its own and no config caching.
#[derive(Clone)]
pub struct StackOptions {
    pub listen: SocketAddr,
    pub bucket: String,
    pub hosts: Vec<HostSeed>,
    /// How long the ddns function trusts its cached config document before revalidating it.
    pub config_max_age: Duration,
    pub tap: Option<Tap>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            bucket: format!("failberry-{:016x}", fastrand::u64(..)),
            hosts: vec![HostSeed::default()],
            config_max_age: Duration::ZERO,
            tap: None,
        }
    }
}

/// A running stack: its API, the emulator's handles and what was seeded.
pub struct Stack {
    /// Base URL of the API, e.g. `http://127.0.0.1:40123`.
    pub api: String,
    pub addr: SocketAddr,
    pub sdk: aws_config::SdkConfig,
    pub bucket: String,
    pub zone_id: String,
    pub clock: Arc<SystemClock>,
    /// The function behind the API, for callers that invoke it in process (the bench).
    pub ddns: Arc<LocalDdns>,
    pub clips: Arc<LocalClips>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<()>>,
}

impl Stack {
    /// Seeds the emulator at `moto_url` and serves the ddns function; see the module docs.
    pub async fn start(moto_url: &str, options: StackOptions) -> anyhow::Result<Stack> {
        let sdk = emulator::sdk_config(moto_url).await;
        let seeded = seed::seed(&sdk, &options.bucket, &options.hosts)
            .await
            .with_context(|| format!("seeding the emulator at {moto_url}"))?;
        let clock = Arc::new(SystemClock);
        let ddns = Arc::new(ddns_function(
            &sdk,
            &options.bucket,
            options.config_max_age,
            clock.clone(),
        ));
        let clips = Arc::new(failberry_clips::AwsClips::from_client(
            emulator::s3_client(&sdk),
            failberry_clips::Settings {
                config_bucket: options.bucket.clone(),
                config_key: CONFIG_KEY.into(),
                config_max_age: options.config_max_age,
                replay_prefix: REPLAY_PREFIX.into(),
                clips_bucket: options.bucket.clone(),
            },
            clock.clone(),
        ));
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("binding {}", options.listen))?;
        let addr = listener.local_addr()?;
        let function = served(
            server::routed(
                server::ddns_function(ddns.clone()),
                server::clips_function(clips.clone()),
            ),
            options.tap,
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server::serve(listener, function, async {
            let _ = stopped.await;
        }));
        Ok(Stack {
            api: format!("http://{addr}"),
            addr,
            sdk,
            bucket: options.bucket,
            zone_id: seeded.zone_id,
            clock,
            ddns,
            clips,
            stop: Some(stop),
            serving: Some(serving),
        })
    }

    pub fn route53(&self) -> aws_sdk_route53::Client {
        emulator::route53_client(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        emulator::s3_client(&self.sdk)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        emulator::cloudwatch_client(&self.sdk)
    }

    /// The values of `name`'s record of `rtype` in the seeded zone (empty when absent).
    pub async fn records(&self, name: &str, rtype: &str) -> anyhow::Result<Vec<String>> {
        let out = self
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(&self.zone_id)
            .send()
            .await
            .context("listing records")?;
        let rtype = RrType::from(rtype);
        Ok(out
            .resource_record_sets()
            .iter()
            .filter(|s| s.name().trim_end_matches('.') == name && *s.r#type() == rtype)
            .flat_map(|s| s.resource_records().iter().map(|r| r.value().to_string()))
            .collect())
    }

    /// Stops serving and waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            let _ = serving.await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The ddns function wired to the emulator: its config document at `CONFIG_KEY` in
/// `bucket`, replay marks beside it.
fn ddns_function(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    config_max_age: Duration,
    clock: Arc<SystemClock>,
) -> LocalDdns {
    let settings = failberry_ddns::Settings {
        config_bucket: bucket.into(),
        config_key: CONFIG_KEY.into(),
        config_max_age,
        replay_prefix: REPLAY_PREFIX.into(),
    };
    failberry_ddns::AwsDdns::from_clients(
        emulator::route53_client(sdk),
        emulator::s3_client(sdk),
        settings,
        clock,
    )
}

/// The functions as the server calls them, behind the tap when there is one.
fn served(function: Function, tap: Option<Tap>) -> Function {
    match tap {
        None => function,
        Some(tap) => Arc::new(move |req| {
            tap(&req);
            function(req)
        }),
    }
}
