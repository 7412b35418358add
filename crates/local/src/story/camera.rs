//! The camera story: the real `failberry camera watch` process watches a folder and polls a
//! Frigate (the fake of `fake_nvr`: no NVR runs here); three clips are dropped into the folder
//! (a person walking, trees in the wind, a parked car with a cat crossing elsewhere) and Frigate
//! records one event (a person at the door). Each clip is real H.264 MP4 made by
//! `failberry-synthetic`, uploaded by the connector through the grants API, analysed by the
//! detectatron handler from the bucket's S3 → SQS notifications (`clip_queue`), and marked on its
//! NVR once the result is in: the `on_result` hook for the folder, sub label and retain on
//! Frigate. The labeler is scripted per clip (moto's DetectLabels answers one canned label): it
//! answers what the scene has drawn, boxed where it shows in the mosaic detectatron sent.
//!
//! The clips go one at a time, so the scripted labeler knows which clip it is looking at. What
//! each clip is lives in `clips`; the connector process and its config in `connector`.

mod clips;
mod connector;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use failberry_detectatron::{find_motion, result_key, ClipResult, Config, Detectatron, S3Clips};
use failberry_synthetic::Scene;

use self::clips::{clips, objects_at, rect, ScriptedNow, Source};
use self::connector::{write_config, Connector};
use super::pi::Pi;
use super::Story;
use crate::analyse::labels_seeing;
use crate::clip_queue;
use crate::fake_nvr::{FakeFrigate, FrigateEvent};
use crate::stack::Stack;

/// How long a clip may take from dropped to marked before the story calls it a failure.
const CLIP_DEADLINE: Duration = Duration::from_secs(60);

