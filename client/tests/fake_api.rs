//! The ddns client against a fake ddns API on 127.0.0.1, port 0.
//!
//! A fake rather than the real function: each test scripts the exact answers it needs (a stale
//! clock, a 503, a refusal) and counts the calls the client makes, e.g. that an unchanged address
//! makes no POST at all. The real API, over moto, is exercised by the integration tests of the
//! `tests/` crate.

use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failberry::api::ApiClient;
use failberry::api::ErrorClass;
use failberry::cli::DdnsSettings;
use failberry::config::{DdnsConfig, Overrides, RawConfig};
use failberry::ddns::{self, Outcome, RunOptions, Updater};
use failberry::detect::{DetectFuture, Detection, Detector};
use failberry_proto::{signing, UpdateRequest, KEY_ID_HEADER, SIGNATURE_HEADER};
use failberry_proto::{Clock, SystemClock};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const HOST: &str = "wireless.home.example.com";
const SECRET: &str = "demo-secret-change-me-0123456789";
const IP_A: &str = "81.2.69.142";
const IP_B: &str = "81.2.69.143";

/// One request as the fake API received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    key_id: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
}

impl Seen {
    fn update(&self) -> UpdateRequest {
        serde_json::from_slice(&self.body).expect("the client sends an update request")
    }
}

/// Answers a request given everything seen so far (this one included): status and JSON body.
type Script = dyn Fn(&Seen, &[Seen]) -> (u16, String) + Send + Sync;

struct FakeApi {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    async fn start(
        script: impl Fn(&Seen, &[Seen]) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, script) = (log.clone(), script.clone());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (log, script) = (log.clone(), script.clone());
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        let mut seen = Seen {
                            method: req.method().to_string(),
                            path: req.uri().path().to_string(),
                            key_id: header(KEY_ID_HEADER),
                            signature: header(SIGNATURE_HEADER),
                            body: Vec::new(),
                        };
                        seen.body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let (status, body) = {
                            let mut log = log.lock().unwrap();
                            log.push(seen.clone());
                            script(&seen, &log)
                        };
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn posts(&self) -> Vec<Seen> {
        self.requests("POST", "/v1/update")
    }

    fn requests(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .cloned()
            .collect()
    }
}

fn posts_in(seen: &[Seen]) -> usize {
    seen.iter().filter(|s| s.method == "POST").count()
}

/// What the real API answers to an accepted update: the request's addresses, at `time`.
fn accepted(seen: &Seen, status: &str, time: i64) -> (u16, String) {
    let req = seen.update();
    let body = serde_json::json!({
        "status": status,
        "hostname": req.hostname,
        "ipv4": req.ipv4,
        "ipv6": req.ipv6,
        "change_id": (status == "updated").then_some("/change/C2FAKE"),
        "time": time,
    });
    (200, body.to_string())
}

fn error(status: u16, code: &str, time: i64) -> (u16, String) {
    let body = serde_json::json!({"error": code, "message": format!("fake {code}"), "time": time});
    (status, body.to_string())
}

/// A test's own directory with the address file and the state file.
struct Device {
    dir: tempfile::TempDir,
}

impl Device {
    fn new(ip: Option<&str>) -> Self {
        let device = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        if let Some(ip) = ip {
            device.set_ip(ip);
        }
        device
    }

    fn ip_file(&self) -> PathBuf {
        self.dir.path().join("ip")
    }

    fn state_file(&self) -> PathBuf {
        self.dir.path().join("lib/ddns-state.json")
    }

    fn set_ip(&self, ip: &str) {
        std::fs::write(self.ip_file(), format!("{ip}\n")).unwrap();
    }

    fn overrides(&self, api: &FakeApi) -> Overrides {
        Overrides {
            api_url: Some(api.url()),
            ddns: DdnsSettings {
                hostname: Some(HOST.into()),
                secret: Some(SECRET.into()),
                ipv4: Some(failberry::config::Ipv4From::File),
                ipv4_file: Some(self.ip_file()),
                state_file: Some(self.state_file()),
                ..DdnsSettings::default()
            },
            interval_secs: Some(5),
            ..Overrides::default()
        }
    }

