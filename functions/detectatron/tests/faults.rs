//! Faults of the clip path through the real `S3Clips` and `RekognitionLabeler` over the SDK's
//! mock client (moto cannot throttle or answer 5xx on purpose): S3 5xx and SlowDown, Rekognition
//! throttling, a missing clip and a corrupt one. The SDK clients keep their standard retry (the
//! mode a client built from `SdkConfig` has: up to 3 attempts, exponential back-off with full
//! jitter, throttling and 5xx retried), here with a 1 ms base so the tests stay fast. What must
//! hold: what can succeed on a retry does; what still fails goes back to the queue as a batch
//! item failure (then the DLQ after 3 receives); no result is written for it; and no clip is ever
//! deleted (a DeleteObject rule is present and must see no call).

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_rekognition::operation::detect_labels::{DetectLabelsError, DetectLabelsOutput};
use aws_sdk_rekognition::types::Label as RekLabel;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::get_object_tagging::GetObjectTaggingOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::operation::put_object_tagging::PutObjectTaggingOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::primitives::SdkBody;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use failberry_detectatron::{
    ClipRef, Config, Detectatron, InvocationError, Outcome, RekognitionLabeler, S3Clips, Status,
};
use support::{encode, mux_plain, Scene};

const BUCKET: &str = "failberry-clips";
const KEY: &str = "incoming/pi-1/door/1795777200-front.mp4";

