//! One HTTP probe, timed phase by phase: DNS, TCP connect, TLS handshake, first byte, total.
//! An HTTP client library would hide the phases, so the probe is built from tokio's resolver and
//! sockets, rustls and hyper's connection-level HTTP/1 client. It records what it saw in an
//! `Observation` and never judges it: whether the target is up is `verdict`'s decision.
//! `probe_all` runs a whole batch, bounded in concurrency, each probe within its own timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONNECTION, HOST, USER_AGENT};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::RootCertStore;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use url::Host;

use crate::config::{Target, BODY_CAP};

const AGENT: &str = concat!("failberry-ping/", env!("CARGO_PKG_VERSION"));

/// Milliseconds spent in each phase (not cumulative); `None` when the phase did not happen: no
/// DNS for an IP literal, no TLS for `http`, nothing after a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Phases {
    pub dns_ms: Option<f64>,
    pub connect_ms: Option<f64>,
    pub tls_ms: Option<f64>,
    /// From the request being written to the response head read: the server's own time.
    pub first_byte_ms: Option<f64>,
    /// From the start to the end of the (capped) body, or to the failure.
    pub total_ms: Option<f64>,
}

/// Where a probe was when it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Dns,
    Connect,
    Tls,
    /// Request sent, waiting for the response head.
    Response,
    Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Failed { stage: Stage, detail: String },
    TimedOut { stage: Stage, after: Duration },
}

/// What one probe saw, unjudged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub phases: Phases,
    pub status: Option<u16>,
    /// The first `BODY_CAP` bytes, kept only when the target checks the body.
    pub body: Option<Vec<u8>>,
    /// The server certificate's notAfter, in Unix seconds (https only).
    pub cert_not_after: Option<i64>,
    pub failure: Option<Failure>,
    /// The stage reached; on a timeout, the one that was in progress.
    pub stage: Stage,
}

/// Runs probes. Holds the TLS configuration (built once: its trust roots are injectable so tests
/// can trust their own certificate authority) and the spacing of one target's probes.
#[derive(Clone)]
pub struct Prober {
    tls: TlsConnector,
    spacing: Duration,
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober").finish_non_exhaustive()
    }
}

impl Default for Prober {
    fn default() -> Self {
        Self::with_webpki_roots()
    }
}

impl Prober {
    /// Trusts exactly `roots`.
    pub fn new(roots: RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            tls: TlsConnector::from(Arc::new(config)),
            spacing: Duration::from_millis(failberry_failover::link::PROBE_SPACING_MS),
        }
    }

    /// Starts one target's probes `spacing` apart instead of the link model's
    /// [`failberry_failover::link::PROBE_SPACING_MS`] (zero: all at once).
    pub fn with_spacing(mut self, spacing: Duration) -> Self {
        self.spacing = spacing;
        self
    }

    /// Trusts the Mozilla root programme (compiled in: no CA bundle is needed in the Lambda).
    pub fn with_webpki_roots() -> Self {
        Self::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }

    /// Probes `target` once. Never takes longer than the target's timeout (plus scheduling).
    pub async fn probe(&self, target: &Target) -> Observation {
        let mut obs = Observation::default();
        let start = Instant::now();
        let outcome = tokio::time::timeout(target.timeout, self.exchange(target, &mut obs)).await;
        obs.failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(failure)) => Some(failure),
            Err(_) => Some(Failure::TimedOut {
                stage: obs.stage,
                after: target.timeout,
            }),
        };
        obs.phases.total_ms = Some(ms(start.elapsed()));
        obs
    }

    async fn exchange(&self, target: &Target, obs: &mut Observation) -> Result<(), Failure> {
        let failed = |stage: Stage, detail: String| Failure::Failed { stage, detail };
        let url = &target.url;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| failed(Stage::Dns, "no port".into()))?;
        let host = url
            .host()
            .ok_or_else(|| failed(Stage::Dns, "no host".into()))?;

        obs.stage = Stage::Dns;
        let addrs: Vec<SocketAddr> = match &host {
            Host::Ipv4(ip) => vec![SocketAddr::new((*ip).into(), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new((*ip).into(), port)],
            Host::Domain(name) => {
                let t = Instant::now();
                let found = tokio::net::lookup_host((*name, port))
                    .await
                    .map_err(|e| failed(Stage::Dns, format!("{name}: {e}")))?
                    .collect::<Vec<_>>();
                obs.phases.dns_ms = Some(ms(t.elapsed()));
                if found.is_empty() {
                    return Err(failed(Stage::Dns, format!("{name}: no address")));
                }
                found
            }
        };

        obs.stage = Stage::Connect;
        let t = Instant::now();
        let tcp = connect_any(&addrs)
            .await
            .map_err(|e| failed(Stage::Connect, e))?;
        obs.phases.connect_ms = Some(ms(t.elapsed()));
        // A probe is one small request: send it without waiting for Nagle.
        let _ = tcp.set_nodelay(true);

        if target.is_https() {
            obs.stage = Stage::Tls;
            let name = match &host {
                Host::Domain(d) => ServerName::try_from(d.to_string())
                    .map_err(|e| failed(Stage::Tls, format!("{d}: {e}")))?,
                Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(*ip).into()),
                Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(*ip).into()),
            };
            let t = Instant::now();
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| failed(Stage::Tls, e.to_string()))?;
            obs.phases.tls_ms = Some(ms(t.elapsed()));
            obs.cert_not_after = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| not_after(leaf.as_ref()));
            http_exchange(tls, target, obs).await
        } else {
            http_exchange(tcp, target, obs).await
        }
    }
}

