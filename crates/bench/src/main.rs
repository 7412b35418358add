//! `make bench`: the figures the ddns issue promises, each printed beside a baseline measured in
//! the same run (these machines are noisy: medians and ratios, never a single timing).
//!
//! - cold start: process start → first invocation answered through a local Lambda Runtime API,
//!   for the release `ddns` bootstrap and for a minimal `lambda_runtime` echo function (the floor);
//! - peak RSS of both (VmHWM after the first answer);
//! - per-request latency (p50/p99) of a signed update through the handler against moto, beside a
//!   bare Route53 read against the same moto.
//!
//! And the ping function's and health endpoint's (issue 4):
//!
//! - one ping invocation over 200 loopback targets, 20 of which hang: wall time against the
//!   per-target timeout, PutMetricData calls, and the release bootstrap's peak RSS beside the echo
//!   floor's;
//! - `failberry health serve` against nginx serving a static 200 under the same `wrk` load, its
//!   peak RSS, and `GET /` while 5,000 idle connections are held open.
//!
//! And the camera connector's (issue 11): 50 clips of 20 MB dropped at once, uploaded through
//! grants, against `aws s3 cp` of the same files, and the connector's peak RSS.
//!
//! One module per measured part (`ddns`, `ping`, `health`, `detectatron`, `camera`), each printing its rows through the
//! one table printer (`table`); `cold_start` starts a bootstrap as Lambda does, through the
//! local Runtime API (`runtime_api`); `endpoints` runs nginx, the endpoint and wrk.

mod camera;
mod cold_start;
mod ddns;
mod detectatron;
mod endpoints;
mod health;
mod ping;
mod runtime_api;
mod table;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use failberry_local::{emulator, Stack, StackOptions};

#[derive(Parser)]
#[command(
    about = "Cold start, memory and latency of the ddns and ping functions and the health endpoint beside a baseline"
)]
pub struct Cli {
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub moto_url: String,
    /// The release ddns bootstrap.
    #[arg(long, default_value = "target/release/ddns")]
    pub ddns: PathBuf,
    /// The minimal lambda_runtime echo function.
    #[arg(long, default_value = "target/release/echo-floor")]
    pub floor: PathBuf,
    /// The echo function plus AWS SDK start-up.
    #[arg(long, default_value = "target/release/sdk-floor")]
    pub sdk_floor: PathBuf,
    /// The release ping bootstrap.
    #[arg(long, default_value = "target/release/ping")]
    pub ping: PathBuf,
    /// The Pi client as `make client` builds it (for `failberry health serve`).
    #[arg(long, default_value = "target/release/failberry")]
    pub client: PathBuf,
    /// The release detectatron bootstrap.
    #[arg(long, default_value = "target/release/detectatron")]
    pub detectatron: PathBuf,
    /// Ping invocations (in process, and of the release bootstrap).
    #[arg(long, default_value_t = 5)]
    pub ping_runs: usize,
    /// Cold starts of each binary.
    #[arg(long, default_value_t = 21)]
    pub runs: usize,
    /// Signed updates for the latency figures.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Alternating wrk rounds against nginx and the health endpoint.
    #[arg(long, default_value_t = 3)]
    pub health_rounds: usize,
    /// Measure only these parts (repeatable); all of them by default.
    #[arg(long, value_enum)]
    pub only: Vec<Part>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Ddns,
    Ping,
    Health,
    Detectatron,
    Camera,
}

impl Cli {
    pub fn measures(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }

    /// The binaries the measured parts run (so `--only camera` needs only the client).
    fn binaries(&self) -> Vec<&PathBuf> {
        let mut bins = Vec::new();
        if self.measures(Part::Ddns) {
            bins.extend([&self.ddns, &self.floor, &self.sdk_floor]);
        }
        if self.measures(Part::Ping) {
            bins.extend([&self.floor, &self.ping]);
        }
        if self.measures(Part::Health) || self.measures(Part::Camera) {
            bins.push(&self.client);
        }
        if self.measures(Part::Detectatron) {
            bins.extend([&self.detectatron, &self.sdk_floor]);
        }
        bins
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let nofile = endpoints::raise_nofile();
    for bin in cli.binaries() {
        anyhow::ensure!(
            bin.exists(),
            "{} is missing: `make bench` builds it",
            bin.display()
        );
    }
    let stack = Stack::start(
        &cli.moto_url,
        StackOptions {
            bucket: format!("failberry-bench-{:08x}", fastrand::u32(..)),
            config_max_age: Duration::from_secs(10),
            ..StackOptions::default()
        },
    )
    .await?;
    let bucket = stack.bucket.clone();
    let function_env = vec![
        ("AWS_ENDPOINT_URL", cli.moto_url.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", emulator::REGION.to_string()),
        ("CONFIG_BUCKET", bucket.clone()),
        ("CONFIG_KEY", failberry_proto::hosts::CONFIG_KEY.to_string()),
    ];

    println!(
        "failberry bench ({} cold starts each, {} signed updates; medians unless said)",
        cli.runs, cli.requests
    );
    println!(
        "machine: {} cores; moto at {}\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cli.moto_url
    );

    if cli.measures(Part::Ddns) {
        ddns::figures(&cli, &stack, &function_env).await?;
    }
    if cli.measures(Part::Ping) {
        ping::figures(&cli, &stack, &function_env).await?;
    }
    if cli.measures(Part::Health) {
        health::figures(&cli, nofile).await?;
    }
    if cli.measures(Part::Detectatron) {
        let setup = detectatron::Setup {
            detectatron: &cli.detectatron,
            sdk_floor: &cli.sdk_floor,
            sdk: &stack.sdk,
            function_env: &function_env,
            runs: 3,
        };
        detectatron::figures(&setup).await?;
    }
    if cli.measures(Part::Camera) {
        camera::figures(&cli.client, &cli.moto_url, &stack).await?;
    }
    Ok(())
}
