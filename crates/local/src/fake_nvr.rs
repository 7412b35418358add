//! Fake NVRs over HTTP on 127.0.0.1:0, for the demo's camera story and the connector's tests:
//! there is no NVR on this machine, and the connector must be shown against one. Each fake
//! records every call (so a test or the story can show which marks were set) and answers from
//! what it was given, following its published API document and nothing else:
//!
//! - [`FakeFrigate`]: Frigate's HTTP API document, docs.frigate.video/integrations/api
//!   (`POST /api/login` answering a `frigate_token` cookie, `GET /api/events` with `after`,
//!   `GET /api/events/<id>/clip.mp4`, `POST /api/events/<id>/sub_label` with `subLabel` and
//!   `subLabelScore`, `POST /api/events/<id>/retain`). It answers every recorded event after
//!   `after`, finished or not, so a connector that takes a running event is caught.
//! - [`FakeUnifiVideo`] (Ubiquiti published no document): the API as its users documented it,
//!   mkjones/nvr-api `api_docs.md` (`/api/2.0/...?apiKey=`, `{"data": [...]}` envelopes) and
//!   yuppity/unifi-video-api `recording.py` (`recording/<id>/download`, `PUT recording/<id>`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub cookie: Option<String>,
    pub body: Vec<u8>,
}

/// Status, headers and body.
pub type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

type Script = Arc<dyn Fn(&Call) -> Answer + Send + Sync>;

/// An HTTP server on 127.0.0.1:0 that answers through a script and records every call; it
/// stops when dropped.
pub struct FakeNvr {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    serving: tokio::task::JoinHandle<()>,
}

impl FakeNvr {
    pub async fn start(
        script: impl Fn(&Call) -> Answer + Send + Sync + 'static,
    ) -> std::io::Result<FakeNvr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let seen = calls.clone();
        let serving = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, seen) = (script.clone(), seen.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (script, seen) = (script.clone(), seen.clone());
                        async move { Ok::<_, Infallible>(answer(req, &script, &seen).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FakeNvr {
            url: format!("http://{addr}"),
            calls,
            serving,
        })
    }

    /// The calls of `method` on `path`, in order.
    pub fn calls(&self, method: &str, path: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.method == method && c.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for FakeNvr {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

async fn answer(
    req: Request<Incoming>,
    script: &Script,
    seen: &Mutex<Vec<Call>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let call = Call {
        method,
        path,
        query,
        cookie,
        body,
    };
    let (status, headers, body) = script(&call);
    seen.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    let mut resp = Response::builder().status(status);
    for (k, v) in headers {
        resp = resp.header(k, v);
    }
    resp.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A JSON answer with status 200.
pub fn json(value: serde_json::Value) -> Answer {
    (
        200,
        vec![("content-type", "application/json".into())],
        serde_json::to_vec(&value).unwrap_or_default(),
    )
}

fn not_found() -> Answer {
    (404, vec![], Vec::new())
}

fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A Frigate event as `GET /api/events` lists it, and its clip.
#[derive(Debug, Clone)]
pub struct FrigateEvent {
    pub id: String,
    pub camera: String,
    pub label: String,
    pub start_time: f64,
    /// `None` while the event is still running.
    pub end_time: Option<f64>,
    pub clip: Vec<u8>,
}

/// Frigate's authenticated port: a login, the recorded events and their clips, and the marks.
pub struct FakeFrigate {
    pub nvr: FakeNvr,
    events: Arc<Mutex<Vec<FrigateEvent>>>,
}

impl FakeFrigate {
    pub const USER: &'static str = "admin";
    pub const PASSWORD: &'static str = "frigate-pass";
    /// The JWT its login hands out (opaque to the client).
    pub const TOKEN: &'static str = "eyJhbGciOiJIUzI1NiJ9.e30.fake";

    /// A Frigate with no events yet.
    pub async fn start() -> std::io::Result<FakeFrigate> {
        let events: Arc<Mutex<Vec<FrigateEvent>>> = Arc::default();
        let listed = events.clone();
        let nvr = FakeNvr::start(move |call| frigate_answer(call, &listed)).await?;
        Ok(FakeFrigate { nvr, events })
    }

    /// Frigate records `event` (or updates the event of the same id: it finished).
    pub fn record(&self, event: FrigateEvent) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.retain(|e| e.id != event.id);
        events.push(event);
    }

    /// The bodies of the sub labels set on `id`, and how many times it was retained.
    pub fn marks(&self, id: &str) -> (Vec<serde_json::Value>, usize) {
        let subs = self
            .nvr
            .calls("POST", &format!("/api/events/{id}/sub_label"))
            .iter()
            .filter_map(|c| serde_json::from_slice(&c.body).ok())
            .collect();
        let retains = self
            .nvr
            .calls("POST", &format!("/api/events/{id}/retain"))
            .len();
        (subs, retains)
    }
}

fn frigate_answer(call: &Call, events: &Mutex<Vec<FrigateEvent>>) -> Answer {
    let authed = call.cookie.as_deref() == Some(&format!("frigate_token={}", FakeFrigate::TOKEN));
    match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/api/login") => {
            let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap_or_default();
            if body
                == serde_json::json!({"user": FakeFrigate::USER, "password": FakeFrigate::PASSWORD})
            {
                let cookie = format!("frigate_token={}; Path=/; HttpOnly", FakeFrigate::TOKEN);
                (200, vec![("set-cookie", cookie)], Vec::new())
            } else {
                (401, vec![], Vec::new())
            }
        }
        _ if !authed => (401, vec![], Vec::new()),
        ("GET", "/api/events") => {
            let after: f64 = query_param(&call.query, "after")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0.0);
            let events = events.lock().unwrap_or_else(|e| e.into_inner());
            let listed: Vec<serde_json::Value> = events
                .iter()
                .filter(|e| e.start_time > after)
                .map(|e| {
                    serde_json::json!({
                        "id": e.id, "camera": e.camera, "label": e.label,
                        "start_time": e.start_time, "end_time": e.end_time, "has_clip": true,
                    })
                })
                .collect();
            json(serde_json::Value::Array(listed))
        }
        ("GET", p) if p.starts_with("/api/events/") && p.ends_with("/clip.mp4") => {
            let id = &p["/api/events/".len()..p.len() - "/clip.mp4".len()];
            let events = events.lock().unwrap_or_else(|e| e.into_inner());
            match events.iter().find(|e| e.id == id) {
                Some(e) => (
                    200,
                    vec![("content-type", "video/mp4".into())],
                    e.clip.clone(),
                ),
                None => not_found(),
            }
        }
        ("POST", p) if p.ends_with("/sub_label") || p.ends_with("/retain") => {
            json(serde_json::json!({"success": true}))
        }
        _ => not_found(),
    }
}

