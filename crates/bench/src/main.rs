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

mod health;
mod ping;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use failberry_local::seed;
use failberry_local::{apigw, emulator, Stack, StackOptions};
use failberry_proto::Signer;
use failberry_proto::{Clock, SystemClock};
use runtime_api::RuntimeApi;

#[derive(Parser)]
#[command(
    about = "Cold start, memory and latency of the ddns and ping functions and the health endpoint beside a baseline"
)]
struct Cli {
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    moto_url: String,
    /// The release ddns bootstrap.
    #[arg(long, default_value = "target/release/ddns")]
    ddns: PathBuf,
    /// The minimal lambda_runtime echo function.
    #[arg(long, default_value = "target/release/echo-floor")]
    floor: PathBuf,
    /// The echo function plus AWS SDK start-up.
    #[arg(long, default_value = "target/release/sdk-floor")]
    sdk_floor: PathBuf,
    /// The release ping bootstrap.
    #[arg(long, default_value = "target/release/ping")]
    ping: PathBuf,
    /// The Pi client as `make client` builds it (for `failberry health serve`).
    #[arg(long, default_value = "target/release/failberry")]
    client: PathBuf,
    /// Ping invocations (in process, and of the release bootstrap).
    #[arg(long, default_value_t = 5)]
    ping_runs: usize,
    /// Cold starts of each binary.
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Signed updates for the latency figures.
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Alternating wrk rounds against nginx and the health endpoint.
    #[arg(long, default_value_t = 3)]
    health_rounds: usize,
    /// Measure only these parts (repeatable); all of them by default.
    #[arg(long, value_enum)]
    only: Vec<Part>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Ddns,
    Ping,
    Health,
}

impl Cli {
    fn measures(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

struct ColdStart {
    elapsed: Duration,
    peak_rss_kb: u64,
    body: bytes::Bytes,
}

/// The kB figures of `/proc/<pid>/status` named by `fields` (0 for one it lacks), in order.
fn status_kb<const N: usize>(pid: u32, fields: [&str; N]) -> [u64; N] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    fields.map(|name| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    })
}

fn peak_rss_kb(pid: u32) -> u64 {
    let [peak] = status_kb(pid, ["VmHWM"]);
    peak
}

/// A ddns answer through the Runtime API is the API Gateway response: it must be a 200.
fn ensure_http_ok(c: &ColdStart, what: &str) -> anyhow::Result<()> {
    let answer: serde_json::Value = serde_json::from_slice(&c.body)?;
    anyhow::ensure!(
        answer["statusCode"] == 200,
        "{what} answered {}",
        String::from_utf8_lossy(&c.body)
    );
    Ok(())
}

/// Starts `binary` as Lambda would and times it to its first answer.
async fn cold_start(
    binary: &Path,
    env: &[(&str, String)],
    event: String,
) -> anyhow::Result<ColdStart> {
    let api = RuntimeApi::start().await?;
    api.invoke(event);
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        // Lambda's provided.al2023 keeps its trust store in one bundle file; Debian's
        // /etc/ssl/certs directory would make every SDK start read ~150 files instead.
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let answer = tokio::time::timeout(Duration::from_secs(10), api.answer())
        .await
        .context("no answer within 10 s")?
        .context("runtime API closed")?;
    anyhow::ensure!(
        answer.ok,
        "{} answered an error: {}",
        binary.display(),
        String::from_utf8_lossy(&answer.body)
    );
    let elapsed = answer.at - started;
    let peak_rss_kb = child.id().map(peak_rss_kb).unwrap_or(0);
    let _ = child.kill().await;
    Ok(ColdStart {
        elapsed,
        peak_rss_kb,
        body: answer.body,
    })
}

