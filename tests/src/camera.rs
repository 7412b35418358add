//! What the camera connector tests share: a TCP proxy in front of moto that plays a flaky link
//! for the clip uploads (cut a connection, hold it, or refuse uploads altogether), the local
//! stack started behind it (so the presigned URLs it hands out go through the proxy), the
//! connector's config file, and the connector itself run in-process until told to stop.
//!
//! A proxy rather than a fake uploader: the real client streams real bytes to the real presigned
//! URLs; only the link is played.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failberry::camera;
use failberry::config::{CameraConfig, Overrides, RawConfig};
use failberry_local::seed::{self, HostSeed};
use failberry_local::StackOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

use crate::{moto_url, Stack};

/// What the link does to uploads (connections whose first request is a presigned PUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Every upload connection is dropped at once.
    Down,
    /// The connection carrying upload byte `n` (counted from when this was set) is cut; then up.
    CutAfter(u64),
    /// Upload byte `n` waits until `release`; then up.
    HoldAfter(u64),
    /// The next upload is read whole and answered `400 BadDigest`, as S3 answers bytes that do
    /// not match the SHA-256 their URL is signed over (moto checks no checksum); then up.
    RefuseNext,
}

/// What the proxy and every connection it relays share.
pub struct LinkState {
    link: Mutex<Link>,
    /// Upload bytes forwarded since the last `set`.
    pub sent: AtomicU64,
    pub held: Notify,
    release: Notify,
    released: AtomicBool,
    /// The request lines of the uploads `RefuseNext` refused.
    pub refused: Mutex<Vec<String>>,
}

pub struct Proxy {
    pub url: String,
    pub state: Arc<LinkState>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(LinkState {
            link: Mutex::new(Link::Up),
            sent: AtomicU64::new(0),
            held: Notify::new(),
            release: Notify::new(),
            released: AtomicBool::new(false),
            refused: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, state) = (upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = relay(client, &upstream, &state).await;
                });
            }
        });
        Proxy { url, state }
    }

    pub fn set(&self, link: Link) {
        self.state.sent.store(0, Ordering::SeqCst);
        self.state.released.store(false, Ordering::SeqCst);
        *self.state.link.lock().unwrap() = link;
    }

    pub fn release(&self) {
        self.state.released.store(true, Ordering::SeqCst);
        *self.state.link.lock().unwrap() = Link::Up;
        self.state.release.notify_waiters();
    }
}

async fn relay(client: TcpStream, upstream: &str, state: &LinkState) -> std::io::Result<()> {
    let LinkState {
        link,
        sent,
        held,
        release,
        released,
        refused,
    } = state;
    // An upload is a presigned PUT: its request line carries the signature in the query (the
    // stack's own SDK calls sign in a header, and are never cut).
    let mut head = [0u8; 4096];
    let (upload, request_line) = loop {
        let n = client.peek(&mut head).await?;
        if n == 0 {
            return Ok(());
        }
        if let Some(end) = head[..n].windows(2).position(|w| w == b"\r\n") {
            let line = &head[..end];
            let upload =
                line.starts_with(b"PUT ") && line.windows(15).any(|w| w == b"X-Amz-Signature");
            break (upload, String::from_utf8_lossy(line).into_owned());
        }
        if n == head.len() {
            break (false, String::new());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if upload && *link.lock().unwrap() == Link::Down {
        return Ok(());
    }
    if upload && *link.lock().unwrap() == Link::RefuseNext {
        *link.lock().unwrap() = Link::Up;
        refused.lock().unwrap().push(request_line);
        return refuse(client).await;
    }
    let server = TcpStream::connect(upstream).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back =
        tokio::spawn(async move { tokio::io::copy(&mut server_read, &mut client_write).await });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = client_read.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if upload {
            let total = sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let rule = *link.lock().unwrap();
            match rule {
                Link::Down => {
                    back.abort();
                    return Ok(());
                }
                Link::CutAfter(at) if total >= at => {
                    *link.lock().unwrap() = Link::Up;
                    back.abort();
                    return Ok(());
                }
                Link::HoldAfter(at) if total >= at => {
                    let wait = release.notified();
                    held.notify_one();
                    if !released.load(Ordering::SeqCst) {
                        wait.await;
                    }
                }
                _ => {}
            }
        }
        server_write.write_all(&buf[..n]).await?;
    }
    let _ = back.await;
    Ok(())
}

/// Reads one request whole and answers it as S3 answers a body that fails its signed checksum.
async fn refuse(mut client: TcpStream) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let body_start = loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut read = request.len() - body_start;
    while read < length {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        read += n;
    }
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>BadDigest</Code>\
        <Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes()).await?;
    client.shutdown().await
}

