//! `failberry health serve` (the real binary, as the Pi runs it) under a bounded loopback load
//! that stops by itself: 2,000 idle connections held open, 200 slowloris clients trickling a
//! request head a byte at a time, 200 garbage requests and 50 oversized heads, while a prober
//! asks `GET /` 400 times on fresh connections. Goals: every probe answered 200, p99 under 10 ms,
//! and the server's peak RSS (VmHWM) under `RSS_BOUND_KB` at the end.
//!
//! The load runs in this process on its own runtime; the server is a separate process, so its
//! memory figure is its own. A debug build is tested here (slower than the shipped one): the
//! goals hold with room to spare in the shipped build.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: usize = 2_000;
const SLOWLORIS: usize = 200;
const GARBAGE: usize = 200;
const OVERSIZED: usize = 50;
const PROBES: usize = 400;
/// The goal for `GET /` under this load, p99.
const P99_GOAL: Duration = Duration::from_millis(10);
/// The stated memory bound of the endpoint under this load (peak RSS, debug build).
const RSS_BOUND_KB: u64 = 32 * 1024;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn start() -> (Server, SocketAddr) {
    let addr = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_failberry"))
        .args(["--config", "/nonexistent/failberry.toml", "health", "serve"])
        .args(["--listen", &addr.to_string(), "--header-timeout", "5"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the failberry binary starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the endpoint did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, addr)
}

fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One `GET /` on a fresh connection, blocking (the prober has a thread of its own, so the load
/// generator's scheduling does not count in its figures): the time to the full answer, or `None`
/// when it was not 200.
fn probe(addr: SocketAddr) -> Option<Duration> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: pi\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

async fn slowloris(addr: SocketAddr, stop: Instant) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let head =
        b"GET / HTTP/1.1\r\nHost: pi\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for b in head.iter().cycle() {
        if Instant::now() > stop || s.write_all(&[*b]).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn one_shot(addr: SocketAddr, bytes: Vec<u8>) {
    if let Ok(mut s) = TcpStream::connect(addr).await {
        let _ = s.write_all(&bytes).await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut sink)).await;
    }
}

#[test]
fn get_root_stays_fast_under_idle_slowloris_garbage_and_oversized_load() {
    let _ =
        failberry::health::raise_fd_limit((IDLE + SLOWLORIS + GARBAGE + OVERSIZED + 500) as u64);
    let (server, addr) = start();
    let pid = server.0.id();
    // The load, on a thread and runtime of its own; it stops by itself.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let load = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // Thousands of idle connections, held for the whole test.
            let mut idle = Vec::with_capacity(IDLE);
            for _ in 0..IDLE {
                idle.push(TcpStream::connect(addr).await.expect("idle connection"));
            }
            let stop = Instant::now() + Duration::from_secs(4);
            let mut load = Vec::new();
            for _ in 0..SLOWLORIS {
                load.push(tokio::spawn(slowloris(addr, stop)));
            }
            for i in 0..GARBAGE {
                let garbage: Vec<u8> = (0..512).map(|j| ((i * 31 + j * 7) % 251) as u8).collect();
                load.push(tokio::spawn(one_shot(addr, garbage)));
            }
            for _ in 0..OVERSIZED {
                let mut head = b"GET / HTTP/1.1\r\nHost: pi\r\nX-Big: ".to_vec();
                head.extend(std::iter::repeat_n(b'a', 64 * 1024));
                head.extend_from_slice(b"\r\n\r\n");
                load.push(tokio::spawn(one_shot(addr, head)));
            }
            ready_tx.send(()).unwrap();
            for task in load {
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
            }
            drop(idle);
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the load is under way");
    // The prober, one request at a time, as the ping function would (but far more often).
    let mut latencies = Vec::with_capacity(PROBES);
    let mut failures = 0;
    for _ in 0..PROBES {
        match probe(addr) {
            Some(t) => latencies.push(t),
            None => failures += 1,
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    load.join().expect("the load generator finished");
    let peak_kb = vm_hwm_kb(pid);
    let mut sorted = latencies.clone();
    sorted.sort();
    let p = |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let (p50, p99, max) = (p(0.50), p(0.99), sorted[sorted.len() - 1]);
    println!(
        "health under load: {} probes, {failures} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, peak RSS {} kB",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        peak_kb
    );
    assert_eq!(failures, 0, "every GET / answered 200");
    assert!(
        p99 < P99_GOAL,
        "GET / p99 {p99:?} over the {P99_GOAL:?} goal"
    );
    assert!(peak_kb > 0, "the server's memory could be read");
    assert!(
        peak_kb < RSS_BOUND_KB,
        "peak RSS {peak_kb} kB over the {RSS_BOUND_KB} kB bound"
    );
}
