//! `failberry health serve`: the HTTP endpoint the ping function probes. HTTP/1.1 through hyper.
//! This module owns the listener and the connections and their bounds: how many at once, how
//! long a request head may take (which also bounds idle keep-alive), how long a write may stall,
//! how large a head may be. The answers are `routes`', the status document is `status`'.
//!
//! Nothing is logged per request or per connection (the endpoint is probed every minute and
//! benchmarked): one line at start, one at stop, and server-side trouble once until it recovers.
//!
//! Threads work the way nginx's workers do: the thread that accepts serves its share of the
//! connections, and each other thread runs its own single-threaded runtime with the connections
//! handed to it; a connection stays on its thread for life. No work stealing, no cross-thread
//! wake-ups per request: under `make bench`'s wrk load this took the endpoint from 0.97× to
//! 1.07× nginx's requests per second against tokio's multi-threaded scheduler on two threads.

pub mod deadline;
pub mod routes;
pub mod status;
mod workers;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tracing::{debug, error, info, warn};

use self::deadline::WriteDeadline;
use self::status::StatusSource;
use self::workers::Workers;
use crate::config::HealthConfig;
use crate::warnings::Warnings;

/// Request heads (request line and headers) longer than this get `431` and the connection closes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
// It is also the read buffer's cap, and hyper refuses caps below 8 KiB.
const _: () = assert!(MAX_HEADER_BYTES >= 8192);
/// How long shutdown waits for open connections to finish the response they are writing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after an accept failure such as running out of file descriptors, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// File descriptors kept beyond the connections: listener, stdio, the files `/status` reads.
const SPARE_FDS: u64 = 64;
/// Pending connections the kernel queues for us (capped by `net.core.somaxconn`).
const BACKLOG: u32 = 4096;

const LIMIT_REACHED: &str = "connection limit reached";
const ACCEPT_FAILED: &str = "accept failed";

/// What the server runs on: its limits, the status source and the HTTP settings, built once.
pub struct Endpoint {
    /// Threads serving connections, the accepting one included.
    threads: usize,
    max_connections: usize,
    header_timeout: Duration,
    write_timeout: Duration,
    status: StatusSource,
    http: http1::Builder,
}

impl Endpoint {
    pub fn new(config: &HealthConfig) -> Self {
        Self::with_status(config, StatusSource::new(config))
    }

    /// With a chosen status source (the tests point it at a fake `/sys/class/net`).
    pub fn with_status(config: &HealthConfig, status: StatusSource) -> Self {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .max_header_size(MAX_HEADER_BYTES)
            .max_buf_size(MAX_HEADER_BYTES)
            .max_headers(64)
            .half_close(false)
            .keep_alive(true);
        Self {
            // Two at most: wrk on two cores saw about 1.4× the requests per second of one thread,
            // and a ping target needs no more.
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
            write_timeout: config.write_timeout,
            status,
            http,
        }
    }

    /// Serves on `threads` threads (at least one: the accepting thread).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }
}

