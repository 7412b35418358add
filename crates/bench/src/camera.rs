//! The camera connector's figures (issue 11): 50 clips of 20 MB dropped at once into a folder that
//! `failberry camera watch` (the binary as `make client` builds it) watches, uploaded to moto
//! through grants; the time from the last clip closed to the last object stored (the connector's
//! queue records each clip stored as S3 answers its last call; the bucket is checked after), beside
//! `aws s3 cp --recursive` of the same files to the same moto in the same run (the AWS CLI from
//! PyPI in `.venv`), and the connector's peak RSS. Runs alternate; medians.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use failberry_local::{emulator, seed, Stack};
use tokio::process::Command;

use crate::cold_start::peak_rss_kb;
use crate::table::{mb, median, median_f64, ms, ratio, verdict, Table};

pub const CLIPS: usize = 50;
pub const CLIP_BYTES: usize = 20_000_000;
/// Each run takes ~30 s; five keep the medians steady on a noisy 2-core machine.
const RUNS: usize = 5;
const GOAL_RSS_KB: u64 = 30 * 1024;
/// The AWS CLI's default `max_concurrent_requests`.
const AWS_CLI_REQUESTS: usize = 10;

/// The AWS CLI `make bench` installs into the project's `.venv`.
fn aws_cli() -> PathBuf {
    PathBuf::from(".venv/bin/aws")
}

/// Writes the clips into `staging` once (random bytes: nothing compresses them).
fn make_clips(staging: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(staging)?;
    let mut rng = fastrand::Rng::with_seed(11);
    (0..CLIPS)
        .map(|i| -> anyhow::Result<PathBuf> {
            let path = staging.join(format!("clip-{i:02}.mp4"));
            let bytes: Vec<u8> = (0..CLIP_BYTES).map(|_| rng.u8(..)).collect();
            std::fs::write(&path, bytes)?;
            Ok(path)
        })
        .collect()
}

async fn count(stack: &Stack, prefix: &str) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut token = None;
    loop {
        let out = stack
            .s3()
            .list_objects_v2()
            .bucket(&stack.bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await?;
        n += out.contents().len();
        match out.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(n),
        }
    }
}

async fn empty(stack: &Stack, prefix: &str) -> anyhow::Result<()> {
    let out = stack
        .s3()
        .list_objects_v2()
        .bucket(&stack.bucket)
        .prefix(prefix)
        .send()
        .await?;
    for o in out.contents() {
        if let Some(key) = o.key() {
            stack
                .s3()
                .delete_object()
                .bucket(&stack.bucket)
                .key(key)
                .send()
                .await?;
        }
    }
    Ok(())
}

/// Clips the connector has stored, as `failberry camera status` reports them.
async fn stored(client: &Path, config: &Path) -> anyhow::Result<usize> {
    let out = Command::new(client)
        .arg("--config")
        .arg(config)
        .args(["camera", "status"])
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "camera status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let depth: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(depth["stages"]["awaiting_result"].as_u64().unwrap_or(0) as usize)
}

