//! HTTP client of the ddns API: `GET /v1/myip` and the signed `POST /v1/update`, the clock
//! offset learnt from the server's answers (a Pi has no real-time clock), and which failures are
//! worth retrying. Deciding when to call is `ddns`'s job; the wire types and signing are `proto`'s.
//! (Over 400 lines through its tests: the code is some 320 lines.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use failberry_proto::paths::{MYIP, UPDATE};
use failberry_proto::signing::check_timestamp;
use failberry_proto::{Clock, SystemClock};
use failberry_proto::{
    ErrorBody, ErrorCode, MyIpResponse, Signer, Stamps, UpdateRequest, UpdateResponse,
};
use reqwest::StatusCode;
use url::Url;

use crate::config::Device;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of an unreadable answer is quoted in an error.
const SNIPPET_CHARS: usize = 120;

/// Whether trying again later can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Network trouble, server trouble, throttling, a clock still off: back off and retry.
    Transient,
    /// The API refused the request as such (bad config, refused address): retrying the same
    /// request will not help, so retry only slowly.
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status} {code}: {message}")]
    Refused {
        url: String,
        status: u16,
        code: ErrorCode,
        message: String,
        /// The server's clock when it answered.
        server_time: i64,
        /// With `replayed_request`: the last change's timestamp the server holds.
        last_applied: Option<i64>,
    },
    #[error("{url} answered {status} with an unexpected body: {snippet:?}")]
    BadAnswer {
        url: String,
        status: u16,
        snippet: String,
    },
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Unreachable { .. } => ErrorClass::Transient,
            ApiError::Refused { status, code, .. } => classify(*status, Some(*code)),
            // A 200 that is not our JSON is usually a captive portal or a proxy in the way.
            ApiError::BadAnswer { status, .. } => classify(*status, None),
        }
    }
}

/// The retry class of an HTTP error answer (`code` is `None` when the body was not ours).
/// A replayed-request refusal of a genuine request means it arrived after a newer change (or
/// the clock was corrected backwards): signed again later, with the current time, it goes through.
pub fn classify(status: u16, code: Option<ErrorCode>) -> ErrorClass {
    match (status, code) {
        (401, Some(ErrorCode::StaleTimestamp))
        | (409, Some(ErrorCode::ReplayedRequest))
        | (429, _) => ErrorClass::Transient,
        (400..=499, _) => ErrorClass::Permanent,
        _ => ErrorClass::Transient,
    }
}

