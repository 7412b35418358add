//! A burst of concurrent signed updates for one host, through the API Gateway stand-in, the
//! handler, and Route53 and S3 in moto: three rounds, each of 24 requests sent at once carrying
//! the same new address (one distinct change), signed with strictly increasing stamps as the Pi
//! client makes them. Bounded: 72 requests, a few seconds.
//!
//! What must hold: exactly one `updated` (one UPSERT) per round; every other answer is one of the
//! documented ones (`unchanged`, or `409 replayed_request` for a request overtaken by a newer one); no 5xx;
//! and Route53 holds the round's address at its end.

use failberry_local::seed::{self, HostSeed};
use failberry_proto::{Clock, ErrorCode, Signer, Stamps};
use failberry_tests::Stack;
use serde_json::{json, Value};

const HOST: &str = seed::HOSTNAME;
const BURST: usize = 24;
const ROUNDS: [&str; 3] = ["81.2.69.142", "81.2.69.160", "81.2.69.192"];

static STAMPS: Stamps = Stamps::new();

async fn post(http: reqwest::Client, api: String, body: Vec<u8>) -> (u16, Value) {
    let mut req = http.post(format!("{api}/v1/update")).body(body.clone());
    for (name, value) in Signer::new(HOST, seed::SECRET).headers("POST", "/v1/update", &body) {
        req = req.header(name, value);
    }
    let resp = req.send().await.expect("the API answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_for_one_host_writes_each_change_once() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    for ip in ROUNDS {
        let bodies: Vec<Vec<u8>> = (0..BURST)
            .map(|_| {
                let stamp = STAMPS.next(stack.clock.unix_secs());
                let nonce = format!("{:032x}", fastrand::u128(..));
                serde_json::to_vec(&json!({"hostname": HOST, "ipv4": ip,
                    "timestamp": stamp, "nonce": nonce}))
                .unwrap()
            })
            .collect();
        // All sent at once, on two worker threads: the handler's reads and writes interleave.
        let mut burst = tokio::task::JoinSet::new();
        for body in bodies {
            burst.spawn(post(stack.http.clone(), stack.api.clone(), body));
        }
        let answers = burst.join_all().await;
        let mut updated = 0;
        for (status, body) in &answers {
            match (status, body["status"].as_str(), body["error"].as_str()) {
                (200, Some("updated"), _) => updated += 1,
                (200, Some("unchanged"), _) => {}
                (409, _, Some(code)) if code == ErrorCode::ReplayedRequest.as_str() => {}
                other => panic!("an answer outside the documented ones: {other:?} {body}"),
            }
        }
        assert_eq!(
            updated, 1,
            "round {ip}: one UPSERT for one change: {answers:?}"
        );
        assert_eq!(stack.record(HOST, "A").await, vec![ip]);
    }
}
