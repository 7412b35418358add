//! Issue 10's detectatron figures, each beside its baseline: CPU ms of the frame choice against
//! decoding every frame of a 30 s 1080p clip (30 fps, a key frame every 2 s, libx264 as NVRs
//! write it); the release bootstrap's peak RSS analysing that clip from moto beside the SDK floor;
//! Rekognition calls per clip over the test scenes in both modes; and the cost per clip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use failberry_detectatron::decode::ClipDecoder;
use failberry_detectatron::demux::demux;
use failberry_detectatron::{
    analyse, find_motion, Config, Label, LabelError, LabelRequest, Labeler, Mode,
};

/// Lambda arm64 price per GB-second, and Rekognition's per image.
const LAMBDA_GB_S: f64 = 0.000_013_333_4;
const REKOGNITION_IMAGE: f64 = 0.001;
/// The memory the function would be given (the RSS goal is under 200 MB).
const LAMBDA_MB: f64 = 512.0;

/// CPU time of the calling thread (the analysis runs on it).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn ffmpeg(
    filter: &str,
    size: &str,
    seconds: u32,
    fps: u32,
    gop: u32,
    rate: &str,
    out: &Path,
) -> anyhow::Result<Vec<u8>> {
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(
            filter
                .replace("SIZE", size)
                .replace("SECS", &seconds.to_string())
                .replace("FPS", &fps.to_string()),
        )
        .args([
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-preset",
            "veryfast",
        ])
        .args(["-b:v", rate, "-maxrate", rate, "-bufsize", rate])
        .args([
            "-g",
            &gop.to_string(),
            "-keyint_min",
            &gop.to_string(),
            "-sc_threshold",
            "0",
        ])
        .arg(out)
        .status()
        .context("running ffmpeg (scripts/ensure-test-tools installs it)")?;
    anyhow::ensure!(status.success(), "ffmpeg failed for {}", out.display());
    Ok(std::fs::read(out)?)
}

/// The 1080p NVR-like clip: a test card with sensor noise, a person-sized box walking across it
/// for 30 s, at a camera's 4 Mbit/s.
const NVR: &str = "smptebars=size=SIZE:rate=FPS:duration=SECS,noise=alls=6:allf=t[bg];color=c=white:size=120x260:rate=FPS[p];[bg][p]overlay=x=100+t*55:y=600:shortest=1[out0]";

/// The scenes of the tests, as ffmpeg draws them (320x240, 4 s, 10 fps), with their config.
fn scenes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("moving object", "smptebars=size=SIZE:rate=FPS:duration=SECS[bg];color=c=white:size=40x60:rate=FPS[b];[bg][b]overlay=x=20+t*60:y=100:shortest=1[out0]", "{}"),
        ("flicker and sensor noise", "smptebars=size=SIZE:rate=FPS:duration=SECS,noise=alls=10:allf=t,eq=brightness=0.06*sin(2*PI*t*2):eval=frame", "{}"),
        ("parked car, person walking", "smptebars=size=SIZE:rate=FPS:duration=SECS,drawbox=x=175:y=110:w=120:h=60:color=black:t=fill[bg];color=c=white:size=30x70:rate=FPS[p];[bg][p]overlay=x=10+t*40:y=100:shortest=1[out0]", "{}"),
        ("motion only in the ignore zone", "smptebars=size=SIZE:rate=FPS:duration=SECS[bg];color=c=white:size=30x40:rate=FPS[b];[bg][b]overlay=x=10+mod(t*40\\,80):y=20:shortest=1[out0]", r#"{"cameras":{"bench":{"ignore_zones":[[[0,0],[0.5,0],[0.5,0.5],[0,0.5]]]}}}"#),
    ]
}

/// Answers nothing and counts calls: only the number of images matters here.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl Labeler for Counting {
    async fn labels(&self, _: &[u8], _: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(vec![])
    }
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

pub struct Setup<'a> {
    pub detectatron: &'a Path,
    pub sdk_floor: &'a Path,
    pub sdk: &'a aws_config::SdkConfig,
    pub function_env: &'a [(&'a str, String)],
    pub runs: usize,
}

