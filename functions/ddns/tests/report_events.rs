//! `POST /v1/report` through the handler, from the API Gateway event in `events/`, parsed the way
//! the runtime parses it. Route53, S3, the clock and the metric log are fakes here: these tests are
//! about authentication, bounds, ordering and the lines written; the same route runs against moto
//! in `tests/report_api.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use failberry_aws::{DocumentCache, DocumentError, DocumentSource, Fetched};
use failberry_ddns::{
    next_mark, CurrentRecords, Ddns, DdnsConfig, DnsError, DnsStore, MetricLog, Ordered,
    ReplayGuard, Stamp, Upsert,
};
use failberry_proto::Clock;
use lambda_http::{Body, Response};
use serde_json::Value;

const FIXTURE_TIME: i64 = 1_764_000_000;
const REPORT: &str = include_str!("../../../events/ddns-report.json");
const SECRET: &str = "dGhpcy1pcy1hLWRlbW8tc2VjcmV0";

/// No DNS call belongs to a report: any is a failure.
struct NoDns;

impl DnsStore for NoDns {
    async fn current(&self, _: &str, _: &str) -> Result<CurrentRecords, DnsError> {
        panic!("a report read Route53")
    }
    async fn upsert(&self, _: &str, _: &[Upsert]) -> Result<String, DnsError> {
        panic!("a report wrote Route53")
    }
}

#[derive(Default)]
struct FakeReplay(Mutex<HashMap<String, i64>>);

impl ReplayGuard for FakeReplay {
    async fn admit(
        &self,
        key_id: &str,
        stamp: Stamp,
    ) -> Result<Ordered, failberry_ddns::ReplayError> {
        let mut marks = self.0.lock().unwrap();
        match next_mark(marks.get(key_id).copied(), stamp) {
            Ok(next) => {
                marks.insert(key_id.to_string(), next);
                Ok(Ordered::Admitted)
            }
            Err(last_applied) => Ok(Ordered::Replayed { last_applied }),
        }
    }
}

struct FakeDocs;

impl DocumentSource for FakeDocs {
    async fn fetch(&self, _: Option<&str>) -> Result<Fetched, DocumentError> {
        let doc = format!(
            r#"{{"hosts": {{
            "wireless.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "{SECRET}"}},
            "other.home.example.com": {{"zone_id": "Z1", "zone": "home.example.com", "secret": "another-secret-0123456789"}}}}}}"#
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

#[derive(Default)]
struct FakeLog(Mutex<Vec<String>>);

impl MetricLog for FakeLog {
    fn write_lines(&self, lines: &[String]) -> std::io::Result<()> {
        self.0.lock().unwrap().extend_from_slice(lines);
        Ok(())
    }
}

type App = Ddns<NoDns, FakeReplay, FakeDocs, FixedClock, FakeLog>;

fn app(now: i64) -> App {
    Ddns {
        dns: NoDns,
        replay: FakeReplay::default(),
        config: DocumentCache::new(
            FakeDocs,
            DdnsConfig::parse,
            std::time::Duration::from_secs(60),
        ),
        clock: FixedClock(now),
        report_log: FakeLog::default(),
    }
}

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).expect("fixture parses as the runtime parses it")
}

/// The fixture with another body, signed by `key_id` with `secret`.
fn signed(body: &str, key_id: &str, secret: &str) -> lambda_http::Request {
    let mut json: Value = serde_json::from_str(REPORT).unwrap();
    let signature =
        failberry_proto::Signer::new(key_id, secret).sign("POST", "/v1/report", body.as_bytes());
    json["body"] = body.into();
    json["headers"]["x-failberry-key-id"] = key_id.into();
    json["headers"]["x-failberry-signature"] = signature.into();
    event(&json.to_string())
}

fn answer(resp: &Response<Body>) -> (u16, Value) {
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    (
        resp.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn report_event_writes_emf_lines_once_and_a_replay_is_refused() {
    let app = app(FIXTURE_TIME + 20);
    let (status, body) = answer(&app.handle(event(REPORT)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metrics"], 3, "two links and the device line");
    let lines: Vec<Value> = app
        .report_log
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert_eq!(
            line["Device"], "wireless.home.example.com",
            "the signer, always"
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Failberry/Pi"
        );
    }
    assert_eq!(
        (lines[0]["Link"].as_str(), lines[0]["LinkUp"].as_u64()),
        (Some("wireless"), Some(0))
    );
    assert_eq!(lines[2]["DataUsedPercent"].as_f64(), Some(80.0));

    let (status, body) = answer(&app.handle(event(REPORT)).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("replayed_request"))
    );
    assert_eq!(
        app.report_log.0.lock().unwrap().len(),
        3,
        "nothing written for the replay"
    );
}

#[tokio::test]
async fn reports_are_refused_when_they_should_be() {
    let host = "wireless.home.example.com";
    let body = |device: &str, ts: i64, extra: &str| {
        format!(r#"{{"device":"{device}","timestamp":{ts},"nonce":"0123456789abcdef0123"{extra}}}"#)
    };
    let good = body(host, FIXTURE_TIME, "");
    let mut tampered: Value = serde_json::from_str(REPORT).unwrap();
    tampered["body"] = tampered["body"]
        .as_str()
        .unwrap()
        .replace("8589934592", "1")
        .into();
    let too_many_links = format!(
        r#","links":[{}]"#,
        [r#"{"name":"l","up":true,"answered":0,"probed":0}"#; 5].join(",")
    );
    let huge = body(
        host,
        FIXTURE_TIME,
        &format!(r#","pad":"{}""#, "x".repeat(5000)),
    );
    let cases: Vec<(&str, lambda_http::Request, u16, &str)> = vec![
        (
            "figures changed after signing",
            event(&tampered.to_string()),
            401,
            "bad_signature",
        ),
        (
            "signed with another host's key",
            signed(&good, "other.home.example.com", "another-secret-0123456789"),
            403,
            "host_mismatch",
        ),
        (
            "unknown key id",
            signed(&good, "nobody.home.example.com", SECRET),
            401,
            "bad_signature",
        ),
        (
            "stale",
            signed(&body(host, FIXTURE_TIME - 400, ""), host, SECRET),
            401,
            "stale_timestamp",
        ),
        (
            "too many links",
            signed(&body(host, FIXTURE_TIME, &too_many_links), host, SECRET),
            400,
            "malformed_request",
        ),
        (
            "unknown field",
            signed(&body(host, FIXTURE_TIME, r#","x":1"#), host, SECRET),
            400,
            "malformed_request",
        ),
        (
            "over the size bound",
            signed(&huge, host, SECRET),
            413,
            "body_too_large",
        ),
    ];
    for (name, request, want_status, want_code) in cases {
        let app = app(FIXTURE_TIME);
        let (status, body) = answer(&app.handle(request).await);
        assert_eq!(
            (status, body["error"].as_str()),
            (want_status, Some(want_code)),
            "{name}: {body}"
        );
        assert!(
            app.report_log.0.lock().unwrap().is_empty(),
            "{name}: nothing written"
        );
    }
    // And the good one passes, so the cases above fail for their own reason.
    let app = app(FIXTURE_TIME);
    let (status, body) = answer(&app.handle(signed(&good, host, SECRET)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metrics"], 0, "an empty report writes no line");
}

#[tokio::test]
async fn get_is_not_allowed() {
    let mut json: Value = serde_json::from_str(REPORT).unwrap();
    json["requestContext"]["http"]["method"] = "GET".into();
    let (status, _) = answer(&app(FIXTURE_TIME).handle(event(&json.to_string())).await);
    assert_eq!(status, 405);
}
