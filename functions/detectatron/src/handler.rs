//! The Lambda handler: S3 invokes it asynchronously with an ObjectCreated notification; a clip
//! that failed retryably fails the invocation, which Lambda retries twice and then sends to the
//! on-failure destination (the template's dead-letter queue). The local stack, where moto cannot
//! invoke a function, hands it the same notifications in SQS batches (`handle_batch`, partial
//! batch failures). Owns reading the notifications (URL-decoded keys, the S3 test event, the two
//! events of a multipart completion deduplicated), idempotency per ETag, the size cap, and which
//! failures are retried; the analysis itself is `analysis`'s, the key's shape (`ClipKey`) and the
//! result document the contract's.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use failberry_proto::clips::result::{ClipResult, Status, TAG_KEY};
use failberry_proto::clips::{result_key, ClipKey, INCOMING_PREFIX};
use lambda_runtime::LambdaEvent;

use crate::analysis::analyse;
use crate::config::ConfigSource;
use crate::labeler::Labeler;
use crate::store::ClipStore;

/// A clip named by a notification.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClipRef {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MessageError {
    #[error("message body is not an S3 notification: {0}")]
    NotS3(String),
}

/// Why an invocation by S3 failed (and will be retried, then parked). Its type names the
/// failure in the invocation record the on-failure destination keeps.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    NotS3(#[from] MessageError),
    #[error("{failed} of the notification's clips failed and will be retried: {first}")]
    Retry { failed: usize, first: Retryable },
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> Self {
        let error_type = match e {
            InvocationError::NotS3(_) => "NotAnS3Notification",
            InvocationError::Retry { .. } => "ClipAnalysisRetryable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// An S3 event key (URL-encoded, `+` for a space) as the object's real key.
pub fn decode_key(raw: &str) -> String {
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The part of an S3 event notification this function reads. Not `aws_lambda_events`'
/// `S3Event`: that one requires `userIdentity` and `requestParameters`, which the emulator's
/// notifications leave out, and a notification we cannot read would be retried for nothing.
#[derive(serde::Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    #[serde(default)]
    event_name: String,
    s3: NotificationEntity,
}

#[derive(serde::Deserialize)]
struct NotificationEntity {
    bucket: NamedBucket,
    object: NamedObject,
}

#[derive(serde::Deserialize)]
struct NamedBucket {
    name: String,
}

#[derive(serde::Deserialize)]
struct NamedObject {
    key: String,
}

/// The clips one SQS message body names: created objects under `incoming/` only; S3's test
/// event names none.
pub fn clip_refs(body: &str) -> Result<Vec<ClipRef>, MessageError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| MessageError::NotS3(e.to_string()))?;
    clip_refs_in(value)
}

/// The clips a notification names, already parsed (S3's direct invocation hands it over so).
pub fn clip_refs_in(value: serde_json::Value) -> Result<Vec<ClipRef>, MessageError> {
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(vec![]);
    }
    let event: Notification =
        serde_json::from_value(value).map_err(|e| MessageError::NotS3(e.to_string()))?;
    Ok(event
        .records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated"))
        .map(|r| ClipRef {
            bucket: r.s3.bucket.name,
            key: decode_key(&r.s3.object.key),
        })
        .filter(|c| c.key.starts_with(INCOMING_PREFIX))
        .collect())
}

/// What became of one clip.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Analysed {
        interesting: bool,
    },
    /// A result for this ETag exists (a redelivery): only the tag was set again.
    AlreadyDone {
        interesting: bool,
    },
    /// A result with an error: never retried.
    Failed(Status),
    /// Deleted since the notification.
    Gone,
}

/// Failures worth another delivery (after a few, the dead-letter queue keeps the notification).
#[derive(Debug, thiserror::Error)]
pub enum Retryable {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Label(#[from] crate::labeler::LabelError),
    #[error("config unavailable: {0}")]
    Config(failberry_aws::DocumentError),
}

pub struct Detectatron<S, L, C> {
    store: S,
    labeler: L,
    config: C,
}

impl<S: ClipStore, L: Labeler, C: ConfigSource> Detectatron<S, L, C> {
    pub fn new(store: S, labeler: L, config: C) -> Self {
        Detectatron {
            store,
            labeler,
            config,
        }
    }

