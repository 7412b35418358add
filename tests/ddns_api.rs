//! The ddns API end to end: real HTTP through the API Gateway stand-in, the handler, and Route53
//! and S3 in moto. Every refusal is checked to leave the zone exactly as it was.

use failberry_local::seed::{self, HostSeed};
use failberry_proto::legacy::validation_hash;
use failberry_proto::Clock;
use failberry_proto::{Signer, Stamps};
use failberry_tests::{loopback_host, Stack};
use serde_json::{json, Value};

const HOST: &str = seed::HOSTNAME;

fn nonce() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// Sends `body` to `/v1/update` signed with `secret` under key id `key_id`.
async fn post_signed(stack: &Stack, key_id: &str, secret: &str, body: &[u8]) -> (u16, Value) {
    let signer = Signer::new(key_id, secret);
    let mut req = stack
        .http
        .post(format!("{}/v1/update", stack.api))
        .body(body.to_vec());
    for (name, value) in signer.headers("POST", "/v1/update", body) {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Signed changes for a host must be stamped in order, and the tests send several a second, as a
/// real client does not: strictly increasing stamps, as the Pi client makes them.
static STAMPS: Stamps = Stamps::new();

fn update_body(stack: &Stack, hostname: &str, ipv4: Option<&str>, ipv6: Option<&str>) -> Vec<u8> {
    let stamp = STAMPS.next(stack.clock.unix_secs());
    let mut body = json!({"hostname": hostname, "timestamp": stamp, "nonce": nonce()});
    if let Some(v4) = ipv4 {
        body["ipv4"] = v4.into();
    }
    if let Some(v6) = ipv6 {
        body["ipv6"] = v6.into();
    }
    serde_json::to_vec(&body).unwrap()
}

async fn update(stack: &Stack, ipv4: Option<&str>, ipv6: Option<&str>) -> (u16, Value) {
    post_signed(
        stack,
        HOST,
        seed::SECRET,
        &update_body(stack, HOST, ipv4, ipv6),
    )
    .await
}

#[tokio::test]
async fn signed_update_sets_records_and_unchanged_ip_writes_nothing() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let (status, body) = update(
        &stack,
        Some("81.2.69.142"),
        Some("2a00:1450:4009:81d::200e"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "updated");
    assert!(body["change_id"].is_string());
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.142"]);
    assert_eq!(
        stack.record(HOST, "AAAA").await,
        vec!["2a00:1450:4009:81d::200e"]
    );

    let (status, body) = update(&stack, Some("81.2.69.142"), None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("unchanged")),
        "{body}"
    );
    assert!(body.get("change_id").is_none());
    assert_eq!(
        body["ipv6"], "2a00:1450:4009:81d::200e",
        "the answer reports the AAAA it left alone"
    );

    let (status, body) = update(&stack, Some("81.2.69.160"), None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.160"]);
    assert_eq!(
        stack.record(HOST, "AAAA").await,
        vec!["2a00:1450:4009:81d::200e"],
        "AAAA untouched"
    );
}

#[tokio::test]
async fn omitted_address_means_the_source_address() {
    let stack = Stack::start(&[loopback_host(HOST)]).await;
    let (status, body) = update(&stack, None, None).await;
    assert_eq!(
        (status, body["ipv4"].as_str()),
        (200, Some("127.0.0.1")),
        "{body}"
    );
    assert_eq!(stack.record(HOST, "A").await, vec!["127.0.0.1"]);

    let my_ip: Value = stack
        .http
        .get(format!("{}/v1/myip", stack.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(my_ip["ip"], "127.0.0.1");
    assert!((my_ip["time"].as_i64().unwrap() - stack.clock.unix_secs()).abs() <= 2);
}

/// Each refusal: (name, how to build the request, expected status, expected error code).
#[tokio::test]
async fn bad_signed_requests_are_refused_and_change_nothing() {
    let stack = Stack::start(&[
        HostSeed::default(),
        HostSeed {
            hostname: "v4only.home.example.com".into(),
            record_types: vec!["A"],
            ..HostSeed::default()
        },
    ])
    .await;
    let (status, _) = update(&stack, Some("81.2.69.142"), None).await;
    assert_eq!(status, 200);
    let before = stack.zone_snapshot().await;

    let now = stack.clock.unix_secs();
    let good = |ipv4: &str| update_body(&stack, HOST, Some(ipv4), None);
    let stale = serde_json::to_vec(
        &json!({"hostname": HOST, "ipv4": "81.2.69.1", "timestamp": now - 301, "nonce": nonce()}),
    )
    .unwrap();
    let future = serde_json::to_vec(
        &json!({"hostname": HOST, "ipv4": "81.2.69.1", "timestamp": now + 400, "nonce": nonce()}),
    )
    .unwrap();
    let bad_nonce = serde_json::to_vec(
        &json!({"hostname": HOST, "ipv4": "81.2.69.1", "timestamp": now, "nonce": "../x"}),
    )
    .unwrap();
    let big = serde_json::to_vec(&json!({"hostname": HOST, "ipv4": "81.2.69.1", "timestamp": now, "nonce": nonce(), "pad": "x".repeat(5000)})).unwrap();
    /// (name, key id, secret, body, expected status, expected error code)
    type Case<'a> = (&'a str, &'a str, &'a str, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            HOST,
            "not-the-secret-at-all",
            good("81.2.69.1"),
            401,
            "bad_signature",
        ),
        (
            "stale timestamp",
            HOST,
            seed::SECRET,
            stale,
            401,
            "stale_timestamp",
        ),
        (
            "future timestamp",
            HOST,
            seed::SECRET,
            future,
            401,
            "stale_timestamp",
        ),
        (
            // The same answer as a wrong secret: nobody learns which names exist.
            "unknown host",
            "nobody.home.example.com",
            seed::SECRET,
            update_body(&stack, "nobody.home.example.com", Some("81.2.69.1"), None),
            401,
            "bad_signature",
        ),
        (
            // Refused like an unknown name, as every signed endpoint does (tests/signed_door.rs).
            "key id not a fqdn",
            "wireless",
            seed::SECRET,
            good("81.2.69.1"),
            401,
            "bad_signature",
        ),
        (
            "body for another host",
            HOST,
            seed::SECRET,
            update_body(&stack, "v4only.home.example.com", Some("81.2.69.1"), None),
            403,
            "host_mismatch",
        ),
        (
            "malformed json",
            HOST,
            seed::SECRET,
            b"{\"hostname\": ".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "unknown field",
            HOST,
            seed::SECRET,
            serde_json::to_vec(
                &json!({"hostname": HOST, "timestamp": now, "nonce": nonce(), "ttl": 1}),
            )
            .unwrap(),
            400,
            "malformed_request",
        ),
        (
            "bad nonce",
            HOST,
            seed::SECRET,
            bad_nonce,
            400,
            "malformed_request",
        ),
        (
            "body over 4 KiB",
            HOST,
            seed::SECRET,
            big,
            413,
            "body_too_large",
        ),
        (
            "private address",
            HOST,
            seed::SECRET,
            good("192.168.1.10"),
            403,
            "address_not_public",
        ),
        (
            "carrier-grade NAT address",
            HOST,
            seed::SECRET,
            good("100.64.3.4"),
            403,
            "address_not_public",
        ),
        (
            "AAAA where only A is allowed",
            "v4only.home.example.com",
            seed::SECRET,
            update_body(
                &stack,
                "v4only.home.example.com",
                None,
                Some("2a00:1450::1"),
            ),
            403,
            "family_not_allowed",
        ),
    ];
    for (name, key_id, secret, body, want_status, want_code) in cases {
        let (status, answer) = post_signed(&stack, key_id, secret, &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (want_status, Some(want_code)),
            "{name}: {answer}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: a message for people"
        );
    }

    let unsigned = stack
        .http
        .post(format!("{}/v1/update", stack.api))
        .body(good("81.2.69.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!(
        unsigned.json::<Value>().await.unwrap()["error"],
        "missing_signature"
    );

    let wrong_method = stack
        .http
        .get(format!("{}/v1/update", stack.api))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    let nowhere = stack
        .http
        .get(format!("{}/v2/whatever", stack.api))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status().as_u16(), 404);

    assert_eq!(
        stack.zone_snapshot().await,
        before,
        "no refusal may touch Route53"
    );
}

/// The issue's sequence: a refresh that changed nothing, replayed after a newer change, used to
/// drag the record back (its nonce was never consumed). Now every change must be newer than the
/// last one applied.
#[tokio::test]
async fn a_replayed_refresh_cannot_drag_the_record_back() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let (status, answer) = update(&stack, Some("81.2.69.41"), None).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("updated")));
    // The periodic refresh: the same address, a new nonce, answered unchanged.
    let refresh = update_body(&stack, HOST, Some("81.2.69.41"), None);
    let (status, answer) = post_signed(&stack, HOST, seed::SECRET, &refresh).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("unchanged"))
    );
    // The Pi moves on.
    let (status, answer) = update(&stack, Some("81.2.69.42"), None).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("updated")));
    // An eavesdropper replays the refresh, byte for byte.
    let (status, answer) = post_signed(&stack, HOST, seed::SECRET, &refresh).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("replayed_request")),
        "{answer}"
    );
    assert!(answer["last_applied"].is_i64(), "{answer}");
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.42"]);
}