fn median<T: Copy + Ord>(v: &mut [T]) -> T {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// Each signed change must be newer than the last one applied for the host, and the bench makes
/// many a second: stamps count up from the start of the ±300 s window (room for ~580 changes).
static STAMPS: failberry_proto::Stamps = failberry_proto::Stamps::new();

fn signed_update_event(ipv4: &str, nonce: &str) -> serde_json::Value {
    let stamp = STAMPS.next(SystemClock.unix_secs() - 290);
    let body = serde_json::json!({
        "hostname": seed::HOSTNAME, "ipv4": ipv4, "timestamp": stamp, "nonce": nonce,
    })
    .to_string();
    let signer = Signer::new(seed::HOSTNAME, seed::SECRET);
    let mut headers: Vec<(String, String)> = signer
        .headers("POST", "/v1/update", body.as_bytes())
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    let req = apigw::HttpRequest {
        method: "POST",
        path: "/v1/update",
        query: None,
        headers,
        body: body.as_bytes(),
        source_ip: "81.2.69.1".parse().unwrap(),
    };
    apigw::event(&req, 0, nonce)
}

fn myip_event() -> serde_json::Value {
    let req = apigw::HttpRequest {
        method: "GET",
        path: "/v1/myip",
        query: None,
        headers: vec![("host".into(), "bench".into())],
        body: b"",
        source_ip: "81.2.69.1".parse().unwrap(),
    };
    apigw::event(&req, 0, "myip")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let nofile = health::raise_nofile();
    for bin in [
        &cli.ddns,
        &cli.floor,
        &cli.sdk_floor,
        &cli.ping,
        &cli.client,
    ] {
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
    let (sdk, bucket) = (&stack.sdk, stack.bucket.clone());
    let function_env = vec![
        ("AWS_ENDPOINT_URL", cli.moto_url.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", emulator::REGION.to_string()),
        ("CONFIG_BUCKET", bucket.clone()),
        ("CONFIG_KEY", seed::CONFIG_KEY.to_string()),
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
        ddns_figures(&cli, &stack, &function_env).await?;
    }
    if cli.measures(Part::Ping) {
        ping_figures(&cli, sdk, &bucket, &function_env).await?;
    }
    if cli.measures(Part::Health) {
        health_figures(&cli, nofile).await?;
    }
    Ok(())
}

/// The ddns issue's figures: cold start and RSS beside the echo and SDK floors, and warm latency
/// through the handler beside a bare Route53 read.
async fn ddns_figures(
    cli: &Cli,
    stack: &Stack,
    function_env: &[(&str, String)],
) -> anyhow::Result<()> {
    // Interleave the two binaries so machine noise hits both alike.
    let (mut floor_t, mut floor_rss, mut ddns_t, mut ddns_rss, mut update_t) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut sdk_t, mut sdk_rss) = (vec![], vec![]);
    let echo = serde_json::json!({"hello": "floor"}).to_string();
    for i in 0..cli.runs {
        let f = cold_start(&cli.floor, &[], echo.clone()).await?;
        floor_t.push(f.elapsed);
        floor_rss.push(f.peak_rss_kb);
        let s = cold_start(&cli.sdk_floor, function_env, echo.clone()).await?;
        sdk_t.push(s.elapsed);
        sdk_rss.push(s.peak_rss_kb);
        let d = cold_start(&cli.ddns, function_env, myip_event().to_string()).await?;
        ensure_http_ok(&d, "GET /v1/myip")?;
        ddns_t.push(d.elapsed);
        ddns_rss.push(d.peak_rss_kb);
        let ip = format!("81.2.{}.{}", 70 + i / 200, 1 + i % 200);
        let u = cold_start(
            &cli.ddns,
            function_env,
            signed_update_event(&ip, &format!("{:032x}", fastrand::u128(..))).to_string(),
        )
        .await?;
        ensure_http_ok(&u, "the signed update")?;
        update_t.push(u.elapsed);
    }
    let (floor_ms, ddns_ms, update_ms) = (
        median(&mut floor_t),
        median(&mut ddns_t),
        median(&mut update_t),
    );
    let (floor_kb, ddns_kb) = (median(&mut floor_rss), median(&mut ddns_rss));
    let ratio = ddns_ms.as_secs_f64() / floor_ms.as_secs_f64();
    let (sdk_ms, sdk_kb) = (median(&mut sdk_t), median(&mut sdk_rss));

    println!(
        "{:<52} {:>12} {:>14} {:>8}  goal",
        "figure", "ddns", "baseline", "ratio"
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  ≤1.5x and <50 ms: {}",
        "start → first answer (GET /v1/myip), median",
        ms(ddns_ms),
        ms(floor_ms),
        ratio,
        verdict(ratio <= 1.5 && ddns_ms < Duration::from_millis(50))
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  (second baseline: echo + AWS SDK start-up)",
        "start → first answer vs the SDK floor, median",
        ms(ddns_ms),
        ms(sdk_ms),
        ddns_ms.as_secs_f64() / sdk_ms.as_secs_f64()
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  <20 MB: {}",
        "peak RSS after first answer, median",
        mb(ddns_kb),
        mb(floor_kb),
        ddns_kb as f64 / floor_kb.max(1) as f64,
        verdict(ddns_kb < 20 * 1024)
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x",
        "peak RSS vs the SDK floor, median",
        mb(ddns_kb),
        mb(sdk_kb),
        ddns_kb as f64 / sdk_kb.max(1) as f64
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  (context: config read, Route53 read, replay mark, UPSERT)",
        "start → first signed update answered, median",
        ms(update_ms),
        ms(floor_ms),
        update_ms.as_secs_f64() / floor_ms.as_secs_f64()
    );

    // Warm latency through the handler, in process, against moto.
    let app = &stack.ddns;
    let route53 = stack.route53();
    let (mut handler_t, mut moto_t) = (Vec::new(), Vec::new());
    for i in 0..cli.requests {
        let ip = format!("81.2.{}.{}", 100 + i / 200, 1 + i % 200);
        let event = signed_update_event(&ip, &format!("{:032x}", fastrand::u128(..)));
        let request = apigw::to_lambda_request(&event);
        let t = Instant::now();
        let resp = app.handle(request).await;
        handler_t.push(t.elapsed());
        anyhow::ensure!(
            resp.status() == 200,
            "signed update answered {}",
            resp.status()
        );
        let t = Instant::now();
        route53
            .list_resource_record_sets()
            .hosted_zone_id(&stack.zone_id)
            .max_items(2)
            .send()
            .await?;
        moto_t.push(t.elapsed());
    }
    let (h50, h99) = (
        percentile(&mut handler_t, 0.5),
        percentile(&mut handler_t, 0.99),
    );
    let (m50, m99) = (percentile(&mut moto_t, 0.5), percentile(&mut moto_t, 0.99));
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  (baseline: one bare Route53 read on moto)",
        "signed update through the handler, p50",
        ms(h50),
        ms(m50),
        h50.as_secs_f64() / m50.as_secs_f64()
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x",
        "signed update through the handler, p99",
        ms(h99),
        ms(m99),
        h99.as_secs_f64() / m99.as_secs_f64()
    );
    println!("\nEvery update changes the record (a new address each time), so each one makes three emulator calls.");

    Ok(())
}

/// Issue 4: one ping invocation over 200 loopback targets, 20 of which hang, each way the
/// function can publish: PutMetricData (to moto here) and EMF log lines (no API call).
async fn ping_figures(
    cli: &Cli,
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    function_env: &[(&str, String)],
) -> anyhow::Result<()> {
    const API_KEY: &str = "ping-bench-api.json";
    const EMF_KEY: &str = "ping-bench-emf.json";
    let (ok, hanging) = (ping::start_ok().await?, ping::start_hanging().await?);
    for (key, emit) in [(API_KEY, "api"), (EMF_KEY, "emf")] {
        emulator::s3_client(sdk)
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ping::document(ok, hanging, emit).into_bytes().into())
            .send()
            .await
            .context("putting the targets document")?;
    }
    let timeout = ping::TIMEOUT;
    println!(
        "\nping: {} targets on 127.0.0.1, {} of which accept and never answer; timeout {} each, \
         concurrency {}; {} invocations each way (medians)",
        ping::TARGETS,
        ping::HANGING,
        ms(timeout),
        ping::CONCURRENCY,
        cli.ping_runs
    );

    // In process: the run's own wall time (config read, probes, publishing) each way.
    let app = |key: &str| {
        failberry_ping::AwsPing::from_clients(
            aws_sdk_cloudwatch::Client::new(sdk),
            emulator::s3_client(sdk),
            failberry_ping::Settings {
                config_bucket: bucket.to_string(),
                config_key: key.to_string(),
                config_max_age: Duration::from_secs(300),
            },
            failberry_ping::SystemClock,
        )
    };
    let api_app = app(API_KEY);
    // The bench's stdout is its report: the EMF lines go where Lambda's log pipe would take them.
    let emf_app = app(EMF_KEY).with_emf(failberry_ping::EmfSink::new(std::io::sink()));
    let (mut api_wall, mut emf_wall, mut last) = (vec![], vec![], None);
    for _ in 0..cli.ping_runs {
        let r = ping::run_in_process(&api_app).await?;
        check_ping_run(&r)?;
        api_wall.push(r.wall);
        let e = ping::run_in_process(&emf_app).await?;
        check_ping_run(&e)?;
        emf_wall.push(e.wall);
        last = Some(r);
    }
    let last = last.context("--ping-runs must be at least 1")?;
    let (api_wall, emf_wall) = (median(&mut api_wall), median(&mut emf_wall));
    // The invocation's two halves on their own: the probes, and PutMetricData on moto.
    let document = ping::document(ok, hanging, "api");
    let (mut probes_t, mut publish_t) = (vec![], vec![]);
    for _ in 0..cli.ping_runs {
        probes_t.push(ping::probes_alone(&document).await?);
        publish_t
            .push(ping::publish_alone(aws_sdk_cloudwatch::Client::new(sdk), &last.metrics).await?);
    }
    let (probes_t, publish_t) = (median(&mut probes_t), median(&mut publish_t));

    // The release bootstrap through the local Runtime API, each way: wall time to its answer
    // and peak RSS, free of the bench's own memory.
    let event = include_str!("../../../events/ping-schedule.json").to_string();
    let echo = serde_json::json!({"hello": "floor"}).to_string();
    let mut floor_rss = vec![];
    for _ in 0..cli.ping_runs {
        floor_rss.push(cold_start(&cli.floor, &[], echo.clone()).await?.peak_rss_kb);
    }
    let floor_kb = median(&mut floor_rss);
    let mut boot = Vec::new();
    for key in [API_KEY, EMF_KEY] {
        let mut env: Vec<(&str, String)> = function_env
            .iter()
            .filter(|(k, _)| !k.starts_with("CONFIG_"))
            .cloned()
            .collect();
        env.push(("PING_CONFIG_BUCKET", bucket.to_string()));
        env.push(("PING_CONFIG_KEY", key.to_string()));
        let (mut t, mut rss, mut requests) = (vec![], vec![], vec![]);
        for _ in 0..cli.ping_runs {
            let c = cold_start(&cli.ping, &env, event.clone()).await?;
            let summary: serde_json::Value = serde_json::from_slice(&c.body)?;
            anyhow::ensure!(
                summary["down"] == ping::HANGING,
                "the ping bootstrap judged {} down, want {}",
                summary["down"],
                ping::HANGING
            );
            requests.push(summary["metrics"]["requests"].as_u64().unwrap_or(0));
            t.push(c.elapsed);
            rss.push(c.peak_rss_kb);
        }
        boot.push((median(&mut t), median(&mut rss), median(&mut requests)));
    }
    let [(boot_api_t, boot_api_kb, boot_req), (boot_emf_t, boot_emf_kb, _)] = boot[..] else {
        unreachable!("two ways measured")
    };

    let over = |d: Duration| d.as_secs_f64() / timeout.as_secs_f64();
    println!(
        "{:<58} {:>10} {:>12} {:>7.2}x  ≤1.1x: {}",
        "one run, EMF, in process (wall / per-target timeout)",
        ms(emf_wall),
        ms(timeout),
        over(emf_wall),
        verdict(over(emf_wall) <= 1.1)
    );
    println!(
        "{:<58} {:>10} {:>12} {:>7.2}x  ≤1.1x: {}",
        "release bootstrap, EMF: process start → answer / timeout",
        ms(boot_emf_t),
        ms(timeout),
        over(boot_emf_t),
        verdict(over(boot_emf_t) <= 1.1)
    );
    println!(
        "{:<58} {:>10} {:>12} {:>7.2}x  ≤1.1x: {} (moto's ingest below)",
        "one run, PutMetricData to moto, in process",
        ms(api_wall),
        ms(timeout),
        over(api_wall),
        verdict(over(api_wall) <= 1.1)
    );
    println!(
        "{:<58} {:>10} {:>12} {:>7.2}x",
        "release bootstrap, PutMetricData to moto",
        ms(boot_api_t),
        ms(timeout),
        over(boot_api_t),
    );
    println!(
        "{:<58} {:>10} {:>12} {:>7.2}x  (what the timeout bounds)",
        "  the probes alone (probe_all) / timeout",
        ms(probes_t),
        ms(timeout),
        over(probes_t),
    );
    println!(
        "{:<58} {:>10} {:>12} {:>8}  (the emulator's time, not the function's)",
        "  one PutMetricData on moto alone (the sink)",
        ms(publish_t),
        "",
        "",
    );
    // The fewest the API allows: every datum fits one request (1000 datums, 1 MB).
    let fewest = last
        .datums
        .div_ceil(failberry_ping::metrics::MAX_DATUMS_PER_REQUEST);
    println!(
        "{:<58} {:>10} {:>12} {:>8}  = fewest: {}",
        format!(
            "PutMetricData calls ({} datums, {} samples)",
            last.datums, last.datapoints
        ),
        format!("{} ({} att.)", last.requests, last.attempts),
        format!("{fewest} (fewest)"),
        "",
        verdict(last.requests == fewest && boot_req == fewest as u64)
    );
    for (way, kb) in [("PutMetricData", boot_api_kb), ("EMF", boot_emf_kb)] {
        println!(
            "{:<58} {:>10} {:>12} {:>7.2}x  (baseline: the echo floor, this run)",
            format!("release bootstrap peak RSS, {way}"),
            mb(kb),
            mb(floor_kb),
            kb as f64 / floor_kb.max(1) as f64
        );
    }
    Ok(())
}

