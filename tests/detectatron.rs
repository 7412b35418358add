//! Detectatron wired to the emulator: the S3 notification moto really delivers (to SQS, as moto
//! cannot invoke a function; `failberry_local::clip_queue` stands in for S3's asynchronous
//! invocation and its retries),
//! DetectLabels through the Rekognition adapter, the result document and the tag, idempotence
//! on redelivery, the fixture batch's deduplication and partial failures. Each test has its own
//! bucket and queue (tests run in parallel on one emulator). Clips come from Debian's ffmpeg.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_s3::primitives::ByteStream;
use failberry_detectatron::{
    result_key, ClipRef, ClipResult, Config, Detectatron, Label, LabelError, LabelRequest, Labeler,
    Outcome, RekognitionLabeler, S3Clips, Status, TAG_KEY,
};
use failberry_local::{clip_queue, emulator};
use failberry_proto::clips::result::Percent;
use failberry_tests::moto_url;

/// A 320x240 clip of a white box crossing a test card, 4 s at 10 fps, libx264.
fn clip(dir: &Path) -> Vec<u8> {
    let out = dir.join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("smptebars=size=320x240:rate=10:duration=4[bg];color=c=white:size=40x60:rate=10[box];[bg][box]overlay=x=20+t*60:y=100:shortest=1[out0]")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "20", "-sc_threshold", "0"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (scripts/ensure-test-tools installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

struct World {
    sdk: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    bucket: String,
    _dir: tempfile::TempDir,
    clip: Vec<u8>,
}

async fn world() -> World {
    let sdk = emulator::sdk_config(&moto_url()).await;
    let s3 = emulator::s3_client(&sdk);
    let bucket = format!("failberry-clips-{:016x}", fastrand::u64(..));
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path());
    World {
        sdk,
        s3,
        bucket,
        _dir: dir,
        clip,
    }
}

impl World {
    async fn put(&self, key: &str, body: &[u8]) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("video/mp4")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }

    async fn result(&self, key: &str) -> Option<ClipResult> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(result_key(key))
            .send()
            .await
            .ok()?;
        Some(serde_json::from_slice(&out.body.collect().await.unwrap().to_vec()).unwrap())
    }

    async fn tag(&self, key: &str) -> Option<String> {
        let out = self
            .s3
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.tag_set()
            .iter()
            .find(|t| t.key() == TAG_KEY)
            .map(|t| t.value().to_string())
    }

    fn app<L: Labeler>(&self, labeler: L) -> Detectatron<S3Clips, L, Arc<Config>> {
        Detectatron::new(
            S3Clips::new(self.s3.clone()),
            labeler,
            Arc::new(Config::default()),
        )
    }
}

#[tokio::test]
async fn a_clip_put_under_incoming_is_analysed_from_the_queue_once() {
    let w = world().await;
    let queue = clip_queue::wire(&w.sdk, &w.bucket, &format!("{}-q", w.bucket))
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&w.sdk);
    let app = w.app(RekognitionLabeler::new(aws_sdk_rekognition::Client::new(
        &w.sdk,
    )));
    let key = "incoming/pi-1/door/1795777200-front door+1.mp4";
    w.put(key, &w.clip).await;
    w.put("elsewhere/not-a-clip.mp4", b"ignored: outside incoming/")
        .await;

    // The test event and the clip's notification; poll until the queue is drained.
    let mut received = 0;
    for _ in 0..5 {
        let polled = clip_queue::poll_once(&sqs, &queue, &app, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(polled.failed, 0);
        received += polled.received;
        if w.result(key).await.is_some() && polled.received == 0 {
            break;
        }
    }
    assert!(received >= 1, "moto delivered the notification");
    let r = w.result(key).await.expect("a result document");
    assert_eq!(r.status, Status::Analysed, "{:?}", r.error);
    assert_eq!(r.key, key, "the key was URL-decoded");
    assert_eq!(r.camera, "door");
    assert_eq!(r.rekognition_calls, 1);
    // The emulator's canned answer went through the adapter (its box lands wherever the
    // mosaic's middle is, maybe a gutter, so only the label is certain).
    let phone = r
        .labels
        .iter()
        .find(|l| l.name == "Mobile Phone")
        .expect("the canned label");
    assert!(phone.best_confidence > Percent(90.0), "{phone:?}");
    assert!(!r.interesting, "{}", r.reason);
    assert_eq!(w.tag(key).await.as_deref(), Some("false"));
    assert!(w.result("elsewhere/not-a-clip.mp4").await.is_none());

    // The same bytes again: a new notification, the same ETag, no second analysis.
    w.put(key, &w.clip).await;
    let mut polled = clip_queue::Polled::default();
    for _ in 0..3 {
        polled = clip_queue::poll_once(&sqs, &queue, &app, Duration::from_secs(1))
            .await
            .unwrap();
        if polled.received > 0 {
            break;
        }
    }
    assert_eq!(
        polled,
        clip_queue::Polled {
            received: 1,
            failed: 0
        }
    );
    assert_eq!(
        w.result(key).await.unwrap(),
        r,
        "the result was not rewritten"
    );
    let left = sqs
        .receive_message()
        .queue_url(&queue.url)
        .send()
        .await
        .unwrap();
    assert!(left.messages().is_empty(), "handled messages were deleted");
}

