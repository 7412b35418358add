//! The clips function against the AWS emulator (moto, `FAILBERRY_MOTO_URL`, started by `make
//! test`): real presigned PUTs and multipart uploads sent with reqwest, the nonce store, the
//! conditional writes that keep a clip from being overwritten, and the prefix each device is held
//! to. The handler is called in process with hand-signed requests; the event shape is covered by
//! `handler_events.rs`.

use std::time::Duration;

use base64::Engine;
use failberry_clips::{AwsClips, Settings, SystemClock};
use failberry_local::emulator;
use failberry_proto::clips::{layout, part_range, Completed, Grant, Layout, PartUrl, Presigned};
use failberry_proto::{paths, ErrorBody, ErrorCode, Signer};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

const DEVICE: &str = "pi.home.example.com";
const OTHER: &str = "pi2.home.example.com";
const SECRET: &str = "clips-test-secret-0123456789";
const OTHER_SECRET: &str = "other-test-secret-0123456789";

struct World {
    app: AwsClips,
    s3: aws_sdk_s3::Client,
    clips_bucket: String,
    http: reqwest::Client,
}

fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("these tests need the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

async fn world() -> World {
    let sdk = emulator::sdk_config(&moto_url()).await;
    let s3 = emulator::s3_client(&sdk);
    let id = fastrand::u64(..);
    let (config_bucket, clips_bucket) = (
        format!("failberry-cfg-{id:016x}"),
        format!("failberry-clips-{id:016x}"),
    );
    for b in [&config_bucket, &clips_bucket] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    let doc = serde_json::json!({"hosts": {
        DEVICE: {"zone_id": "Z1", "zone": "home.example.com", "secret": SECRET,
                 "clips": {"enabled": true, "max_size": 64 << 20}},
        OTHER: {"zone_id": "Z1", "zone": "home.example.com", "secret": OTHER_SECRET,
                "clips": {"enabled": true}},
    }});
    s3.put_object()
        .bucket(&config_bucket)
        .key("ddns.json")
        .body(serde_json::to_vec(&doc).unwrap().into())
        .send()
        .await
        .expect("config document");
    let settings = Settings {
        config_bucket,
        config_key: "ddns.json".into(),
        config_max_age: Duration::ZERO,
        replay_prefix: "replay/".into(),
        clips_bucket: clips_bucket.clone(),
    };
    World {
        app: AwsClips::from_client(s3.clone(), settings, SystemClock),
        s3,
        clips_bucket,
        http: reqwest::Client::new(),
    }
}

fn nonce() -> String {
    format!("{:032x}", fastrand::u128(..))
}

fn now() -> i64 {
    failberry_proto::clock::unix_secs(std::time::SystemTime::now())
}

fn signed(signer: &Signer, method: &str, path: &str, body: Vec<u8>) -> Request {
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.example{path}"));
    for (name, value) in signer.headers(method, path, &body) {
        req = req.header(name, value);
    }
    req.body(Body::from(body)).unwrap()
}

/// The hex SHA-256 of each part of `data`'s layout (none for a single PUT).
fn part_hashes(data: &[u8]) -> Vec<String> {
    let size = data.len() as u64;
    let Layout::Multipart { part_size, count } = layout(size) else {
        return Vec::new();
    };
    (1..=count)
        .map(|n| {
            let (offset, len) = part_range(size, part_size, n).unwrap();
            hex::encode(Sha256::digest(
                &data[offset as usize..(offset + len) as usize],
            ))
        })
        .collect()
}

fn grant_body(name: &str, data: &[u8], timestamp: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "camera": "front", "name": name, "size": data.len(),
        "sha256": hex::encode(Sha256::digest(data)), "part_sha256": part_hashes(data),
        "timestamp": timestamp, "nonce": nonce(),
    }))
    .unwrap()
}

fn json<T: serde::de::DeserializeOwned>(resp: &Response<Body>) -> T {
    serde_json::from_slice(resp.body().as_ref())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(resp.body().as_ref())))
}

fn error_code(resp: &Response<Body>) -> ErrorCode {
    json::<ErrorBody>(resp).error
}

/// Sends a presigned request with its signed headers and `data` as the body.
async fn send(http: &reqwest::Client, req: &Presigned, data: Vec<u8>) -> reqwest::StatusCode {
    let mut put = http.put(&req.url).body(data);
    for (k, v) in &req.headers {
        put = put.header(k, v);
    }
    put.send().await.expect("S3 answers").status()
}

