//! `health serve` over real sockets on 127.0.0.1, port 0: the answers, the refusals, and the
//! bounds (head size, head timeout, connection limit, many idle connections, shutdown). Raw
//! bytes on purpose: a client library would refuse to send the malformed requests tested here.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use failberry::config::{HealthConfig, Overrides, RawConfig};
use failberry::health::status::StatusSource;
use failberry::health::{self, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SECRET: &str = "demo-secret-change-me-0123456789";
const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nHost: pi\r\n\r\n";
/// How long a test waits for something that should happen (generous: CI machines are slow).
const PATIENCE: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    dir: tempfile::TempDir,
}

impl Server {
    /// Stops the server and waits for `serve` to return.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve did not panic");
    }
}

/// A config file as the owner would write it, secret included: `/status` must not show it.
fn config(dir: &Path) -> HealthConfig {
    let text = format!(
        r#"
[api]
url = "https://abc.execute-api.eu-west-1.amazonaws.com"
[ddns]
hostname = "wireless.home.example.com"
secret = "{SECRET}"
state_file = "{}"
[health]
listen = "127.0.0.1:0"
links = {{ wired = "eth0", wireless = "wwan0", lte = "ppp0", spare = "usb0" }}
"#,
        dir.join("ddns-state.json").display()
    );
    let raw = RawConfig::parse(&text, Path::new("test.toml")).expect("valid toml");
    HealthConfig::build(raw, &Overrides::default()).expect("valid config")
}

async fn start(tune: impl FnOnce(&mut HealthConfig)) -> Server {
    start_on(None, tune).await
}

