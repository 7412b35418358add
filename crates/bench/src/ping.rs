//! The ping function's figures (issue 4): 200 loopback targets, 20 of which accept and never
//! answer. One invocation must take about one per-target timeout (the hanging probes run beside
//! the others, not after them), publish in as few PutMetricData calls as the API allows, and stay
//! small. The run's halves are timed apart through the function's own seam, `Ping::probe` and
//! `Ping::publish`; the release bootstrap is timed through the local Runtime API.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

use crate::cold_start::cold_start;
use crate::table::{kb_ratio, mb, median, ms, verdict, Table};
use crate::Cli;
use failberry_local::Stack;

pub const TARGETS: usize = 200;
pub const HANGING: usize = 20;
pub const TIMEOUT: Duration = Duration::from_millis(1000);
/// The document's bound on probes in flight: above the target count, so no probe waits for a
/// hanging one to give up.
pub const CONCURRENCY: usize = 256;

/// A loopback listener with a deep accept queue: 200 probes connect at once, and the default
/// backlog would drop some of their SYNs (a dropped SYN is retried after a second: a timeout).
fn listen() -> anyhow::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse()?)?;
    Ok(socket.listen(4096)?)
}

/// A listener that accepts connections and holds them without ever reading or answering.
pub async fn start_hanging() -> anyhow::Result<SocketAddr> {
    let listener = listen()?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Ok(addr)
}

