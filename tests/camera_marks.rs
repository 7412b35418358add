//! Marks: clips from a folder, a fake Frigate and a fake Unifi Video go through the connector to
//! the local stack on moto; once their results are in, the interesting ones are marked on their
//! NVR and the `on_result` hook gets every result JSON on stdin.
//!
//! The NVRs are fakes (no Frigate or Unifi Video can run here), each built from its published
//! API description and nothing else:
//! - Frigate: the HTTP API document, docs.frigate.video/integrations/api (`POST /api/login`
//!   answering a `frigate_token` cookie, `GET /api/events` with `has_clip`/`in_progress`/`after`,
//!   `GET /api/events/<id>/clip.mp4`, `POST /api/events/<id>/sub_label` with `subLabel` and
//!   `subLabelScore`, `POST /api/events/<id>/retain`);
//! - Unifi Video (Ubiquiti published none): the API as its users documented it, mkjones/nvr-api
//!   `api_docs.md` (`/api/2.0/...?apiKey=`, `{"data": [...]}` envelopes) and
//!   yuppity/unifi-video-api `recording.py` (`recording/<id>/download`, `PUT recording/<id>`).
//!
//! The analysis results are written into S3 by the test, where detectatron would write them:
//! detectatron itself is tested on its own (and by the demo); here only the connector's reading
//! of a result matters.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failberry_local::seed::HostSeed;
use failberry_tests::camera::{clip_bytes, config, drop_clip, stored_clips, until, Connector};
use failberry_tests::Stack;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    query: String,
    cookie: Option<String>,
    body: Vec<u8>,
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// An HTTP server on 127.0.0.1:0 that answers through `script` and records every call.
struct FakeNvr {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FakeNvr {
    async fn start(script: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> FakeNvr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let seen = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, seen) = (script.clone(), seen.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (script, seen) = (script.clone(), seen.clone());
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_string();
                            let query = req.uri().query().unwrap_or_default().to_string();
                            let cookie = req
                                .headers()
                                .get("cookie")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            let call = Call {
                                method,
                                path,
                                query,
                                cookie,
                                body,
                            };
                            let (status, headers, body) = script(&call);
                            seen.lock().unwrap().push(call);
                            let mut resp = Response::builder().status(status);
                            for (k, v) in headers {
                                resp = resp.header(k, v);
                            }
                            Ok::<_, Infallible>(resp.body(Full::new(Bytes::from(body))).unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeNvr {
            url: format!("http://{addr}"),
            calls,
        }
    }

    fn calls(&self, method: &str, path: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.method == method && c.path == path)
            .cloned()
            .collect()
    }
}

fn json(value: serde_json::Value) -> Answer {
    (
        200,
        vec![("content-type", "application/json".into())],
        serde_json::to_vec(&value).unwrap(),
    )
}

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.e30.fake";

/// Frigate with one finished event with a clip, one still running, behind the login.
async fn fake_frigate(clip: Vec<u8>) -> FakeNvr {
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) as f64;
    FakeNvr::start(move |call| {
        let authed = call.cookie.as_deref() == Some(&format!("frigate_token={TOKEN}"));
        match (call.method.as_str(), call.path.as_str()) {
            ("POST", "/api/login") => {
                let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
                if body == serde_json::json!({"user": "admin", "password": "frigate-pass"}) {
                    (200, vec![("set-cookie", format!("frigate_token={TOKEN}; Path=/; HttpOnly"))], Vec::new())
                } else {
                    (401, vec![], Vec::new())
                }
            }
            _ if !authed => (401, vec![], Vec::new()),
            ("GET", "/api/events") => json(serde_json::json!([
                {"id": "1764000000.5-abc123", "camera": "porch", "label": "person", "start_time": now - 30.0, "end_time": now - 5.0, "has_clip": true},
                {"id": "1764000001.5-def456", "camera": "porch", "label": "car", "start_time": now - 3.0, "end_time": null, "has_clip": true}
            ])),
            ("GET", "/api/events/1764000000.5-abc123/clip.mp4") => (200, vec![("content-type", "video/mp4".into())], clip.clone()),
            ("POST", p) if p.ends_with("/sub_label") || p.ends_with("/retain") => json(serde_json::json!({"success": true})),
            _ => (404, vec![], Vec::new()),
        }
    })
    .await
}

/// Unifi Video with one finished recording and one in progress; the API key is checked.
async fn fake_unifi(clip: Vec<u8>) -> FakeNvr {
    let now_ms = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) * 1000;
    FakeNvr::start(move |call| {
        if !call.query.split('&').any(|p| p == "apiKey=unifi-key") {
            return (401, vec![], Vec::new());
        }
        match (call.method.as_str(), call.path.as_str()) {
            ("GET", "/api/2.0/recording") => json(serde_json::json!({"meta": {"totalCount": 2}, "data": [
                {"_id": "5c1a2b3c4d5e6f7a8b9c0d1e", "cameras": ["cam-id-1"], "meta": {"cameraName": "garage"}, "startTime": now_ms - 40_000, "endTime": now_ms - 10_000, "inProgress": false, "locked": false},
                {"_id": "5c1a2b3c4d5e6f7a8b9c0d1f", "cameras": ["cam-id-1"], "startTime": now_ms - 2_000, "inProgress": true, "locked": false}
            ]})),
            ("GET", "/api/2.0/recording/5c1a2b3c4d5e6f7a8b9c0d1e/download") => (200, vec![("content-type", "video/mp4".into())], clip.clone()),
            ("PUT", "/api/2.0/recording/5c1a2b3c4d5e6f7a8b9c0d1e") => json(serde_json::json!({"data": [{"_id": "5c1a2b3c4d5e6f7a8b9c0d1e", "locked": true}]})),
            _ => (404, vec![], Vec::new()),
        }
    })
    .await
}

fn result_doc(key: &str, interesting: bool) -> serde_json::Value {
    let matched = if interesting {
        serde_json::json!({"Person": 97.0})
    } else {
        serde_json::json!({})
    };
    serde_json::json!({
        "key": key, "interesting": interesting,
        "reason": if interesting { "Person 97% over motion" } else { "only noise: Tree" },
        "decision": {"interesting": interesting, "reason": "scripted", "matched": matched, "noise": {}}
    })
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
             [[camera.frigate]]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"frigate-pass\"\npoll_secs = 1\n\
             [[camera.unifi_video]]\nurl = \"{}\"\napi_key = \"unifi-key\"\npoll_secs = 1\n",
            hook_dir.display(),
            watched.display(),
            frigate.url,
            unifi.url
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
    let sub = frigate.calls("POST", "/api/events/1764000000.5-abc123/sub_label");
    assert_eq!(sub.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&sub[0].body).unwrap();
    assert_eq!(body["subLabel"], "Person");
    assert!(
        (body["subLabelScore"].as_f64().unwrap() - 0.97).abs() < 1e-6,
        "{body}"
    );
    assert_eq!(
        frigate
            .calls("POST", "/api/events/1764000000.5-abc123/retain")
            .len(),
        1
    );
    assert!(
        frigate
            .calls("GET", "/api/events/1764000001.5-def456/clip.mp4")
            .is_empty(),
        "a running event is not taken"
    );
    let lock = unifi.calls("PUT", "/api/2.0/recording/5c1a2b3c4d5e6f7a8b9c0d1e");
    assert_eq!(lock.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&lock[0].body).unwrap(),
        serde_json::json!({"locked": true})
    );
    assert!(unifi
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
