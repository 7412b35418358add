//! The watchdog's reporter against a local stand-in of `/v1/report` (port 0): the request is
//! signed the way the API verifies it (checked with `proto::signing::verify`, the function's
//! own check), its body passes `proto::report::check`, and a `stale_timestamp` answer is
//! retried once with the server's clock. The real route, over moto, is in `tests/report_api.rs`.

use std::sync::{Arc, Mutex};

use failberry::config::Device;
use failberry::watchdog::report::ApiReporter;
use failberry::watchdog::{Report, Reporter};
use failberry_proto::report::{self, LinkReport, ReportRequest};
use failberry_proto::{signing, Clock, SystemClock, KEY_ID_HEADER, SIGNATURE_HEADER};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;

const HOST: &str = "wireless.home.example.com";
const SECRET: &str = "report-client-secret-0123456789";

/// Answers each request with the next scripted (status, body); records what it verified.
async fn standin(
    script: Vec<(u16, String)>,
) -> (String, Arc<Mutex<Vec<Result<ReportRequest, String>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/prod", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script.into_iter()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (log, script) = (log.clone(), script.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (log, script) = (log.clone(), script.clone());
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        let (key_id, signature) = (header(KEY_ID_HEADER), header(SIGNATURE_HEADER));
                        let path = req.uri().path().to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let verified = signing::verify(
                            SECRET.as_bytes(),
                            "POST",
                            "/v1/report",
                            &key_id,
                            &body,
                            &signature,
                        )
                        .map_err(|e| format!("{path}: {e}"))
                        .and_then(|()| {
                            serde_json::from_slice::<ReportRequest>(&body)
                                .map_err(|e| e.to_string())
                        })
                        .and_then(|r| {
                            report::check(&r, HOST)
                                .map(|()| r)
                                .map_err(|e| e.to_string())
                        });
                        log.lock().unwrap().push(verified);
                        let (status, text) =
                            script.lock().unwrap().next().expect("an answer scripted");
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from(text)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

fn device(url: &str) -> Device {
    Device {
        api_url: url.parse().unwrap(),
        hostname: HOST.into(),
        secret: failberry_proto::Secret::new(SECRET),
    }
}

fn sample() -> Report {
    Report {
        links: vec![LinkReport {
            name: "wireless".into(),
            up: false,
            answered: 0,
            probed: 3,
        }],
        data: None,
        actions: vec![],
    }
}

#[tokio::test]
async fn reports_are_signed_as_the_api_verifies_them() {
    let now = SystemClock.unix_secs();
    let (url, seen) = standin(vec![(200, format!(r#"{{"metrics":1,"time":{now}}}"#))]).await;
    let reporter = ApiReporter::new(&device(&url)).unwrap();
    reporter.send(&sample()).await.expect("accepted");
    let seen = seen.lock().unwrap();
    let request = seen[0]
        .as_ref()
        .expect("the stand-in verified the signature and the body");
    assert_eq!(request.device, HOST);
    assert_eq!(request.links, sample().links);
}

#[tokio::test]
async fn a_stale_clock_is_corrected_from_the_answer_and_refusals_are_errors() {
    let server_time = SystemClock.unix_secs() + 3600;
    let stale = format!(r#"{{"error":"stale_timestamp","message":"off","time":{server_time}}}"#);
    let (url, seen) = standin(vec![
        (401, stale),
        (200, format!(r#"{{"metrics":1,"time":{server_time}}}"#)),
        (
            403,
            format!(r#"{{"error":"host_mismatch","message":"no","time":{server_time}}}"#),
        ),
    ])
    .await;
    let reporter = ApiReporter::new(&device(&url)).unwrap();
    reporter
        .send(&sample())
        .await
        .expect("accepted on the retry");
    {
        let seen = seen.lock().unwrap();
        let retry = seen[1].as_ref().unwrap();
        assert!(
            (retry.timestamp - server_time).abs() <= 2,
            "signed with the server's clock: {}",
            retry.timestamp
        );
    }
    let error = reporter
        .send(&sample())
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("host_mismatch"), "{error}");
}