#[tokio::test]
async fn a_replayed_change_is_refused_when_it_would_change_the_record() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let captured = update_body(&stack, HOST, Some("81.2.69.142"), None);
    let (status, _) = post_signed(&stack, HOST, seed::SECRET, &captured).await;
    assert_eq!(status, 200);
    // The same request again changes nothing: answered, and nothing is written.
    let (status, answer) = post_signed(&stack, HOST, seed::SECRET, &captured).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("unchanged"))
    );
    // The Pi moves on to a new address...
    let (status, _) = update(&stack, Some("81.2.69.160"), None).await;
    assert_eq!(status, 200);
    // ...and an eavesdropper replays the captured request to drag the record back.
    let (status, answer) = post_signed(&stack, HOST, seed::SECRET, &captured).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("replayed_request")),
        "{answer}"
    );
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.160"]);
}

/// A change through dyndns2 (which carries no signed time) also moves the mark: a signed request
/// captured before it cannot undo it.
#[tokio::test]
async fn a_signed_request_older_than_a_dyndns2_change_cannot_undo_it() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    // Stamped a minute ago, well inside the window.
    let old = serde_json::to_vec(&json!({"hostname": HOST, "ipv4": "81.2.69.41",
        "timestamp": stack.clock.unix_secs() - 60, "nonce": nonce()}))
    .unwrap();
    let auth = Some((HOST, seed::DYNDNS2_PASSWORD));
    let (_, line) = nic_update(&stack, auth, &format!("hostname={HOST}&myip=81.2.69.42")).await;
    assert_eq!(line, "good 81.2.69.42");
    let (status, answer) = post_signed(&stack, HOST, seed::SECRET, &old).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("replayed_request")),
        "{answer}"
    );
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.42"]);
}

