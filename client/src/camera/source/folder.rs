//! The folder source, for any NVR that writes files (motionEye, ZoneMinder, Blue Iris on a share,
//! Unifi Video's recording folder): inotify `CLOSE_WRITE` and `MOVED_TO` through `notify`, or, on
//! filesystems without inotify (SMB, NFS, FUSE), a scan that takes a file once its size and mtime
//! held still for `stable`. Either way a scan at start picks up what was finished while the
//! connector was down (clips newer than the source's mark, less an hour). Files are only read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::{Source, SourceContext, SourceFuture};
use crate::camera::queue::{folder_job_id, Job, Origin};
use crate::camera::upload::stat;
use crate::config::{FolderMode, FolderSource};

/// At start, files this much older than the saved mark are still looked at (the queue's
/// markers keep them from being sent twice).
const BACKFILL_SECS: i64 = 3600;

pub struct Folder {
    config: FolderSource,
    /// Files skipped for a name that is not UTF-8, each logged once (a scan sees them again).
    not_utf8: Mutex<HashSet<PathBuf>>,
}

impl Folder {
    pub fn new(config: FolderSource) -> Self {
        Self {
            config,
            not_utf8: Mutex::default(),
        }
    }
}

/// The camera a file belongs to: the configured one, else the first directory under the root,
/// else the root's own name.
pub fn camera_for(root: &Path, configured: Option<&str>, file: &Path) -> String {
    if let Some(camera) = configured {
        return camera.to_string();
    }
    let rel = file.strip_prefix(root).unwrap_or(file);
    let mut parts = rel.components();
    let first = parts.next();
    let name = match (first, parts.next()) {
        (Some(dir), Some(_)) => dir.as_os_str().to_string_lossy().into_owned(),
        _ => root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let safe = crate::camera::queue::safe_name(&name);
    safe.chars()
        .take(failberry_proto::clips::MAX_CAMERA_LEN)
        .collect()
}

/// Whether a scanned file is finished: seen with the same size and mtime for at least `stable`.
pub fn is_stable(
    previous: Option<&(u64, u64, Instant)>,
    current: (u64, u64),
    now: Instant,
    stable: Duration,
) -> bool {
    match previous {
        Some((size, mtime, since)) => {
            (*size, *mtime) == current && now.duration_since(*since) >= stable
        }
        None => false,
    }
}

/// Whether the inotify event says a file was finished, and which.
fn finished_path(event: &notify::Event) -> Option<&PathBuf> {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => event.paths.get(1),
        _ => None,
    }
}

/// A directory the event brought into the folder (made, or moved in with what it holds).
/// inotify watches it only from the moment `notify` adds it, after handing out this event:
/// files written into it before that (`mkdir -p a/b/c` and clips right after) give no events.
fn new_directory(event: &notify::Event) -> Option<&PathBuf> {
    let path = match event.kind {
        EventKind::Create(CreateKind::Folder) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.first(),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => event.paths.get(1),
        _ => None,
    }?;
    // Not `is_dir()`: a linked directory is not walked.
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.is_dir().then_some(path)
}

impl Folder {
    fn wanted(&self, path: &Path) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        let Some(name) = name.to_str() else {
            // Clip names become S3 keys and log fields: UTF-8 only, but not silently.
            let mut logged = self.not_utf8.lock().unwrap_or_else(|e| e.into_inner());
            if logged.insert(path.to_path_buf()) {
                tracing::warn!(source = %self.name(), file = ?path, "file name not UTF-8, skipped");
            }
            return false;
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        !name.starts_with('.') && ext.is_some_and(|e| self.config.extensions.contains(&e))
    }

    /// Whether `path`'s directory really is under the root: not reached through a linked
    /// directory (the file itself is checked by `stat`, and opened with `O_NOFOLLOW`).
    fn inside_root(&self, path: &Path) -> bool {
        let parent = path.parent().map(std::fs::canonicalize);
        match (parent, std::fs::canonicalize(&self.config.path)) {
            (Some(Ok(parent)), Ok(root)) => parent.starts_with(root),
            _ => false,
        }
    }

    /// Queues the file unless it is known; returns false once the connector is gone. Only a
    /// regular file inside the root is taken: never a symlink (it could point at the device
    /// secret), a FIFO or a device.
    async fn offer(&self, ctx: &SourceContext, path: &Path, mark: &mut i64) -> bool {
        let (size, mtime_ns) = match stat(path) {
            Ok(stat) if self.inside_root(path) => stat,
            Ok(_) => {
                tracing::warn!(source = %self.name(), file = ?path, "file outside the watched folder skipped");
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                tracing::warn!(source = %self.name(), file = ?path, "not a regular file, skipped");
                return true;
            }
            // Gone since (a temporary file renamed away).
            Err(_) => return true,
        };
        let id = folder_job_id(path, size, mtime_ns);
        if ctx.queue.is_known(&id) {
            return true;
        }
        let now = failberry_proto::clock::unix_secs(std::time::SystemTime::now());
        let camera = camera_for(&self.config.path, self.config.camera.as_deref(), path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let job = Job::new(
            id,
            &camera,
            &name,
            path.to_path_buf(),
            false,
            Origin::Folder,
            now,
        );
        let mtime = i64::try_from(mtime_ns / 1_000_000_000).unwrap_or(i64::MAX);
        if mtime > *mark {
            *mark = mtime;
            let _ = ctx
                .queue
                .save_source_mark(&self.name(), &serde_json::json!({ "mtime": mtime }));
        }
        ctx.found(job).await
    }

    /// Every wanted file under `under` (the root or a new directory) with its (size, mtime ns).
    fn scan(&self, under: &Path) -> Vec<(PathBuf, (u64, u64))> {
        walkdir::WalkDir::new(under)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && self.wanted(e.path()))
            .filter_map(|e| stat(e.path()).ok().map(|s| (e.path().to_path_buf(), s)))
            .collect()
    }