/// `threads`: how many threads serve (`None`: the endpoint's default for this machine).
async fn start_on(threads: Option<usize>, tune: impl FnOnce(&mut HealthConfig)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys-class-net");
    for (interface, state, flags) in [
        ("eth0", "up\n", "0x1003\n"),
        ("wwan0", "lowerlayerdown\n", "0x1003\n"),
        ("ppp0", "unknown\n", "0x10d1\n"),
    ] {
        std::fs::create_dir_all(sys.join(interface)).unwrap();
        std::fs::write(sys.join(interface).join("operstate"), state).unwrap();
        std::fs::write(sys.join(interface).join("flags"), flags).unwrap();
    }
    let mut config = config(dir.path());
    tune(&mut config);
    let status = StatusSource::new(&config).with_sys_class_net(&sys);
    let mut endpoint = Endpoint::with_status(&config, status);
    if let Some(threads) = threads {
        endpoint = endpoint.with_threads(threads);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(health::serve(listener, endpoint, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
        dir,
    }
}

/// One HTTP response read off a connection that may stay open.
#[derive(Debug)]
struct Answer {
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in {:?}", self.head))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A raw HTTP/1.1 client connection that keeps what it read past one answer (pipelining).
struct Client {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            pending: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one answer: the head, then `content-length` bytes (none after a HEAD request).
    async fn answer(&mut self, head_request: bool) -> Answer {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                let mut answer = Answer {
                    head,
                    body: Vec::new(),
                };
                let length = match answer.header("content-length") {
                    Some(_) if head_request => 0,
                    Some(v) => v.parse().unwrap(),
                    None => 0,
                };
                while self.pending.len() < end + 4 + length {
                    let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                        .await
                        .expect("body in time")
                        .expect("readable");
                    assert!(n > 0, "closed mid-body: {answer:?}");
                    self.pending.extend_from_slice(&chunk[..n]);
                }
                answer.body = self.pending[end + 4..end + 4 + length].to_vec();
                self.pending.drain(..end + 4 + length);
                return answer;
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .expect("an answer in time")
                .expect("readable");
            assert!(n > 0, "closed before a full head: {:?}", self.pending);
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Sends one request on a new connection and reads the answer.
async fn ask(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut client = Client::connect(addr).await;
    client.send(request).await;
    client.answer(request.starts_with(b"HEAD")).await
}

/// Reads until the server closes (a reset counts as closed) and returns what came.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    patience: Duration,
) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(patience, stream.read(&mut chunk)).await {
            Err(_) => panic!("still open after {patience:?}, got {got:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

/// True when nothing arrives on the stream for `wait`.
async fn silent_for(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut chunk = [0u8; 64];
    tokio::time::timeout(wait, stream.read(&mut chunk))
        .await
        .is_err()
}

#[tokio::test]
async fn get_root_is_200_ok() {
    let server = start(|_| {}).await;
    let answer = ask(server.addr, GET_ROOT).await;
    assert_eq!(answer.status(), 200, "{answer:?}");
    assert_eq!(answer.body, b"ok\n");
    assert_eq!(answer.header("content-type"), Some("text/plain"));
    server.stop().await;
}

#[tokio::test]
async fn head_root_is_200_without_a_body_and_the_connection_stays_usable() {
    let server = start(|_| {}).await;
    let mut client = Client::connect(server.addr).await;
    client.send(b"HEAD / HTTP/1.1\r\nHost: pi\r\n\r\n").await;
    let answer = client.answer(true).await;
    assert_eq!(answer.status(), 200, "{answer:?}");
    assert_eq!(answer.header("content-length"), Some("3"));
    assert!(answer.body.is_empty(), "HEAD has no body: {answer:?}");
    // Had a body been sent, it would now be read as the start of the next answer.
    client.send(GET_ROOT).await;
    let answer = client.answer(false).await;
    assert_eq!(answer.status(), 200, "{answer:?}");
    assert_eq!(answer.body, b"ok\n");
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let server = start(|_| {}).await;
    let cases: [(&str, &[u8], u16); 7] = [
        (
            "unknown path",
            b"GET /admin HTTP/1.1\r\nHost: pi\r\n\r\n",
            404,
        ),
        (
            "favicon",
            b"GET /favicon.ico HTTP/1.1\r\nHost: pi\r\n\r\n",
            404,
        ),
        ("http/1.0", b"GET /nope HTTP/1.0\r\n\r\n", 404),
        // Found by `make fuzz` (health_request): a path without its slash and a host of 0xff
        // bytes, in HTTP/1.0: answered 404 in HTTP/1.0, and the server serves on.
        (
            "fuzz: http/1.0, bare path, binary host",
            b"GET 3 HTTP/1.0\r\nhost: \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffx*\r\n\r\n",
            404,
        ),
        (
            "post",
            b"POST / HTTP/1.1\r\nHost: pi\r\nContent-Length: 0\r\n\r\n",
            405,
        ),
        (
            "put status",
            b"PUT /status HTTP/1.1\r\nHost: pi\r\n\r\n",
            405,
        ),
        ("options", b"OPTIONS * HTTP/1.1\r\nHost: pi\r\n\r\n", 405),
    ];
    for (name, request, want) in cases {
        let answer = ask(server.addr, request).await;
        assert_eq!(answer.status(), want, "{name}: {answer:?}");
        // Answered in the request's own version.
        let version = if name.contains("http/1.0") {
            "HTTP/1.0 "
        } else {
            "HTTP/1.1 "
        };
        assert!(answer.head.starts_with(version), "{name}: {answer:?}");
        if want == 405 {
            assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{name}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_with_a_body_is_refused_and_its_connection_closed() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: pi\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let got = read_until_closed(&mut stream, PATIENCE).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 413 "), "{got:?}");
    server.stop().await;
}

#[tokio::test]
async fn status_reports_links_and_the_last_ddns_update_and_no_secret() {
    let server = start(|_| {}).await;
    let state = serde_json::json!({
        "hostname": "wireless.home.example.com",
        "ipv4": "81.2.69.142",
        "ipv6": null,
        "acknowledged_at": 1_764_000_000,
        "change_id": "/change/C1",
    });
    std::fs::write(server.dir.path().join("ddns-state.json"), state.to_string()).unwrap();

    let answer = ask(server.addr, b"GET /status HTTP/1.1\r\nHost: pi\r\n\r\n").await;
    assert_eq!(answer.status(), 200, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let text = String::from_utf8(answer.body.clone()).expect("utf-8");
    let status: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["uptime_secs"].as_u64().is_some(), "{status}");
    let links = &status["links"];
    assert_eq!(links["wired"]["interface"], "eth0");
    assert_eq!(links["wired"]["up"], true);
    assert_eq!(links["wired"]["operstate"], "up");
    assert_eq!(links["wireless"]["up"], false);
    assert_eq!(links["wireless"]["operstate"], "lowerlayerdown");
    assert_eq!(links["lte"]["up"], true, "ppp reports unknown: {status}");
    assert_eq!(links["lte"]["operstate"], "unknown");
    assert_eq!(links["spare"]["up"], false);
    assert_eq!(links["spare"]["operstate"], "missing");
    assert_eq!(status["ddns"]["acknowledged_at"], 1_764_000_000);
    assert_eq!(status["ddns"]["ipv4"], "81.2.69.142");
    assert!(status["ddns"]["ipv6"].is_null());

    for private in [SECRET, "change", "ddns-state.json", "execute-api"] {
        assert!(!text.contains(private), "/status shows {private:?}: {text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn status_without_a_state_file_says_null() {
    let server = start(|_| {}).await;
    let answer = ask(server.addr, b"GET /status HTTP/1.1\r\nHost: pi\r\n\r\n").await;
    let status: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
    assert!(status["ddns"].is_null(), "{status}");
    server.stop().await;
}

#[tokio::test]
async fn garbage_gets_400_and_the_connection_is_closed() {
    let server = start(|_| {}).await;
    let cases: [(&str, &[u8]); 4] = [
        (
            "tls hello",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ),
        ("binary", b"\x00\xff\xfe\x00\r\n\r\n"),
        ("no version", b"GET /\r\n\r\n"),
        ("bad header", b"GET / HTTP/1.1\r\nHo st: pi\r\n\r\n"),
    ];
    for (name, request) in cases {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let got = read_until_closed(&mut stream, PATIENCE).await;
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 400 "), "{name}: {got:?}");
    }
    // And the server is still there.
    assert_eq!(ask(server.addr, GET_ROOT).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_head_gets_431_and_the_connection_is_closed() {
    let server = start(|_| {}).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut request = b"GET / HTTP/1.1\r\nHost: pi\r\nX-Filler: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', health::MAX_HEADER_BYTES + 1));
    request.extend_from_slice(b"\r\n\r\n");
    // The server may close before it has read everything; a failed write is fine.
    let _ = stream.write_all(&request).await;
    let got = read_until_closed(&mut stream, PATIENCE).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 431 "), "{got:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_slow_or_silent_client_is_dropped_after_the_header_timeout() {
    let timeout = Duration::from_millis(400);
    let server = start(|c| c.header_timeout = timeout).await;

    let opened = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: pi\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // A head dribbled a byte every 50 ms: progress all along, but no complete head in time.
    let (mut dribble, mut dribble_write) =
        TcpStream::connect(server.addr).await.unwrap().into_split();
    let dribbling = tokio::spawn(async move {
        for byte in
            b"GET / HTTP/1.1\r\nHost: pi\r\nX-Slow: 0123456789012345678901234567890123456789"
        {
            if dribble_write.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        dribble_write
    });
    let mut idle = Client::connect(server.addr).await;
    idle.send(GET_ROOT).await;
    assert_eq!(idle.answer(false).await.status(), 200);
    let answered = Instant::now();

    for (name, stream, since) in [
        ("unfinished head", &mut slow, opened),
        ("never a byte", &mut silent, opened),
        ("idle keep-alive", &mut idle.stream, answered),
    ] {
        let got = read_until_closed(stream, PATIENCE).await;
        let took = since.elapsed();
        assert!(
            !String::from_utf8_lossy(&got).contains("200 OK"),
            "{name}: {got:?}"
        );
        assert!(
            took >= timeout - Duration::from_millis(100),
            "{name}: dropped too early, after {took:?}"
        );
    }
    // Dropped at the deadline, while it was still sending (the whole head takes 3.5 s).
    let got = read_until_closed(&mut dribble, PATIENCE).await;
    let took = opened.elapsed();
    assert!(got.is_empty(), "dribbled head: {got:?}");
    assert!(
        took >= timeout - Duration::from_millis(100) && took < Duration::from_secs(2),
        "dribbled head: dropped after {took:?}, want about {timeout:?}"
    );
    drop(dribbling.await.unwrap());
    server.stop().await;
}

#[tokio::test]
async fn the_connection_limit_makes_newcomers_wait_until_a_slot_frees() {
    let server = start(|c| c.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(server.addr).await;
        client.send(GET_ROOT).await;
        assert_eq!(client.answer(false).await.status(), 200);
        held.push(client); // kept alive: each holds a slot
    }
    // The kernel completes the handshake, but the server does not take the connection.
    let mut third = Client::connect(server.addr).await;
    third.send(GET_ROOT).await;
    assert!(
        silent_for(&mut third.stream, Duration::from_millis(500)).await,
        "a third connection was served past a limit of 2"
    );
    drop(held.pop());
    let answer = third.answer(false).await;
    assert_eq!(answer.status(), 200, "served once a slot freed: {answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn thousands_of_idle_connections_do_not_stop_get_root() {
    const IDLE: usize = 2_000;
    // Both ends of every connection live in this process.
    let limit = health::raise_fd_limit(2 * IDLE as u64 + 256);
    assert!(
        limit.is_none_or(|l| l >= 2 * IDLE as u64 + 256),
        "this test needs {} open files, the hard limit allows {limit:?}",
        2 * IDLE + 256
    );
    let server = start(|_| {}).await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(Client::connect(server.addr).await);
    }
    let started = Instant::now();
    let answer = ask(server.addr, GET_ROOT).await;
    assert_eq!(answer.status(), 200, "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "GET / took {:?}",
        started.elapsed()
    );
    // The idle connections were held, not dropped: the oldest and the newest still work.
    for i in [0, IDLE - 1] {
        idle[i].send(GET_ROOT).await;
        assert_eq!(idle[i].answer(false).await.status(), 200, "idle #{i}");
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_listening_and_closes_idle_connections() {
    let server = start(|_| {}).await;
    let addr = server.addr;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut kept_alive = Client::connect(addr).await;
    kept_alive.send(GET_ROOT).await;
    assert_eq!(kept_alive.answer(false).await.status(), 200);

    server.stop().await;

    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
    for (name, stream) in [("idle", &mut idle), ("kept alive", &mut kept_alive.stream)] {
        let got = read_until_closed(stream, PATIENCE).await;
        assert!(got.is_empty(), "{name}: {got:?}");
    }
}

#[tokio::test]
async fn connections_handed_to_other_threads_are_served_and_closed_at_shutdown() {
    // Three threads take connections in turn: six kept-alive connections put two on each.
    let server = start_on(Some(3), |_| {}).await;
    let addr = server.addr;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(Client::connect(addr).await);
    }
    for round in 0..2 {
        for (i, client) in clients.iter_mut().enumerate() {
            client.send(GET_ROOT).await;
            let answer = client.answer(false).await;
            assert_eq!(answer.status(), 200, "connection {i}, round {round}");
        }
    }
    server.stop().await;
    for (i, client) in clients.iter_mut().enumerate() {
        let got = read_until_closed(&mut client.stream, PATIENCE).await;
        assert!(got.is_empty(), "connection {i}: {got:?}");
    }
}

#[tokio::test]
async fn one_thread_serves_alone() {
    let server = start_on(Some(1), |_| {}).await;
    for _ in 0..3 {
        assert_eq!(ask(server.addr, GET_ROOT).await.status(), 200);
    }
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let server = start(|_| {}).await;
    let mut client = Client::connect(server.addr).await;
    client
        .send(b"GET / HTTP/1.1\r\nHost: pi\r\n\r\nHEAD /status HTTP/1.1\r\nHost: pi\r\n\r\nGET /nope HTTP/1.1\r\nHost: pi\r\n\r\n")
        .await;
    assert_eq!(client.answer(false).await.body, b"ok\n");
    assert_eq!(client.answer(true).await.status(), 200);
    assert_eq!(client.answer(false).await.status(), 404);
    server.stop().await;
}
