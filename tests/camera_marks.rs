//! Marks: clips from a folder, a fake Frigate and a fake Unifi Video go through the connector to
//! the local stack on moto; once their results are in, the interesting ones are marked on their
//! NVR and the `on_result` hook gets every result JSON on stdin.
//!
//! The NVRs are fakes (no Frigate or Unifi Video can run here): `failberry_local::fake_nvr`,
//! built from their published API documents (its module docs say which), shared with the demo.
//!
//! The analysis results are written into S3 by the test, where detectatron would write them:
//! detectatron itself is tested on its own (and by the demo); here only the connector's reading
//! of a result matters.

use std::collections::BTreeMap;
use std::time::Duration;

use failberry_local::fake_nvr::{FakeFrigate, FakeUnifiVideo, FrigateEvent, UnifiRecording};
use failberry_local::seed::HostSeed;
use failberry_proto::clips::result::{ClipResult, Decision, Mode, Percent, Status};
use failberry_tests::camera::{clip_bytes, config, drop_clip, stored_clips, until, Connector};
use failberry_tests::Stack;

/// Frigate with one finished event with a clip and one still running, behind the login.
async fn fake_frigate(clip: Vec<u8>) -> FakeFrigate {
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) as f64;
    let frigate = FakeFrigate::start().await.unwrap();
    for (id, label, start, end) in [
        ("1764000000.5-abc123", "person", now - 30.0, Some(now - 5.0)),
        ("1764000001.5-def456", "car", now - 3.0, None),
    ] {
        frigate.record(FrigateEvent {
            id: id.into(),
            camera: "porch".into(),
            label: label.into(),
            start_time: start,
            end_time: end,
            clip: clip.clone(),
        });
    }
    frigate
}

/// Unifi Video with one finished recording and one in progress; the API key is checked.
async fn fake_unifi(clip: Vec<u8>) -> FakeUnifiVideo {
    let now_ms = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) * 1000;
    let unifi = FakeUnifiVideo::start().await.unwrap();
    for (id, start, end) in [
        (
            "5c1a2b3c4d5e6f7a8b9c0d1e",
            now_ms - 40_000,
            Some(now_ms - 10_000),
        ),
        ("5c1a2b3c4d5e6f7a8b9c0d1f", now_ms - 2_000, None),
    ] {
        unifi.record(UnifiRecording {
            id: id.into(),
            camera_name: "garage".into(),
            start_ms: start,
            end_ms: end,
            clip: clip.clone(),
        });
    }
    unifi
}

/// A scripted analysis result, in the type detectatron writes.
fn result_doc(key: &str, interesting: bool) -> serde_json::Value {
    let matched = if interesting {
        BTreeMap::from([("Person".to_string(), Percent(97.0))])
    } else {
        BTreeMap::new()
    };
    let mut r = ClipResult::failed(Status::Analysed, String::new(), Mode::Mosaic);
    r.error = None;
    r.key = key.into();
    r.interesting = interesting;
    r.reason = if interesting {
        "Person 97% over motion"
    } else {
        "only noise: Tree"
    }
    .into();
    r.decision = Some(Decision {
        interesting,
        reason: "scripted".into(),
        matched,
        noise: BTreeMap::new(),
    });
    serde_json::to_value(r).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interesting_clips_are_marked_on_their_nvr_and_the_hook_gets_every_result() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let frigate_clip = clip_bytes(400_000);
    let unifi_clip = clip_bytes(500_000);
    let frigate = fake_frigate(frigate_clip.clone()).await;
    let unifi = fake_unifi(unifi_clip.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("nvr");
    std::fs::create_dir_all(&watched).unwrap();
    let hook_dir = dir.path().join("hook");
    std::fs::create_dir_all(&hook_dir).unwrap();
    let cfg = config(
        dir.path(),
        &stack.api,
        &format!(
            "on_result = [\"sh\", \"-c\", \"cat > {}/$(basename $FAILBERRY_CLIP_KEY).json\"]\n\
             [[camera.folder]]\npath = \"{}\"\ncamera = \"trees\"\nmode = \"poll\"\nstable_secs = 1\npoll_secs = 1\n\
             [[camera.frigate]]\nurl = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\npoll_secs = 1\n\
             [[camera.unifi_video]]\nurl = \"{}\"\napi_key = \"{}\"\npoll_secs = 1\n",
            hook_dir.display(),
            watched.display(),
            frigate.nvr.url,
            FakeFrigate::USER,
            FakeFrigate::PASSWORD,
            unifi.nvr.url,
            FakeUnifiVideo::API_KEY,
        ),
    );
    let connector = Connector::start(&cfg);
    let folder_clip = clip_bytes(300_000);
    drop_clip(&watched, "wind.mp4", &folder_clip);

    let clips = stored_clips(&stack, 3, Duration::from_secs(60)).await;
    let mut results = Vec::new();
    for (key, size) in &clips {
        let want = if key.contains("/porch/") {
            frigate_clip.len()
        } else if key.contains("/garage/") {
            unifi_clip.len()
        } else {
            assert!(key.contains("/trees/"), "{key}");
            folder_clip.len()
        };
        assert_eq!(*size, want as i64, "{key}");
        let doc = result_doc(key, !key.contains("/trees/"));
        stack
            .s3()
            .put_object()
            .bucket(&stack.bucket)
            .key(failberry_proto::clips::result_key(key))
            .body(serde_json::to_vec(&doc).unwrap().into())
            .send()
            .await
            .unwrap();
        results.push((key.clone(), doc));
    }
    let hooked = |key: &str| hook_dir.join(format!("{}.json", key.rsplit('/').next().unwrap()));
    until(
        Duration::from_secs(30),
        "the hook to run for every clip",
        || {
            results.iter().all(|(key, _)| hooked(key).exists())
                && std::fs::read_dir(cfg.queue_dir.join("jobs"))
                    .unwrap()
                    .count()
                    == 0
        },
    )
    .await;
    connector.stop().await;

    for (key, doc) in &results {
        let got: serde_json::Value =
            serde_json::from_slice(&std::fs::read(hooked(key)).unwrap()).unwrap();
        assert_eq!(&got, doc, "the hook got {key}'s result on stdin");
    }
    let sub = frigate
        .nvr
        .calls("POST", "/api/events/1764000000.5-abc123/sub_label");
    assert_eq!(sub.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&sub[0].body).unwrap();
    assert_eq!(body["subLabel"], "Person");
    assert!(
        (body["subLabelScore"].as_f64().unwrap() - 0.97).abs() < 1e-6,
        "{body}"
    );
    assert_eq!(
        frigate
            .nvr
            .calls("POST", "/api/events/1764000000.5-abc123/retain")
            .len(),
        1
    );
    assert!(
        frigate
            .nvr
            .calls("GET", "/api/events/1764000001.5-def456/clip.mp4")
            .is_empty(),
        "a running event is not taken"
    );
    let lock = unifi
        .nvr
        .calls("PUT", "/api/2.0/recording/5c1a2b3c4d5e6f7a8b9c0d1e");
    assert_eq!(lock.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&lock[0].body).unwrap(),
        serde_json::json!({"locked": true})
    );
    assert!(unifi
        .nvr
        .calls(
            "GET",
            "/api/2.0/recording/5c1a2b3c4d5e6f7a8b9c0d1f/download"
        )
        .is_empty());
    assert!(watched.join("wind.mp4").exists());
    let spool = std::fs::read_dir(cfg.queue_dir.join("spool"))
        .unwrap()
        .count();
    assert_eq!(spool, 0, "downloaded copies are removed once done");
}