#[tokio::test]
async fn hostname_outside_its_zone_is_refused() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let mut doc = seed::config_document(
        &stack.zone_id,
        &[HostSeed {
            hostname: "wireless.example.org".into(),
            ..HostSeed::default()
        }],
    );
    doc["hosts"]["wireless.home.example.com"] =
        seed::config_document(&stack.zone_id, &[HostSeed::default()])["hosts"][HOST].clone();
    stack.put_config(&doc).await;
    let before = stack.zone_snapshot().await;
    let body = update_body(&stack, "wireless.example.org", Some("81.2.69.142"), None);
    let (status, answer) = post_signed(&stack, "wireless.example.org", seed::SECRET, &body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("outside_zone")),
        "{answer}"
    );
    assert_eq!(stack.zone_snapshot().await, before);
    // The other host still works: one bad entry does not take the document down.
    assert_eq!(update(&stack, Some("81.2.69.142"), None).await.0, 200);
}

#[tokio::test]
async fn hosts_in_several_zones_from_one_deployment() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let other_zone = stack.create_zone("cabin.example.net.").await;
    let mut doc = seed::config_document(&stack.zone_id, &[HostSeed::default()]);
    let mut cabin = seed::config_document(
        &other_zone,
        &[HostSeed {
            hostname: "pi.cabin.example.net".into(),
            ..HostSeed::default()
        }],
    )["hosts"]["pi.cabin.example.net"]
        .clone();
    cabin["zone"] = "cabin.example.net".into();
    doc["hosts"]["pi.cabin.example.net"] = cabin;
    stack.put_config(&doc).await;

    let (status, _) = update(&stack, Some("81.2.69.142"), None).await;
    assert_eq!(status, 200);
    let body = update_body(&stack, "pi.cabin.example.net", Some("81.2.69.99"), None);
    let (status, answer) = post_signed(&stack, "pi.cabin.example.net", seed::SECRET, &body).await;
    assert_eq!(status, 200, "{answer}");
    let cabin_records = stack
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(&other_zone)
        .send()
        .await
        .unwrap();
    let a: Vec<_> = cabin_records
        .resource_record_sets()
        .iter()
        .filter(|s| s.name() == "pi.cabin.example.net." && s.r#type().as_str() == "A")
        .flat_map(|s| s.resource_records().iter().map(|r| r.value().to_string()))
        .collect();
    assert_eq!(a, vec!["81.2.69.99"]);
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.142"]);
}