/// One connector run: seconds from the last rename to the last object, and its peak RSS.
async fn connector_run(
    client: &Path,
    stack: &Stack,
    dir: &Path,
    clips: &[PathBuf],
    concurrency: Option<usize>,
) -> anyhow::Result<(Duration, u64)> {
    // None: the connector's own default (`camera.concurrency`, sized for a Pi's mobile uplink).
    let concurrency = concurrency.map_or(String::new(), |n| format!("concurrency = {n}\n"));
    let watched = dir.join("nvr");
    let queue = dir.join("queue");
    let _ = std::fs::remove_dir_all(&watched);
    let _ = std::fs::remove_dir_all(&queue);
    std::fs::create_dir_all(&watched)?;
    let config = dir.join("camera.toml");
    std::fs::write(
        &config,
        format!(
            "[api]\nurl = \"{}\"\n[ddns]\nhostname = \"{}\"\nsecret = \"{}\"\n[camera]\nqueue_dir = \"{}\"\n{concurrency}[[camera.folder]]\npath = \"{}\"\ncamera = \"bench\"\n",
            stack.api,
            seed::HOSTNAME,
            seed::SECRET,
            queue.display(),
            watched.display()
        ),
    )?;
    let mut child = Command::new(client)
        .arg("--config")
        .arg(&config)
        .args(["camera", "watch"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", client.display()))?;
    let pid = child.id().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Dropped at once: each clip is renamed in (MOVED_TO), as an NVR finishing a file does.
    let staged = dir.join("staged");
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged)?;
    for clip in clips {
        std::fs::hard_link(clip, staged.join(clip.file_name().expect("a file")))?;
    }
    for clip in clips {
        let name = clip.file_name().expect("a file");
        std::fs::rename(staged.join(name), watched.join(name))?;
    }
    let closed = Instant::now();
    let deadline = closed + Duration::from_secs(600);
    // Watched through the connector's own queue (`camera status` reads local files), not by
    // listing the bucket: a listing every few milliseconds would load the emulator the upload
    // is measured against. A clip's job turns `awaiting_result` once S3 answered its last call.
    while stored(client, &config).await? < clips.len() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the connector stored too few clips in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = closed.elapsed();
    let rss = peak_rss_kb(pid);
    crate::endpoints::stop(&mut child).await;
    let in_bucket = count(stack, "incoming/").await?;
    anyhow::ensure!(
        in_bucket == clips.len(),
        "the connector's queue says {} clips are stored, the bucket holds {in_bucket}",
        clips.len()
    );
    empty(stack, "incoming/").await?;
    Ok((took, rss))
}

/// One `aws s3 cp --recursive` of the same files to the same moto.
async fn aws_run(moto_url: &str, stack: &Stack, staging: &Path) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let status = Command::new(aws_cli())
        .args([
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            "--endpoint-url",
            moto_url,
        ])
        .arg(staging)
        .arg(format!("s3://{}/baseline/", stack.bucket))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", emulator::REGION)
        .status()
        .await
        .context("running the AWS CLI (`make bench` installs it into .venv)")?;
    let took = start.elapsed();
    anyhow::ensure!(status.success(), "aws s3 cp failed: {status}");
    anyhow::ensure!(
        count(stack, "baseline/").await? == CLIPS,
        "aws s3 cp stored too few clips"
    );
    empty(stack, "baseline/").await?;
    Ok(took)
}

pub async fn figures(client: &Path, moto_url: &str, stack: &Stack) -> anyhow::Result<()> {
    let dir = crate::endpoints::temp_dir()?;
    let staging = dir.join("clips");
    let clips = make_clips(&staging)?;
    let (mut ours, mut theirs, mut rss, mut ratios) = (vec![], vec![], vec![], vec![]);
    let (mut wide, mut wide_ratios) = (vec![], vec![]);
    for _ in 0..RUNS {
        let (took, kb) = connector_run(client, stack, &dir, &clips, None).await?;
        let aws = aws_run(moto_url, stack, &staging).await?;
        let (wide_took, _) =
            connector_run(client, stack, &dir, &clips, Some(AWS_CLI_REQUESTS)).await?;
        ratios.push(ratio(aws, took));
        wide_ratios.push(ratio(aws, wide_took));
        ours.push(took);
        wide.push(wide_took);
        theirs.push(aws);
        rss.push(kb);
    }
    let (wide, wide_speedup) = (median(&mut wide), median_f64(&mut wide_ratios));
    let _ = std::fs::remove_dir_all(&dir);
    let (ours, theirs, speedup) = (
        median(&mut ours),
        median(&mut theirs),
        median_f64(&mut ratios),
    );
    let rss = median(&mut rss);
    println!(
        "\ncamera connector: {CLIPS} clips of {} MB dropped at once, to moto through grants ({RUNS} runs, medians)",
        CLIP_BYTES / 1_000_000
    );
    let table = Table {
        figure: 40,
        value: 12,
        baseline: 14,
    };
    table.header("connector", "aws s3 cp");
    table.row(
        "last clip closed -> last object stored",
        ms(ours),
        ms(theirs),
        Some(speedup),
        &format!(
            "goal >= 1.0x (aws time / connector time): {}",
            verdict(speedup >= 1.0)
        ),
    );
    table.row(
        format!("  the same, concurrency = {AWS_CLI_REQUESTS}"),
        ms(wide),
        ms(theirs),
        Some(wide_speedup),
        "as many requests in flight as the AWS CLI's default",
    );
    table.row(
        "connector peak RSS",
        mb(rss),
        "",
        None,
        &format!("goal < 30 MB: {}", verdict(rss < GOAL_RSS_KB)),
    );
    Ok(())
}