    /// The runtime's entry point: one S3 notification, as S3 invokes the function.
    pub async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<(), InvocationError> {
        self.handle_notification(event.payload).await.map(|_| ())
    }

    /// Every clip of one notification; fails when one failed retryably, so that Lambda's
    /// asynchronous retries run it again (the clips already done are then only re-tagged).
    pub async fn handle_notification(
        &self,
        notification: serde_json::Value,
    ) -> Result<Vec<(ClipRef, Outcome)>, InvocationError> {
        let clips = clip_refs_in(notification).inspect_err(|e| {
            tracing::error!(error = %e, "notification refused");
        })?;
        let mut done = Vec::with_capacity(clips.len());
        let mut failures = Vec::new();
        for clip in clips {
            match self.process(&clip).await {
                Ok(outcome) => {
                    tracing::info!(bucket = %clip.bucket, key = %clip.key, outcome = ?outcome, "clip done");
                    done.push((clip, outcome));
                }
                Err(e) => {
                    tracing::warn!(bucket = %clip.bucket, key = %clip.key, error = %e, "clip will be retried");
                    failures.push(e);
                }
            }
        }
        let failed = failures.len();
        match failures.into_iter().next() {
            None => Ok(done),
            Some(first) => Err(InvocationError::Retry { failed, first }),
        }
    }