/// The local stack with its S3 (and so its presigned URLs) behind `proxy`.
pub async fn stack_via(proxy: &Proxy, hosts: &[HostSeed]) -> Stack {
    let _ = moto_url();
    let options = StackOptions {
        bucket: format!("failberry-test-{:016x}", fastrand::u64(..)),
        hosts: hosts.to_vec(),
        ..StackOptions::default()
    };
    let stack = failberry_local::Stack::start(&proxy.url, options)
        .await
        .expect("starting the local stack");
    Stack {
        stack,
        http: reqwest::Client::new(),
    }
}

/// A connector's world: a proxy playing the link in front of moto, the local stack behind it, and
/// a config watching the folder `watched` as camera `camera`.
pub struct Rig {
    pub proxy: Proxy,
    pub stack: Stack,
    pub watched: PathBuf,
    pub cfg: CameraConfig,
    /// Holds `watched` and the queue: bind it for as long as they are used.
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub async fn start(camera: &str) -> Rig {
        let proxy = Proxy::start(&moto_url()).await;
        let stack = stack_via(&proxy, &[HostSeed::default()]).await;
        let dir = tempfile::tempdir().unwrap();
        let watched = dir.path().join("nvr");
        std::fs::create_dir_all(&watched).unwrap();
        let cfg = config(
            dir.path(),
            &stack.api,
            &format!(
                "[[camera.folder]]\npath = \"{}\"\ncamera = \"{camera}\"\n",
                watched.display()
            ),
        );
        Rig {
            proxy,
            stack,
            watched,
            cfg,
            dir,
        }
    }
}

/// Writes the connector's config file and builds the checked config from it.
pub fn config(dir: &Path, api: &str, camera_toml: &str) -> CameraConfig {
    let text = format!(
        "[api]\nurl = \"{api}\"\n[ddns]\nhostname = \"{}\"\nsecret = \"{}\"\n[camera]\nqueue_dir = \"{}\"\nretry_secs = 1\nresult_poll_secs = 1\n{camera_toml}",
        seed::HOSTNAME,
        seed::SECRET,
        dir.join("queue").display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let (raw, _) = RawConfig::load(&path).unwrap();
    CameraConfig::build(raw, &Overrides::default()).expect("a valid camera config")
}

/// `camera watch` running in this process until `stop`.
pub struct Connector {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Connector {
    pub fn start(config: &CameraConfig) -> Connector {
        let (stop, stopped) = oneshot::channel::<()>();
        let config = config.clone();
        let task = tokio::spawn(async move {
            camera::watch(&config, async {
                let _ = stopped.await;
            })
            .await
        });
        Connector {
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Every stored clip as (key, size), once `count` are there (panics after `within`).
pub async fn stored_clips(stack: &Stack, count: usize, within: Duration) -> Vec<(String, i64)> {
    let deadline = Instant::now() + within;
    loop {
        let out = stack
            .s3()
            .list_objects_v2()
            .bucket(&stack.bucket)
            .prefix("incoming/")
            .send()
            .await
            .unwrap();
        let clips: Vec<(String, i64)> = out
            .contents()
            .iter()
            .map(|o| (o.key().unwrap().to_string(), o.size().unwrap_or(0)))
            .collect();
        if clips.len() >= count {
            return clips;
        }
        assert!(
            Instant::now() < deadline,
            "{count} clips expected in S3, found {clips:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The stored object's bytes.
pub async fn object(stack: &Stack, key: &str) -> Vec<u8> {
    let out = stack
        .s3()
        .get_object()
        .bucket(&stack.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Writes a file the way an NVR does: under a temporary name, then renamed (MOVED_TO).
pub fn drop_clip(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    let path = dir.join(name);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// `n` bytes that differ from clip to clip.
pub fn clip_bytes(n: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::new();
    (0..n).map(|_| rng.u8(..)).collect()
}

/// Waits until `check` holds (panics after `within`).
pub async fn until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
