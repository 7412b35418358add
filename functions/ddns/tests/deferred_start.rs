//! The handler while its AWS stores are still being built (`DeferredDdns`, what `main` runs): an
//! answer that needs no AWS call is given at once, one that does waits for the stores and is then
//! the same as with stores built up front. The stores are the in-memory fakes of `support`: what
//! is under test is who waits, not the AWS calls (`handler_faults.rs` and the moto suites).

mod support;

use std::time::Duration;

use failberry_aws::{Deferred, DocumentCache};
use failberry_ddns::{Ddns, DdnsConfig};
use support::{FakeDns, FakeDocs, FakeReplay, FixedClock, FIXTURE_TIME, HOSTS_DOC};
use tokio::sync::oneshot;

const MYIP: &str = include_str!("../../../events/ddns-myip.json");
const UPDATE: &str = include_str!("../../../events/ddns-update.json");

type App = Ddns<Deferred<FakeDns>, Deferred<FakeReplay>, Deferred<FakeDocs>, FixedClock>;

/// The handler over stores that are built only when `built` fires.
fn app() -> (App, oneshot::Sender<()>) {
    let (built, wait) = oneshot::channel::<()>();
    let gate = std::sync::Arc::new(Deferred::lazy(async move {
        let _ = wait.await;
    }));
    let app = Ddns {
        dns: Deferred::after(&gate, |_| FakeDns::default()),
        replay: Deferred::after(&gate, |_| FakeReplay::default()),
        config: DocumentCache::new(
            Deferred::after(&gate, |_| FakeDocs(HOSTS_DOC.as_bytes().to_vec())),
            DdnsConfig::parse,
            Duration::from_secs(60),
        ),
        clock: FixedClock(FIXTURE_TIME + 10),
        report_log: Default::default(),
    };
    (app, built)
}

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).expect("the fixture parses")
}

#[tokio::test(start_paused = true)]
async fn myip_is_answered_before_the_stores_are_built() {
    let (app, _built) = app();
    let resp = tokio::time::timeout(Duration::from_secs(1), app.handle(event(MYIP)))
        .await
        .expect("answered without waiting for the stores");
    assert_eq!(resp.status(), 200);
    assert!(!app.dns.is_ready() && !app.config.source().is_ready());
}

#[tokio::test(start_paused = true)]
async fn an_update_waits_for_the_stores_then_updates() {
    let (app, built) = app();
    let update = app.handle(event(UPDATE));
    tokio::pin!(update);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut update)
            .await
            .is_err(),
        "an update cannot be answered before the stores exist"
    );
    built.send(()).unwrap();
    let resp = update.await;
    let body = String::from_utf8(resp.body().to_vec()).unwrap();
    assert_eq!(resp.status(), 200, "{body}");
    assert!(body.contains("\"updated\""), "{body}");
    assert_eq!(app.dns.get().await.upserts.lock().unwrap().len(), 1);
}
