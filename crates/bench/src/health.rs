//! The health endpoint's figures (issue 4): `failberry health serve` against nginx serving a
//! static 200 under the same `wrk` load, its peak RSS, and `GET /` while 5,000 idle connections
//! are held open. The processes themselves (nginx, the endpoint, wrk) are `endpoints`'s.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cold_start::{peak_rss_kb, status_kb};
use crate::endpoints as health;
use crate::table::{kb_ratio, mb, median, median_f64, ms, ratio, verdict, Table};
use crate::Cli;

/// Issue 4: `failberry health serve` against nginx, and under 5,000 idle connections.
pub async fn figures(cli: &Cli, nofile: u64) -> anyhow::Result<()> {
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
    let (nginx_rps, rps, rps_ratio) = (
        median_f64(&mut nginx_rps),
        median_f64(&mut rps),
        median_f64(&mut ratios),
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

    let table = Table {
        figure: 52,
        value: 12,
        baseline: 14,
    };
    table.header("endpoint", "nginx");
    table.row(
        "requests/s, GET /",
        format!("{rps:.0}"),
        format!("{nginx_rps:.0}"),
        Some(rps_ratio),
        &format!(
            "≥1.0x: {}  (median of the rounds' ratios)",
            verdict(rps_ratio >= 1.0)
        ),
    );
    table.row(
        "peak RSS after wrk",
        mb(after_wrk_kb),
        mb(nginx_kb),
        Some(kb_ratio(after_wrk_kb, nginx_kb)),
        &format!(
            "<5 MB: {}  (nginx: its largest worker)",
            verdict(after_wrk_kb < 5 * 1024)
        ),
    );
    table.row(
        "  of which anonymous (heap, stacks) / file-backed",
        mb(anon_kb),
        mb(file_kb),
        None,
        "(file-backed: mapped code and libraries, shared)",
    );
    let still_open = fds >= health::IDLE_CONNECTIONS;
    table.row(
        format!(
            "GET / with {} idle connections held, median",
            health::IDLE_CONNECTIONS
        ),
        ms(busy),
        ms(quiet),
        Some(ratio(busy, quiet)),
        &format!(
            "200 each time, all held open: {}  (baseline: none held)",
            verdict(still_open)
        ),
    );
    table.row(
        format!(
            "peak RSS with {} idle connections",
            health::IDLE_CONNECTIONS
        ),
        mb(held_kb),
        mb(after_wrk_kb),
        Some(kb_ratio(held_kb, after_wrk_kb)),
        &format!("({fds} connections open in the endpoint)"),
    );
    Ok(())
}
