//! The camera sources against hostile inputs: a watched folder with planted links and odd names,
//! and NVRs that lie (huge lists, endless clips, a byte at a time, redirects to another origin,
//! ids that are paths). Each test is one attack of issue 27; each source runs as `camera watch`
//! runs it, handing its jobs to a channel the test reads.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failberry::camera::queue::{Job, Queue};
use failberry::camera::source::folder::Folder;
use failberry::camera::source::frigate::Frigate;
use failberry::camera::source::unifi::UnifiVideo;
use failberry::camera::source::{Cap, NvrError, NvrLimits, Source, SourceContext};
use failberry::config::{FolderMode, FolderSource};
use tokio::sync::mpsc;

/// The log lines written while a test runs (the subscriber is this thread's, and every test
/// runs its sources on its own current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    async fn wait_for(&self, needle: &str) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while !self.text().contains(needle) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "no log line {needle:?} in:\n{}",
            self.text()
        );
    }
}

fn context(queue_dir: &Path) -> (SourceContext, mpsc::Receiver<Job>) {
    let (jobs, found) = mpsc::channel(16);
    let queue = Queue::open(queue_dir).unwrap();
    (SourceContext { queue, jobs }, found)
}

/// The next job, or `None` if none comes within `wait`.
async fn next_job(found: &mut mpsc::Receiver<Job>, wait: Duration) -> Option<Job> {
    tokio::time::timeout(wait, found.recv())
        .await
        .ok()
        .flatten()
}

fn watched_folder(root: &Path) -> FolderSource {
    FolderSource {
        path: root.to_path_buf(),
        camera: None,
        mode: FolderMode::Notify,
        stable: Duration::from_millis(200),
        poll: Duration::from_millis(200),
        extensions: vec!["mp4".into()],
    }
}

/// Starts a folder source on `root` and waits until inotify watches it.
async fn watch_folder(
    root: &Path,
    queue_dir: &Path,
    logs: &Logs,
) -> (tokio::task::JoinHandle<()>, mpsc::Receiver<Job>) {
    let (ctx, found) = context(queue_dir);
    let task = tokio::spawn(Box::new(Folder::new(watched_folder(root))).run(ctx));
    logs.wait_for("watching with inotify").await;
    (task, found)
}

#[tokio::test]
async fn a_link_put_into_the_watched_folder_is_never_uploaded() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let (root, outside) = (dir.path().join("nvr"), dir.path().join("etc"));
    std::fs::create_dir_all(root.join("front")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "device-secret").unwrap();
    let (task, mut found) = watch_folder(&root, &dir.path().join("queue"), &logs).await;

    // As in the attack: made beside the folder and moved in (inotify's MOVED_TO).
    let staged = dir.path().join("x.mp4");
    std::os::unix::fs::symlink(outside.join("secret"), &staged).unwrap();
    std::fs::rename(&staged, root.join("front/x.mp4")).unwrap();
    // A real clip after it: once it is found, the link's event was handled.
    std::fs::write(root.join("front/real.mp4"), "clip").unwrap();

    let job = next_job(&mut found, Duration::from_secs(5))
        .await
        .expect("the real clip is found");
    assert_eq!(job.name, "real.mp4", "the link was taken as a clip");
    assert!(next_job(&mut found, Duration::from_millis(300))
        .await
        .is_none());
    logs.wait_for("not a regular file, skipped").await;
    task.abort();
}

#[test]
fn a_clip_replaced_by_a_link_after_it_was_found_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "device-secret").unwrap();
    let clip = dir.path().join("x.mp4");
    std::os::unix::fs::symlink(dir.path().join("secret"), &clip).unwrap();
    let read = failberry::camera::upload::fingerprint(&clip);
    assert!(
        matches!(
            read,
            Err(failberry::camera::upload::UploadError::Permanent(_))
        ),
        "{read:?}"
    );
}

/// One request as the hostile NVR read it.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    /// Path and query, as sent.
    target: String,
    body: String,
}

