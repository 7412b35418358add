//! One door for every signed endpoint: the same bad requests sent to `/v1/update`, `/v1/report`
//! and each clip endpoint (real HTTP through the API Gateway stand-in, moto behind) get the same
//! answer — status, error code and message — and change nothing.

use failberry_local::seed::{self, HostSeed};
use failberry_proto::paths;
use failberry_proto::{Clock, Signer};
use failberry_tests::Stack;
use serde_json::{json, Value};

const HOST: &str = seed::HOSTNAME;
const GOOD_NONCE: &str = "0123456789abcdef0123456789abcdef";

/// A body each endpoint would accept in shape, stamped `timestamp` with `nonce`.
fn body(path: &str, timestamp: i64, nonce: &str) -> Vec<u8> {
    let key = format!("incoming/{HOST}/porch/20261207T000000Z-a.mp4");
    let doc = match path {
        paths::UPDATE => json!({"hostname": HOST, "ipv4": "203.0.113.9"}),
        paths::REPORT => json!({"device": HOST}),
        paths::CLIPS => json!({"camera": "porch", "name": "a.mp4", "size": 10,
            "sha256": "00".repeat(32)}),
        paths::CLIPS_RESUME => json!({"key": key, "upload_id": "u1", "size": 10}),
        paths::CLIPS_COMPLETE => json!({"key": key, "upload_id": "u1", "size": 10}),
        other => panic!("no body for {other}"),
    };
    let mut doc = doc;
    doc["timestamp"] = timestamp.into();
    doc["nonce"] = nonce.into();
    serde_json::to_vec(&doc).unwrap()
}

/// How a bad request is signed (or not).
#[derive(Clone, Copy, Debug)]
enum Bad {
    Unsigned,
    KeyIdNotAName,
    UnknownHost,
    WrongSecret,
    SignatureNotHex,
    Stale,
    ShortNonce,
}

async fn send(stack: &Stack, method: &str, path: &str, bad: Bad) -> (u16, String, String) {
    let now = stack.clock.unix_secs();
    let body = match (method, bad) {
        ("GET", _) => Vec::new(),
        (_, Bad::Stale) => body(path, now - 3600, GOOD_NONCE),
        (_, Bad::ShortNonce) => body(path, now, "short"),
        _ => body(path, now, GOOD_NONCE),
    };
    let (key_id, secret) = match bad {
        Bad::KeyIdNotAName => ("not a name", seed::SECRET),
        Bad::UnknownHost => ("stranger.example.com", seed::SECRET),
        Bad::WrongSecret => (HOST, "a guess at the secret"),
        _ => (HOST, seed::SECRET),
    };
    let url = format!("{}{path}", stack.api);
    let mut req = match method {
        "GET" => stack.http.get(url),
        _ => stack.http.post(url).body(body.clone()),
    };
    if !matches!(bad, Bad::Unsigned) {
        let [(key_header, key_value), (sig_header, sig_value)] =
            Signer::new(key_id, secret).headers(method, path, &body);
        let sig_value = match bad {
            Bad::SignatureNotHex => "not-hex".to_string(),
            _ => sig_value,
        };
        req = req
            .header(key_header, key_value)
            .header(sig_header, sig_value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let doc: Value = resp.json().await.unwrap_or(Value::Null);
    let text = |f: &str| doc[f].as_str().unwrap_or_default().to_string();
    (status, text("error"), text("message"))
}

#[tokio::test]
async fn the_same_bad_requests_get_the_same_answers_at_every_signed_endpoint() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let before = stack.zone_snapshot().await;
    let result_path = format!(
        "{}incoming/{HOST}/porch/20261207T000000Z-a.mp4",
        paths::CLIP_RESULT_PREFIX
    );
    let posts = [
        paths::UPDATE,
        paths::REPORT,
        paths::CLIPS,
        paths::CLIPS_RESUME,
        paths::CLIPS_COMPLETE,
    ];
    // (the bad request, its expected status and code, whether the GET result endpoint — which
    // carries no body, so no time or nonce — gets it too)
    let table = [
        (Bad::Unsigned, 401, "missing_signature", true),
        (Bad::KeyIdNotAName, 401, "bad_signature", true),
        (Bad::UnknownHost, 401, "bad_signature", true),
        (Bad::WrongSecret, 401, "bad_signature", true),
        (Bad::SignatureNotHex, 401, "bad_signature", true),
        (Bad::Stale, 401, "stale_timestamp", false),
        (Bad::ShortNonce, 400, "malformed_request", false),
    ];
    let mut refusal_messages = Vec::new();
    for (bad, status, code, with_get) in table {
        let mut answers = Vec::new();
        for path in posts {
            answers.push((path.to_string(), send(&stack, "POST", path, bad).await));
        }
        if with_get {
            answers.push((
                result_path.clone(),
                send(&stack, "GET", &result_path, bad).await,
            ));
        }
        for (path, (got_status, got_code, message)) in &answers {
            assert_eq!(
                (*got_status, got_code.as_str()),
                (status, code),
                "{bad:?} to {path}: {message}"
            );
        }
        // The stale message names the skew, which may tick between requests.
        if !matches!(bad, Bad::Stale) {
            let first = &answers[0].1 .2;
            for (path, (_, _, message)) in &answers {
                assert_eq!(message, first, "{bad:?}: {path} words it differently");
            }
        }
        if code == "bad_signature" {
            refusal_messages.push(answers[0].1 .2.clone());
        }
    }
    // A stranger cannot tell an unknown name, a non-name, a wrong secret or a garbled signature
    // apart.
    assert!(
        refusal_messages.windows(2).all(|w| w[0] == w[1]),
        "{refusal_messages:?}"
    );
    assert_eq!(stack.zone_snapshot().await, before, "a refusal changed DNS");
}
