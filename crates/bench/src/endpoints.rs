//! The processes behind the health endpoint's figures (`health`): `failberry health serve` and
//! nginx serving a static 200 on loopback, `wrk` against either with the same connections and
//! duration, idle connections held open, and the `/proc` counts the figures read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub const WRK_THREADS: u32 = 2;
pub const WRK_CONNECTIONS: u32 = 64;
pub const WRK_SECONDS: u32 = 10;
pub const IDLE_CONNECTIONS: usize = 5_000;

/// A loopback port nobody listens on (a race with other processes is possible but unlikely).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Raises the open-file soft limit to the hard one (children inherit it); returns the new limit.
pub fn raise_nofile() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => limit.maximum.unwrap_or(u64::MAX),
        Err(_) => limit.current.unwrap_or(u64::MAX),
    }
}

async fn wait_listening(port: u16, child: &mut Child, what: &str) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("{what} exited before listening: {status}");
        }
        anyhow::ensure!(
            Instant::now() < until,
            "{what} is not listening on {port} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// nginx on 127.0.0.1:`port`, everything it writes kept in `dir` (it runs as root without
/// touching /etc or /var).
/// Debian installs nginx in /usr/sbin, which is not on every user's PATH.
pub fn nginx_bin() -> &'static str {
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

pub async fn start_nginx(dir: &Path, port: u16) -> anyhow::Result<Child> {
    let d = dir.display();
    let conf = format!(
        r#"worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok\n"; }}
    }}
}}
"#
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let mut child = Command::new(nginx_bin())
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting nginx (scripts/ensure-bench-tools installs it)")?;
    if let Err(e) = wait_listening(port, &mut child, "nginx").await {
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        anyhow::bail!("{e}\nnginx error log:\n{log}");
    }
    Ok(child)
}

pub async fn start_health(client: &Path, port: u16) -> anyhow::Result<Child> {
    let mut child = Command::new(client)
        // No config file: the flags are the whole configuration.
        .env("FAILBERRY_CONFIG", "/nonexistent/failberry-bench.toml")
        .env("RUST_LOG", "warn")
        .args(["health", "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--max-connections", "10000", "--header-timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", client.display()))?;
    wait_listening(port, &mut child, "failberry health serve").await?;
    Ok(child)
}

/// Stops a child with SIGTERM, then waits for it (SIGKILL after 5 s).
pub async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid as i32).expect("a child pid is positive"),
            rustix::process::Signal::TERM,
        );
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// `wrk` against `port`; its Requests/sec.
pub async fn wrk(port: u16) -> anyhow::Result<f64> {
    let out = Command::new("wrk")
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{WRK_SECONDS}s"))
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .await
        .context("running wrk (scripts/ensure-bench-tools installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    let errors = text
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    anyhow::ensure!(errors.is_none(), "wrk saw errors: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output: {text}"))
}

/// The worker processes of an nginx master (its children).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// One `GET /` on a fresh connection: its status line and how long the whole answer took.
pub async fn get_root(port: u16) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
        .await
        .context("GET / took over 5 s")??;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "GET / answered {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(40)])
    );
    Ok(elapsed)
}

/// Opens `n` idle connections (nothing sent on them).
pub async fn open_idle(port: u16, n: usize) -> anyhow::Result<Vec<TcpStream>> {
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .with_context(|| format!("idle connection {i}"))?;
        held.push(s);
    }
    Ok(held)
}

pub fn temp_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "failberry-bench-nginx-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