/// A signed update ready to send: the exact bytes that were signed and the headers that go with them.
#[derive(Debug, Clone)]
pub struct PreparedUpdate {
    pub url: Url,
    pub request: UpdateRequest,
    pub body: Vec<u8>,
    pub headers: [(&'static str, String); 2],
}

pub struct ApiClient {
    base: Url,
    signer: Signer,
    /// Bound to the interface asked for (if any) and to an IPv4 local address, so the API sees
    /// that link's IPv4 address whatever the default route.
    myip_http: reqwest::Client,
    /// Bound to the same interface (if any), any family.
    update_http: reqwest::Client,
    /// Server clock minus local clock, in seconds.
    offset: AtomicI64,
    /// Signed requests' timestamps, strictly increasing even across a clock correction.
    stamps: Stamps,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("signer", &self.signer)
            .field("offset", &self.offset)
            .finish()
    }
}

impl ApiClient {
    /// A client signing as `device`, its requests bound to `interface` (DDNS detection through
    /// the link it publishes) or, with `None`, leaving by the default route (reports and clips,
    /// which must get out over whichever link is up).
    pub fn new(device: &Device, interface: Option<&str>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base: device.api_url.clone(),
            signer: Signer::new(&device.hostname, device.secret.expose()),
            myip_http: http_client(interface, Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))?,
            update_http: http_client(interface, None)?,
            offset: AtomicI64::new(0),
            stamps: Stamps::new(),
        })
    }

    /// The device's name: the key id requests are signed with.
    pub fn device_name(&self) -> &str {
        self.signer.key_id()
    }

    /// Local clock plus the offset learnt from the server: the time requests are signed with.
    pub fn now(&self) -> i64 {
        SystemClock.unix_secs() + self.offset.load(Ordering::Relaxed)
    }

    fn learn_server_time(&self, server_time: i64) {
        let offset = server_time - SystemClock.unix_secs();
        let old = self.offset.swap(offset, Ordering::Relaxed);
        if (offset - old).abs() > 5 {
            tracing::info!(offset_secs = offset, "clock offset corrected");
        }
    }

    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path().trim_end_matches('/')));
        url
    }

    /// The caller's address as the API sees it, asked over IPv4 through the configured
    /// interface; also corrects the clock from the answer's `time`.
    pub async fn my_ip(&self) -> Result<IpAddr, ApiError> {
        let url = self.endpoint(MYIP);
        let answer = self.myip_http.get(url.clone()).send().await;
        let (status, body) = read(&url, answer).await?;
        if status != StatusCode::OK {
            return Err(error_answer(&url, status, &body));
        }
        let answer: MyIpResponse =
            serde_json::from_slice(&body).map_err(|_| bad_answer(&url, status, &body))?;
        self.learn_server_time(answer.time);
        Ok(answer.ip)
    }

    /// Builds and signs an update with a fresh nonce and the corrected clock.
    pub fn prepare_update(&self, ipv4: Option<Ipv4Addr>, ipv6: Option<Ipv6Addr>) -> PreparedUpdate {
        let request = UpdateRequest {
            hostname: self.signer.key_id().to_string(),
            ipv4,
            ipv6,
            timestamp: self.stamps.next(self.now()),
            nonce: new_nonce(),
        };
        let body = serde_json::to_vec(&request).expect("an update request always serialises");
        let headers = self.signer.headers("POST", UPDATE, &body);
        PreparedUpdate {
            url: self.endpoint(UPDATE),
            request,
            body,
            headers,
        }
    }

    /// Sends a signed update. A `stale_timestamp` refusal corrects the clock from the answer, a
    /// `replayed_request` one moves the next stamp past the change the server holds (another run
    /// of this client may have signed within the same second); either is retried once, freshly
    /// signed.
    pub async fn update(
        &self,
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
    ) -> Result<UpdateResponse, ApiError> {
        let first = self.send(self.prepare_update(ipv4, ipv6)).await;
        let Err(ApiError::Refused {
            code,
            server_time,
            last_applied,
            ..
        }) = &first
        else {
            return first;
        };
        match (code, last_applied) {
            (ErrorCode::StaleTimestamp, _) => {
                tracing::info!(
                    skew_secs = server_time - self.now(),
                    "clock off, retrying with the server's time"
                );
                self.learn_server_time(*server_time);
            }
            // Only a mark the server could have accepted: never jump the stamps far ahead.
            (ErrorCode::ReplayedRequest, Some(last))
                if check_timestamp(*last, *server_time).is_ok() =>
            {
                tracing::info!(
                    last_applied = last,
                    "a change at least as recent was already applied, signing past it"
                );
                self.stamps.next(*last);
            }
            _ => return first,
        }
        self.send(self.prepare_update(ipv4, ipv6)).await
    }

    /// Sends exactly the signed bytes.
    pub async fn send(&self, prepared: PreparedUpdate) -> Result<UpdateResponse, ApiError> {
        let url = prepared.url;
        let mut request = self
            .update_http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in prepared.headers {
            request = request.header(name, value);
        }
        let (status, body) = read(&url, request.body(prepared.body).send().await).await?;
        if status != StatusCode::OK {
            return Err(error_answer(&url, status, &body));
        }
        serde_json::from_slice(&body).map_err(|_| bad_answer(&url, status, &body))
    }
}

impl ApiClient {
    /// A signed request of the other Pi-facing routes (`/v1/clips*`): `make_body` builds the body
    /// from a fresh timestamp and nonce (ignored for a GET, which signs an empty body). Any 2xx
    /// answer is returned with its status; a `stale_timestamp` refusal corrects the clock and is
    /// retried once, freshly signed, as `update` does.
    pub async fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        make_body: impl Fn(i64, String) -> Vec<u8>,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let mut retried = false;
        loop {
            let body = if method == reqwest::Method::GET {
                Vec::new()
            } else {
                make_body(self.stamps.next(self.now()), new_nonce())
            };
            let url = self.endpoint(path);
            let headers = self.signer.headers(method.as_str(), path, &body);
            let mut request = self.update_http.request(method.clone(), url.clone());
            if !body.is_empty() {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let (status, answer) = read(&url, request.body(body).send().await).await?;
            if status.is_success() {
                return Ok((status.as_u16(), answer));
            }
            let error = error_answer(&url, status, &answer);
            match &error {
                ApiError::Refused {
                    code: ErrorCode::StaleTimestamp,
                    server_time,
                    ..
                } if !retried => {
                    self.learn_server_time(*server_time);
                    retried = true;
                }
                _ => return Err(error),
            }
        }
    }
}