    fn config(&self, api: &FakeApi) -> DdnsConfig {
        DdnsConfig::build(RawConfig::default(), &self.overrides(api)).unwrap()
    }

    fn state(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.state_file()).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }
}

fn assert_signed(seen: &Seen) {
    let key_id = seen.key_id.as_deref().expect("key id header");
    assert_eq!(key_id, HOST);
    signing::verify(
        SECRET.as_bytes(),
        "POST",
        "/v1/update",
        key_id,
        &seen.body,
        seen.signature.as_deref().expect("signature header"),
    )
    .expect("the signature covers the exact bytes sent");
}

#[tokio::test]
async fn unchanged_ip_sends_nothing() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let config = device.config(&api);

    let first = ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Updated(_)), "{first:?}");
    let posts = api.posts();
    assert_eq!(posts.len(), 1);
    assert_signed(&posts[0]);
    let sent = posts[0].update();
    assert_eq!(sent.hostname, HOST);
    assert_eq!(sent.ipv4, Some(IP_A.parse().unwrap()));
    assert_eq!(sent.ipv6, None, "a family that is off is omitted");
    assert_eq!(sent.nonce.len(), 32);
    assert!(
        (sent.timestamp - SystemClock.unix_secs()).abs() <= 5,
        "{}",
        sent.timestamp
    );

    let state = device.state().expect("state written");
    assert_eq!(state["hostname"], HOST);
    assert_eq!(state["ipv4"], IP_A);
    assert_eq!(state["change_id"], "/change/C2FAKE");

    let second = ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(second, Outcome::UpToDate), "{second:?}");
    assert_eq!(api.posts().len(), 1, "the second run makes no POST");

    let forced = ddns::run_once(
        &config,
        RunOptions {
            force: true,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(matches!(forced, Outcome::Updated(_)), "{forced:?}");
    assert_eq!(api.posts().len(), 2, "--force sends anyway");
}

#[tokio::test]
async fn changed_ip_is_sent_with_a_fresh_nonce() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let config = device.config(&api);
    ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    device.set_ip(IP_B);
    ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();

    let posts = api.posts();
    assert_eq!(posts.len(), 2);
    assert_signed(&posts[1]);
    assert_eq!(posts[1].update().ipv4, Some(IP_B.parse().unwrap()));
    assert_ne!(posts[0].update().nonce, posts[1].update().nonce);
    assert_eq!(device.state().unwrap()["ipv4"], IP_B);
}

#[tokio::test]
async fn stale_timestamp_is_retried_once_with_the_servers_clock() {
    // The server's clock is an hour ahead of ours, as on a Pi that booted without network time.
    let server_time = SystemClock.unix_secs() + 3600;
    let api = FakeApi::start(move |seen, all| {
        if posts_in(all) == 1 {
            error(401, "stale_timestamp", server_time)
        } else {
            accepted(seen, "updated", server_time)
        }
    })
    .await;
    let device = Device::new(Some(IP_A));

    let outcome = ddns::run_once(&device.config(&api), RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Updated(_)), "{outcome:?}");
    let posts = api.posts();
    assert_eq!(posts.len(), 2, "exactly one retry");
    let (first, retry) = (posts[0].update(), posts[1].update());
    assert!((first.timestamp - SystemClock.unix_secs()).abs() <= 5);
    assert!(
        (retry.timestamp - server_time).abs() <= 5,
        "retry signed with the corrected clock: {} vs {server_time}",
        retry.timestamp
    );
    assert_ne!(first.nonce, retry.nonce, "the retry has a fresh nonce");
    assert_signed(&posts[1]);
    assert_eq!(device.state().unwrap()["acknowledged_at"], server_time);
}

