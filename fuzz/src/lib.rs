//! What the fuzz targets share: the ddns handler over in-memory fakes (the same `support` module
//! the ddns no-panic properties use) and a way to feed it one API Gateway event.

#[path = "../../functions/ddns/tests/support/mod.rs"]
pub mod support;

use std::sync::OnceLock;

pub use support::{event_json, FIXTURE_TIME, HOST, SECRET};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Parses `json` as the Lambda runtime parses an API Gateway event and, when it parses, hands it
/// to a fresh ddns handler; a server error is a finding (the fakes never fail).
///
/// lambda_http 1.3 panics on an event whose path or query string is not a valid URI (found by
/// these targets; `functions/ddns/tests/hostile_requests.rs` keeps it as a test): that panic is
/// caught here and skipped, so the targets reach our code; every other panic is a crash.
pub fn handle_event(json: &str) {
    let parsed = std::panic::catch_unwind(|| lambda_http::request::from_str(json));
    let Ok(Ok(request)) = parsed else {
        return;
    };
    let app = support::app(FIXTURE_TIME + 5);
    let response = runtime().block_on(app.handle(request));
    assert!(
        response.status().as_u16() < 500,
        "server error {} for {json}",
        response.status()
    );
}

/// For targets that go through [`handle_event`]: a panic hook that stays silent, so the known
/// lambda_http panic can be caught (libFuzzer's own hook aborts before anything can catch). A
/// panic nobody catches still reaches libFuzzer's harness, which aborts: a crash.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// Splits fuzz input into `n` text fields at NUL bytes (missing ones are empty).
pub fn fields<const N: usize>(data: &[u8]) -> [String; N] {
    let mut parts = data.splitn(N, |b| *b == 0);
    std::array::from_fn(|_| String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned())
}