async fn nic_update(stack: &Stack, auth: Option<(&str, &str)>, query: &str) -> (u16, String) {
    let mut req = stack.http.get(format!("{}/nic/update?{query}", stack.api));
    if let Some((user, password)) = auth {
        req = req.basic_auth(user, Some(password));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn dyndns2_answers_one_line_per_host() {
    let second = "garage.home.example.com";
    let stack = Stack::start(&[
        HostSeed::default(),
        HostSeed {
            hostname: second.into(),
            dyndns2_password: Some(seed::DYNDNS2_PASSWORD.into()),
            ..HostSeed::default()
        },
    ])
    .await;
    let auth = Some((HOST, seed::DYNDNS2_PASSWORD));
    let q = format!("hostname={HOST}&myip=81.2.69.142,2a00:1450::1");
    assert_eq!(
        nic_update(&stack, auth, &q).await,
        (200, "good 81.2.69.142,2a00:1450::1".into())
    );
    assert_eq!(
        nic_update(&stack, auth, &q).await,
        (200, "nochg 81.2.69.142,2a00:1450::1".into())
    );
    assert_eq!(stack.record(HOST, "AAAA").await, vec!["2a00:1450::1"]);

    let q = format!("hostname={HOST}&myip=81.2.69.142&myip=2a00:1450::3");
    assert_eq!(
        nic_update(&stack, auth, &q).await.1,
        "good 81.2.69.142,2a00:1450::3",
        "repeated myip"
    );
    let q = format!("hostname={HOST}&myip=81.2.69.142&myipv6=2a00:1450::2");
    assert_eq!(
        nic_update(&stack, auth, &q).await.1,
        "nochg 81.2.69.142,2a00:1450::1"
            .replace("nochg", "good")
            .replace("::1", "::2")
    );

    // Several hostnames, answered in order: the second exists but is not in this account, the
    // third exists nowhere, and both answer alike (`nohost`: not in this account).
    let q = format!("hostname={HOST},{second},nohost.home.example.com,bad_name&myip=81.2.69.150");
    let (_, text) = nic_update(&stack, auth, &q).await;
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        vec![
            "good 81.2.69.150,2a00:1450::2",
            "nohost",
            "nohost",
            "notfqdn"
        ]
    );
    assert!(stack.record(second, "A").await.is_empty());
}

#[tokio::test]
async fn dyndns2_refusals_change_nothing() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let auth = Some((HOST, seed::DYNDNS2_PASSWORD));
    assert_eq!(
        nic_update(&stack, auth, &format!("hostname={HOST}&myip=81.2.69.142"))
            .await
            .1,
        "good 81.2.69.142"
    );
    let before = stack.zone_snapshot().await;
    let q = format!("hostname={HOST}&myip=81.2.69.1");
    let cases = [
        (
            "wrong password",
            Some((HOST, "guess")),
            q.clone(),
            200,
            "badauth",
        ),
        ("no credentials", None, q.clone(), 401, "badauth"),
        (
            "missing hostname",
            auth,
            "myip=81.2.69.1".to_string(),
            200,
            "notfqdn",
        ),
        (
            "unknown host",
            auth,
            "hostname=who.home.example.com&myip=81.2.69.1".to_string(),
            200,
            "nohost",
        ),
        (
            "private address",
            auth,
            format!("hostname={HOST}&myip=10.0.0.1"),
            200,
            "dnserr",
        ),
        (
            "garbage address",
            auth,
            format!("hostname={HOST}&myip=not-an-ip"),
            200,
            "dnserr",
        ),
    ];
    for (name, auth, query, want_status, want_line) in cases {
        assert_eq!(
            nic_update(&stack, auth, &query).await,
            (want_status, want_line.to_string()),
            "{name}"
        );
    }
    assert_eq!(stack.zone_snapshot().await, before);
}

/// Without the right password a caller learns nothing: a configured name, an unknown one, an
/// unknown user and a malformed name all answer `badauth`, line for line.
#[tokio::test]
async fn dyndns2_hostnames_cannot_be_enumerated_without_credentials() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let before = stack.zone_snapshot().await;
    let guesses = [
        ("configured name", HOST, HOST.to_string()),
        ("unknown name", HOST, "who.home.example.com".to_string()),
        ("unknown user", "nobody", HOST.to_string()),
        ("not a name", HOST, "bad_name".to_string()),
        ("two names", HOST, format!("{HOST},who.home.example.com")),
    ];
    for (name, user, hostnames) in guesses {
        let query = format!("hostname={hostnames}&myip=81.2.69.1");
        let (status, text) = nic_update(&stack, Some((user, "a-guess")), &query).await;
        let want = vec!["badauth"; hostnames.split(',').count()].join("\n");
        assert_eq!((status, text), (200, want), "{name}");
    }
    assert_eq!(stack.zone_snapshot().await, before);
}