fn retry() -> aws_sdk_s3::config::retry::RetryConfig {
    aws_sdk_s3::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

fn rek_retry() -> aws_sdk_rekognition::config::retry::RetryConfig {
    aws_sdk_rekognition::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

/// The S3 operations of one clip: head, no previous result, the clip's bytes (after `get_faults`
/// failures with `get_status`), the result write, the tag; and the delete that must not happen.
struct S3Rules {
    head: Rule,
    no_result: Rule,
    get: Rule,
    put: Rule,
    tags: Rule,
    tag: Rule,
    delete: Rule,
}

fn http_response(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

fn s3_rules(clip: Vec<u8>, get_faults: usize, get_status: (u16, &'static str)) -> S3Rules {
    let size = clip.len() as i64;
    let head = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key() == Some(KEY))
        .then_output(move || {
            HeadObjectOutput::builder()
                .content_length(size)
                .e_tag("\"e1\"")
                .build()
        });
    let no_result = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key().is_some_and(|k| k.starts_with("results/")))
        .then_http_response(|| {
            http_response(
                404,
                "<Error><Code>NoSuchKey</Code><Message>none</Message></Error>",
            )
        });
    let (status, code) = get_status;
    let body = format!("<Error><Code>{code}</Code><Message>slow down</Message></Error>");
    let clip_output = move || {
        GetObjectOutput::builder()
            .body(ByteStream::from(clip.clone()))
            .e_tag("\"e1\"")
            .build()
    };
    let get = mock!(aws_sdk_s3::Client::get_object).match_requests(|r| r.key() == Some(KEY));
    let get = if get_faults == 0 {
        get.then_output(clip_output)
    } else {
        get.sequence()
            .http_status(status, Some(body))
            .times(get_faults)
            .output(clip_output)
            .repeatedly()
            .build()
    };
    S3Rules {
        head,
        no_result,
        get,
        put: mock!(aws_sdk_s3::Client::put_object)
            .then_output(|| PutObjectOutput::builder().build()),
        tags: mock!(aws_sdk_s3::Client::get_object_tagging).then_output(|| {
            GetObjectTaggingOutput::builder()
                .set_tag_set(Some(vec![]))
                .build()
                .unwrap()
        }),
        tag: mock!(aws_sdk_s3::Client::put_object_tagging)
            .then_output(|| PutObjectTaggingOutput::builder().build()),
        delete: mock!(aws_sdk_s3::Client::delete_object)
            .then_output(|| DeleteObjectOutput::builder().build()),
    }
}

fn s3_client(r: &S3Rules) -> aws_sdk_s3::Client {
    mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [
            &r.head,
            &r.no_result,
            &r.get,
            &r.put,
            &r.tags,
            &r.tag,
            &r.delete
        ],
        |c| c.retry_config(retry())
    )
}

fn throttling() -> DetectLabelsError {
    DetectLabelsError::ThrottlingException(
        aws_sdk_rekognition::types::error::ThrottlingException::builder()
            .message("slow down")
            .meta(
                aws_sdk_rekognition::error::ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .build(),
            )
            .build(),
    )
}

fn labels(throttled: usize) -> Rule {
    let cat = || {
        DetectLabelsOutput::builder()
            .labels(RekLabel::builder().name("Cat").confidence(97.0).build())
            .build()
    };
    let rule = mock!(aws_sdk_rekognition::Client::detect_labels).match_requests(|_| true);
    if throttled == 0 {
        rule.then_output(cat)
    } else {
        rule.sequence()
            .error(throttling)
            .times(throttled)
            .output(cat)
            .repeatedly()
            .build()
    }
}

fn app(
    s3: aws_sdk_s3::Client,
    labels: &Rule,
) -> Detectatron<S3Clips, RekognitionLabeler, Arc<Config>> {
    let rek = mock_client!(aws_sdk_rekognition, RuleMode::Sequential, [labels], |c| c
        .retry_config(rek_retry()));
    Detectatron::new(
        S3Clips::new(s3),
        RekognitionLabeler::new(rek),
        Arc::new(Config::default()),
    )
}

fn clip_ref() -> ClipRef {
    ClipRef {
        bucket: BUCKET.into(),
        key: KEY.into(),
    }
}

fn moving_clip() -> Vec<u8> {
    mux_plain(&encode(Scene::Moving))
}

/// The notification naming the clip, as S3 invokes the function with it.
fn notification() -> serde_json::Value {
    serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": KEY, "size": 1}}}]})
}

#[tokio::test]
async fn s3_slowdown_and_rekognition_throttling_are_retried_through() {
    let rules = s3_rules(moving_clip(), 2, (503, "SlowDown"));
    let rek = labels(2);
    let app = app(s3_client(&rules), &rek);
    let outcome = app.process(&clip_ref()).await.expect("retries get through");
    assert!(matches!(outcome, Outcome::Analysed { .. }), "{outcome:?}");
    assert_eq!(rules.get.num_calls(), 3, "two SlowDowns, then the clip");
    assert_eq!(rek.num_calls(), 3, "two throttlings, then labels");
    assert_eq!(rules.put.num_calls(), 1, "the result is written once");
    assert_eq!(rules.delete.num_calls(), 0, "the clip is never deleted");
}

#[tokio::test]
async fn lasting_s3_5xx_fails_the_invocation_and_writes_nothing() {
    let rules = s3_rules(moving_clip(), 10, (500, "InternalError"));
    let rek = labels(0);
    let app = app(s3_client(&rules), &rek);
    let failed = app.handle_notification(notification()).await;
    assert!(
        matches!(failed, Err(InvocationError::Retry { failed: 1, .. })),
        "the invocation fails: Lambda retries it, then parks it in the DLQ: {failed:?}"
    );
    assert_eq!(rules.get.num_calls(), 3, "the SDK's three attempts");
    assert_eq!(
        (rules.put.num_calls(), rules.tag.num_calls()),
        (0, 0),
        "no result, no tag"
    );
    assert_eq!(rek.num_calls(), 0);
    assert_eq!(rules.delete.num_calls(), 0, "the clip is never deleted");
}

#[tokio::test]
async fn lasting_rekognition_throttling_fails_the_invocation() {
    let rules = s3_rules(moving_clip(), 0, (503, "SlowDown"));
    let rek = labels(10);
    let app = app(s3_client(&rules), &rek);
    let failed = app.handle_notification(notification()).await;
    assert!(
        matches!(failed, Err(InvocationError::Retry { .. })),
        "{failed:?}"
    );
    assert_eq!(rek.num_calls(), 3, "the SDK's three attempts");
    assert_eq!(
        rules.put.num_calls(),
        0,
        "no result for a clip that was not labelled"
    );
    assert_eq!(rules.delete.num_calls(), 0, "the clip is never deleted");
}

#[tokio::test]
async fn a_corrupt_clip_gets_an_error_result_and_is_kept() {
    let mut clip = moving_clip();
    // Keep the header, overwrite the rest: what a broken upload looks like.
    for b in clip.iter_mut().skip(64) {
        *b = 0x5a;
    }
    let rules = s3_rules(clip, 0, (503, "SlowDown"));
    let rek = labels(0);
    let app = app(s3_client(&rules), &rek);
    let done = app
        .handle_notification(notification())
        .await
        .expect("never retried");
    assert_eq!(done[0].1, Outcome::Failed(Status::Error));
    assert_eq!(rules.put.num_calls(), 1, "an error result is written");
    assert_eq!(rules.tag.num_calls(), 1, "and the clip tagged");
    assert_eq!(rek.num_calls(), 0);
    assert_eq!(rules.delete.num_calls(), 0, "the clip is kept");
    let outcome = app.process(&clip_ref()).await.unwrap();
    // The second delivery finds no result (the mock has none) and fails the same way.
    assert_eq!(outcome, Outcome::Failed(Status::Error));
}

#[tokio::test]
async fn a_missing_clip_is_gone_not_an_error() {
    let head = mock!(aws_sdk_s3::Client::head_object).then_http_response(|| http_response(404, ""));
    let rules = s3_rules(vec![], 0, (503, "SlowDown"));
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&head, &rules.put, &rules.delete],
        |c| c.retry_config(retry())
    );
    let rek = labels(0);
    let app = app(s3, &rek);
    let done = app.handle_notification(notification()).await.unwrap();
    assert_eq!(done[0].1, Outcome::Gone);
    assert_eq!((rules.put.num_calls(), rules.delete.num_calls()), (0, 0));
}
