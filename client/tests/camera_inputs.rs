//! The camera sources against hostile inputs: a watched folder with planted links and odd names,
//! and NVRs that lie (huge lists, endless clips, a byte at a time, redirects to another origin,
//! ids that are paths). Each test is one attack of issue 27; each source runs as `camera watch`
//! runs it, handing its jobs to a channel the test reads.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failberry::camera::queue::{Job, Queue};
use failberry::camera::source::folder::Folder;
use failberry::camera::source::{Source, SourceContext};
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