#[tokio::test]
async fn a_replayed_request_answer_is_retried_once_signed_past_the_servers_mark() {
    // Another run of the client (a restart) already had a change applied two seconds ahead of
    // this run's clock, as after a clock correction: the server says so, and the retry signs past it.
    let now = SystemClock.unix_secs();
    let mark = now + 2;
    let api = FakeApi::start(move |seen, all| {
        if posts_in(all) == 1 {
            let body = serde_json::json!({"error": "replayed_request", "message": "fake",
                "time": now, "last_applied": mark});
            (409, body.to_string())
        } else {
            accepted(seen, "updated", now)
        }
    })
    .await;
    let device = Device::new(Some(IP_A));

    let outcome = ddns::run_once(&device.config(&api), RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Updated(_)), "{outcome:?}");
    let posts = api.posts();
    assert_eq!(posts.len(), 2, "exactly one retry");
    assert!(posts[0].update().timestamp <= mark);
    assert!(
        posts[1].update().timestamp > mark,
        "retry signed past the mark: {} vs {mark}",
        posts[1].update().timestamp
    );
    assert_signed(&posts[1]);
}

#[tokio::test]
async fn a_replayed_request_answer_with_an_implausible_mark_is_not_followed() {
    // A mark far outside the window could only come from something in the way: no retry, and
    // the stamps are not pushed an hour ahead.
    let now = SystemClock.unix_secs();
    let api = FakeApi::start(move |_, _| {
        let body = serde_json::json!({"error": "replayed_request", "message": "fake",
            "time": now, "last_applied": now + 3600});
        (409, body.to_string())
    })
    .await;
    let device = Device::new(Some(IP_A));
    let mut updater = Updater::new(&device.config(&api)).unwrap();

    let err = updater.run_once(RunOptions::default()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(api.posts().len(), 1, "no retry");
    assert!(device.state().is_none());
}

#[tokio::test]
async fn a_clock_still_stale_after_the_retry_is_a_transient_failure() {
    let api =
        FakeApi::start(|_, _| error(401, "stale_timestamp", SystemClock.unix_secs() + 3600)).await;
    let device = Device::new(Some(IP_A));
    let mut updater = Updater::new(&device.config(&api)).unwrap();

    let err = updater.run_once(RunOptions::default()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert_eq!(api.posts().len(), 2, "one retry, no more");
    assert!(device.state().is_none());
}

#[tokio::test]
async fn server_error_does_not_write_state() {
    let api = FakeApi::start(|_, _| error(503, "dns_unavailable", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let mut updater = Updater::new(&device.config(&api)).unwrap();

    let err = updater.run_once(RunOptions::default()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    assert!(err.to_string().contains("503 dns_unavailable"), "{err}");
    assert_eq!(api.posts().len(), 1, "no immediate retry of a 503");
    assert!(device.state().is_none(), "nothing was acknowledged");
    assert!(!device.state_file().exists());
}

#[tokio::test]
async fn refusal_is_permanent_and_keeps_the_acknowledged_state() {
    let api = FakeApi::start(|seen, all| {
        if posts_in(all) == 1 {
            accepted(seen, "updated", SystemClock.unix_secs())
        } else {
            error(403, "address_not_public", SystemClock.unix_secs())
        }
    })
    .await;
    let device = Device::new(Some(IP_A));
    let config = device.config(&api);
    ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    let before = std::fs::read(device.state_file()).unwrap();

    device.set_ip("100.72.1.9");
    let mut updater = Updater::new(&config).unwrap();
    let err = updater.run_once(RunOptions::default()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert_eq!(api.posts().len(), 2);
    assert_eq!(
        std::fs::read(device.state_file()).unwrap(),
        before,
        "the state still names the last acknowledged address"
    );
}

#[tokio::test]
async fn myip_gives_the_address_and_the_clock() {
    let server_time = SystemClock.unix_secs() - 7200;
    let api = FakeApi::start(move |seen, _| {
        if seen.path == "/v1/myip" {
            (200, format!(r#"{{"ip":"{IP_A}","time":{server_time}}}"#))
        } else {
            accepted(seen, "unchanged", server_time)
        }
    })
    .await;
    let device = Device::new(None);
    let mut overrides = device.overrides(&api);
    overrides.ddns.ipv4 = Some(failberry::config::Ipv4From::MyIp);
    overrides.ddns.ipv4_file = None;
    let config = DdnsConfig::build(RawConfig::default(), &overrides).unwrap();

    let outcome = ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Unchanged(_)), "{outcome:?}");
    assert_eq!(api.requests("GET", "/v1/myip").len(), 1);
    let posts = api.posts();
    assert_eq!(
        posts.len(),
        1,
        "no stale retry needed: the clock came from myip"
    );
    let sent = posts[0].update();
    assert_eq!(sent.ipv4, Some(IP_A.parse::<Ipv4Addr>().unwrap()));
    assert!(
        (sent.timestamp - server_time).abs() <= 5,
        "{}",
        sent.timestamp
    );
    assert_eq!(
        device.state().unwrap()["ipv4"],
        IP_A,
        "unchanged is an acknowledgement too"
    );
}

#[tokio::test]
async fn myip_failure_sends_nothing() {
    let api = FakeApi::start(|_, _| error(502, "bad_gateway", SystemClock.unix_secs())).await;
    let device = Device::new(None);
    let mut overrides = device.overrides(&api);
    overrides.ddns.ipv4 = Some(failberry::config::Ipv4From::MyIp);
    let config = DdnsConfig::build(RawConfig::default(), &overrides).unwrap();

    let outcome = ddns::run_once(&config, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::NothingDetected), "{outcome:?}");
    assert_eq!(api.requests("GET", "/v1/myip").len(), 1);
    assert!(
        api.posts().is_empty(),
        "a failed detection never reaches DNS"
    );
}

#[tokio::test]
async fn dry_run_sends_nothing_and_leaves_no_state() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let outcome = ddns::run_once(
        &device.config(&api),
        RunOptions {
            force: false,
            dry_run: true,
        },
    )
    .await
    .unwrap();
    let Outcome::DryRun {
        prepared: Some(prepared),
        ..
    } = outcome
    else {
        panic!("a dry run prepares the request: {outcome:?}");
    };
    assert_eq!(prepared.request.ipv4, Some(IP_A.parse().unwrap()));
    assert_eq!(prepared.url.as_str(), format!("{}/v1/update", api.url()));
    assert!(api.posts().is_empty());
    assert!(!device.state_file().exists());
    assert!(
        !device.state_file().parent().unwrap().exists(),
        "not even the directory"
    );
}

#[tokio::test]
async fn missing_address_file_sends_nothing() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(None);
    let outcome = ddns::run_once(&device.config(&api), RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::NothingDetected), "{outcome:?}");
    assert!(api.seen.lock().unwrap().is_empty(), "no request at all");
}

/// A source that always says the same thing.
struct FakeDetector<A>(Detection<A>);

impl<A: Clone + Send + Sync + 'static> Detector<A> for FakeDetector<A> {
    fn source(&self) -> String {
        "fake".into()
    }

    fn detect(&self) -> DetectFuture<'_, A> {
        let detection = self.0.clone();
        Box::pin(async move { detection })
    }
}