/// One request may name at most 20 hosts (`numhost` beyond), and a name listed many times, in
/// any spelling, is read and written once and answered on every line.
#[tokio::test]
async fn dyndns2_hostname_lists_are_bounded_and_deduplicated() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let auth = Some((HOST, seed::DYNDNS2_PASSWORD));
    let before = stack.zone_snapshot().await;
    let flood = vec![HOST; 200].join(",");
    let (status, text) =
        nic_update(&stack, auth, &format!("hostname={flood}&myip=81.2.69.1")).await;
    assert_eq!((status, text.as_str()), (200, "numhost"));
    assert_eq!(
        stack.zone_snapshot().await,
        before,
        "no write for a refused list"
    );

    let spellings = [HOST.to_string(), HOST.to_uppercase(), format!("{HOST}.")];
    let twenty: Vec<&str> = spellings
        .iter()
        .map(String::as_str)
        .cycle()
        .take(20)
        .collect();
    let q = format!("hostname={}&myip=81.2.69.1", twenty.join(","));
    let (status, text) = nic_update(&stack, auth, &q).await;
    assert_eq!(status, 200);
    assert_eq!(text.lines().collect::<Vec<_>>(), vec!["good 81.2.69.1"; 20]);
    assert_eq!(stack.record(HOST, "A").await, vec!["81.2.69.1"]);
}

#[tokio::test]
async fn route53_failure_is_911_and_503() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    // A zone id Route53 does not know: every write fails inside Route53, not in our checks.
    stack
        .put_config(&seed::config_document(
            "ZNOSUCHZONE0000",
            &[HostSeed::default()],
        ))
        .await;
    let (status, text) = nic_update(
        &stack,
        Some((HOST, seed::DYNDNS2_PASSWORD)),
        &format!("hostname={HOST}&myip=81.2.69.142"),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "911"));
    let (status, answer) = update(&stack, Some("81.2.69.142"), None).await;
    assert!(status >= 500, "{status} {answer}");
    assert!(
        answer["error"].as_str().unwrap().starts_with("dns_"),
        "{answer}"
    );
}

#[tokio::test]
async fn reference_protocol_is_opt_in_and_compatible() {
    let stack = Stack::start(&[
        loopback_host(HOST),
        HostSeed {
            hostname: "nolegacy.home.example.com".into(),
            legacy: false,
            allow_private: true,
            ..HostSeed::default()
        },
    ])
    .await;
    let post = |body: Value| {
        let req = stack
            .http
            .post(format!("{}/", stack.api))
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (status, text) = post(json!({"execution_mode": "get"})).await;
    assert_eq!(
        (status, text.as_str()),
        (
            200,
            r#"{"return_status": "success", "return_message": "127.0.0.1"}"#
        )
    );

    let hash = validation_hash("127.0.0.1", HOST, seed::SECRET);
    let set = json!({"execution_mode": "set", "ddns_hostname": HOST, "validation_hash": hash});
    let (status, text) = post(set.clone()).await;
    assert_eq!(status, 201, "{text}");
    assert!(text.contains("has been updated to 127.0.0.1"), "{text}");
    let (status, text) = post(set).await;
    assert_eq!(
        (status, text.as_str()),
        (
            200,
            r#"{"return_status": "success", "return_message": "Your IP address matches the current Route53 DNS record."}"#
        )
    );

    let before = stack.zone_snapshot().await;
    let wrong = validation_hash("127.0.0.1", HOST, "wrong-secret-wrong-secret");
    let (status, text) =
        post(json!({"execution_mode": "set", "ddns_hostname": HOST, "validation_hash": wrong}))
            .await;
    assert_eq!(
        (status, text.contains("Validation hashes do not match.")),
        (401, true),
        "{text}"
    );
    let not_opted = validation_hash("127.0.0.1", "nolegacy.home.example.com", seed::SECRET);
    let (status, _) = post(json!({"execution_mode": "set", "ddns_hostname": "nolegacy.home.example.com", "validation_hash": not_opted})).await;
    assert_eq!(status, 403, "a host that did not opt in is refused");
    let (status, _) =
        post(json!({"execution_mode": "set", "ddns_hostname": HOST, "validation_hash": "xyz"}))
            .await;
    assert_eq!(status, 400);
    assert_eq!(stack.zone_snapshot().await, before);

    // The older `?mode=` form always answers 200.
    let resp = stack
        .http
        .get(format!(
            "{}/?mode=set&hostname={HOST}&hash={wrong}",
            stack.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("\"fail\""));
    let resp = stack
        .http
        .get(format!("{}/?mode=get", stack.api))
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("127.0.0.1"));
}