async fn stored(w: &World, key: &str) -> Vec<u8> {
    let out =
        w.s3.get_object()
            .bucket(&w.clips_bucket)
            .key(key)
            .send()
            .await
            .expect("object stored");
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

fn clip(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn small_clip_goes_up_in_one_presigned_put_and_is_never_overwritten() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let data = clip(1 << 20);
    let ts = now();
    let resp = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS,
            grant_body("a.mp4", &data, ts),
        ))
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let Grant::Single { key, put, .. } = json::<Grant>(&resp) else {
        panic!("a 1 MiB clip gets one PUT")
    };
    assert_eq!(key, format!("incoming/{DEVICE}/front/{ts}-a.mp4"));
    let header = |name: &str| {
        put.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("content-type"),
        Some("video/mp4"),
        "never a form type"
    );
    assert_eq!(header("content-length"), Some("1048576"));
    assert!(
        put.url
            .to_ascii_lowercase()
            .contains("content-length%3bcontent-type")
            && put.url.to_ascii_lowercase().contains("if-none-match"),
        "size, type and create-only are signed: {}",
        put.url
    );
    assert!(send(&w.http, &put, data.clone()).await.is_success());
    // The emulator keeps an empty body for form-encoded PUTs: the stored size proves it was not one.
    assert_eq!(stored(&w, &key).await, data);

    let again = send(&w.http, &put, clip(1 << 20).into_iter().rev().collect()).await;
    assert_eq!(
        again.as_u16(),
        412,
        "the same URL cannot overwrite the clip"
    );
    assert_eq!(stored(&w, &key).await, data);
    let regrant = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS,
            grant_body("a.mp4", &data, ts),
        ))
        .await;
    assert_eq!(
        (regrant.status().as_u16(), error_code(&regrant)),
        (409, ErrorCode::ClipExists)
    );
}

/// A resume or completion body for `upload_id` at `key`, freshly stamped, with `extra` fields.
fn upload_body(key: &str, upload_id: &str, size: usize, extra: serde_json::Value) -> Vec<u8> {
    let mut v = serde_json::json!({"key": key, "upload_id": upload_id, "size": size,
        "timestamp": now(), "nonce": nonce()});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::to_vec(&v).unwrap()
}

async fn put_parts(w: &World, parts: &[PartUrl], data: &[u8]) {
    for p in parts {
        let bytes = data[p.offset as usize..(p.offset + p.size) as usize].to_vec();
        let status = send(&w.http, &p.request, bytes).await;
        assert!(status.is_success(), "part {}: {status}", p.number);
    }
}

#[tokio::test]
async fn a_multipart_upload_resumes_from_the_parts_s3_holds_and_completes_once() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let data = clip(20_000_000);
    let resp = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS,
            grant_body("big.mp4", &data, now()),
        ))
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let Grant::Multipart {
        key,
        upload_id,
        parts,
        ..
    } = json::<Grant>(&resp)
    else {
        panic!("20 MB is uploaded in parts")
    };
    assert_eq!(parts.len(), 3);
    // Each part is signed over its own checksum: S3 stores no other bytes under that part.
    for (part, hash) in parts.iter().zip(part_hashes(&data)) {
        let checksum = part
            .request
            .headers
            .iter()
            .find(|(k, _)| k == "x-amz-checksum-sha256")
            .map(|(_, v)| v.clone());
        let want = base64::engine::general_purpose::STANDARD.encode(hex::decode(hash).unwrap());
        assert_eq!(checksum, Some(want), "part {}", part.number);
        assert!(
            part.request
                .url
                .contains("X-Amz-SignedHeaders=content-length%3Bhost%3Bx-amz-checksum-sha256"),
            "part {} is signed over its checksum: {}",
            part.number,
            part.request.url
        );
    }
    // The link drops after the first part.
    put_parts(&w, &parts[..1], &data).await;

    let body = |extra| upload_body(&key, &upload_id, data.len(), extra);
    let early = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS_COMPLETE,
            body(serde_json::json!({})),
        ))
        .await;
    assert_eq!(
        (early.status().as_u16(), error_code(&early)),
        (400, ErrorCode::UploadIncomplete),
        "two parts are missing: {:?}",
        early.body()
    );

    let resumed = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS_RESUME,
            body(serde_json::json!({"part_sha256": part_hashes(&data)})),
        ))
        .await;
    assert_eq!(resumed.status(), 200, "{:?}", resumed.body());
    let Grant::Multipart {
        parts: missing,
        done,
        ..
    } = json::<Grant>(&resumed)
    else {
        panic!("a resume answers parts")
    };
    assert_eq!(done.iter().map(|p| p.number).collect::<Vec<_>>(), [1]);
    assert_eq!(missing.iter().map(|p| p.number).collect::<Vec<_>>(), [2, 3]);
    put_parts(&w, &missing, &data).await;

    let done = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS_COMPLETE,
            body(serde_json::json!({})),
        ))
        .await;
    assert_eq!(done.status(), 200, "{:?}", done.body());
    assert_eq!(json::<Completed>(&done).size, data.len() as u64);
    let got = stored(&w, &key).await;
    assert_eq!(
        (got.len(), Sha256::digest(&got)),
        (data.len(), Sha256::digest(&data))
    );
}