/// An object under `incoming/` that is not in a clip key's shape (put by hand, no time) is not
/// analysed: it gets an error result naming the fault, the `false` tag, and no labelling call.
#[tokio::test]
async fn an_object_that_is_not_a_clip_key_gets_an_error_result() {
    let w = world().await;
    let labeler = Counting::new(false);
    let app = w.app(labeler.clone());
    let key = "incoming/pi-1/door/front.mp4";
    w.put(key, &w.clip).await;
    let outcome = app
        .process(&ClipRef {
            bucket: w.bucket.clone(),
            key: key.into(),
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Failed(Status::Error));
    let r = w.result(key).await.expect("a result document");
    assert_eq!(r.status, Status::Error);
    assert_eq!(
        r.error.as_deref(),
        Some("not a clip key: no time in the key")
    );
    assert_eq!(w.tag(key).await.as_deref(), Some("false"));
    assert_eq!(labeler.calls(), 0);
}

/// Counts calls and answers nothing, or fails retryably. A fake because the emulator's
/// DetectLabels cannot be made to fail, and counting calls needs no image understanding.
#[derive(Clone)]
struct Counting {
    calls: Arc<AtomicUsize>,
    fail: bool,
}

impl Counting {
    fn new(fail: bool) -> Counting {
        Counting {
            calls: Arc::new(AtomicUsize::new(0)),
            fail,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Labeler for Counting {
    async fn labels(&self, _: &[u8], _: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            Err(LabelError::Retryable(
                "ThrottlingException: slow down".into(),
            ))
        } else {
            Ok(vec![])
        }
    }
}

/// A clip whose analysis keeps failing (the labeler is throttled every time) is received three
/// times, then the queue's redrive policy moves its message to the dead-letter queue: not dropped,
/// not retried forever, and the clip itself is never deleted.
#[tokio::test]
async fn a_clip_that_keeps_failing_ends_in_the_dead_letter_queue() {
    let w = world().await;
    let queue = clip_queue::wire(&w.sdk, &w.bucket, &format!("{}-q", w.bucket))
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&w.sdk);
    let labeler = Counting::new(true);
    let app = w.app(labeler.clone());
    let key = "incoming/pi-1/door/1795777200-always-throttled.mp4";
    w.put(key, &w.clip).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut dead = Vec::new();
    while dead.is_empty() && std::time::Instant::now() < deadline {
        clip_queue::poll_once(&sqs, &queue, &app, Duration::from_secs(1))
            .await
            .unwrap();
        dead = sqs
            .receive_message()
            .queue_url(&queue.dead_letter_url)
            .send()
            .await
            .unwrap()
            .messages()
            .to_vec();
    }
    let body = dead
        .first()
        .and_then(|m| m.body())
        .expect("the clip's notification reached the dead-letter queue");
    assert!(body.contains("always-throttled.mp4"), "{body}");
    assert_eq!(
        labeler.calls(),
        clip_queue::MAX_RECEIVES as usize,
        "one analysis per receive, then no more"
    );
    assert!(
        w.result(key).await.is_none(),
        "a retryable failure writes no result"
    );
    let still_there = w.s3.head_object().bucket(&w.bucket).key(key).send().await;
    assert!(still_there.is_ok(), "the clip is never deleted");
}

/// The fixture as the runtime would hand it over, for this test's bucket.
fn fixture(bucket: &str) -> SqsEvent {
    serde_json::from_str(
        &include_str!("../events/detectatron-sqs.json").replace("failberry-clips", bucket),
    )
    .unwrap()
}

const DOOR: &str = "incoming/pi-1/door/1795777200-front door+1.mp4";
const DRIVE: &str = "incoming/pi-1/drive/1795777202-multi.mp4";

#[tokio::test]
async fn the_fixture_batch_analyses_each_clip_once_and_redelivery_changes_nothing() {
    let w = world().await;
    w.put(DOOR, &w.clip).await;
    w.put(DRIVE, &w.clip).await;
    let counting = Counting::new(false);
    let app = w.app(counting.clone());

    let response = app.handle_batch(fixture(&w.bucket)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        counting.calls(),
        2,
        "two clips, three events: one call each"
    );
    for key in [DOOR, DRIVE] {
        assert_eq!(
            w.result(key).await.unwrap().status,
            Status::Analysed,
            "{key}"
        );
        assert_eq!(w.tag(key).await.as_deref(), Some("false"), "{key}");
    }

    let response = app.handle_batch(fixture(&w.bucket)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        counting.calls(),
        2,
        "a redelivery of the same ETags is not analysed again"
    );
}

#[tokio::test]
async fn a_throttled_labeler_fails_only_the_messages_of_that_clip() {
    let w = world().await;
    w.put(DRIVE, &w.clip).await;
    // The door clip is truncated: an error result, never retried.
    w.put(DOOR, &w.clip[..w.clip.len() / 2]).await;
    let failing = Counting::new(true);
    let response = w.app(failing).handle_batch(fixture(&w.bucket)).await;
    let mut failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "1c2d3e4f-0000-4000-8000-000000000003",
            "1c2d3e4f-0000-4000-8000-000000000004"
        ],
        "both messages naming the drive clip go back to the queue"
    );
    assert!(
        w.result(DRIVE).await.is_none(),
        "no result for a clip that will be retried"
    );
    let door = w.result(DOOR).await.expect("the truncated clip's result");
    assert_eq!(door.status, Status::Error);
    assert!(
        door.error.as_deref().unwrap().contains("truncated"),
        "{:?}",
        door.error
    );
    assert_eq!(w.tag(DOOR).await.as_deref(), Some("false"));
}

