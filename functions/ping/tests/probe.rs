//! The probe against real sockets on 127.0.0.1: answers, refusals, hangs, TLS with a trusted and
//! an untrusted certificate, and the batch bound by the slowest target's own timeout.

mod support;

use std::time::{Duration, Instant};

use failberry_ping::{
    judge, probe_all, probe_start, ErrorKind, Observation, PingConfig, Prober, Target, Verdict,
};
use support::{answer, closed_port, http_server, https_server, unix_now, Reply, TestCa};

fn targets(json: &str) -> Vec<Target> {
    PingConfig::parse(format!(r#"{{"targets": [{json}]}}"#).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"))
        .targets
}

fn target(url: &str, extra: &str) -> Target {
    targets(&format!(r#"{{"name": "t", "url": "{url}"{extra}}}"#)).remove(0)
}

async fn probe(prober: &Prober, t: &Target) -> (Observation, Verdict) {
    let obs = prober.probe(t).await;
    let verdict = judge(t, &obs, unix_now());
    (obs, verdict)
}

#[tokio::test]
async fn a_200_answer_is_up_with_every_phase_timed() {
    let server = http_server(answer(200, "ok")).await;
    let t = target(
        &server.url("http"),
        r#", "headers": {"X-Probe": "failberry"}"#,
    );
    let (obs, v) = probe(&Prober::default(), &t).await;
    assert!(v.up, "{v:?} {obs:?}");
    assert_eq!(obs.status, Some(200));
    let p = obs.phases;
    assert_eq!(p.dns_ms, None, "an IP literal needs no lookup");
    assert_eq!(p.tls_ms, None, "plain http has no handshake");
    let (connect, first_byte, total) = (
        p.connect_ms.unwrap(),
        p.first_byte_ms.unwrap(),
        p.total_ms.unwrap(),
    );
    assert!(connect + first_byte <= total, "{p:?}");
    let request = server.last_request.lock().unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("get /health?x=1 http/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("host: {}\r\n", server.addr)),
        "{request}"
    );
    assert!(request.contains("x-probe: failberry\r\n"), "{request}");
    assert!(request.contains("user-agent: failberry-ping/"), "{request}");
}

#[tokio::test]
async fn a_name_is_resolved_and_the_lookup_timed() {
    let server = http_server(answer(204, "")).await;
    let t = target(&format!("http://localhost:{}/", server.addr.port()), "");
    let (obs, v) = probe(&Prober::default(), &t).await;
    assert!(v.up, "{v:?} {obs:?}");
    assert!(obs.phases.dns_ms.is_some(), "{obs:?}");
}

#[tokio::test]
async fn a_500_answer_is_a_status_error_that_still_has_a_latency() {
    let server = http_server(answer(500, "oops")).await;
    let t = target(&server.url("http"), "");
    let (obs, v) = probe(&Prober::default(), &t).await;
    assert_eq!(
        (v.up, v.error, obs.status),
        (false, Some(ErrorKind::Status), Some(500))
    );
    assert!(v.responded, "a response came, so its latency counts");
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let addr = closed_port().await;
    let t = target(&format!("http://{addr}/"), "");
    let (obs, v) = probe(&Prober::default(), &t).await;
    assert_eq!(v.error, Some(ErrorKind::Connect), "{obs:?}");
    assert!(!v.responded);
    assert!(obs.phases.first_byte_ms.is_none());
}

#[tokio::test]
async fn an_unresolvable_name_is_a_dns_error() {
    // `.invalid` never resolves (RFC 6761).
    let t = target("http://failberry-probe.invalid/", "");
    let (obs, v) = probe(&Prober::default(), &t).await;
    assert_eq!(v.error, Some(ErrorKind::Dns), "{obs:?}");
}

#[tokio::test]
async fn the_body_must_contain_the_expected_text() {
    let server = http_server(answer(200, "<html>under maintenance</html>")).await;
    let missing = target(
        &server.url("http"),
        r#", "body_contains": "all systems go""#,
    );
    let (_, v) = probe(&Prober::default(), &missing).await;
    assert_eq!(v.error, Some(ErrorKind::Body), "{v:?}");
    let found = target(&server.url("http"), r#", "body_contains": "maintenance""#);
    let (_, v) = probe(&Prober::default(), &found).await;
    assert!(v.up, "{v:?}");
}

#[tokio::test]
async fn a_target_that_never_answers_times_out_on_its_own_timeout() {
    let server = http_server(Reply::Hang).await;
    let t = target(&server.url("http"), r#", "timeout_ms": 300"#);
    let start = Instant::now();
    let (obs, v) = probe(&Prober::default(), &t).await;
    let took = start.elapsed();
    assert_eq!(v.error, Some(ErrorKind::Timeout), "{obs:?}");
    assert!(v.detail.unwrap().contains("waiting for the response"));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(600),
        "{took:?}"
    );
    assert_eq!(server.requests(), 1, "the request was sent");
}

#[tokio::test]
async fn hanging_targets_never_hold_the_batch_past_their_own_timeout() {
    let fast = http_server(answer(200, "ok")).await;
    let hang = http_server(Reply::Hang).await;
    let timeout = Duration::from_millis(1000);
    let list: Vec<String> = (0..50)
        .map(|i| {
            let server = if i % 5 == 0 { &hang } else { &fast };
            format!(
                r#"{{"name": "t{i}", "url": "{}", "timeout_ms": {}}}"#,
                server.url("http"),
                timeout.as_millis()
            )
        })
        .collect();
    let ts = targets(&list.join(","));
    let start = Instant::now();
    let observations = probe_all(&Prober::default(), &ts, 32).await;
    let took = start.elapsed();
    assert!(
        took >= timeout,
        "the hanging ones were waited for: {took:?}"
    );
    assert!(
        took < timeout.mul_f64(1.5),
        "the batch took {took:?} for a per-target timeout of {timeout:?}"
    );
    let now = unix_now();
    let kinds: Vec<Option<ErrorKind>> = ts
        .iter()
        .zip(&observations)
        .map(|(t, obs)| judge(t, &obs[0], now).error)
        .collect();
    assert_eq!(kinds.iter().filter(|k| k.is_none()).count(), 40);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(ErrorKind::Timeout))
            .count(),
        10
    );
    assert_eq!(
        kinds[5],
        Some(ErrorKind::Timeout),
        "results stay in config order"
    );
}

#[tokio::test]
async fn several_probes_per_target_each_make_a_request() {
    let server = http_server(answer(200, "ok")).await;
    let ts = targets(&format!(
        r#"{{"name": "wired", "url": "{}", "probes": 3}}"#,
        server.url("http")
    ));
    let observations = probe_all(&Prober::default(), &ts, 32).await;
    assert_eq!(observations[0].len(), 3);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn one_targets_probes_are_spread_across_the_run() {
    let server = http_server(answer(200, "ok")).await;
    let ts = targets(&format!(
        r#"{{"name": "wired", "url": "{}", "probes": 4}}"#,
        server.url("http")
    ));
    let spacing = Duration::from_millis(150);
    let start = Instant::now();
    let observations = probe_all(&Prober::default().with_spacing(spacing), &ts, 32).await;
    let took = start.elapsed();
    assert_eq!((observations[0].len(), server.requests()), (4, 4));
    // The last probe cannot start before three spacings: a lower bound, whatever the load.
    assert!(took >= spacing * 3, "{took:?}");
    assert_eq!(probe_start(3, spacing), spacing * 3);
    assert_eq!(probe_start(0, spacing), Duration::ZERO);
}

#[tokio::test]
async fn a_trusted_certificate_is_timed_and_its_days_counted() {
    let ca = TestCa::new();
    let cert = ca.issue(30);
    let server = https_server(answer(200, "secure"), &cert).await;
    let prober = Prober::new(ca.roots());
    let t = target(&server.url("https"), "");
    let (obs, v) = probe(&prober, &t).await;
    assert!(v.up, "{v:?} {obs:?}");
    assert!(obs.phases.tls_ms.is_some(), "{obs:?}");
    assert_eq!(
        obs.cert_not_after,
        Some(cert.not_after),
        "read from the peer certificate"
    );
    assert_eq!(v.cert_days_left, Some(30));

    let by_name = target(&format!("https://localhost:{}/", server.addr.port()), "");
    let (_, v) = probe(&prober, &by_name).await;
    assert!(v.up, "SNI and name check by DNS name: {v:?}");
}

#[tokio::test]
async fn a_certificate_closer_to_expiry_than_the_minimum_is_a_cert_error() {
    let ca = TestCa::new();
    let server = https_server(answer(200, "secure"), &ca.issue(10)).await;
    let t = target(&server.url("https"), r#", "min_cert_days": 14"#);
    let (_, v) = probe(&Prober::new(ca.roots()), &t).await;
    assert_eq!(
        (v.error, v.cert_days_left),
        (Some(ErrorKind::Cert), Some(10)),
        "{v:?}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let ca = TestCa::new();
    let server = https_server(answer(200, "secure"), &ca.issue(30)).await;
    let t = target(&server.url("https"), "");
    let (obs, v) = probe(&Prober::with_webpki_roots(), &t).await;
    assert_eq!(v.error, Some(ErrorKind::Tls), "{obs:?}");
    assert!(v.detail.unwrap().to_lowercase().contains("certificate"));
    assert_eq!(
        server.requests(),
        0,
        "nothing is sent over an untrusted connection"
    );
}
