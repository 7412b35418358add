//! The handler fed the API Gateway events in `events/`, parsed the way the Lambda runtime parses
//! them. Route53, S3 and the clock are fakes here, because these tests are about the adapter
//! (event shape, routing, answers); the same paths run against moto in `tests/ddns_api.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use failberry_aws::{DocumentCache, DocumentError, DocumentSource, Fetched};
use failberry_ddns::{
    next_mark, CurrentRecords, Ddns, DdnsConfig, DnsError, DnsStore, Ordered, RecordSet,
    ReplayGuard, Stamp, Upsert,
};
use failberry_proto::Clock;
use lambda_http::{Body, Response};

const FIXTURE_TIME: i64 = 1_764_000_000;

#[derive(Default)]
struct FakeDns {
    current: Mutex<CurrentRecords>,
    reads: Mutex<usize>,
    upserts: Mutex<Vec<Upsert>>,
}

impl DnsStore for FakeDns {
    async fn current(&self, _zone: &str, _name: &str) -> Result<CurrentRecords, DnsError> {
        *self.reads.lock().unwrap() += 1;
        Ok(self.current.lock().unwrap().clone())
    }

    async fn upsert(&self, _zone: &str, changes: &[Upsert]) -> Result<String, DnsError> {
        let mut current = self.current.lock().unwrap();
        for c in changes {
            if let std::net::IpAddr::V4(v4) = c.value {
                current.a = Some(RecordSet {
                    values: vec![v4],
                    ttl: Some(c.ttl),
                });
            }
        }
        self.upserts.lock().unwrap().extend_from_slice(changes);
        Ok("C1".into())
    }
}

/// The marks in memory, moved by the same pure rule the S3 guard uses.
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
        let doc = r#"{"hosts": {"wireless.home.example.com": {
            "zone_id": "Z1", "zone": "home.example.com", "secret": "dGhpcy1pcy1hLWRlbW8tc2VjcmV0",
            "dyndns2_password_sha256": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
            "legacy": true}}}"#;
        Ok(Fetched::Document {
            bytes: doc.as_bytes().to_vec(),
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

fn app(now: i64) -> Ddns<FakeDns, FakeReplay, FakeDocs, FixedClock> {
    Ddns {
        dns: FakeDns::default(),
        replay: FakeReplay::default(),
        config: DocumentCache::new(
            FakeDocs,
            DdnsConfig::parse,
            std::time::Duration::from_secs(60),
        ),
        clock: FixedClock(now),
        report_log: Default::default(),
    }
}

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).expect("fixture parses as the runtime parses it")
}

fn text(resp: &Response<Body>) -> String {
    String::from_utf8(resp.body().to_vec()).unwrap()
}

const UPDATE: &str = include_str!("../../../events/ddns-update.json");

#[tokio::test]
async fn signed_update_event_updates_once_and_replays_are_harmless_or_refused() {
    let app = app(FIXTURE_TIME + 10);
    let resp = app.handle(event(UPDATE)).await;
    assert_eq!(resp.status(), 200, "{}", text(&resp));
    let answer: serde_json::Value = serde_json::from_str(&text(&resp)).unwrap();
    assert_eq!(
        (answer["status"].as_str(), answer["ipv4"].as_str()),
        (Some("updated"), Some("81.2.69.142"))
    );
    assert_eq!(app.dns.upserts.lock().unwrap().len(), 1);

    // The same request again would change nothing: answered, nothing written.
    let resp = app.handle(event(UPDATE)).await;
    assert!(text(&resp).contains("\"unchanged\""), "{}", text(&resp));
    assert_eq!(app.dns.upserts.lock().unwrap().len(), 1);

    // Once the record has moved on, the replay would change it back: refused.
    app.dns.current.lock().unwrap().a = Some(RecordSet {
        values: vec!["81.2.69.160".parse().unwrap()],
        ttl: Some(60),
    });
    let resp = app.handle(event(UPDATE)).await;
    assert_eq!(resp.status(), 409, "{}", text(&resp));
    assert_eq!(app.dns.upserts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_event_after_the_window_is_stale() {
    let app = app(FIXTURE_TIME + 301);
    let resp = app.handle(event(UPDATE)).await;
    assert_eq!(resp.status(), 401);
    let answer: serde_json::Value = serde_json::from_str(&text(&resp)).unwrap();
    assert_eq!(answer["error"], "stale_timestamp");
    assert_eq!(
        answer["time"],
        FIXTURE_TIME + 301,
        "the server clock, for the client to correct itself"
    );
    assert!(app.dns.upserts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn myip_event_echoes_the_source_address() {
    let app = app(FIXTURE_TIME);
    let resp = app
        .handle(event(include_str!("../../../events/ddns-myip.json")))
        .await;
    assert_eq!(text(&resp), r#"{"ip":"81.2.69.142","time":1764000000}"#);
}

#[tokio::test]
async fn dyndns2_event_from_ddclient() {
    let app = app(FIXTURE_TIME);
    let resp = app
        .handle(event(include_str!("../../../events/ddns-dyndns2.json")))
        .await;
    assert_eq!(
        (resp.status().as_u16(), text(&resp)),
        (200, "good 81.2.69.160".to_string())
    );
}

/// The ddclient fixture with another `hostname` list, as API Gateway would deliver it.
fn dyndns2_event(hostnames: &str) -> lambda_http::Request {
    let mut json: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/ddns-dyndns2.json")).unwrap();
    json["rawQueryString"] = format!("system=dyndns&hostname={hostnames}&myip=81.2.69.160").into();
    json["queryStringParameters"]["hostname"] = hostnames.into();
    event(&json.to_string())
}

#[tokio::test]
async fn a_name_listed_many_times_costs_one_route53_read() {
    let app = app(FIXTURE_TIME);
    let names = ["wireless.home.example.com", "WIRELESS.home.example.com."].repeat(10);
    let resp = app.handle(dyndns2_event(&names.join(","))).await;
    assert_eq!(
        text(&resp).lines().collect::<Vec<_>>(),
        vec!["good 81.2.69.160"; 20]
    );
    assert_eq!(
        *app.dns.reads.lock().unwrap(),
        1,
        "one read per distinct host"
    );
    assert_eq!(app.dns.upserts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn more_than_twenty_names_are_refused_before_any_read() {
    let app = app(FIXTURE_TIME);
    let names = vec!["wireless.home.example.com"; 21].join(",");
    let resp = app.handle(dyndns2_event(&names)).await;
    assert_eq!(
        (resp.status().as_u16(), text(&resp)),
        (200, "numhost".into())
    );
    assert_eq!(*app.dns.reads.lock().unwrap(), 0);
}

#[tokio::test]
async fn reference_get_event() {
    let app = app(FIXTURE_TIME);
    let resp = app
        .handle(event(include_str!(
            "../../../events/ddns-reference-get.json"
        )))
        .await;
    assert_eq!(
        text(&resp),
        r#"{"return_status": "success", "return_message": "81.2.69.142"}"#
    );
}