#[tokio::test]
async fn a_device_cannot_touch_another_devices_clips() {
    let w = world().await;
    let owner = Signer::new(DEVICE, SECRET);
    let data = clip(1000);
    let resp = w
        .app
        .handle(signed(
            &owner,
            "POST",
            paths::CLIPS,
            grant_body("a.mp4", &data, now()),
        ))
        .await;
    let Grant::Single { key, put, .. } = json::<Grant>(&resp) else {
        panic!("one PUT")
    };
    assert!(send(&w.http, &put, data).await.is_success());

    let thief = Signer::new(OTHER, OTHER_SECRET);
    let path = format!("{}{key}", paths::CLIP_RESULT_PREFIX);
    let read = w.app.handle(signed(&thief, "GET", &path, Vec::new())).await;
    assert_eq!(read.status(), 404, "another device's result is not found");
    let own = w.app.handle(signed(&owner, "GET", &path, Vec::new())).await;
    assert_eq!(own.status(), 202, "the owner's clip waits for its result");

    let body = serde_json::to_vec(
        &serde_json::json!({"key": key, "upload_id": "x", "size": 20_000_000,
        "timestamp": now(), "nonce": nonce()}),
    )
    .unwrap();
    let complete = w
        .app
        .handle(signed(&thief, "POST", paths::CLIPS_COMPLETE, body))
        .await;
    assert_eq!(complete.status(), 404);
    // Signed as the other device but naming the owner's key id: the signature fails.
    let forged = Signer::new(DEVICE, OTHER_SECRET);
    let grant = w
        .app
        .handle(signed(
            &forged,
            "POST",
            paths::CLIPS,
            grant_body("b.mp4", &[1], now()),
        ))
        .await;
    assert_eq!(
        (grant.status().as_u16(), error_code(&grant)),
        (401, ErrorCode::BadSignature)
    );
}

#[tokio::test]
async fn results_are_answered_once_written() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let key = format!("incoming/{DEVICE}/front/1764000000-a.mp4");
    let path = format!("{}{key}", paths::CLIP_RESULT_PREFIX);
    let missing = w
        .app
        .handle(signed(&signer, "GET", &path, Vec::new()))
        .await;
    assert_eq!(missing.status(), 404, "no clip, no result");
    let result = br#"{"decision":"interesting","label":"person","score":0.91}"#;
    w.s3.put_object()
        .bucket(&w.clips_bucket)
        .key(format!("results/{key}.json"))
        .body(result.to_vec().into())
        .send()
        .await
        .unwrap();
    let found = w
        .app
        .handle(signed(&signer, "GET", &path, Vec::new()))
        .await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.body().as_ref(), result);
}

#[tokio::test]
async fn a_multipart_grant_needs_one_checksum_per_part() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let data = clip(20_000_000);
    let mut hashes = part_hashes(&data);
    hashes.pop();
    for (case, part_sha256) in [("none", Vec::new()), ("one short", hashes)] {
        let body = serde_json::to_vec(&serde_json::json!({"camera": "front", "name": "p.mp4",
            "size": data.len(), "sha256": hex::encode(Sha256::digest(&data)),
            "part_sha256": part_sha256, "timestamp": now(), "nonce": nonce()}))
        .unwrap();
        let resp = w
            .app
            .handle(signed(&signer, "POST", paths::CLIPS, body))
            .await;
        assert_eq!(
            (resp.status().as_u16(), error_code(&resp)),
            (400, ErrorCode::MalformedRequest),
            "{case}: {:?}",
            resp.body()
        );
    }
}

#[tokio::test]
async fn replayed_and_expired_grant_requests_are_refused() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let data = clip(10);
    let body = grant_body("a.mp4", &data, now());
    let first = w
        .app
        .handle(signed(&signer, "POST", paths::CLIPS, body.clone()))
        .await;
    assert_eq!(first.status(), 200);
    let replay = w
        .app
        .handle(signed(&signer, "POST", paths::CLIPS, body))
        .await;
    assert_eq!(
        (replay.status().as_u16(), error_code(&replay)),
        (409, ErrorCode::ReplayedRequest)
    );
    let stale = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS,
            grant_body("b.mp4", &data, now() - 400),
        ))
        .await;
    assert_eq!(
        (stale.status().as_u16(), error_code(&stale)),
        (401, ErrorCode::StaleTimestamp)
    );
    let huge = serde_json::to_vec(&serde_json::json!({"camera": "front", "name": "h.mp4",
        "size": 65u64 << 20, "sha256": "00".repeat(32), "timestamp": now(), "nonce": nonce()}))
    .unwrap();
    let too_big = w
        .app
        .handle(signed(&signer, "POST", paths::CLIPS, huge))
        .await;
    assert_eq!(
        (too_big.status().as_u16(), error_code(&too_big)),
        (413, ErrorCode::ClipTooLarge)
    );
}

