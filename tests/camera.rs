//! The camera connector (`failberry camera watch`, in-process) against the local stack on moto,
//! with the uploads going through a proxy that plays the link: a link that drops mid-upload
//! resumes from the last part, a restart with a non-empty queue finishes it, a clip that changes
//! while it is read is read again, and the API refuses another device's keys and replayed or
//! expired grant requests.

use std::time::Duration;

use failberry::api::ApiClient;
use failberry::camera::queue::{Queue, Stage};
use failberry::config::{Device, Overrides, RawConfig};
use failberry_local::seed::{self, HostSeed};
use failberry_proto::clips::MIN_PART_SIZE;
use failberry_proto::{paths, ErrorCode, Signer};
use failberry_tests::camera::{
    clip_bytes, config, drop_clip, object, stack_via, stored_clips, until, Connector, Link, Proxy,
    Rig,
};
use failberry_tests::moto_url;
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_drops_mid_upload_resumes_from_the_last_part() {
    let proxy = Proxy::start(&moto_url()).await;
    let stack = stack_via(&proxy, &[HostSeed::default()]).await;
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("nvr/front");
    std::fs::create_dir_all(&watched).unwrap();
    let cfg = config(
        dir.path(),
        &stack.api,
        &format!(
            "concurrency = 1\n[[camera.folder]]\npath = \"{}\"\n",
            dir.path().join("nvr").display()
        ),
    );
    let connector = Connector::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let size = 20_000_000usize;
    let data = clip_bytes(size);
    // Part 1 (8 MiB) gets through; the link drops 4 MB into part 2.
    let cut_at = MIN_PART_SIZE + 4_000_000;
    proxy.set(Link::CutAfter(cut_at));
    drop_clip(&watched, "walk.mp4", &data);

    let clips = stored_clips(&stack, 1, WAIT).await;
    connector.stop().await;
    let (key, stored) = &clips[0];
    assert!(
        key.contains("/front/") && key.ends_with("-walk.mp4"),
        "{key}"
    );
    assert_eq!(*stored, size as i64);
    assert_eq!(
        Sha256::digest(object(&stack, key).await),
        Sha256::digest(&data)
    );
    // After the cut only parts 2 and 3 went again: part 1 was not resent.
    let after_cut = proxy.state.sent.load(std::sync::atomic::Ordering::SeqCst);
    let rest = size as u64 - MIN_PART_SIZE;
    assert!(
        after_cut >= cut_at && after_cut < cut_at + rest + 64 * 1024,
        "{after_cut} upload bytes for a {size}-byte clip cut at {cut_at}: resent from the start?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_a_non_empty_queue_finishes_it() {
    let Rig {
        proxy,
        stack,
        watched,
        cfg,
        dir: _dir,
    } = Rig::start("drive").await;
    proxy.set(Link::Down);
    let connector = Connector::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let small = clip_bytes(300_000);
    let large = clip_bytes(17_000_000);
    drop_clip(&watched, "small.mp4", &small);
    drop_clip(&watched, "large.mp4", &large);

    let queue = Queue::open(&cfg.queue_dir).unwrap();
    until(WAIT, "both uploads to fail once", || {
        let jobs = queue.load();
        jobs.len() == 2 && jobs.iter().all(|j| j.attempts >= 1)
    })
    .await;
    connector.stop().await;
    let jobs = queue.load();
    assert!(
        jobs.iter()
            .any(|j| matches!(j.stage, Stage::Multipart { .. })),
        "the large clip's open upload is on disk: {jobs:?}"
    );
    assert_eq!(queue.depth().waiting, 2);
    assert_eq!(
        failberry::camera::status(&cfg).unwrap().waiting,
        2,
        "camera status reports the depth"
    );

    proxy.set(Link::Up);
    let connector = Connector::start(&cfg);
    let clips = stored_clips(&stack, 2, WAIT).await;
    until(WAIT, "the queue to drain of uploads", || {
        queue.depth().waiting == 0
    })
    .await;
    connector.stop().await;
    let mut sizes: Vec<i64> = clips.iter().map(|c| c.1).collect();
    sizes.sort();
    assert_eq!(sizes, [300_000, 17_000_000]);
    for (key, _) in &clips {
        assert!(key.contains("/drive/"), "{key}");
        let want = if key.ends_with("small.mp4") {
            &small
        } else {
            &large
        };
        assert_eq!(
            Sha256::digest(object(&stack, key).await),
            Sha256::digest(want),
            "{key}"
        );
    }
    assert!(
        watched.join("small.mp4").exists() && watched.join("large.mp4").exists(),
        "local files are never removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_whose_answer_was_lost_is_found_stored() {
    let Rig {
        proxy: _proxy,
        stack,
        watched,
        cfg,
        dir: _dir,
    } = Rig::start("porch").await;
    let queue = Queue::open(&cfg.queue_dir).unwrap();
    let connector = Connector::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop_clip(&watched, "porch.mp4", &clip_bytes(17_000_000));
    until(WAIT, "the clip to be stored", || {
        queue.depth().stages.get("awaiting_result") == Some(&1)
    })
    .await;
    connector.stop().await;

    // As if the completion went through but its answer was lost: the job still names its open
    // upload, which S3 no longer knows.
    let mut job = queue.load().pop().unwrap();
    let Stage::Stored { key, .. } = job.stage.clone() else {
        panic!("stored: {job:?}")
    };
    job.stage = Stage::Multipart {
        key: key.clone(),
        upload_id: "completed-and-gone".into(),
    };
    queue.save(&job).unwrap();

    let connector = Connector::start(&cfg);
    until(WAIT, "the clip to be found stored", || {
        queue
            .load()
            .iter()
            .any(|j| matches!(&j.stage, Stage::Stored { key: k, .. } if *k == key))
    })
    .await;
    connector.stop().await;
    let clips = stored_clips(&stack, 1, WAIT).await;
    assert_eq!(clips.len(), 1, "not uploaded twice: {clips:?}");
    assert_eq!(clips[0].0, key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_that_changes_while_read_is_read_again() {
    let Rig {
        proxy,
        stack,
        watched,
        cfg,
        dir: _dir,
    } = Rig::start("yard").await;
    let connector = Connector::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Large enough for parts. S3 would refuse rewritten bytes under any URL (each part is signed
    // over its SHA-256), but moto checks no checksum: this is the connector's own check.
    let first = clip_bytes(17_000_000);
    proxy.set(Link::HoldAfter(1_000_000));
    let held = proxy.state.held.notified();
    let path = drop_clip(&watched, "tree.mp4", &first);
    tokio::time::timeout(WAIT, held)
        .await
        .expect("the upload reaches the link");
    // The NVR rewrites the clip while the connector is half-way through sending it.
    let second = clip_bytes(18_000_000);
    std::fs::write(&path, &second).unwrap();
    proxy.release();

    let clips = stored_clips(&stack, 1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    connector.stop().await;
    let clips_now = stored_clips(&stack, 1, WAIT).await;
    assert_eq!(
        clips_now.len(),
        1,
        "only the finished clip is stored: {clips_now:?}"
    );
    let (key, size) = &clips[0];
    assert_eq!(
        *size,
        second.len() as i64,
        "the stored clip is the rewritten one"
    );
    assert_eq!(
        Sha256::digest(object(&stack, key).await),
        Sha256::digest(&second)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_refused_as_not_matching_its_checksum_is_hashed_and_granted_again() {
    let Rig {
        proxy,
        stack,
        watched,
        cfg,
        dir: _dir,
    } = Rig::start("gate").await;
    let connector = Connector::start(&cfg);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let data = clip_bytes(17_000_000);
    proxy.set(Link::RefuseNext);
    drop_clip(&watched, "gate.mp4", &data);
    let clips = stored_clips(&stack, 1, WAIT).await;
    connector.stop().await;

    let refused = proxy.state.refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 1, "one part refused: {refused:?}");
    let (key, size) = &clips[0];
    assert!(
        !refused[0].contains(&format!("/{key}?")),
        "the clip is stored under a fresh grant, not the refused upload: {key} vs {}",
        refused[0]
    );
    assert_eq!(*size, data.len() as i64);
    assert_eq!(
        Sha256::digest(object(&stack, key).await),
        Sha256::digest(&data)
    );
}

fn device(api: &str, hostname: &str, secret: &str) -> ApiClient {
    let text = format!(
        "[api]\nurl = \"{api}\"\n[ddns]\nhostname = \"{hostname}\"\nsecret = \"{secret}\"\n"
    );
    let raw = RawConfig::parse(&text, std::path::Path::new("t.toml")).unwrap();
    ApiClient::new(&Device::build(&raw, &Overrides::default()).unwrap(), None).unwrap()
}

fn refused(result: Result<(u16, Vec<u8>), failberry::api::ApiError>) -> (u16, ErrorCode) {
    match result {
        Err(failberry::api::ApiError::Refused { status, code, .. }) => (status, code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn another_devices_prefix_and_replayed_or_expired_grants_are_refused() {
    let other = "other.home.example.com";
    let other_secret = "another-device-secret-0123456789";
    let stack = failberry_tests::Stack::start(&[
        HostSeed::default(),
        HostSeed {
            hostname: other.into(),
            secret: other_secret.into(),
            ..HostSeed::default()
        },
    ])
    .await;
    let mine = device(&stack.api, seed::HOSTNAME, seed::SECRET);
    let theirs = device(&stack.api, other, other_secret);
    let data = clip_bytes(100_000);
    let sha = hex::encode(Sha256::digest(&data));
    let grant = |ts: i64, nonce: String| {
        serde_json::to_vec(&serde_json::json!({"camera": "front", "name": "a.mp4", "size": data.len(), "sha256": sha, "timestamp": ts, "nonce": nonce})).unwrap()
    };
    let (status, body) = theirs
        .signed(reqwest::Method::POST, paths::CLIPS, grant)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let their_key = serde_json::from_slice::<failberry_proto::clips::Grant>(&body)
        .unwrap()
        .key()
        .to_string();
    assert!(
        their_key.starts_with(&format!("incoming/{other}/")),
        "{their_key}"
    );

    // This device can neither read, resume nor complete a clip under the other's prefix.
    let path = format!("{}{their_key}", paths::CLIP_RESULT_PREFIX);
    assert_eq!(
        refused(
            mine.signed(reqwest::Method::GET, &path, |_, _| Vec::new())
                .await
        ),
        (404, ErrorCode::NotFound)
    );
    for route in [paths::CLIPS_RESUME, paths::CLIPS_COMPLETE] {
        let body = |ts: i64, nonce: String| {
            serde_json::to_vec(&serde_json::json!({"key": their_key, "upload_id": "x", "size": 20_000_000u64, "timestamp": ts, "nonce": nonce})).unwrap()
        };
        assert_eq!(
            refused(mine.signed(reqwest::Method::POST, route, body).await),
            (404, ErrorCode::NotFound),
            "{route}"
        );
    }

    // A grant request sent twice, and one signed ten minutes ago.
    let http = reqwest::Client::new();
    let signer = Signer::new(seed::HOSTNAME, seed::SECRET);
    let send = |body: Vec<u8>| {
        let mut req = http.post(format!("{}{}", stack.api, paths::CLIPS));
        for (k, v) in signer.headers("POST", paths::CLIPS, &body) {
            req = req.header(k, v);
        }
        req.header("content-type", "application/json")
            .body(body)
            .send()
    };
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now());
    let once = grant(now, format!("{:032x}", fastrand::u128(..)));
    assert_eq!(send(once.clone()).await.unwrap().status(), 200);
    let replay = send(once).await.unwrap();
    assert_eq!(replay.status(), 409);
    assert_eq!(
        replay
            .json::<failberry_proto::ErrorBody>()
            .await
            .unwrap()
            .error,
        ErrorCode::ReplayedRequest
    );
    let expired = send(grant(now - 600, format!("{:032x}", fastrand::u128(..))))
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired
            .json::<failberry_proto::ErrorBody>()
            .await
            .unwrap()
            .error,
        ErrorCode::StaleTimestamp
    );
}
