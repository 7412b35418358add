//! The ddns handler when AWS fails under it, through `aws-smithy-mocks` (moto cannot answer 5xx or
//! SlowDown on purpose): the config document's S3 read answered 500 or SlowDown, and Route53's
//! ChangeResourceRecordSets answered 5xx. The real `S3Documents` and `Route53Store` run over the
//! SDK clients, with the retry each has when deployed (the S3 client's standard retry, the store's
//! own jittered policy); only the replay marks are the in-memory fake, as they are not under test.
//! Each case checks what a caller is answered, that the retries stayed inside the function's
//! 10 s timeout (tokio's paused clock counts the back-off sleeps) and the one log line saying
//! what failed.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use failberry_aws::{DocumentCache, S3Documents};
use failberry_ddns::{Ddns, DdnsConfig, Route53Store};
use support::{FakeReplay, FixedClock, FIXTURE_TIME, HOSTS_DOC};

const UPDATE: &str = include_str!("../../../events/ddns-update.json");
/// The template's `Timeout` for the function (infra/template.yaml, Globals).
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The log lines written while a test runs, as JSON objects.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// The function's own lines at `level` (`ERROR`, `WARN`, ...). The SDK's are left out: over
    /// the mock HTTP client it logs an ERROR per retry that it has no connection to poison,
    /// which only the mock causes.
    fn at(&self, level: &str) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["level"] == level)
            .filter(|l| {
                l["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("failberry"))
            })
            .collect()
    }
}

fn s3_error(status: u16, code: &str) -> aws_sdk_s3::config::http::HttpResponse {
    let body = format!("<Error><Code>{code}</Code><Message>injected by the test</Message></Error>");
    aws_sdk_s3::config::http::HttpResponse::new(
        status.try_into().unwrap(),
        aws_sdk_s3::primitives::SdkBody::from(body),
    )
}

/// How many faults a mocked call answers before it succeeds.
#[derive(Clone, Copy)]
enum Faults {
    None,
    Then(usize),
    Lasting,
}

/// The config document's GetObject: `faults` answers of `status`/`code`, then the document.
fn config_reads(faults: Faults, status: u16, code: &'static str) -> Rule {
    let document = || {
        GetObjectOutput::builder()
            .body(ByteStream::from_static(HOSTS_DOC.as_bytes()))
            .e_tag("\"e1\"")
            .build()
    };
    match faults {
        Faults::None => mock!(aws_sdk_s3::Client::get_object).then_output(document),
        Faults::Then(n) => mock!(aws_sdk_s3::Client::get_object)
            .sequence()
            .http_response(move || s3_error(status, code))
            .times(n)
            .output(document)
            .repeatedly()
            .build(),
        Faults::Lasting => mock!(aws_sdk_s3::Client::get_object)
            .sequence()
            .http_response(move || s3_error(status, code))
            .repeatedly()
            .build(),
    }
}

/// The S3 client as `main` builds it: the SDK's standard retry (3 attempts, jittered exponential
/// back-off from 1 s), which the config read relies on.
fn s3(rule: &Rule) -> aws_sdk_s3::Client {
    mock_client!(aws_sdk_s3, RuleMode::Sequential, [rule], |c| c
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard()))
}

fn no_records() -> Rule {
    mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| {
        ListResourceRecordSetsOutput::builder()
            .set_resource_record_sets(Some(vec![]))
            .is_truncated(false)
            .max_items(4)
            .build()
            .unwrap()
    })
}