#[tokio::test]
async fn a_second_multipart_upload_cannot_complete_over_the_first() {
    let w = world().await;
    let signer = Signer::new(DEVICE, SECRET);
    let first = clip(17 << 20);
    let second: Vec<u8> = first.iter().map(|b| b.wrapping_add(1)).collect();
    let ts = now();
    // Both granted before either completes: the key is free when each grant is checked.
    let mut uploads = Vec::new();
    for data in [&first, &second] {
        let resp = w
            .app
            .handle(signed(
                &signer,
                "POST",
                paths::CLIPS,
                grant_body("race.mp4", data, ts),
            ))
            .await;
        assert_eq!(resp.status(), 200, "{:?}", resp.body());
        let Grant::Multipart {
            key,
            upload_id,
            parts,
            ..
        } = json::<Grant>(&resp)
        else {
            panic!("17 MiB is uploaded in parts")
        };
        put_parts(&w, &parts, data).await;
        uploads.push((key, upload_id));
    }
    let complete = |(key, upload_id): &(String, String)| {
        serde_json::to_vec(&serde_json::json!({"key": key, "upload_id": upload_id,
            "size": first.len(), "timestamp": now(), "nonce": nonce()}))
        .unwrap()
    };
    let won = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS_COMPLETE,
            complete(&uploads[0]),
        ))
        .await;
    assert_eq!(won.status(), 200, "{:?}", won.body());
    let lost = w
        .app
        .handle(signed(
            &signer,
            "POST",
            paths::CLIPS_COMPLETE,
            complete(&uploads[1]),
        ))
        .await;
    assert_eq!(
        (lost.status().as_u16(), error_code(&lost)),
        (409, ErrorCode::ClipExists)
    );
    assert_eq!(
        Sha256::digest(stored(&w, &uploads[0].0).await),
        Sha256::digest(&first)
    );
}

/// A device names an upload id in resume and complete. Under its own key, another device's id
/// must be refused before any URL is signed or anything assembled — whatever S3 would have done
/// (moto's ListParts answers another key's upload id, so the function asks first).
#[tokio::test]
async fn another_devices_upload_id_is_refused_under_ones_own_key() {
    let w = world().await;
    let owner = Signer::new(DEVICE, SECRET);
    let thief = Signer::new(OTHER, OTHER_SECRET);
    let data = clip(20_000_000);
    let multipart = |resp: Response<Body>| match json::<Grant>(&resp) {
        Grant::Multipart {
            key,
            upload_id,
            parts,
            ..
        } => (key, upload_id, parts),
        other => panic!("20 MB is uploaded in parts: {other:?}"),
    };
    let (owner_key, owner_upload, owner_parts) = multipart(
        w.app
            .handle(signed(
                &owner,
                "POST",
                paths::CLIPS,
                grant_body("big.mp4", &data, now()),
            ))
            .await,
    );
    put_parts(&w, &owner_parts, &data).await;
    let (thief_key, _, _) = multipart(
        w.app
            .handle(signed(
                &thief,
                "POST",
                paths::CLIPS,
                grant_body("mine.mp4", &data, now()),
            ))
            .await,
    );
    let body = |key: &str, upload_id: &str, extra| upload_body(key, upload_id, data.len(), extra);
    let hashes = serde_json::json!({"part_sha256": part_hashes(&data)});
    for (path, extra) in [
        (paths::CLIPS_RESUME, hashes.clone()),
        (paths::CLIPS_COMPLETE, serde_json::json!({})),
    ] {
        let resp = w
            .app
            .handle(signed(
                &thief,
                "POST",
                path,
                body(&thief_key, &owner_upload, extra),
            ))
            .await;
        assert_eq!(
            (resp.status().as_u16(), error_code(&resp)),
            (400, ErrorCode::UploadIncomplete),
            "{path} with another device's upload id: {:?}",
            resp.body()
        );
    }
    let nothing =
        w.s3.head_object()
            .bucket(&w.clips_bucket)
            .key(&thief_key)
            .send()
            .await;
    assert!(
        nothing.is_err(),
        "nothing was assembled under the thief's key"
    );
    // The owner's upload was left whole: it completes.
    let done = w
        .app
        .handle(signed(
            &owner,
            "POST",
            paths::CLIPS_COMPLETE,
            body(&owner_key, &owner_upload, serde_json::json!({})),
        ))
        .await;
    assert_eq!(done.status(), 200, "{:?}", done.body());
    assert_eq!(stored(&w, &owner_key).await.len(), data.len());
}