#[tokio::test]
async fn a_clip_over_the_size_cap_is_not_read() {
    let w = world().await;
    w.put(DOOR, &w.clip).await;
    let config = Config {
        max_clip_bytes: 1000,
        ..Config::default()
    };
    let counting = Counting::new(false);
    let app = Detectatron::new(
        S3Clips::new(w.s3.clone()),
        counting.clone(),
        Arc::new(config),
    );
    let response = app.handle_batch(fixture(&w.bucket)).await;
    assert!(response.batch_item_failures.is_empty());
    let r = w.result(DOOR).await.unwrap();
    assert_eq!(r.status, Status::Error);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("over the 1000 byte cap"),
        "{:?}",
        r.error
    );
    assert_eq!(counting.calls(), 0);
}

#[tokio::test]
async fn local_analyse_prints_the_decision_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let clip = clip(dir.path());
    let cases = [
        (
            "a person where the box moves",
            vec![("Person".to_string(), 93.0)],
            "decision:    INTERESTING",
            "Person (93%) where the motion was",
        ),
        (
            "nothing recognised",
            vec![],
            "decision:    not interesting",
            "no interesting label where the motion was",
        ),
        (
            "a cat under its threshold",
            vec![("Cat".to_string(), 50.0)],
            "decision:    not interesting",
            "Cat (50%) under the threshold",
        ),
    ];
    for (name, said, decision, why) in cases {
        let mut out = Vec::new();
        failberry_local::analyse::run(&clip, &Config::default(), "door", said, false, &mut out)
            .await
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(decision), "{name}: {out}");
        assert!(out.contains(why), "{name}: {out}");
        assert!(out.contains("rekognition calls: 1"), "{name}: {out}");
    }
}