/// ChangeResourceRecordSets: `faults` answers of HTTP `status`, then accepted.
fn changes(faults: Faults, status: u16) -> Rule {
    let accepted = || {
        ChangeResourceRecordSetsOutput::builder()
            .change_info(
                ChangeInfo::builder()
                    .id("/change/C42")
                    .status(ChangeStatus::Pending)
                    .submitted_at(aws_sdk_route53::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let failure = move || {
        let body = "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>\
                    <Message>injected by the test</Message></Error></ErrorResponse>";
        aws_sdk_route53::config::http::HttpResponse::new(
            status.try_into().unwrap(),
            aws_sdk_s3::primitives::SdkBody::from(body),
        )
    };
    match faults {
        Faults::None => {
            mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(accepted)
        }
        Faults::Then(n) => mock!(aws_sdk_route53::Client::change_resource_record_sets)
            .sequence()
            .http_response(failure)
            .times(n)
            .output(accepted)
            .repeatedly()
            .build(),
        Faults::Lasting => mock!(aws_sdk_route53::Client::change_resource_record_sets)
            .sequence()
            .http_response(failure)
            .repeatedly()
            .build(),
    }
}

type App = Ddns<Route53Store, FakeReplay, S3Documents, FixedClock>;

fn app(s3_rule: &Rule, list: &Rule, change: &Rule) -> App {
    let route53 = mock_client!(aws_sdk_route53, RuleMode::MatchAny, [list, change]);
    Ddns {
        dns: Route53Store::new(route53),
        replay: FakeReplay::default(),
        config: DocumentCache::new(
            S3Documents::new(s3(s3_rule), "failberry-config", "ddns.json"),
            DdnsConfig::parse,
            Duration::from_secs(60),
        ),
        clock: FixedClock(FIXTURE_TIME + 10),
        report_log: Default::default(),
    }
}

/// The fixture's signed update, answered: status, JSON body, and the (paused) time it took.
async fn update(app: &App) -> (u16, serde_json::Value, Duration) {
    let started = tokio::time::Instant::now();
    let req = lambda_http::request::from_str(UPDATE).expect("the fixture parses");
    let resp = app.handle(req).await;
    let body = serde_json::from_slice(resp.body()).expect("a JSON answer");
    (resp.status().as_u16(), body, started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn config_read_5xx_and_slowdown_are_retried_through() {
    for (status, code) in [(500, "InternalError"), (503, "SlowDown")] {
        let logs = Captured::default();
        let _guard = logs.install();
        let (reads, list, change) = (
            config_reads(Faults::Then(2), status, code),
            no_records(),
            changes(Faults::None, 0),
        );
        let app = app(&reads, &list, &change);
        let (answer, body, took) = update(&app).await;
        assert_eq!(answer, 200, "{code}: {body}");
        assert_eq!(body["status"], "updated", "{code}");
        assert_eq!(
            reads.num_calls(),
            3,
            "{code}: two faults, then the document"
        );
        assert_eq!(change.num_calls(), 1, "{code}: one change written");
        assert!(took < FUNCTION_TIMEOUT, "{code}: retries took {took:?}");
        assert!(
            took > Duration::ZERO,
            "{code}: the retries waited (a jittered back-off, not a busy loop)"
        );
        assert!(
            logs.at("ERROR").is_empty(),
            "{code}: nothing failed in the end"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn lasting_config_slowdown_is_answered_503_config_unavailable() {
    let logs = Captured::default();
    let _guard = logs.install();
    let (reads, list, change) = (
        config_reads(Faults::Lasting, 503, "SlowDown"),
        no_records(),
        changes(Faults::None, 0),
    );
    let app = app(&reads, &list, &change);
    let (answer, body, took) = update(&app).await;
    assert_eq!(answer, 503, "{body}");
    assert_eq!(body["error"], "config_unavailable", "{body}");
    assert_eq!(reads.num_calls(), 3, "the SDK's standard retry: 3 attempts");
    assert_eq!(
        list.num_calls() + change.num_calls(),
        0,
        "no Route53 call without a config"
    );
    assert!(took < FUNCTION_TIMEOUT, "retries took {took:?}");
    let errors = logs.at("ERROR");
    assert_eq!(errors.len(), 1, "one line says what failed: {errors:?}");
    let line = errors[0]["fields"].to_string();
    assert!(
        line.contains("SlowDown"),
        "the line names the S3 error: {line}"
    );
}

#[tokio::test(start_paused = true)]
async fn route53_5xx_on_the_change_is_retried_through() {
    let logs = Captured::default();
    let _guard = logs.install();
    let (reads, list, change) = (
        config_reads(Faults::None, 0, ""),
        no_records(),
        changes(Faults::Then(2), 500),
    );
    let app = app(&reads, &list, &change);
    let (answer, body, took) = update(&app).await;
    assert_eq!(answer, 200, "{body}");
    assert_eq!(body["status"], "updated");
    assert_eq!(change.num_calls(), 3, "two 500s, then accepted");
    assert!(
        took > Duration::ZERO && took < FUNCTION_TIMEOUT,
        "took {took:?}"
    );
    assert!(logs.at("ERROR").is_empty());
}

#[tokio::test(start_paused = true)]
async fn lasting_route53_5xx_is_answered_503_dns_unavailable() {
    for status in [500, 503] {
        let logs = Captured::default();
        let _guard = logs.install();
        let (reads, list, change) = (
            config_reads(Faults::None, 0, ""),
            no_records(),
            changes(Faults::Lasting, status),
        );
        let app = app(&reads, &list, &change);
        let (answer, body, took) = update(&app).await;
        assert_eq!(answer, 503, "{status}: {body}");
        assert_eq!(body["error"], "dns_unavailable", "{status}: {body}");
        assert_eq!(
            change.num_calls(),
            4,
            "{status}: the store's policy, 4 attempts"
        );
        assert!(took < FUNCTION_TIMEOUT, "{status}: retries took {took:?}");
        let errors = logs.at("ERROR");
        assert_eq!(
            errors.len(),
            1,
            "{status}: one line says what failed: {errors:?}"
        );
        let line = errors[0]["fields"].to_string();
        assert!(
            line.contains("InternalFailure") && line.contains("after 4 attempts"),
            "{status}: the line names the error and the attempts: {line}"
        );
    }
}