/// How the hostile NVR answers one request.
enum Reply {
    /// Status, headers and a body of known length, at once.
    Whole(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// A 200 whose body never ends: no length, bytes as fast as the client takes them.
    Endless,
    /// A 200 of `len` bytes, one byte every `every`.
    Drip { len: usize, every: Duration },
}

/// An NVR that lies, on 127.0.0.1:0. A fake rather than the fakes of `failberry-local`: there
/// is no real NVR here, and those answer whole bodies only, where these attacks need an answer
/// that never ends or trickles. HTTP/1.1 by hand, one request per connection, every request
/// recorded.
struct HostileNvr {
    url: url::Url,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl HostileNvr {
    async fn start(script: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (seen, script) = (calls.clone(), Arc::new(script));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, script.clone(), seen.clone()));
            }
        });
        HostileNvr { url, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    script: Arc<impl Fn(&Call) -> Reply>,
    seen: Arc<Mutex<Vec<Call>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut words = head.split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < end + length {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let call = Call {
        method: method.to_string(),
        target: target.to_string(),
        body: String::from_utf8_lossy(&buf[end..]).into_owned(),
    };
    let reply = script(&call);
    seen.lock().unwrap().push(call);
    match reply {
        Reply::Whole(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\nconnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = vec![0u8; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Reply::Drip { len, every } => {
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            for _ in 0..len {
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
    }
}

fn frigate_at(url: &url::Url, login: bool) -> failberry::config::FrigateSource {
    failberry::config::FrigateSource {
        url: url.clone(),
        login: login.then(|| ("admin".to_string(), "frigate-pass".to_string())),
        poll: Duration::from_millis(100),
        retain: false,
    }
}

/// Short enough for a test to wait out.
fn test_limits() -> NvrLimits {
    NvrLimits {
        deadline: Duration::from_secs(1),
        clip_deadline: Duration::from_secs(2),
        list_bytes: 64 << 10,
        list_count: 1000,
        clip_bytes: 256 << 10,
        spool_reserve: 0,
    }
}

#[tokio::test]
async fn an_nvr_dripping_a_byte_at_a_time_hits_the_deadline_and_says_so() {
    let (logs, _guard) = Logs::capture();
    // 10 000 bytes at one per 50 ms: over eight minutes, each byte well within `read_timeout`.
    let nvr = HostileNvr::start(|_| Reply::Drip {
        len: 10_000,
        every: Duration::from_millis(50),
    })
    .await;
    let frigate = Frigate::with_limits(frigate_at(&nvr.url, false), test_limits());
    let started = std::time::Instant::now();
    let listed = tokio::time::timeout(Duration::from_secs(5), frigate.events_after(0.0))
        .await
        .expect("the request ends at its deadline");
    assert!(
        matches!(listed, Err(NvrError::Deadline { .. })),
        "{listed:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // Run as a source, the deadline is a warning of its own (once, not per poll).
    let dir = tempfile::tempdir().unwrap();
    let (ctx, _found) = context(dir.path());
    let task = tokio::spawn(Box::new(frigate).run(ctx));
    logs.wait_for("NVR request deadline hit").await;
    task.abort();
}

#[tokio::test]
async fn a_login_redirected_to_another_origin_never_gets_the_password_there() {
    let (logs, _guard) = Logs::capture();
    let elsewhere = HostileNvr::start(|_| {
        let cookie = "frigate_token=stolen; Path=/".to_string();
        Reply::Whole(200, vec![("set-cookie", cookie)], Vec::new())
    })
    .await;
    let to = elsewhere.url.join("/api/login").unwrap().to_string();
    let nvr = HostileNvr::start(move |call| match call.target.as_str() {
        "/api/login" => Reply::Whole(307, vec![("location", to.clone())], Vec::new()),
        _ => Reply::Whole(401, Vec::new(), Vec::new()),
    })
    .await;
    let frigate = Frigate::with_limits(frigate_at(&nvr.url, true), test_limits());
    let listed = frigate.events_after(0.0).await;
    assert!(listed.is_err(), "{listed:?}");
    let calls = nvr.calls();
    assert_eq!(calls.len(), 1, "only the login, answered 307: {calls:?}");
    assert_eq!(calls[0].method, "POST");
    assert!(
        calls[0].body.contains("frigate-pass"),
        "the NVR itself got the login"
    );
    assert!(
        elsewhere.calls().is_empty(),
        "the other origin got {:?}",
        elsewhere.calls()
    );
    logs.wait_for("NVR redirect to another origin not followed")
        .await;
}

#[tokio::test]
async fn an_endless_events_list_is_cut_off_at_its_cap() {
    let (logs, _guard) = Logs::capture();
    let nvr = HostileNvr::start(|_| Reply::Endless).await;
    let frigate = Frigate::with_limits(frigate_at(&nvr.url, false), test_limits());
    let listed = frigate.events_after(0.0).await;
    assert!(
        matches!(
            listed,
            Err(NvrError::TooLarge {
                limit: Cap::List,
                ..
            })
        ),
        "{listed:?}"
    );

    let unifi = UnifiVideo::with_limits(
        failberry::config::UnifiSource {
            url: nvr.url.clone(),
            api_key: "unifi-key".into(),
            poll: Duration::from_millis(100),
            lock: false,
        },
        test_limits(),
    );
    let listed = unifi.recordings_since(0).await;
    assert!(
        matches!(
            listed,
            Err(NvrError::TooLarge {
                limit: Cap::List,
                ..
            })
        ),
        "{listed:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (ctx, _found) = context(dir.path());
    let task = tokio::spawn(Box::new(frigate).run(ctx));
    logs.wait_for("NVR answer over its cap").await;
    task.abort();
}

#[tokio::test]
async fn an_endless_clip_stops_at_the_cap_and_leaves_no_clip() {
    let (logs, _guard) = Logs::capture();
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) as f64;
    let events = serde_json::json!([{
        "id": "1764000000.5-abc123", "camera": "front", "label": "person",
        "start_time": now - 30.0, "end_time": now - 5.0, "has_clip": true,
    }]);
    let nvr = HostileNvr::start(move |call| {
        if call.target.starts_with("/api/events?") {
            Reply::Whole(200, Vec::new(), serde_json::to_vec(&events).unwrap())
        } else {
            Reply::Endless
        }
    })
    .await;
    let frigate = Frigate::with_limits(frigate_at(&nvr.url, false), test_limits());
    let dir = tempfile::tempdir().unwrap();
    let (ctx, mut found) = context(dir.path());
    let task = tokio::spawn(Box::new(frigate).run(ctx));
    logs.wait_for("clip over the largest a host may upload, skipped")
        .await;
    // Several polls later: not fetched again, never handed on, nothing left in the spool.
    assert!(next_job(&mut found, Duration::from_millis(500))
        .await
        .is_none());
    task.abort();
    let clips = nvr
        .calls()
        .iter()
        .filter(|c| c.target.ends_with("/clip.mp4"))
        .count();
    assert_eq!(clips, 1);
    let spooled: Vec<_> = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(spooled.is_empty(), "{spooled:?}");
}

#[tokio::test]
async fn hostile_event_ids_never_reach_other_paths_of_the_nvr() {
    let (logs, _guard) = Logs::capture();
    let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now()) as f64;
    let hostile = "../../../api/evil?x=1#frag";
    let events = serde_json::json!([
        {"id": hostile, "camera": "front", "label": "person",
         "start_time": now - 40.0, "end_time": now - 35.0, "has_clip": true},
        {"id": "1764000000.5-abc123", "camera": "front", "label": "person",
         "start_time": now - 30.0, "end_time": now - 5.0, "has_clip": true},
    ]);
    let nvr = HostileNvr::start(move |call| {
        if call.target.starts_with("/api/events?") {
            Reply::Whole(200, Vec::new(), serde_json::to_vec(&events).unwrap())
        } else {
            Reply::Whole(200, Vec::new(), vec![7u8; 1000])
        }
    })
    .await;
    let frigate = Frigate::with_limits(frigate_at(&nvr.url, false), test_limits());
    // A mark on a stored job's id goes into a URL too.
    let marked = frigate.mark(hostile, "person", 0.9).await;
    assert!(matches!(marked, Err(NvrError::BadId { .. })), "{marked:?}");

    let dir = tempfile::tempdir().unwrap();
    let (ctx, mut found) = context(dir.path());
    let task = tokio::spawn(Box::new(frigate).run(ctx));
    let job = next_job(&mut found, Duration::from_secs(5))
        .await
        .expect("the plain event is taken");
    assert_eq!(job.name, "1764000000.5-abc123.mp4");
    logs.wait_for("NVR id not a plain path segment, skipped")
        .await;
    task.abort();
    let targets: Vec<String> = nvr.calls().into_iter().map(|c| c.target).collect();
    assert!(
        targets
            .iter()
            .all(|t| t.starts_with("/api/events?")
                || t == "/api/events/1764000000.5-abc123/clip.mp4"),
        "{targets:?}"
    );
}

#[tokio::test]
async fn odd_file_names_are_escaped_in_the_log_and_non_utf8_ones_logged_once() {
    use std::os::unix::ffi::OsStrExt;
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nvr");
    std::fs::create_dir_all(root.join("front")).unwrap();
    let (task, mut found) = watch_folder(&root, &dir.path().join("queue"), &logs).await;

    let forged = "a\nINFO forged line\u{1b}[2J.mp4";
    std::fs::write(root.join("front").join(forged), "clip").unwrap();
    let job = next_job(&mut found, Duration::from_secs(5))
        .await
        .expect("the oddly named clip is found");
    assert!(job.name.ends_with(".mp4"), "{}", job.name);

    let not_utf8 = root
        .join("front")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9.mp4"));
    std::fs::write(&not_utf8, "one").unwrap();
    std::fs::write(&not_utf8, "two").unwrap();
    std::fs::write(root.join("front/real.mp4"), "clip").unwrap();
    let job = next_job(&mut found, Duration::from_secs(5))
        .await
        .expect("the real clip is found");
    assert_eq!(job.name, "real.mp4");
    task.abort();

    let text = logs.text();
    assert!(
        !text.lines().any(|l| l.starts_with("INFO forged")),
        "a name wrote its own log line:\n{text}"
    );
    assert!(!text.contains('\u{1b}'), "a raw terminal escape:\n{text}");
    assert_eq!(
        text.matches("file name not UTF-8, skipped").count(),
        1,
        "{text}"
    );
}

#[tokio::test]
async fn files_in_directories_made_several_levels_deep_at_once_are_all_found() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nvr");
    std::fs::create_dir_all(&root).unwrap();
    let (task, mut found) = watch_folder(&root, &dir.path().join("queue"), &logs).await;

    // As an NVR does at midnight: `front/2026/12/07` in one go, the first clips right after,
    // before inotify can watch the new directories.
    let deep = root.join("front/2026/12/07");
    std::fs::create_dir_all(&deep).unwrap();
    for (at, name) in [
        (&deep, "a.mp4"),
        (&deep, "b.mp4"),
        (&deep.parent().unwrap().to_path_buf(), "c.mp4"),
        (&root.join("front/2026"), "d.mp4"),
    ] {
        std::fs::write(at.join(name), name).unwrap();
    }
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 4 {
        match next_job(&mut found, Duration::from_secs(5)).await {
            Some(job) => names.insert(job.name),
            None => break,
        };
    }
    task.abort();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    );
}

#[tokio::test]
async fn a_directory_moved_in_with_its_clips_is_scanned_once() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nvr");
    std::fs::create_dir_all(&root).unwrap();
    let (task, mut found) = watch_folder(&root, &dir.path().join("queue"), &logs).await;

    let staged = dir.path().join("front");
    std::fs::create_dir_all(staged.join("2026/12")).unwrap();
    std::fs::write(staged.join("2026/12/a.mp4"), "a").unwrap();
    std::fs::write(staged.join("2026/b.mp4"), "b").unwrap();
    std::fs::rename(&staged, root.join("front")).unwrap();
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 2 {
        match next_job(&mut found, Duration::from_secs(5)).await {
            Some(job) => names.insert(job.name),
            None => break,
        };
    }
    task.abort();
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a.mp4", "b.mp4"]);
}
