//! The handler fed the EventBridge scheduled event in `events/`, parsed the way the Lambda
//! runtime parses it, probing real local servers. The config document, the metric sinks and the
//! clock are fakes here: these tests are about the run (what is probed, judged, published and
//! summarised); PutMetricData itself is covered in `cloudwatch_faults.rs` and against moto.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use failberry_aws::{DocumentCache, DocumentError, DocumentSource, Fetched};
use failberry_ping::{
    Delivery, ErrorKind, MetricName, MetricSink, Ping, PingConfig, PingError, Prober, RunMetrics,
};
use failberry_proto::Clock;
use lambda_runtime::{Context, LambdaEvent};
use support::{answer, closed_port, http_server};

const SCHEDULE: &str = include_str!("../../../events/ping-schedule.json");

/// The accelerated clock of the local stack stands somewhere far from the wall clock.
const CLOCK: Duration = Duration::from_secs(1_900_000_000);

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + CLOCK
    }
}

/// Answers the scripted documents in turn, then the last one forever.
struct ScriptedDocs(Mutex<Vec<Result<Fetched, DocumentError>>>);

impl ScriptedDocs {
    fn new(docs: Vec<Result<String, DocumentError>>) -> Self {
        Self(Mutex::new(
            docs.into_iter()
                .enumerate()
                .map(|(i, d)| {
                    d.map(|text| Fetched::Document {
                        bytes: text.into_bytes(),
                        etag: format!("e{i}"),
                    })
                })
                .collect(),
        ))
    }
}

impl DocumentSource for ScriptedDocs {
    async fn fetch(&self, _: Option<&str>) -> Result<Fetched, DocumentError> {
        let mut docs = self.0.lock().unwrap();
        if docs.len() > 1 {
            docs.remove(0)
        } else {
            match &docs[0] {
                Ok(f) => Ok(f.clone()),
                Err(_) => Err(DocumentError::Unavailable("scripted".into())),
            }
        }
    }
}

#[derive(Default)]
struct FakeSink(Mutex<Vec<RunMetrics>>);

impl FakeSink {
    fn runs(&self) -> Vec<RunMetrics> {
        self.0.lock().unwrap().clone()
    }
}

impl MetricSink for FakeSink {
    async fn publish(&self, run: &RunMetrics, _deadline: Instant) -> Delivery {
        self.0.lock().unwrap().push(run.clone());
        Delivery {
            requests: 1,
            attempts: 1,
            datapoints: run.targets.iter().map(|t| t.datapoints()).sum(),
            ..Default::default()
        }
    }
}

type TestPing = Ping<ScriptedDocs, FakeSink, FakeSink, FixedClock>;

fn app(docs: Vec<Result<String, DocumentError>>) -> TestPing {
    Ping {
        config: DocumentCache::new(ScriptedDocs::new(docs), PingConfig::parse, Duration::ZERO),
        prober: Prober::default(),
        api: FakeSink::default(),
        emf: FakeSink::default(),
        clock: FixedClock,
    }
}

fn scheduled_event() -> LambdaEvent<CloudWatchEvent> {
    let payload: CloudWatchEvent = serde_json::from_slice(SCHEDULE.as_bytes())
        .expect("fixture parses as the runtime parses it");
    LambdaEvent::new(payload, Context::default())
}

