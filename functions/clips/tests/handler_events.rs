//! The handler fed the API Gateway events in `events/clips-*.json`, parsed the way the Lambda
//! runtime parses them. S3, the nonce store and the clock are fakes here because these tests are
//! about the adapter (event shape, routing, authentication, answers); the same paths run against
//! moto, with real presigned uploads, in `moto.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use failberry_aws::{DocumentCache, DocumentError, DocumentSource, Fetched};
use failberry_clips::{ClipStore, Clips, Clock, NonceStore, StoreError, Upload};
use failberry_proto::clips::{DonePart, Grant, Presigned};
use failberry_proto::hosts::DdnsConfig;
use failberry_proto::{ErrorBody, ErrorCode};
use lambda_http::{Body, Response};

const FIXTURE_TIME: i64 = 1_764_000_000;
const GRANT: &str = include_str!("../../../events/clips-grant.json");
const RESULT: &str = include_str!("../../../events/clips-result.json");
const RESULT_OTHER: &str = include_str!("../../../events/clips-result-other-device.json");
const CLIP_KEY: &str = "incoming/wireless.home.example.com/front/1764000000-clip.mp4";

/// Objects by key; presigning answers a URL naming what it was bound to.
#[derive(Default)]
struct FakeStore {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    presigned: Mutex<Vec<String>>,
}

impl ClipStore for FakeStore {
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.objects.lock().unwrap().contains_key(key))
    }

    async fn presign_put(&self, upload: &Upload<'_>, _: Duration) -> Result<Presigned, StoreError> {
        self.presigned.lock().unwrap().push(upload.key.to_string());
        Ok(Presigned {
            url: format!("https://s3.example/{}", upload.key),
            headers: vec![
                ("content-length".into(), upload.size.to_string()),
                ("content-type".into(), upload.content_type.into()),
            ],
        })
    }

    async fn create_multipart(&self, _: &Upload<'_>) -> Result<String, StoreError> {
        Ok("upload-1".into())
    }

    async fn presign_part(
        &self,
        key: &str,
        _: &str,
        number: u32,
        _: u64,
        _: [u8; 32],
        _: Duration,
    ) -> Result<Presigned, StoreError> {
        Ok(Presigned {
            url: format!("https://s3.example/{key}?partNumber={number}"),
            headers: Vec::new(),
        })
    }

    async fn upload_is_at(&self, _: &str, upload_id: &str) -> Result<bool, StoreError> {
        Ok(upload_id == "upload-1")
    }

    async fn list_parts(&self, _: &str, _: &str) -> Result<Vec<DonePart>, StoreError> {
        Err(StoreError::NoSuchUpload)
    }

    async fn complete(&self, _: &str, _: &str, _: &[DonePart]) -> Result<(), StoreError> {
        Err(StoreError::NoSuchUpload)
    }

    async fn result(&self, result_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.objects.lock().unwrap().get(result_key).cloned())
    }
}

#[derive(Default)]
struct FakeNonces(Mutex<HashSet<(String, String)>>);

impl NonceStore for FakeNonces {
    async fn consume(
        &self,
        key_id: &str,
        nonce: &str,
    ) -> Result<bool, failberry_clips::NonceError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .insert((key_id.to_string(), nonce.to_string())))
    }
}

struct FakeDocs {
    clips_enabled: bool,
}

impl DocumentSource for FakeDocs {
    async fn fetch(&self, _: Option<&str>) -> Result<Fetched, DocumentError> {
        let doc = format!(
            r#"{{"hosts": {{"wireless.home.example.com": {{
            "zone_id": "Z1", "zone": "home.example.com", "secret": "dGhpcy1pcy1hLWRlbW8tc2VjcmV0",
            "clips": {{"enabled": {}, "max_size": 16777216}}}}}}}}"#,
            self.clips_enabled
        );
        Ok(Fetched::Document {
            bytes: doc.into_bytes(),
            etag: "e1".into(),
        })
    }
}

struct FixedClock(i64);

impl Clock for FixedClock {
    fn now(&self) -> std::time::SystemTime {
        failberry_proto::clock::from_unix_secs(self.0)
    }
}

type App = Clips<FakeStore, FakeNonces, FakeDocs, FixedClock>;

fn app(now: i64, clips_enabled: bool) -> App {
    Clips {
        store: FakeStore::default(),
        nonces: FakeNonces::default(),
        config: DocumentCache::new(
            FakeDocs { clips_enabled },
            DdnsConfig::parse,
            Duration::from_secs(60),
        ),
        clock: FixedClock(now),
    }
}

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).expect("fixture parses as the runtime parses it")
}

fn code(resp: &Response<Body>) -> (u16, ErrorCode) {
    let body: ErrorBody = serde_json::from_slice(resp.body().as_ref()).expect("an error body");
    (resp.status().as_u16(), body.error)
}

#[tokio::test]
async fn grant_event_answers_one_put_for_the_devices_own_key_and_refuses_its_replay() {
    let app = app(FIXTURE_TIME + 10, true);
    let resp = app.handle(event(GRANT)).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let grant: Grant = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let Grant::Single { key, put, .. } = grant else {
        panic!("1 MiB is one PUT")
    };
    assert_eq!(key, CLIP_KEY);
    assert!(put
        .headers
        .contains(&("content-type".into(), "video/mp4".into())));
    assert_eq!(*app.store.presigned.lock().unwrap(), [CLIP_KEY]);

    let replay = app.handle(event(GRANT)).await;
    assert_eq!(code(&replay), (409, ErrorCode::ReplayedRequest));
    assert_eq!(
        app.store.presigned.lock().unwrap().len(),
        1,
        "nothing presigned for a replay"
    );
}

#[tokio::test]
async fn a_grant_event_outside_the_window_is_stale() {
    let app = app(FIXTURE_TIME + 301, true);
    assert_eq!(
        code(&app.handle(event(GRANT)).await),
        (401, ErrorCode::StaleTimestamp)
    );
}

#[tokio::test]
async fn a_device_without_clips_gets_no_grant() {
    let app = app(FIXTURE_TIME, false);
    assert_eq!(
        code(&app.handle(event(GRANT)).await),
        (403, ErrorCode::ClipsDisabled)
    );
    assert!(app.store.presigned.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_existing_clip_is_not_granted_again() {
    let app = app(FIXTURE_TIME, true);
    app.store
        .objects
        .lock()
        .unwrap()
        .insert(CLIP_KEY.into(), vec![1]);
    assert_eq!(
        code(&app.handle(event(GRANT)).await),
        (409, ErrorCode::ClipExists)
    );
}

#[tokio::test]
async fn result_events_answer_pending_then_the_result_and_never_another_devices() {
    let app = app(FIXTURE_TIME, true);
    assert_eq!(
        code(&app.handle(event(RESULT)).await),
        (404, ErrorCode::NotFound),
        "no such clip"
    );
    app.store
        .objects
        .lock()
        .unwrap()
        .insert(CLIP_KEY.into(), vec![1]);
    assert_eq!(app.handle(event(RESULT)).await.status(), 202);
    let result = br#"{"decision":"interesting"}"#.to_vec();
    app.store
        .objects
        .lock()
        .unwrap()
        .insert(format!("results/{CLIP_KEY}.json"), result.clone());
    let found = app.handle(event(RESULT)).await;
    assert_eq!(
        (found.status().as_u16(), found.body().to_vec()),
        (200, result)
    );
    assert_eq!(
        code(&app.handle(event(RESULT_OTHER)).await),
        (404, ErrorCode::NotFound)
    );
}