/// A Unifi Video recording as `GET /api/2.0/recording` lists it, and its file.
#[derive(Debug, Clone)]
pub struct UnifiRecording {
    pub id: String,
    pub camera_name: String,
    pub start_ms: i64,
    /// `None` while recording.
    pub end_ms: Option<i64>,
    pub clip: Vec<u8>,
}

/// Unifi Video's API behind its API key: the recordings, their downloads, and the lock.
pub struct FakeUnifiVideo {
    pub nvr: FakeNvr,
    recordings: Arc<Mutex<Vec<UnifiRecording>>>,
}

impl FakeUnifiVideo {
    pub const API_KEY: &'static str = "unifi-key";

    pub async fn start() -> std::io::Result<FakeUnifiVideo> {
        let recordings: Arc<Mutex<Vec<UnifiRecording>>> = Arc::default();
        let listed = recordings.clone();
        let nvr = FakeNvr::start(move |call| unifi_answer(call, &listed)).await?;
        Ok(FakeUnifiVideo { nvr, recordings })
    }

    pub fn record(&self, recording: UnifiRecording) {
        let mut recordings = self.recordings.lock().unwrap_or_else(|e| e.into_inner());
        recordings.retain(|r| r.id != recording.id);
        recordings.push(recording);
    }
}

fn unifi_answer(call: &Call, recordings: &Mutex<Vec<UnifiRecording>>) -> Answer {
    if query_param(&call.query, "apiKey") != Some(FakeUnifiVideo::API_KEY) {
        return (401, vec![], Vec::new());
    }
    let recordings = recordings.lock().unwrap_or_else(|e| e.into_inner());
    let path = call.path.as_str();
    let Some(rest) = path.strip_prefix("/api/2.0/recording") else {
        return not_found();
    };
    match (call.method.as_str(), rest) {
        ("GET", "") => {
            let data: Vec<serde_json::Value> = recordings
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "_id": r.id, "cameras": ["cam-id-1"], "meta": {"cameraName": r.camera_name},
                        "startTime": r.start_ms, "endTime": r.end_ms,
                        "inProgress": r.end_ms.is_none(), "locked": false,
                    })
                })
                .collect();
            json(serde_json::json!({"meta": {"totalCount": data.len()}, "data": data}))
        }
        ("GET", r) if r.ends_with("/download") => {
            let id = r.trim_start_matches('/').trim_end_matches("/download");
            match recordings.iter().find(|rec| rec.id == id) {
                Some(rec) => (
                    200,
                    vec![("content-type", "video/mp4".into())],
                    rec.clip.clone(),
                ),
                None => not_found(),
            }
        }
        ("PUT", r) => {
            let id = r.trim_start_matches('/');
            if recordings.iter().any(|rec| rec.id == id) {
                json(serde_json::json!({"data": [{"_id": id, "locked": true}]}))
            } else {
                not_found()
            }
        }
        _ => not_found(),
    }
}
