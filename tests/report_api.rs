//! `POST /v1/report` end to end: real HTTP through the API Gateway stand-in to the ddns
//! function, its replay marks in moto's S3. The metric lines go to the stack's stdout (EMF, read
//! by CloudWatch Logs in AWS); their content is checked by the function's own tests.

use failberry_local::seed::{self, HostSeed};
use failberry_proto::report::{ActionKind, ActionReport, DataReport, LinkReport, ReportRequest};
use failberry_proto::{Clock, Signer, Stamps};
use failberry_tests::Stack;
use serde_json::{json, Value};

const HOST: &str = seed::HOSTNAME;
static STAMPS: Stamps = Stamps::new();

fn report(stack: &Stack, device: &str) -> Vec<u8> {
    let request = ReportRequest {
        device: device.into(),
        timestamp: STAMPS.next(stack.clock.unix_secs()),
        nonce: format!("{:032x}", fastrand::u128(..)),
        links: vec![LinkReport {
            name: "wireless".into(),
            up: true,
            answered: 3,
            probed: 3,
        }],
        data: Some(DataReport {
            used_bytes: 1 << 30,
            cap_bytes: 10 << 30,
            period_start: 0,
        }),
        actions: vec![ActionReport {
            kind: ActionKind::Recovery,
            step: Some("redial".into()),
            reboot: false,
            percent: None,
            at: stack.clock.unix_secs() - 60,
        }],
    };
    serde_json::to_vec(&request).unwrap()
}

async fn post(stack: &Stack, path: &str, key_id: &str, secret: &str, body: &[u8]) -> (u16, Value) {
    let mut req = stack
        .http
        .post(format!("{}{path}", stack.api))
        .body(body.to_vec());
    for (name, value) in Signer::new(key_id, secret).headers("POST", path, body) {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_report_is_accepted_once_and_never_blocks_an_update() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let body = report(&stack, HOST);
    let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["metrics"], 2, "one link line, one device line");

    // The same bytes again: refused by the report's own mark in S3.
    let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("replayed_request")),
        "{answer}"
    );
    let mark = stack
        .s3()
        .get_object()
        .bucket(&stack.bucket)
        .key(format!("replay/{HOST}/report/last-applied.json"))
        .send()
        .await
        .expect("the report's mark is in the config bucket");
    let mark: Value =
        serde_json::from_slice(&mark.body.collect().await.unwrap().into_bytes()).unwrap();
    let stamp: Value = serde_json::from_slice::<Value>(&body).unwrap()["timestamp"].clone();
    assert_eq!(mark["last_applied"], stamp);

    // An address update stamped at or before the report still goes through: separate marks.
    let update = json!({"hostname": HOST, "ipv4": "81.2.69.150",
        "timestamp": stamp.as_i64().unwrap(), "nonce": format!("{:032x}", fastrand::u128(..))});
    let update = serde_json::to_vec(&update).unwrap();
    let (status, answer) = post(&stack, "/v1/update", HOST, seed::SECRET, &update).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("updated")),
        "{answer}"
    );
}

#[tokio::test]
async fn another_devices_figures_and_oversized_bodies_are_refused() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let other = report(&stack, "someone-else.home.example.com");
    let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &other).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("host_mismatch")),
        "{answer}"
    );

    let mut big: Value = serde_json::from_slice(&report(&stack, HOST)).unwrap();
    big["actions"] = Value::Array(vec![big["actions"][0].clone(); 400]);
    let big = serde_json::to_vec(&big).unwrap();
    assert!(big.len() > 4096);
    let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &big).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (413, Some("body_too_large")),
        "{answer}"
    );

    let (status, answer) = post(
        &stack,
        "/v1/report",
        HOST,
        "not-the-secret-0123456789",
        &report(&stack, HOST),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("bad_signature")),
        "{answer}"
    );
}

/// A device cannot mint metrics: each link is two CloudWatch metrics billed by the month, so a
/// report naming a link outside the host's `links` (default: the watchdog's `wired` and
/// `wireless`) is refused whole, before its mark moves, and the next honest report still lands.
#[tokio::test]
async fn a_report_naming_links_the_host_does_not_have_is_refused_whole() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    for round in 0..5 {
        let mut doc: Value = serde_json::from_slice(&report(&stack, HOST)).unwrap();
        doc["links"] = (0..4)
            .map(|i| json!({"name": format!("fresh{round}x{i}"), "up": true, "answered": 1, "probed": 1}))
            .collect::<Vec<_>>()
            .into();
        let body = serde_json::to_vec(&doc).unwrap();
        let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some("link_not_allowed")),
            "{answer}"
        );
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("fresh{round}x0")) && message.contains("wired, wireless"),
            "the refusal names the link and what is allowed: {message}"
        );
    }
    let mut doc: Value = serde_json::from_slice(&report(&stack, HOST)).unwrap();
    doc["links"] = json!([
        {"name": "wired", "up": false, "answered": 0, "probed": 3},
        {"name": "wireless", "up": true, "answered": 3, "probed": 3},
    ]);
    let body = serde_json::to_vec(&doc).unwrap();
    let (status, answer) = post(&stack, "/v1/report", HOST, seed::SECRET, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["metrics"], 3, "two link lines, one device line");
}
