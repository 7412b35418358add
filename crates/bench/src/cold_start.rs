//! A Lambda bootstrap started as Lambda starts it, against the local Runtime API
//! (`runtime_api`), timed from process start to its first answer, with its peak RSS; and the
//! `/proc` readings the bench's memory figures use.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::runtime_api::RuntimeApi;

pub struct ColdStart {
    pub elapsed: Duration,
    pub peak_rss_kb: u64,
    pub body: bytes::Bytes,
}

/// The kB figures of `/proc/<pid>/status` named by `fields` (0 for one it lacks), in order.
pub fn status_kb<const N: usize>(pid: u32, fields: [&str; N]) -> [u64; N] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    fields.map(|name| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    })
}

pub fn peak_rss_kb(pid: u32) -> u64 {
    let [peak] = status_kb(pid, ["VmHWM"]);
    peak
}

/// Starts `binary` as Lambda would and times it to its first answer.
pub async fn cold_start(
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