    /// The local stack's delivery (see the module's doc): each clip once however many messages
    /// name it; a message fails when any clip it names failed retryably (or it is not an S3
    /// notification).
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut clips: BTreeMap<ClipRef, Vec<String>> = BTreeMap::new();
        let mut failed: Vec<String> = Vec::new();
        for m in &event.records {
            let id = m.message_id.clone().unwrap_or_default();
            match clip_refs(m.body.as_deref().unwrap_or_default()) {
                Ok(refs) => refs
                    .into_iter()
                    .for_each(|r| clips.entry(r).or_default().push(id.clone())),
                Err(e) => {
                    tracing::error!(message = %id, error = %e, "message refused");
                    failed.push(id);
                }
            }
        }
        for (clip, ids) in clips {
            match self.process(&clip).await {
                Ok(outcome) => {
                    tracing::info!(bucket = %clip.bucket, key = %clip.key, outcome = ?outcome, "clip done")
                }
                Err(e) => {
                    tracing::warn!(bucket = %clip.bucket, key = %clip.key, error = %e, "clip will be retried");
                    failed.extend(ids);
                }
            }
        }
        failed.sort();
        failed.dedup();
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|id| {
                let mut f = BatchItemFailure::default();
                f.item_identifier = id;
                f
            })
            .collect();
        response
    }

    /// One clip: skip a version already analysed, cap the size, analyse, write, tag.
    pub async fn process(&self, clip: &ClipRef) -> Result<Outcome, Retryable> {
        let config = self.config.config().await.map_err(Retryable::Config)?;
        let Some(info) = self.store.head(&clip.bucket, &clip.key).await? else {
            return Ok(Outcome::Gone);
        };
        let result_key = result_key(&clip.key);
        if let Some(doc) = self.store.read_document(&clip.bucket, &result_key).await? {
            if let Ok(prev) = serde_json::from_slice::<ClipResult>(&doc) {
                if prev.etag == info.etag {
                    self.store
                        .tag(&clip.bucket, &clip.key, TAG_KEY, bool_str(prev.interesting))
                        .await?;
                    return Ok(Outcome::AlreadyDone {
                        interesting: prev.interesting,
                    });
                }
            }
        }
        // A key under incoming/ that is not a clip's (put by hand) gets an error result saying
        // why, like a corrupt clip: the owner sees it, and it is not retried.
        let parsed = ClipKey::parse(&clip.key);
        let camera = parsed.as_ref().map(ClipKey::camera).unwrap_or_default();
        let (mut result, etag) = match &parsed {
            Err(e) => {
                let error = format!("not a clip key: {e}");
                (
                    ClipResult::failed(Status::Error, error, config.mode),
                    info.etag,
                )
            }
            Ok(_) if info.size > config.max_clip_bytes => {
                let error = format!(
                    "clip is {} bytes, over the {} byte cap",
                    info.size, config.max_clip_bytes
                );
                (
                    ClipResult::failed(Status::Error, error, config.mode),
                    info.etag,
                )
            }
            Ok(_) => {
                let Some((bytes, etag)) = self.store.read(&clip.bucket, &clip.key).await? else {
                    return Ok(Outcome::Gone);
                };
                (analyse(&bytes, &config, camera, &self.labeler).await?, etag)
            }
        };
        result.bucket = clip.bucket.clone();
        result.key = clip.key.clone();
        result.etag = etag;
        result.camera = camera.to_string();
        let json = serde_json::to_vec_pretty(&result).expect("results serialise");
        self.store
            .write_document(&clip.bucket, &result_key, json)
            .await?;
        self.store
            .tag(
                &clip.bucket,
                &clip.key,
                TAG_KEY,
                bool_str(result.interesting),
            )
            .await?;
        tracing::info!(
            key = %clip.key,
            interesting = result.interesting,
            reason = %result.reason,
            rekognition_calls = result.rekognition_calls,
            total_ms = result.timings.total_ms,
            "clip analysed"
        );
        Ok(match result.status {
            Status::Analysed => Outcome::Analysed {
                interesting: result.interesting,
            },
            s => Outcome::Failed(s),
        })
    }
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        let cases = [
            (
                "plus is a space",
                "incoming/pi/door/a+b.mp4",
                "incoming/pi/door/a b.mp4",
            ),
            (
                "percent escapes",
                "incoming/pi/door/caf%C3%A9%2B1.mp4",
                "incoming/pi/door/café+1.mp4",
            ),
            ("plain", "incoming/pi/door/x.mp4", "incoming/pi/door/x.mp4"),
        ];
        for (name, raw, want) in cases {
            assert_eq!(decode_key(raw), want, "{name}");
        }
    }

    #[test]
    fn the_fixture_batch_names_two_clips_three_times() {
        // The SQS event as the runtime hands it over: a test event, a key with an escaped `+`
        // and a space, a multipart completion announced twice, and a result document.
        let event: SqsEvent =
            serde_json::from_str(include_str!("../../../events/detectatron-sqs.json")).unwrap();
        let refs: Vec<Vec<String>> = event
            .records
            .iter()
            .map(|m| {
                clip_refs(m.body.as_deref().unwrap())
                    .unwrap()
                    .into_iter()
                    .map(|c| c.key)
                    .collect()
            })
            .collect();
        let door = "incoming/pi-1/door/1795777200-front door+1.mp4".to_string();
        let drive = "incoming/pi-1/drive/1795777202-multi.mp4".to_string();
        assert_eq!(
            refs,
            vec![vec![], vec![door], vec![drive.clone()], vec![drive], vec![]]
        );
    }

    #[test]
    fn the_direct_invocation_fixture_names_its_clip() {
        // The event as S3 invokes the function with it (keys URL-encoded).
        let event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/detectatron-s3.json")).unwrap();
        let refs = clip_refs_in(event).unwrap();
        let keys: Vec<&str> = refs.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["incoming/pi-1/door/1795777200-front door+1.mp4"]);
        assert!(clip_refs_in(serde_json::json!({"Records": "no"})).is_err());
    }

    #[test]
    fn message_bodies() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b","RequestId":"r","HostId":"h"}"#;
        assert_eq!(clip_refs(test_event), Ok(vec![]));
        assert!(clip_refs("not json").is_err());
        assert!(clip_refs(r#"{"hello":"world"}"#).is_err());
    }
}