fn http_client(
    interface: Option<&str>,
    local: Option<IpAddr>,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("failberry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT);
    if let Some(name) = interface {
        builder = builder.interface(name);
    }
    if let Some(addr) = local {
        builder = builder.local_address(addr);
    }
    builder.build()
}

async fn read(
    url: &Url,
    answer: Result<reqwest::Response, reqwest::Error>,
) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let unreachable = |e: reqwest::Error| ApiError::Unreachable {
        url: url.to_string(),
        // The URL is already in the message once.
        reason: error_chain(&e.without_url()),
    };
    let answer = answer.map_err(unreachable)?;
    let status = answer.status();
    let body = answer.bytes().await.map_err(unreachable)?;
    Ok((status, body.to_vec()))
}

fn error_answer(url: &Url, status: StatusCode, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => ApiError::Refused {
            url: url.to_string(),
            status: status.as_u16(),
            code: error.error,
            message: error.message,
            server_time: error.time,
            last_applied: error.last_applied,
        },
        Err(_) => bad_answer(url, status, body),
    }
}

fn bad_answer(url: &Url, status: StatusCode, body: &[u8]) -> ApiError {
    ApiError::BadAnswer {
        url: url.to_string(),
        status: status.as_u16(),
        snippet: String::from_utf8_lossy(body)
            .chars()
            .take(SNIPPET_CHARS)
            .collect(),
    }
}

/// `reqwest`'s top-level message hides the cause ("error sending request"): join the chain.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// 32 lowercase hex characters. Uniqueness is all a nonce needs; the signature gives the security.
pub fn new_nonce() -> String {
    format!("{:032x}", fastrand::u128(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes() {
        use ErrorCode::*;
        let cases = [
            (
                "stale clock",
                401,
                Some(StaleTimestamp),
                ErrorClass::Transient,
            ),
            (
                "bad signature",
                401,
                Some(BadSignature),
                ErrorClass::Permanent,
            ),
            (
                "host mismatch",
                403,
                Some(HostMismatch),
                ErrorClass::Permanent,
            ),
            (
                "refused address",
                403,
                Some(AddressNotPublic),
                ErrorClass::Permanent,
            ),
            (
                "malformed",
                400,
                Some(MalformedRequest),
                ErrorClass::Permanent,
            ),
            (
                "out of order",
                409,
                Some(ReplayedRequest),
                ErrorClass::Transient,
            ),
            ("unknown code", 409, Some(Unknown), ErrorClass::Permanent),
            ("wrong url", 404, None, ErrorClass::Permanent),
            ("throttled", 429, None, ErrorClass::Transient),
            (
                "route53 down",
                503,
                Some(DnsUnavailable),
                ErrorClass::Transient,
            ),
            ("gateway", 502, None, ErrorClass::Transient),
            ("portal 200", 200, None, ErrorClass::Transient),
        ];
        for (name, status, code, want) in cases {
            assert_eq!(classify(status, code), want, "{name}");
        }
    }

    #[test]
    fn stamps_only_move_forward_even_when_the_clock_is_set_back() {
        let device = Device {
            api_url: "http://127.0.0.1:9/".parse().unwrap(),
            hostname: "wireless.home.example.com".into(),
            secret: failberry_proto::Secret::new("0123456789abcdef0123"),
        };
        let client = ApiClient::new(&device, None).unwrap();
        let first = client.prepare_update(None, None).request.timestamp;
        let second = client.prepare_update(None, None).request.timestamp;
        assert!(second > first, "{first} then {second}");
        // The server says the local clock was two minutes fast.
        client.learn_server_time(SystemClock.unix_secs() - 120);
        let third = client.prepare_update(None, None).request.timestamp;
        assert!(third > second, "{second} then {third}");
    }

    #[test]
    fn nonces_have_the_contract_shape_and_differ() {
        let a = new_nonce();
        let b = new_nonce();
        assert_eq!(a.len(), 32);
        assert!(failberry_proto::update::valid_nonce(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn endpoints_keep_a_base_path() {
        let config = |url: &str| {
            let overrides = crate::config::Overrides {
                api_url: Some(url.into()),
                ddns: crate::cli::DdnsSettings {
                    hostname: Some("wireless.home.example.com".into()),
                    secret: Some("demo-secret-change-me-0123456789".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            Device::build(&Default::default(), &overrides).unwrap()
        };
        let cases = [
            (
                "root",
                "https://api.example.com",
                "https://api.example.com/v1/update",
            ),
            (
                "root slash",
                "https://api.example.com/",
                "https://api.example.com/v1/update",
            ),
            (
                "stage",
                "https://api.example.com/prod",
                "https://api.example.com/prod/v1/update",
            ),
            (
                "stage slash",
                "http://127.0.0.1:9/prod/",
                "http://127.0.0.1:9/prod/v1/update",
            ),
        ];
        for (name, base, want) in cases {
            let client = ApiClient::new(&config(base), None).unwrap();
            assert_eq!(client.endpoint(UPDATE).as_str(), want, "{name}");
        }
    }
}
