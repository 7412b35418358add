//! Issue 4's ping figures: 200 loopback targets, 20 of which accept and never answer. One
//! invocation must take about one per-target timeout (the hanging probes run beside the others,
//! not after them), publish in as few PutMetricData calls as the API allows, and stay small.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

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
    pub metrics: failberry_ping::RunMetrics,
}

pub async fn run_in_process<S, A, E, K>(
    ping: &failberry_ping::Ping<S, A, E, K>,
) -> anyhow::Result<Run>
where
    S: failberry_aws::DocumentSource,
    A: failberry_ping::MetricSink,
    E: failberry_ping::MetricSink,
    K: failberry_ping::Clock,
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
        metrics: run.clone(),
        reasons,
        wall,
        datums: failberry_ping::metrics::datums(&run).len(),
        up: summary.up,
        down: summary.down,
        requests: summary.metrics.requests,
        attempts: summary.metrics.attempts,
        datapoints: summary.metrics.datapoints,
        lost: summary.metrics.lost.is_some(),
    })
}

/// The probes alone (no config read, no publishing): what the timeout bounds.
pub async fn probes_alone(document: &str) -> anyhow::Result<Duration> {
    let config =
        failberry_ping::PingConfig::parse(document.as_bytes()).map_err(anyhow::Error::msg)?;
    let prober = failberry_ping::Prober::with_webpki_roots();
    let started = Instant::now();
    failberry_ping::probe_all(&prober, &config.targets, config.concurrency).await;
    Ok(started.elapsed())
}

/// One run's metrics published alone, through the function's own sink, against moto.
pub async fn publish_alone(
    cloudwatch: aws_sdk_cloudwatch::Client,
    run: &failberry_ping::RunMetrics,
) -> anyhow::Result<Duration> {
    use failberry_ping::MetricSink;
    let started = Instant::now();
    let delivery = failberry_ping::CloudWatchSink::new(cloudwatch)
        .publish(run, started + Duration::from_secs(30))
        .await;
    anyhow::ensure!(
        delivery.lost.is_none(),
        "PutMetricData lost {:?}",
        delivery.lost
    );
    Ok(started.elapsed())
}