fn doc(targets: &[(&str, String)], extra: &str) -> String {
    let list: Vec<String> = targets
        .iter()
        .map(|(name, url)| format!(r#"{{"name": "{name}", "url": "{url}", "timeout_ms": 2000}}"#))
        .collect();
    format!(r#"{{"targets": [{}]{extra}}}"#, list.join(","))
}

#[tokio::test]
async fn a_scheduled_event_probes_every_target_and_publishes_one_run() {
    let ok = http_server(answer(200, "ok")).await;
    let broken = http_server(answer(503, "down")).await;
    let closed = closed_port().await;
    let document = doc(
        &[
            ("site", ok.url("http")),
            ("broken", broken.url("http")),
            ("wired", format!("http://{closed}/")),
        ],
        "",
    )
    .replace(r#""name": "wired","#, r#""name": "wired", "link": true,"#);
    let app = app(vec![Ok(document)]);

    let summary = app
        .handle(scheduled_event())
        .await
        .expect("the run succeeds");

    assert_eq!((summary.up, summary.down), (1, 2));
    assert_eq!(
        summary.scheduled_time.as_deref(),
        Some("2015-10-08T16:53:06+00:00")
    );
    assert_eq!(
        summary.time, "2030-03-17T17:46:40Z",
        "the run's time is the injected clock's"
    );
    let errors: Vec<Option<ErrorKind>> = summary.targets.iter().map(|t| t.error).collect();
    assert_eq!(
        errors,
        vec![None, Some(ErrorKind::Status), Some(ErrorKind::Connect)]
    );

    let runs = app.api.runs();
    assert_eq!(runs.len(), 1, "one publication per run");
    assert!(app.emf.runs().is_empty(), "emit defaults to the API");
    let run = &runs[0];
    assert_eq!(
        run.timestamp,
        SystemTime::UNIX_EPOCH + CLOCK,
        "metrics follow the clock"
    );
    let by_name = |n: &str| run.targets.iter().find(|t| t.target == n);
    let published: Vec<&str> = run.targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(
        published,
        vec!["broken", "wired", "sites"],
        "the healthy site publishes nothing of its own (cheap defaults)"
    );
    let sites = by_name("sites").unwrap();
    assert_eq!(
        sites.availability,
        vec![1.0, 0.0],
        "the sites' up/down, folded into one aggregate"
    );
    let broken = by_name("broken").unwrap();
    assert_eq!(
        broken.status_code,
        vec![503.0],
        "an unexpected status is published"
    );
    assert!(
        broken.availability.is_empty() && broken.latency_ms.is_empty(),
        "no per-site availability nor latency without an opt-in"
    );
    let wired = by_name("wired").unwrap();
    assert_eq!(
        wired.availability,
        vec![0.0; failberry_failover::link::PROBES_PER_RUN],
        "a link's own availability, a sample per probe (a link's default count is the model's)"
    );
    assert!(
        wired.latency_ms.is_empty() && wired.status_code.is_empty(),
        "no response: no latency to drag the average down, no status"
    );
    assert!(wired.values(MetricName::CertDaysLeft).is_empty());
    assert!(
        summary.targets[1].latency_ms.is_some(),
        "the summary (the logs) keeps the latency nobody publishes"
    );

    let json = serde_json::to_value(&summary).unwrap();
    let wired = &json["targets"][2];
    assert_eq!(wired["name"], "wired");
    assert_eq!(wired["up"], false);
    assert_eq!(wired["error"], "connect");
    assert!(wired["phases"]["dns_ms"].is_null());
    assert!(json["targets"][0]["phases"]["first_byte_ms"].is_number());
    // The sites' two values, the broken status, and a value per probe of the link.
    let datapoints = 3 + failberry_failover::link::PROBES_PER_RUN;
    assert_eq!(json["metrics"]["datapoints"], datapoints);
}

#[tokio::test]
async fn emit_emf_sends_the_run_to_the_emf_sink() {
    let ok = http_server(answer(200, "ok")).await;
    let app = app(vec![Ok(doc(
        &[("site", ok.url("http"))],
        r#", "emit": "emf""#,
    ))]);
    let summary = app.handle(scheduled_event()).await.unwrap();
    assert_eq!(summary.emit, failberry_ping::Emit::Emf);
    assert_eq!((app.emf.runs().len(), app.api.runs().len()), (1, 0));
}

#[tokio::test]
async fn several_probes_make_one_datapoint_of_several_values() {
    let ok = http_server(answer(200, "ok")).await;
    let app = app(vec![Ok(format!(
        r#"{{"targets": [{{"name": "wired", "url": "{}", "probes": 3, "link": true}}]}}"#,
        ok.url("http")
    ))]);
    let summary = app.handle(scheduled_event()).await.unwrap();
    let t = &summary.targets[0];
    assert_eq!((t.up, t.availability, t.probes.len()), (true, 1.0, 3));
    assert_eq!(app.api.runs()[0].targets[0].availability, vec![1.0; 3]);
    assert_eq!(ok.requests(), 3);
}

#[tokio::test]
async fn a_malformed_or_partial_document_never_replaces_the_last_good_one() {
    let first = http_server(answer(200, "ok")).await;
    let second = http_server(answer(200, "ok")).await;
    let good = doc(&[("first", first.url("http"))], "");
    let cases = [
        ("truncated upload", good[..good.len() / 2].to_string()),
        (
            "unknown key",
            good.replacen("\"timeout_ms\"", "\"timeout\"", 1),
        ),
        (
            "invalid target",
            doc(&[("bad name", first.url("http"))], ""),
        ),
        ("not JSON", "<html>oops</html>".to_string()),
    ];
    for (name, bad) in &cases {
        assert!(
            PingConfig::parse(bad.as_bytes()).is_err(),
            "{name} is refused"
        );
    }
    let mut script = vec![Ok(good.clone())];
    script.extend(cases.iter().map(|(_, bad)| Ok(bad.clone())));
    script.push(Ok(doc(&[("second", second.url("http"))], "")));
    let app = app(script);

    let mut probed = Vec::new();
    for _ in 0..6 {
        let summary = app
            .handle(scheduled_event())
            .await
            .expect("a good document is cached");
        probed.push(summary.targets[0].name.clone());
    }
    assert_eq!(
        probed,
        vec!["first", "first", "first", "first", "first", "second"],
        "bad documents keep the last good targets; the next good one replaces them"
    );
    assert_eq!(first.requests(), 5);
}

#[tokio::test]
async fn without_any_good_document_the_invocation_fails_and_publishes_nothing() {
    let app = app(vec![Ok(r#"{"targets": [{"name": "wired"}]}"#.into())]);
    let err = app.handle(scheduled_event()).await.unwrap_err();
    assert!(
        matches!(err, PingError::Config(DocumentError::Invalid { .. })),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("targets[0] (\"wired\"): missing field `url`"),
        "{err}"
    );
    assert!(app.api.runs().is_empty());
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "PingConfigUnavailable");
}