    /// Scans `under` until stopped (`forever`) or until every recent file was offered once
    /// stable.
    async fn poll(&self, ctx: &SourceContext, under: &Path, mark: &mut i64, forever: bool) -> bool {
        let mut seen: HashMap<PathBuf, (u64, u64, Instant)> = HashMap::new();
        // The start-up scan gives files still being written a little time; their CLOSE_WRITE
        // will come anyway.
        let deadline = Instant::now() + self.config.stable * 2 + Duration::from_secs(1);
        let tick = if forever {
            self.config.poll.min(self.config.stable)
        } else {
            Duration::from_millis(500)
        };
        loop {
            let now = Instant::now();
            let since = *mark - BACKFILL_SECS;
            let mut pending = 0;
            for (path, current) in self.scan(under) {
                if i64::try_from(current.1 / 1_000_000_000).unwrap_or(i64::MAX) < since {
                    continue;
                }
                let previous = seen.get(&path);
                if is_stable(previous, current, now, self.config.stable) {
                    if !self.offer(ctx, &path, mark).await {
                        return false;
                    }
                } else {
                    pending += 1;
                    if previous.is_none_or(|p| (p.0, p.1) != current) {
                        seen.insert(path, (current.0, current.1, now));
                    }
                }
            }
            if !forever && (pending == 0 || now > deadline) {
                return true;
            }
            tokio::time::sleep(tick).await;
        }
    }

    async fn watch(self: Box<Self>, ctx: SourceContext) {
        let name = self.name();
        let mut mark = ctx
            .queue
            .source_mark(&name)
            .and_then(|v| v["mtime"].as_i64())
            .unwrap_or_else(|| failberry_proto::clock::unix_secs(std::time::SystemTime::now()));
        if self.config.mode == FolderMode::Poll {
            tracing::info!(source = %name, "watching by polling");
            self.poll(&ctx, &self.config.path, &mut mark, true).await;
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Linked directories are not watched (nor walked by the scan): a link to `/etc` must
        // not make its files look like clips.
        let watcher = notify::RecommendedWatcher::new(
            move |event| {
                let _ = tx.send(event);
            },
            notify::Config::default().with_follow_symlinks(false),
        )
        .and_then(|mut w| {
            w.watch(&self.config.path, RecursiveMode::Recursive)?;
            Ok(w)
        });
        let _watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(source = %name, error = %e, "inotify unavailable, polling instead");
                self.poll(&ctx, &self.config.path, &mut mark, true).await;
                return;
            }
        };
        tracing::info!(source = %name, "watching with inotify");
        // Events queue up meanwhile: nothing finished during the scan is missed.
        if !self.poll(&ctx, &self.config.path, &mut mark, false).await {
            return;
        }
        while let Some(event) = rx.recv().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(source = %name, error = %e, "inotify error");
                    continue;
                }
            };
            if let Some(dir) = new_directory(&event) {
                // Once, as at start (events meanwhile queue up); the connector drops a job
                // found twice.
                tracing::debug!(source = %name, dir = ?dir, "new directory, rescanned");
                if !self.poll(&ctx, dir, &mut mark, false).await {
                    return;
                }
            }
            if let Some(path) = finished_path(&event) {
                // Not `is_file()`: it follows links; `offer` looks at the entry itself.
                if self.wanted(path) && !self.offer(&ctx, path, &mut mark).await {
                    return;
                }
            }
        }
    }
}

impl Source for Folder {
    fn name(&self) -> String {
        format!("folder:{}", self.config.path.display())
    }

    fn run(self: Box<Self>, ctx: SourceContext) -> SourceFuture {
        Box::pin(self.watch(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_come_from_config_or_the_first_directory() {
        let root = Path::new("/srv/nvr");
        let cases = [
            ("configured", Some("porch"), "/srv/nvr/front/a.mp4", "porch"),
            ("first dir", None, "/srv/nvr/front/2026/11/a.mp4", "front"),
            ("at the root", None, "/srv/nvr/a.mp4", "nvr"),
            ("odd dir", None, "/srv/nvr/back yard/a.mp4", "back-yard"),
        ];
        for (name, configured, file, want) in cases {
            assert_eq!(
                camera_for(root, configured, Path::new(file)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn stability() {
        let t0 = Instant::now();
        let stable = Duration::from_secs(3);
        let later = t0 + Duration::from_secs(4);
        let cases = [
            ("first sight", None, (10, 1), later, false),
            (
                "unchanged long enough",
                Some((10, 1, t0)),
                (10, 1),
                later,
                true,
            ),
            (
                "unchanged too briefly",
                Some((10, 1, t0)),
                (10, 1),
                t0 + Duration::from_secs(1),
                false,
            ),
            ("grew", Some((10, 1, t0)), (11, 2), later, false),
            ("touched", Some((10, 1, t0)), (10, 2), later, false),
        ];
        for (name, previous, current, now, want) in cases {
            assert_eq!(
                is_stable(previous.as_ref(), current, now, stable),
                want,
                "{name}"
            );
        }
    }
}
