//! The health endpoint's request reader (`failberry health serve`: hyper's HTTP/1.1 parser with
//! the endpoint's limits, then `routes`): the input is written raw to a connection to the real
//! server on loopback, started once; the server must answer or close, and keep serving (the
//! next input gets a fresh connection to the same server).
#![no_main]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use failberry::cli::Overrides;
use failberry::config::{HealthConfig, RawConfig};
use failberry::health::{serve, Endpoint};
use libfuzzer_sys::fuzz_target;

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let raw = RawConfig::parse("", Path::new("fuzz.toml")).expect("the empty config parses");
        let config = HealthConfig::build(raw, &Overrides::default()).expect("defaults are valid");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                serve(
                    listener,
                    Endpoint::new(&config).with_threads(1),
                    std::future::pending(),
                )
                .await;
            });
        });
        addr
    })
}

fuzz_target!(|data: &[u8]| {
    let mut stream = TcpStream::connect(server()).expect("the endpoint accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let _ = stream.write_all(data);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    // HTTP/1.0 requests are answered in HTTP/1.0 (the first run flagged that as a crash: the
    // harness was wrong; seeds/health_request/http10-binary-host and client/tests/health.rs keep it).
    if !answer.is_empty() {
        assert!(
            answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    // The server is still there and still answers the ping.
    let mut probe = TcpStream::connect(server()).expect("the endpoint still accepts");
    probe
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    probe
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut ok = Vec::new();
    let _ = probe.read_to_end(&mut ok);
    assert!(
        ok.starts_with(b"HTTP/1.1 200"),
        "GET / after the input: {:?}",
        String::from_utf8_lossy(&ok)
    );
});