/// Polls `check` every 200 ms until it answers or `deadline` passes.
async fn wait_for<T, F, Fut>(deadline: Instant, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The stored clip whose key ends with `-<name>` under camera `camera`, and its size.
async fn stored(stack: &Stack, camera: &str, name: &str) -> Option<(String, i64)> {
    let out = stack
        .s3()
        .list_objects_v2()
        .bucket(&stack.bucket)
        .prefix("incoming/")
        .send()
        .await
        .ok()?;
    out.contents().iter().find_map(|o| {
        let key = o.key()?;
        let parts: Vec<&str> = key.split('/').collect();
        (parts.get(2) == Some(&camera) && key.ends_with(&format!("-{name}")))
            .then(|| (key.to_string(), o.size().unwrap_or(0)))
    })
}

async fn result(stack: &Stack, key: &str) -> Option<ClipResult> {
    let out = stack
        .s3()
        .get_object()
        .bucket(&stack.bucket)
        .key(result_key(key))
        .send()
        .await
        .ok()?;
    serde_json::from_slice(&out.body.collect().await.ok()?.to_vec()).ok()
}

/// Writes a file as an NVR does: under a hidden temporary name, then renamed into place.
fn drop_into(folder: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = folder.join(format!(".{name}.part"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, folder.join(name))?;
    Ok(())
}

fn describe_result(story: &mut Story, r: &ClipResult) {
    let verdict = if r.interesting {
        "INTERESTING"
    } else {
        "not interesting"
    };
    story.say(&format!("   decision: {verdict} — {}", r.reason));
    for c in &r.chosen_frames {
        story.say(&format!(
            "   frame at {} ms (against {} ms): {} motion box(es), {}",
            c.time_ms, c.compared_with_ms, c.motion_boxes, c.why
        ));
    }
    let regions: Vec<String> = r
        .crops
        .iter()
        .map(|c| {
            format!(
                "{}x{} at ({},{}) of the {} ms frame",
                c.rect.w, c.rect.h, c.rect.x, c.rect.y, c.time_ms
            )
        })
        .collect();
    story.say(&format!(
        "   sent for labelling: {} region(s) in {} call(s): {}",
        r.crops.len(),
        r.rekognition_calls,
        if regions.is_empty() {
            "none".to_string()
        } else {
            regions.join("; ")
        }
    ));
    if !r.labels.is_empty() {
        let labels: Vec<String> = r
            .labels
            .iter()
            .map(|l| {
                let boxes: Vec<String> = l
                    .instances
                    .iter()
                    .map(|i| format!("{}x{} at ({},{})", i.rect.w, i.rect.h, i.rect.x, i.rect.y))
                    .collect();
                if boxes.is_empty() {
                    format!("{} {} (no box)", l.name, l.best_confidence)
                } else {
                    format!(
                        "{} {} boxed {}",
                        l.name,
                        l.best_confidence,
                        boxes.join(", ")
                    )
                }
            })
            .collect();
        story.say(&format!("   labels (scripted): {}", labels.join("; ")));
    }
}

/// Tells the camera story on `stack`; the Pi's secret and API are `pi`'s.
pub async fn tell(
    story: &mut Story<'_>,
    stack: &Stack,
    pi: &Pi,
    workdir: &Path,
) -> anyhow::Result<()> {
    let frigate = FakeFrigate::start()
        .await
        .context("starting the fake Frigate")?;
    let places = write_config(workdir, &stack.api, &frigate)?;
    let queue = clip_queue::wire(
        &stack.sdk,
        &stack.bucket,
        &format!("{}-clips", stack.bucket),
    )
    .await?;
    let labeler = ScriptedNow::default();
    let config = Config::default();
    let app = Detectatron::new(
        S3Clips::new(stack.s3()),
        labeler.clone(),
        Arc::new(config.clone()),
    );
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let detectatron = tokio::spawn(async move {
        clip_queue::run(&sqs, &queue, &app, async {
            let _ = stopped.await;
        })
        .await
    });
    let connector = Connector::start(pi.client(), &places.config, &places.log)?;

    story.step(&format!(
        "The cameras. `failberry camera watch` (the real client; config {})\n   \
         watches the folder {} (camera \"garden\")\n   \
         and polls a Frigate at {}: a fake built from Frigate's HTTP API document,\n   \
         since no NVR runs here. Each clip is real H.264 MP4 made on the spot; the connector\n   \
         uploads it through the grants API (POST /v1/clips, presigned PUT), the bucket's\n   \
         notification goes through SQS to the detectatron function, and the connector marks the\n   \
         result on the NVR. The labeler is SCRIPTED (moto's DetectLabels answers one canned label):\n   \
         it answers what each scene has drawn, boxed where it shows in the image detectatron sent.",
        places.config.display(),
        places.folder.display(),
        frigate.nvr.url
    ));

    let total = clips().len();
    for (n, clip) in clips().into_iter().enumerate() {
        let bytes = match clip.from {
            Source::Folder => failberry_synthetic::clip(clip.scene)?,
            Source::Frigate { .. } => {
                failberry_synthetic::mux_fragmented(&failberry_synthetic::encode(clip.scene)?)?
            }
        };
        let report =
            find_motion(&bytes, &config, &[]).context("finding the motion of a demo clip")?;
        labeler.set(labels_seeing(
            &report,
            |ms| objects_at(clip.scene, ms),
            &clip.said,
        ));
        let camera = match clip.from {
            Source::Folder => {
                story.step(&format!(
                    "Clip {} of {total}: {} — {} ({} KB) dropped into the watched folder.",
                    n + 1,
                    clip.what,
                    clip.name,
                    bytes.len() / 1024
                ));
                drop_into(&places.folder, clip.name, &bytes)?;
                "garden"
            }
            Source::Frigate { event } => {
                story.step(&format!(
                    "Clip {} of {total}: {} ({} KB, fragmented MP4 as Frigate records).",
                    n + 1,
                    clip.what,
                    bytes.len() / 1024
                ));
                let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) as f64;
                frigate.record(FrigateEvent {
                    id: event.into(),
                    camera: "porch".into(),
                    label: "person".into(),
                    start_time: now - 8.0,
                    end_time: Some(now - 1.0),
                    clip: bytes.clone(),
                });
                "porch"
            }
        };
        let deadline = Instant::now() + CLIP_DEADLINE;
        let dropped = Instant::now();
        let Some((key, size)) = wait_for(deadline, || stored(stack, camera, clip.name)).await
        else {
            story.check(
                false,
                &format!("{} uploaded within {}s", clip.name, CLIP_DEADLINE.as_secs()),
            );
            continue;
        };
        story.check(
            size == bytes.len() as i64,
            &format!(
                "uploaded through a grant in {:.1}s: {key} ({size} bytes, as made)",
                dropped.elapsed().as_secs_f64()
            ),
        );
        let Some(r) = wait_for(deadline, || result(stack, &key)).await else {
            story.check(
                false,
                &format!("{} analysed within {}s", clip.name, CLIP_DEADLINE.as_secs()),
            );
            continue;
        };
        describe_result(story, &r);
        let decided_by = r
            .decision
            .as_ref()
            .map(|d| d.matched.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let ok = match clip.want {
            Some(label) => r.interesting && decided_by.iter().any(|l| l == label),
            None => !r.interesting && r.error.is_none() && !r.motion.is_empty(),
        };
        if let Some(car) = clip
            .scene
            .parked_car()
            .filter(|_| clip.scene == Scene::ParkedCarAndCat)
        {
            let car = rect(car);
            story.check(
                r.crops.iter().all(|c| c.rect.intersection(&car) == 0),
                "the parked car never moved: no region of it was sent for labelling",
            );
        }
        story.check(
            ok,
            &match clip.want {
                Some(label) => format!("interesting, decided by the {label} where the motion was"),
                None => "not interesting: it moved, but only what is noise moved".to_string(),
            },
        );
        match clip.from {
            Source::Folder => {
                let file = places
                    .marks
                    .join(format!("{}.json", key.rsplit('/').next().unwrap_or(&key)));
                let got = wait_for(deadline, || {
                    let file = file.clone();
                    async move {
                        let bytes = std::fs::read(&file).ok()?;
                        serde_json::from_slice::<serde_json::Value>(&bytes).ok()
                    }
                })
                .await;
                let seen = got.as_ref().and_then(|v| v["interesting"].as_bool());
                story.check(
                    seen == Some(r.interesting),
                    &format!(
                        "the on_result hook got the result on stdin (interesting = {}): {}",
                        seen.map_or("?".to_string(), |b| b.to_string()),
                        file.display()
                    ),
                );
            }
            Source::Frigate { event } => {
                let marked = wait_for(deadline, || async {
                    let (subs, retains) = frigate.marks(event);
                    (!subs.is_empty() && retains > 0).then_some((subs, retains))
                })
                .await;
                let (label, score) = marked
                    .as_ref()
                    .and_then(|(subs, _)| subs.last())
                    .map(|b| {
                        (
                            b["subLabel"].as_str().unwrap_or("?").to_string(),
                            b["subLabelScore"].as_f64().unwrap_or(0.0),
                        )
                    })
                    .unwrap_or_default();
                story.check(
                    marked.is_some() && Some(label.as_str()) == clip.want,
                    &format!(
                        "Frigate's event {event}: sub label \"{label}\" (score {score:.2}) set, and retained"
                    ),
                );
            }
        }
    }
    connector.stop().await;
    let _ = stop.send(());
    match detectatron.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => story.check(false, &format!("the clip queue ran without error: {e:#}")),
        Err(e) => story.check(false, &format!("the clip queue task ended: {e}")),
    }
    story.say(&format!(
        "   (the connector's log: {}; detectatron's: with the functions' log)",
        places.log.display()
    ));
    Ok(())
}