#[tokio::test]
async fn a_family_that_failed_is_omitted_not_removed() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(None);
    let config = device.config(&api);
    let ipv6: Ipv6Addr = "2a01:4f8:c17:beef::2".parse().unwrap();
    let mut updater = Updater::with_detectors(
        &config,
        Arc::new(ApiClient::new(&config.device, config.bind_interface()).unwrap()),
        Some(Box::new(FakeDetector::<Ipv4Addr>(Detection::Unknown(
            "modem down".into(),
        )))),
        Some(Box::new(FakeDetector(Detection::Found(ipv6)))),
    );

    let outcome = updater.run_once(RunOptions::default()).await.unwrap();
    assert!(matches!(outcome, Outcome::Updated(_)), "{outcome:?}");
    let posts = api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].update().ipv4, None, "ipv4 left to the server");
    assert_eq!(posts[0].update().ipv6, Some(ipv6));
    assert!(
        !String::from_utf8_lossy(&posts[0].body).contains("ipv4"),
        "not even as null: {}",
        String::from_utf8_lossy(&posts[0].body)
    );
}

#[tokio::test]
async fn watch_backs_off_after_a_server_error_and_stops_on_shutdown() {
    let api = FakeApi::start(|_, _| error(503, "dns_unavailable", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let config = device.config(&api);

    let started = Instant::now();
    let watching = ddns::watch(&config, tokio::time::sleep(Duration::from_millis(1500)));
    tokio::time::timeout(Duration::from_secs(10), watching)
        .await
        .expect("watch stops when the shutdown future completes")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    // The first back-off delay is at least 5 s, so 1.5 s sees exactly one attempt.
    assert_eq!(api.posts().len(), 1, "no hammering after a 503");
    assert!(device.state().is_none());
}

#[tokio::test]
async fn watch_updates_then_waits_for_the_interval() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));
    let config = device.config(&api);
    ddns::watch(&config, tokio::time::sleep(Duration::from_millis(1500)))
        .await
        .unwrap();
    assert_eq!(api.posts().len(), 1);
    assert_eq!(device.state().unwrap()["ipv4"], IP_A);
}

