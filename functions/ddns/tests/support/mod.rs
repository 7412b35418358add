//! An in-memory ddns for the no-panic properties and the fuzz targets (`fuzz/` includes this file):
//! Route53, the replay marks, the config document and the clock are fakes because what is under
//! test is the handler's reading of hostile requests, not the AWS calls (those run against moto in
//! `tests/ddns_api.rs` and `tests/ddns_burst.rs`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use failberry_aws::{DocumentCache, DocumentError, DocumentSource, Fetched};
use failberry_ddns::{
    next_mark, CurrentRecords, Ddns, DdnsConfig, DnsError, DnsStore, Ordered, RecordSet,
    ReplayGuard, Stamp, Upsert,
};
use failberry_proto::Clock;

/// The fixture events' time (`events/ddns-*.json`).
pub const FIXTURE_TIME: i64 = 1_764_000_000;
/// The host of the fixture events and its secret, dyndns2 password ("password") and legacy flag.
pub const HOST: &str = "wireless.home.example.com";
pub const SECRET: &str = "dGhpcy1pcy1hLWRlbW8tc2VjcmV0";
pub const HOSTS_DOC: &str = r#"{"hosts": {"wireless.home.example.com": {
    "zone_id": "Z1", "zone": "home.example.com", "secret": "dGhpcy1pcy1hLWRlbW8tc2VjcmV0",
    "dyndns2_password_sha256": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
    "legacy": true, "allow_private": false}}}"#;

#[derive(Default)]
pub struct FakeDns {
    pub current: Mutex<CurrentRecords>,
    pub upserts: Mutex<Vec<Upsert>>,
}

impl DnsStore for FakeDns {
    async fn current(&self, _zone: &str, _name: &str) -> Result<CurrentRecords, DnsError> {
        Ok(self.current.lock().unwrap().clone())
    }

    async fn upsert(&self, _zone: &str, changes: &[Upsert]) -> Result<String, DnsError> {
        let mut current = self.current.lock().unwrap();
        for c in changes {
            match c.value {
                std::net::IpAddr::V4(v4) => {
                    current.a = Some(RecordSet {
                        values: vec![v4],
                        ttl: Some(c.ttl),
                    })
                }
                std::net::IpAddr::V6(v6) => {
                    current.aaaa = Some(RecordSet {
                        values: vec![v6],
                        ttl: Some(c.ttl),
                    })
                }
            }
        }
        self.upserts.lock().unwrap().extend_from_slice(changes);
        Ok("C1".into())
    }
}

/// The marks in memory, moved by the same pure rule the S3 guard uses.
#[derive(Default)]
pub struct FakeReplay(Mutex<HashMap<String, i64>>);

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

/// A config document source serving fixed bytes (the fixture hosts, or whatever is fuzzed).
pub struct FakeDocs(pub Vec<u8>);

impl DocumentSource for FakeDocs {
    async fn fetch(&self, _: Option<&str>) -> Result<Fetched, DocumentError> {
        Ok(Fetched::Document {
            bytes: self.0.clone(),
            etag: "e1".into(),
        })
    }
}

pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> std::time::SystemTime {
        failberry_proto::clock::from_unix_secs(self.0)
    }
}

pub type FakeDdns = Ddns<FakeDns, FakeReplay, FakeDocs, FixedClock>;

/// The handler over fakes, its config document being `doc`.
pub fn app_with(doc: &[u8], now: i64) -> FakeDdns {
    Ddns {
        dns: FakeDns::default(),
        replay: FakeReplay::default(),
        config: DocumentCache::new(
            FakeDocs(doc.to_vec()),
            DdnsConfig::parse,
            std::time::Duration::from_secs(60),
        ),
        clock: FixedClock(now),
        report_log: Default::default(),
    }
}

pub fn app(now: i64) -> FakeDdns {
    app_with(HOSTS_DOC.as_bytes(), now)
}

/// An API Gateway HTTP API (payload 2.0) event as the runtime receives it, from its parts.
pub fn event_json(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    source_ip: &str,
) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": "fuzz"},
            "requestId": "r", "routeKey": "$default", "stage": "$default",
            "time": "24/Nov/2025:16:00:00 +0000", "timeEpoch": 1_764_000_000_000i64
        },
        "isBase64Encoded": false,
        "body": body,
    })
    .to_string()
}
