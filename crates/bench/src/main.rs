//! `make bench`: the figures the ddns issue promises, each printed beside a baseline measured in
//! the same run (these machines are noisy: medians and ratios, never a single timing).
//!
//! - cold start: process start → first invocation answered through a local Lambda Runtime API,
//!   for the release `ddns` bootstrap and for a minimal `lambda_runtime` echo function (the floor);
//! - peak RSS of both (VmHWM after the first answer);
//! - per-request latency (p50/p99) of a signed update through the handler against moto, beside a
//!   bare Route53 read against the same moto.

mod runtime_api;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use failberry_ddns::{Clock, SystemClock};
use failberry_local::seed::{self, HostSeed};
use failberry_local::{apigw, emulator};
use failberry_proto::Signer;
use runtime_api::RuntimeApi;

#[derive(Parser)]
#[command(about = "Cold start, memory and latency of the ddns function beside a baseline")]
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
    /// Cold starts of each binary.
    #[arg(long, default_value_t = 21)]
    runs: usize,
    /// Signed updates for the latency figures.
    #[arg(long, default_value_t = 300)]
    requests: usize,
}

struct ColdStart {
    elapsed: Duration,
    peak_rss_kb: u64,
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
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

fn signed_update_event(ipv4: &str, nonce: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "hostname": seed::HOSTNAME, "ipv4": ipv4, "timestamp": SystemClock.now(), "nonce": nonce,
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
    for bin in [&cli.ddns, &cli.floor, &cli.sdk_floor] {
        anyhow::ensure!(
            bin.exists(),
            "{} is missing: `make bench` builds it",
            bin.display()
        );
    }
    let sdk = emulator::sdk_config(&cli.moto_url).await;
    let bucket = format!("failberry-bench-{:08x}", fastrand::u32(..));
    let seeded = seed::seed(&sdk, &bucket, &[HostSeed::default()]).await?;
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

    // Interleave the two binaries so machine noise hits both alike.
    let (mut floor_t, mut floor_rss, mut ddns_t, mut ddns_rss, mut update_t) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut sdk_t, mut sdk_rss) = (vec![], vec![]);
    let echo = serde_json::json!({"hello": "floor"}).to_string();
    for i in 0..cli.runs {
        let f = cold_start(&cli.floor, &[], echo.clone()).await?;
        floor_t.push(f.elapsed);
        floor_rss.push(f.peak_rss_kb);
        let s = cold_start(&cli.sdk_floor, &function_env, echo.clone()).await?;
        sdk_t.push(s.elapsed);
        sdk_rss.push(s.peak_rss_kb);
        let d = cold_start(&cli.ddns, &function_env, myip_event().to_string()).await?;
        ddns_t.push(d.elapsed);
        ddns_rss.push(d.peak_rss_kb);
        let ip = format!("81.2.{}.{}", 70 + i / 200, 1 + i % 200);
        let u = cold_start(
            &cli.ddns,
            &function_env,
            signed_update_event(&ip, &format!("{:032x}", fastrand::u128(..))).to_string(),
        )
        .await?;
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
        "{:<52} {:>12} {:>14} {:>7.2}x  (context: config read, Route53 read, nonce claim, UPSERT)",
        "start → first signed update answered, median",
        ms(update_ms),
        ms(floor_ms),
        update_ms.as_secs_f64() / floor_ms.as_secs_f64()
    );

    // Warm latency through the handler, in process, against moto.
    let app = Arc::new(emulator::ddns(
        &sdk,
        &bucket,
        Duration::from_secs(10),
        SystemClock,
    ));
    let route53 = emulator::route53_client(&sdk);
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
            .hosted_zone_id(&seeded.zone_id)
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