/// Binds the configured address and serves until `shutdown` completes.
pub async fn run(config: &HealthConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let wanted = config.max_connections as u64 + SPARE_FDS;
    let fd_limit = raise_fd_limit(wanted);
    if fd_limit.is_some_and(|limit| limit < wanted) {
        warn!(
            fd_limit = fd_limit.unwrap_or_default(),
            max_connections = config.max_connections,
            "the open-file limit is below the connection limit; raise LimitNOFILE"
        );
    }
    let listener =
        bind(config.listen).with_context(|| format!("listening on {}", config.listen))?;
    serve(listener, Endpoint::new(config), shutdown).await;
    Ok(())
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Raises the soft open-file limit towards `wanted` (never above the hard limit) and returns
/// the soft limit now in force; `None` means unlimited.
pub fn raise_fd_limit(wanted: u64) -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    if current >= wanted {
        return Some(current);
    }
    let target = limit.maximum.map_or(wanted, |maximum| maximum.min(wanted));
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(target),
        Err(_) => Some(current),
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting, lets open
/// connections finish their current response (idle ones close at once) and returns.
///
/// At the connection limit it stops accepting: new connections wait in the kernel's queue until
/// one closes.
pub async fn serve(listener: TcpListener, endpoint: Endpoint, shutdown: impl Future<Output = ()>) {
    let endpoint = Arc::new(endpoint);
    let mut workers = match Workers::start(endpoint.threads - 1) {
        Ok(workers) => workers,
        Err(e) => {
            warn!(error = %e, "could not start worker threads; serving on this thread alone");
            Workers::none()
        }
    };
    let max = endpoint.max_connections;
    let permits = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(());
    let mut warnings = Warnings::default();
    info!(
        listen = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        max_connections = max,
        header_timeout_ms = endpoint.header_timeout.as_millis() as u64,
        write_timeout_ms = endpoint.write_timeout.as_millis() as u64,
        max_header_bytes = MAX_HEADER_BYTES,
        threads = workers.threads(),
        links = ?endpoint.status.links(),
        "health endpoint listening"
    );
    tokio::pin!(shutdown);
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => {
                if warnings.raise(LIMIT_REACHED) {
                    warn!(
                        max_connections = max,
                        "connection limit reached; new connections wait"
                    );
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        // Said once the load has really gone down, not every time one slot frees.
        if warnings.is_active(LIMIT_REACHED) && permits.available_permits() >= (max / 10).max(1) {
            warnings.clear(LIMIT_REACHED);
            info!(max_connections = max, "below the connection limit again");
        }
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if warnings.clear(ACCEPT_FAILED) {
                        info!("accepting connections again");
                    }
                    stream
                }
                Err(e) if is_per_connection(&e) => {
                    debug!(error = %e, "a connection went away before it was accepted");
                    continue;
                }
                Err(e) => {
                    if warnings.raise(ACCEPT_FAILED) {
                        error!(error = %e, "accepting connections failed; retrying");
                    }
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let (endpoint, stopped) = (endpoint.clone(), stopped.clone());
        workers.dispatch(stream, move |stream| {
            connection(stream, endpoint, permit, stopped)
        });
    }
    drop(listener);
    let _ = stop.send(());
    drop(stopped);
    // Every connection holds a permit until it ends: all of them back means all closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all)).await;
    match drained {
        Ok(_) => info!("health endpoint stopped"),
        Err(_) => warn!(
            open = max.saturating_sub(permits.available_permits()),
            "health endpoint stopped; connections still open are dropped"
        ),
    };
    workers.stop();
}

/// Accept errors that concern one connection only, not the server.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// One connection, holding its permit until it ends.
async fn connection(
    stream: TcpStream,
    endpoint: Arc<Endpoint>,
    _permit: OwnedSemaphorePermit,
    mut stopped: watch::Receiver<()>,
) {
    // Until its first bytes arrive a connection holds only its socket and this small task, no
    // buffer: thousands of idle connections stay cheap. Those bytes must come within the header
    // timeout, like every later request head (hyper's timer takes over from there). A peek,
    // not `readable()`: tokio assumes a freshly accepted socket readable, a peek finds out.
    let mut probe = [0u8; 1];
    tokio::select! {
        peeked = tokio::time::timeout(endpoint.header_timeout, stream.peek(&mut probe)) => {
            // Closed (0 bytes), failed or timed out: nothing to answer.
            if !matches!(peeked, Ok(Ok(1..))) {
                return;
            }
        }
        _ = stopped.changed() => return,
    }
    // Boxed, so that the size of hyper's connection state is only paid by connections that talk.
    Box::pin(http(stream, &endpoint, stopped)).await;
}

async fn http(stream: TcpStream, endpoint: &Endpoint, mut stopped: watch::Receiver<()>) {
    // Answers are small and written at once; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(WriteDeadline::new(stream, endpoint.write_timeout));
    let service = service_fn(|request| {
        std::future::ready(Ok::<_, Infallible>(routes::respond(
            &request,
            &endpoint.status,
        )))
    });
    let conn = endpoint.http.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Malformed requests, timeouts and resets are the client's business, and an attacker
        // could make them as often as they like: not worth a log line at the default level.
        debug!(error = %e, "connection closed with an error");
    }
}