/// Runs every probe of every target, at most `concurrency` at once, each within its own
/// target's timeout; a target's probes start the prober's spacing apart (see [`probe_start`]).
/// Returns the observations per target, in config order.
pub async fn probe_all(
    prober: &Prober,
    targets: &[Target],
    concurrency: usize,
) -> Vec<Vec<Observation>> {
    let spacing = prober.spacing;
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, target) in targets.iter().enumerate() {
        let target = Arc::new(target.clone());
        for p in 0..target.probes as usize {
            let (permits, prober, target) = (permits.clone(), prober.clone(), target.clone());
            set.spawn(async move {
                tokio::time::sleep(probe_start(p, spacing)).await;
                let _permit = permits.acquire_owned().await;
                (i, p, prober.probe(&target).await)
            });
        }
    }
    let mut out: Vec<Vec<Option<Observation>>> = targets
        .iter()
        .map(|t| vec![None; t.probes as usize])
        .collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, p, obs)) => out[i][p] = Some(obs),
            Err(e) => tracing::error!(error = %e, "a probe task failed"),
        }
    }
    out.into_iter()
        .map(|probes| {
            probes
                .into_iter()
                .map(|o| {
                    o.unwrap_or_else(|| Observation {
                        failure: Some(Failure::Failed {
                            stage: Stage::Response,
                            detail: "the probe task failed".into(),
                        }),
                        stage: Stage::Response,
                        ..Default::default()
                    })
                })
                .collect()
        })
        .collect()
}

/// When the `index`-th probe of a target starts, after the run's start: the probes of one target
/// are spread so that one short moment of loss (a dropped burst, a busy radio) cannot take them
/// all, which the link alarm's flap arithmetic assumes (`failberry_failover::link`).
pub fn probe_start(index: usize, spacing: Duration) -> Duration {
    spacing.saturating_mul(u32::try_from(index).unwrap_or(u32::MAX))
}

/// Tries each address in turn (a name may resolve to an IPv6 address the host cannot reach).
async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// The certificate's notAfter in Unix seconds.
fn not_after(der: &[u8]) -> Option<i64> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert.validity().not_after.timestamp())
}

/// Aborts the spawned connection driver when the probe ends, including on a timeout.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn http_exchange<S>(stream: S, target: &Target, obs: &mut Observation) -> Result<(), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let failed = |stage: Stage, detail: String| Failure::Failed { stage, detail };
    obs.stage = Stage::Response;
    let request = build_request(target).map_err(|e| failed(Stage::Response, e))?;
    let t = Instant::now();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(Stage::Response, e.to_string()))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed(Stage::Response, format!("no HTTP response: {e}")))?;
    obs.phases.first_byte_ms = Some(ms(t.elapsed()));
    obs.status = Some(response.status().as_u16());

    obs.stage = Stage::Body;
    let keep = target.body_contains.is_some();
    let mut body = response.into_body();
    let mut kept = Vec::new();
    let mut read = 0usize;
    while read < BODY_CAP {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Err(failed(Stage::Body, e.to_string())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(BODY_CAP - read);
                    read += data.len();
                    if keep {
                        kept.extend_from_slice(&data[..take]);
                    }
                }
            }
        }
    }
    if keep {
        obs.body = Some(kept);
    }
    Ok(())
}

fn build_request(target: &Target) -> Result<Request<Empty<Bytes>>, String> {
    let url = &target.url;
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut request = Request::builder()
        .method(target.method.clone())
        .uri(path)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    headers.insert(
        HOST,
        HeaderValue::from_str(&host).map_err(|e| e.to_string())?,
    );
    headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    for (name, value) in &target.headers {
        headers.insert(name.clone(), value.clone());
    }
    Ok(request)
}

/// Milliseconds with microsecond precision.
pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