pub async fn figures(setup: &Setup<'_>) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("failberry-bench-detect-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let nvr_path: PathBuf = dir.join("nvr-1080p-30s.mp4");
    println!(
        "detectatron: generating a 30 s 1080p clip (30 fps, key frame every 2 s, libx264 High)…"
    );
    let clip = ffmpeg(NVR, "1920x1080", 30, 30, 60, "4M", &nvr_path)?;
    let track = demux(&clip)?;
    println!(
        "  clip: {}x{}, {} frames, {} key frames, {:.1} MB",
        track.width,
        track.height,
        track.samples.len(),
        track.samples.iter().filter(|s| s.is_sync).count(),
        clip.len() as f64 / 1e6
    );

    // Frame choice against decoding everything, alternating, CPU time of this thread.
    let config = Config::default();
    let (mut choice, mut all, mut decoded) = (vec![], vec![], 0);
    for _ in 0..setup.runs {
        let t = thread_cpu();
        let report = find_motion(&clip, &config, &[])?;
        choice.push(thread_cpu() - t);
        decoded = report.frames_decoded;
        anyhow::ensure!(!report.crops.is_empty(), "the walking box was not found");
        let t = thread_cpu();
        let mut d = ClipDecoder::new(&track, &clip)?;
        let pictures = d.decode_all()?;
        all.push(thread_cpu() - t);
        anyhow::ensure!(
            pictures == track.samples.len(),
            "decoded {pictures} of {}",
            track.samples.len()
        );
    }
    let (choice_ms, all_ms) = (median_ms(choice), median_ms(all));
    println!(
        "  frame choice CPU:      {choice_ms:.0} ms ({decoded} frames decoded)   baseline, every frame decoded: {all_ms:.0} ms ({} frames)   {:.1}x faster (goal >= 10x, < 300 ms)",
        track.samples.len(),
        all_ms / choice_ms
    );

    // The release bootstrap on an SQS event naming the clip in moto.
    let s3 = failberry_local::emulator::s3_client(setup.sdk);
    let bucket = format!("failberry-bench-clips-{:08x}", fastrand::u32(..));
    s3.create_bucket().bucket(&bucket).send().await?;
    let (mut rss, mut took, mut floor_rss) = (vec![], vec![], vec![]);
    for i in 0..setup.runs {
        let key = format!("incoming/bench/nvr/{i}-clip.mp4");
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(clip.clone()))
            .send()
            .await?;
        let event = sqs_event(&bucket, &key);
        let run =
            crate::cold_start::cold_start(setup.detectatron, setup.function_env, event).await?;
        let answer: serde_json::Value = serde_json::from_slice(&run.body)?;
        anyhow::ensure!(
            answer["batchItemFailures"]
                .as_array()
                .is_some_and(|a| a.is_empty()),
            "detectatron failed: {answer}"
        );
        rss.push(run.peak_rss_kb);
        took.push(run.elapsed);
        let floor =
            crate::cold_start::cold_start(setup.sdk_floor, setup.function_env, "{}".into()).await?;
        floor_rss.push(floor.peak_rss_kb);
    }
    let result: failberry_detectatron::ClipResult = serde_json::from_slice(
        &s3.get_object()
            .bucket(&bucket)
            .key(failberry_detectatron::result_key(&format!(
                "incoming/bench/nvr/{}-clip.mp4",
                setup.runs - 1
            )))
            .send()
            .await?
            .body
            .collect()
            .await?
            .to_vec(),
    )?;
    rss.sort();
    floor_rss.sort();
    let (rss_mb, floor_mb) = (
        rss[rss.len() / 2] as f64 / 1024.0,
        floor_rss[floor_rss.len() / 2] as f64 / 1024.0,
    );
    let invocation_ms = median_ms(took);
    println!(
        "  bootstrap peak RSS:    {rss_mb:.1} MB   baseline, SDK floor: {floor_mb:.1} MB   (goal < 200 MB; cold start to answer {invocation_ms:.0} ms incl. S3 and DetectLabels on moto; analysis {} ms)",
        result.timings.total_ms
    );

    // Rekognition calls over the scenes, both modes.
    let mut per_mode = Vec::new();
    for mode in [Mode::Mosaic, Mode::Frames] {
        let (mut calls, mut keys) = (Vec::new(), Vec::new());
        for (i, (name, filter, doc)) in scenes().into_iter().enumerate() {
            let clip = ffmpeg(
                filter,
                "320x240",
                4,
                10,
                20,
                "500k",
                &dir.join(format!("scene-{i}.mp4")),
            )?;
            let config = Config {
                mode,
                ..Config::parse(doc.as_bytes())?
            };
            let counting = Counting::default();
            let r = analyse(&clip, &config, "bench", &counting).await?;
            calls.push((name, r.rekognition_calls));
            keys.push(demux(&clip)?.samples.iter().filter(|s| s.is_sync).count());
        }
        keys.push(track.samples.iter().filter(|s| s.is_sync).count());
        let nvr = Counting::default();
        let r = analyse(
            &clip,
            &Config {
                mode,
                ..Config::default()
            },
            "nvr",
            &nvr,
        )
        .await?;
        calls.push(("1080p NVR clip", r.rekognition_calls));
        let mean = calls.iter().map(|c| f64::from(c.1)).sum::<f64>() / calls.len() as f64;
        let naive = keys.iter().sum::<usize>() as f64 / keys.len() as f64;
        let list: Vec<String> = calls.iter().map(|(n, c)| format!("{n} {c}")).collect();
        println!(
            "  Rekognition calls ({mode:?}): {mean:.2} per clip ({})   baseline, one image per key frame: {naive:.2} per clip   (goal <= 1)",
            list.join(", ")
        );
        per_mode.push((mode, mean, r.timings.total_ms));
    }

    // Cost per clip: Lambda at the measured duration and the memory it would get, plus images.
    for (mode, mean_calls, ms) in per_mode {
        let billed_ms = ms.max(1) as f64;
        let lambda = LAMBDA_GB_S * (LAMBDA_MB / 1024.0) * billed_ms / 1000.0;
        let images = REKOGNITION_IMAGE * mean_calls;
        println!(
            "  cost per clip ({mode:?}): ${:.5} = Lambda ${lambda:.6} ({billed_ms:.0} ms at {LAMBDA_MB:.0} MB arm64; measured here on x86) + Rekognition ${images:.5} ({mean_calls:.2} images)",
            lambda + images
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// An SQS event wrapping an S3 notification, as the event source mapping delivers it.
fn sqs_event(bucket: &str, key: &str) -> String {
    let body = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": {"key": key}}
    }]});
    serde_json::json!({"Records": [{
        "messageId": "bench-1", "receiptHandle": "bench", "body": body.to_string(),
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench", "awsRegion": "us-east-1"
    }]})
    .to_string()
}