/// Every in-process run must judge the hanging targets down, the others up, and lose nothing.
fn check_ping_run(r: &ping::Run) -> anyhow::Result<()> {
    anyhow::ensure!(
        r.up == ping::TARGETS - ping::HANGING && r.down == ping::HANGING,
        "ping run judged {} up and {} down, want {} and {}: {:?}",
        r.up,
        r.down,
        ping::TARGETS - ping::HANGING,
        ping::HANGING,
        r.reasons
    );
    anyhow::ensure!(!r.lost, "the ping run lost metrics");
    Ok(())
}

/// Issue 4: `failberry health serve` against nginx, and under 5,000 idle connections.
async fn health_figures(cli: &Cli, nofile: u64) -> anyhow::Result<()> {
    anyhow::ensure!(cli.health_rounds > 0, "--health-rounds must be at least 1");
    println!(
        "\nhealth endpoint ({}): `wrk -t{} -c{} -d{}s` on 127.0.0.1, {} alternating rounds, a fresh \
         process each (medians); nginx {} serving a static 200 with worker_processes auto",
        cli.client.display(),
        health::WRK_THREADS,
        health::WRK_CONNECTIONS,
        health::WRK_SECONDS,
        cli.health_rounds,
        nginx_version().await
    );
    let dir = health::temp_dir()?;
    let result = health_runs(cli, &dir, nofile).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn nginx_version() -> String {
    let out = tokio::process::Command::new(health::nginx_bin())
        .arg("-v")
        .output()
        .await;
    out.ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .rsplit('/')
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Resident memory of a process now: (anonymous, file-backed) in KiB.
fn rss_split_kb(pid: u32) -> (u64, u64) {
    let [anon, file] = status_kb(pid, ["RssAnon", "RssFile"]);
    (anon, file)
}

/// One wrk round against nginx: its requests/s and its largest worker's peak RSS.
async fn nginx_round(dir: &Path) -> anyhow::Result<(f64, u64)> {
    let port = health::free_port()?;
    let mut nginx = health::start_nginx(dir, port).await?;
    let rps = health::wrk(port).await;
    let workers = health::children(nginx.id().unwrap_or(0));
    let worker_kb = workers.iter().map(|p| peak_rss_kb(*p)).max().unwrap_or(0);
    health::stop(&mut nginx).await;
    Ok((rps?, worker_kb))
}

/// One wrk round against a fresh endpoint: requests/s, peak RSS, and (anonymous, file) now.
async fn endpoint_round(cli: &Cli) -> anyhow::Result<(f64, u64, (u64, u64))> {
    let port = health::free_port()?;
    let mut endpoint = health::start_health(&cli.client, port).await?;
    let pid = endpoint.id().unwrap_or(0);
    let rps = health::wrk(port).await;
    let (peak, split) = (peak_rss_kb(pid), rss_split_kb(pid));
    health::stop(&mut endpoint).await;
    Ok((rps?, peak, split))
}

async fn health_runs(cli: &Cli, dir: &Path, nofile: u64) -> anyhow::Result<()> {
    // Rounds alternate so that machine noise hits both alike; only one server runs at a time.
    let (mut nginx_rps, mut nginx_kb, mut rps, mut peak_kb, mut ratios) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut splits = vec![];
    for _ in 0..cli.health_rounds {
        let (n_rps, n_kb) = nginx_round(dir).await?;
        let (e_rps, e_kb, split) = endpoint_round(cli).await?;
        ratios.push(e_rps / n_rps);
        nginx_rps.push(n_rps);
        nginx_kb.push(n_kb);
        rps.push(e_rps);
        peak_kb.push(e_kb);
        splits.push(split);
    }
    let median_f = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (nginx_rps, rps, ratio) = (
        median_f(&mut nginx_rps),
        median_f(&mut rps),
        median_f(&mut ratios),
    );
    let (nginx_kb, after_wrk_kb) = (median(&mut nginx_kb), median(&mut peak_kb));
    splits.sort();
    let (anon_kb, file_kb) = splits[splits.len() / 2];

    // GET / on a fresh connection, first with nothing else open, then with the idle ones.
    let port = health::free_port()?;
    let mut endpoint = health::start_health(&cli.client, port).await?;
    let pid = endpoint.id().unwrap_or(0);
    let result = async {
        let mut quiet = Vec::new();
        for _ in 0..21 {
            quiet.push(health::get_root(port).await?);
        }
        anyhow::ensure!(
            nofile >= health::IDLE_CONNECTIONS as u64 + 256,
            "the open-file limit is {nofile}: too low to hold {} connections",
            health::IDLE_CONNECTIONS
        );
        // The endpoint's own descriptors (listener, epoll, stdio…), so that only connections count.
        let base_fds = health::open_fds(pid);
        let held = health::open_idle(port, health::IDLE_CONNECTIONS).await?;
        // Let the endpoint accept the last of them before measuring.
        let until = Instant::now() + Duration::from_secs(5);
        while health::open_fds(pid) < base_fds + health::IDLE_CONNECTIONS && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let fds = health::open_fds(pid).saturating_sub(base_fds);
        let mut busy = Vec::new();
        for _ in 0..21 {
            busy.push(health::get_root(port).await?);
        }
        let held_kb = peak_rss_kb(pid);
        drop(held);
        Ok((median(&mut quiet), median(&mut busy), held_kb, fds))
    }
    .await;
    health::stop(&mut endpoint).await;
    let (quiet, busy, held_kb, fds) = result?;

    println!(
        "{:<52} {:>12} {:>14} {:>8}  goal",
        "figure", "endpoint", "nginx", "ratio"
    );
    println!(
        "{:<52} {:>12.0} {:>14.0} {:>7.2}x  ≥1.0x: {}  (median of the rounds' ratios)",
        "requests/s, GET /",
        rps,
        nginx_rps,
        ratio,
        verdict(ratio >= 1.0)
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  <5 MB: {}  (nginx: its largest worker)",
        "peak RSS after wrk",
        mb(after_wrk_kb),
        mb(nginx_kb),
        after_wrk_kb as f64 / nginx_kb.max(1) as f64,
        verdict(after_wrk_kb < 5 * 1024),
    );
    println!(
        "{:<52} {:>12} {:>14} {:>8}  (file-backed: mapped code and libraries, shared)",
        "  of which anonymous (heap, stacks) / file-backed",
        mb(anon_kb),
        mb(file_kb),
        ""
    );
    let still_open = fds >= health::IDLE_CONNECTIONS;
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  200 each time, all held open: {}  (baseline: none held)",
        format!(
            "GET / with {} idle connections held, median",
            health::IDLE_CONNECTIONS
        ),
        ms(busy),
        ms(quiet),
        busy.as_secs_f64() / quiet.as_secs_f64(),
        verdict(still_open)
    );
    println!(
        "{:<52} {:>12} {:>14} {:>7.2}x  ({} connections open in the endpoint)",
        format!(
            "peak RSS with {} idle connections",
            health::IDLE_CONNECTIONS
        ),
        mb(held_kb),
        mb(after_wrk_kb),
        held_kb as f64 / after_wrk_kb.max(1) as f64,
        fds
    );
    Ok(())
}