/// A tiny HTTP/1.1 server answering `200 ok` to everything.
pub async fn start_ok() -> anyhow::Result<SocketAddr> {
    let listener = listen()?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"ok\n",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The targets document: the first `HANGING` targets point at the hanging listener; `emit` is
/// `api` (PutMetricData) or `emf` (log lines).
pub fn document(ok: SocketAddr, hanging: SocketAddr, emit: &str) -> String {
    let targets: Vec<serde_json::Value> = (0..TARGETS)
        .map(|i| {
            let addr = if i < HANGING { hanging } else { ok };
            serde_json::json!({
                "name": format!("t{i:03}"),
                "url": format!("http://{addr}/"),
                "timeout_ms": TIMEOUT.as_millis() as u64,
            })
        })
        .collect();
    serde_json::json!({"concurrency": CONCURRENCY, "emit": emit, "targets": targets}).to_string()
}

/// One in-process run's figures.
pub struct Run {
    pub wall: Duration,
    pub up: usize,
    pub down: usize,
    pub requests: usize,
    pub attempts: u32,
    pub datapoints: usize,
    /// PutMetricData datums (one per target and metric with samples).
    pub datums: usize,
    pub lost: bool,
    /// Why targets were down, each distinct reason once.
    pub reasons: Vec<String>,
}

pub async fn run_in_process<S, A, E, K>(
    ping: &failberry_ping::Ping<S, A, E, K>,
) -> anyhow::Result<Run>
where
    S: failberry_aws::DocumentSource,
    A: failberry_ping::MetricSink,
    E: failberry_ping::MetricSink,
    K: failberry_proto::Clock,
{
    let started = Instant::now();
    let summary = ping
        .run(started + Duration::from_secs(60))
        .await
        .map_err(|e| anyhow::anyhow!("ping run failed: {e}"))?;
    let wall = started.elapsed();
    let run = failberry_ping::RunMetrics {
        timestamp: std::time::SystemTime::now(),
        targets: summary.targets.iter().map(|t| t.metrics()).collect(),
    };
    let mut reasons: Vec<String> = summary
        .targets
        .iter()
        .filter(|t| !t.up)
        .map(|t| {
            format!(
                "{}: {}",
                t.error.map_or("", |e| e.as_str()),
                t.detail.as_deref().unwrap_or("")
            )
        })
        .collect();
    reasons.sort();
    reasons.dedup();
    Ok(Run {
        reasons,
        wall,
        datums: run.datum_count(),
        up: summary.up,
        down: summary.down,
        requests: summary.metrics.requests,
        attempts: summary.metrics.attempts,
        datapoints: summary.metrics.datapoints,
        lost: summary.metrics.lost.is_some(),
    })
}

/// The run's halves timed apart through the function's seam: probing (config from its warm cache,
/// probes, verdicts: what the timeout bounds) and publishing (the sink alone, against moto here).
pub async fn halves<S, A, E, K>(
    ping: &failberry_ping::Ping<S, A, E, K>,
) -> anyhow::Result<(Duration, Duration)>
where
    S: failberry_aws::DocumentSource,
    A: failberry_ping::MetricSink,
    E: failberry_ping::MetricSink,
    K: failberry_proto::Clock,
{
    let started = Instant::now();
    let probed = ping
        .probe()
        .await
        .map_err(|e| anyhow::anyhow!("ping probing failed: {e}"))?;
    let probing = started.elapsed();
    let started = Instant::now();
    let delivery = ping
        .publish(&probed, started + Duration::from_secs(30))
        .await;
    anyhow::ensure!(
        delivery.lost.is_none(),
        "PutMetricData lost {:?}",
        delivery.lost
    );
    Ok((probing, started.elapsed()))
}

/// Issue 4: one ping invocation over 200 loopback targets, 20 of which hang, each way the
/// function can publish: PutMetricData (to moto here) and EMF log lines (no API call).
pub async fn figures(
    cli: &Cli,
    stack: &Stack,
    function_env: &[(&str, String)],
) -> anyhow::Result<()> {
    let bucket = stack.bucket.as_str();
    const API_KEY: &str = "ping-bench-api.json";
    const EMF_KEY: &str = "ping-bench-emf.json";
    let (ok, hanging) = (start_ok().await?, start_hanging().await?);
    for (key, emit) in [(API_KEY, "api"), (EMF_KEY, "emf")] {
        stack
            .s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(document(ok, hanging, emit).into_bytes().into())
            .send()
            .await
            .context("putting the targets document")?;
    }
    let timeout = TIMEOUT;
    println!(
        "\nping: {} targets on 127.0.0.1, {} of which accept and never answer; timeout {} each, \
         concurrency {}; {} invocations each way (medians)",
        TARGETS,
        HANGING,
        ms(timeout),
        CONCURRENCY,
        cli.ping_runs
    );

    // In process: the run's own wall time (config read, probes, publishing) each way.
    let app = |key: &str| {
        failberry_ping::AwsPing::from_clients(
            stack.cloudwatch(),
            stack.s3(),
            failberry_ping::Settings {
                config_bucket: bucket.to_string(),
                config_key: key.to_string(),
                config_max_age: Duration::from_secs(300),
            },
            failberry_proto::SystemClock,
        )
    };
    let api_app = app(API_KEY);
    // The bench's stdout is its report: the EMF lines go where Lambda's log pipe would take them.
    let emf_app = app(EMF_KEY).with_emf(failberry_ping::EmfSink::new(std::io::sink()));
    let (mut api_wall, mut emf_wall, mut last) = (vec![], vec![], None);
    for _ in 0..cli.ping_runs {
        let r = run_in_process(&api_app).await?;
        check_ping_run(&r)?;
        api_wall.push(r.wall);
        let e = run_in_process(&emf_app).await?;
        check_ping_run(&e)?;
        emf_wall.push(e.wall);
        last = Some(r);
    }
    let last = last.context("--ping-runs must be at least 1")?;
    let (api_wall, emf_wall) = (median(&mut api_wall), median(&mut emf_wall));
    // The invocation's two halves on their own: the probes, and PutMetricData on moto.
    let (mut probes_t, mut publish_t) = (vec![], vec![]);
    for _ in 0..cli.ping_runs {
        let (probing, publishing) = halves(&api_app).await?;
        probes_t.push(probing);
        publish_t.push(publishing);
    }
    let (probes_t, publish_t) = (median(&mut probes_t), median(&mut publish_t));

    let (floor_kb, [(boot_api_t, boot_api_kb, boot_req), (boot_emf_t, boot_emf_kb, _)]) =
        bootstraps(cli, bucket, function_env, [API_KEY, EMF_KEY]).await?;

    let over = |d: Duration| d.as_secs_f64() / timeout.as_secs_f64();
    let within = |d: Duration| format!("≤1.1x: {}", verdict(over(d) <= 1.1));
    let table = Table {
        figure: 58,
        value: 10,
        baseline: 12,
    };
    table.row(
        "one run, EMF, in process (wall / per-target timeout)",
        ms(emf_wall),
        ms(timeout),
        Some(over(emf_wall)),
        &within(emf_wall),
    );
    table.row(
        "release bootstrap, EMF: process start → answer / timeout",
        ms(boot_emf_t),
        ms(timeout),
        Some(over(boot_emf_t)),
        &within(boot_emf_t),
    );
    table.row(
        "one run, PutMetricData to moto, in process",
        ms(api_wall),
        ms(timeout),
        Some(over(api_wall)),
        &format!("{} (moto's ingest below)", within(api_wall)),
    );
    table.row(
        "release bootstrap, PutMetricData to moto",
        ms(boot_api_t),
        ms(timeout),
        Some(over(boot_api_t)),
        "",
    );
    table.row(
        "  the probes alone (Ping::probe) / timeout",
        ms(probes_t),
        ms(timeout),
        Some(over(probes_t)),
        "(what the timeout bounds)",
    );
    table.row(
        "  one PutMetricData on moto alone (Ping::publish)",
        ms(publish_t),
        "",
        None,
        "(the emulator's time, not the function's)",
    );
    // The fewest the API allows: every datum fits one request (1000 datums, 1 MB).
    let fewest = last.datums.div_ceil(failberry_ping::MAX_DATUMS_PER_REQUEST);
    table.row(
        format!(
            "PutMetricData calls ({} datums, {} samples)",
            last.datums, last.datapoints
        ),
        format!("{} ({} att.)", last.requests, last.attempts),
        format!("{fewest} (fewest)"),
        None,
        &format!(
            "= fewest: {}",
            verdict(last.requests == fewest && boot_req == fewest as u64)
        ),
    );
    for (way, kb) in [("PutMetricData", boot_api_kb), ("EMF", boot_emf_kb)] {
        table.row(
            format!("release bootstrap peak RSS, {way}"),
            mb(kb),
            mb(floor_kb),
            Some(kb_ratio(kb, floor_kb)),
            "(baseline: the echo floor, this run)",
        );
    }
    Ok(())
}

/// The release bootstrap through the local Runtime API, once per targets document in `keys`: its
/// median wall time to the answer, peak RSS (free of the bench's own memory) and PutMetricData
/// calls; and the echo floor's peak RSS beside it.
async fn bootstraps(
    cli: &Cli,
    bucket: &str,
    function_env: &[(&str, String)],
    keys: [&str; 2],
) -> anyhow::Result<(u64, [(Duration, u64, u64); 2])> {
    let event = include_str!("../../../events/ping-schedule.json").to_string();
    let echo = serde_json::json!({"hello": "floor"}).to_string();
    let mut floor_rss = vec![];
    for _ in 0..cli.ping_runs {
        floor_rss.push(cold_start(&cli.floor, &[], echo.clone()).await?.peak_rss_kb);
    }
    let floor_kb = median(&mut floor_rss);
    let mut boot = [(Duration::ZERO, 0, 0); 2];
    for (key, way) in keys.into_iter().zip(&mut boot) {
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
                summary["down"] == HANGING,
                "the ping bootstrap judged {} down, want {}",
                summary["down"],
                HANGING
            );
            requests.push(summary["metrics"]["requests"].as_u64().unwrap_or(0));
            t.push(c.elapsed);
            rss.push(c.peak_rss_kb);
        }
        *way = (median(&mut t), median(&mut rss), median(&mut requests));
    }
    Ok((floor_kb, boot))
}

/// Every in-process run must judge the hanging targets down, the others up, and lose nothing.
fn check_ping_run(r: &Run) -> anyhow::Result<()> {
    anyhow::ensure!(
        r.up == TARGETS - HANGING && r.down == HANGING,
        "ping run judged {} up and {} down, want {} and {}: {:?}",
        r.up,
        r.down,
        TARGETS - HANGING,
        HANGING,
        r.reasons
    );
    anyhow::ensure!(!r.lost, "the ping run lost metrics");
    Ok(())
}