/// Runs the real binary (off the async thread, so the fake API keeps answering).
async fn failberry(dir: &Path, args: Vec<String>) -> std::process::Output {
    let config = dir.join("absent.toml");
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_failberry"));
        for (key, _) in std::env::vars() {
            if key.starts_with("FAILBERRY_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("--config").arg(config).args(args).output().unwrap()
    })
    .await
    .unwrap()
}

fn update_args(api: &FakeApi, device: &Device, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "ddns",
        "update",
        "--api-url",
        &api.url(),
        "--hostname",
        HOST,
        "--secret",
        SECRET,
        "--ipv4",
        "file",
        "--ipv4-file",
        device.ip_file().to_str().unwrap(),
        "--state-file",
        device.state_file().to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn binary_updates_once_then_exits_zero_without_sending() {
    let api = FakeApi::start(|seen, _| accepted(seen, "updated", SystemClock.unix_secs())).await;
    let device = Device::new(Some(IP_A));

    let dry = failberry(
        device.dir.path(),
        update_args(&api, &device, &["--dry-run"]),
    )
    .await;
    assert!(dry.status.success(), "{dry:?}");
    let stdout = String::from_utf8(dry.stdout).unwrap();
    assert!(
        stdout.contains(&format!("POST {}/v1/update\n", api.url())),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("\"ipv4\":\"{IP_A}\"")), "{stdout}");
    assert!(api.posts().is_empty(), "dry run sends nothing");

    for run in 0..2 {
        let out = failberry(device.dir.path(), update_args(&api, &device, &[])).await;
        assert!(out.status.success(), "run {run}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains(SECRET),
            "the secret is never logged: {stderr}"
        );
    }
    assert_eq!(
        api.posts().len(),
        1,
        "the second run found the state and sent nothing"
    );
}

#[tokio::test]
async fn binary_refusal_exits_one_with_one_line() {
    let api =
        FakeApi::start(|_, _| error(403, "address_not_public", SystemClock.unix_secs())).await;
    let device = Device::new(Some("10.1.2.3"));
    let out = failberry(
        device.dir.path(),
        update_args(&api, &device, &["--log-format", "json"]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("failberry: update refused: ") && last.contains("address_not_public"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("failberry: ").count(), 1, "{stderr}");
    for line in stderr.lines().filter(|l| !l.starts_with("failberry: ")) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"));
    }
    assert!(
        stderr.contains("address not public"),
        "the client warns before sending: {stderr}"
    );
}

#[tokio::test]
async fn binary_without_a_hostname_names_the_missing_setting() {
    let device = Device::new(Some(IP_A));
    let out = failberry(
        device.dir.path(),
        vec![
            "ddns".into(),
            "update".into(),
            "--api-url".into(),
            "http://127.0.0.1:9".into(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "failberry: ddns.hostname is not set (config file, --hostname or FAILBERRY_HOSTNAME)"
        ),
        "{stderr}"
    );
}
