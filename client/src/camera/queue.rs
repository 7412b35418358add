//! The durable upload queue: one JSON file per clip under `<queue_dir>/jobs/`, rewritten
//! atomically at every stage change, so a restart (or hours with the link down) loses nothing and
//! an interrupted multipart upload is resumed, not restarted. Also owns the queue directory's
//! other corners: `done/` markers (a clip seen again is not sent twice), `failed/` (refused for
//! good, with the reason), `spool/` (clips the HTTP sources downloaded; the only files ever
//! deleted) and `sources/` (each source's "last seen" mark). What to do with a job is `upload`'s
//! and `mark`'s business.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a clip came from: what a mark is set on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Folder,
    Frigate { url: String, event_id: String },
    UnifiVideo { url: String, recording_id: String },
}

/// What the file was when it was hashed; an upload only proceeds while the file still matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: u64,
    pub sha256: String,
    /// The SHA-256 of each part of the clip's upload layout (none for a single PUT).
    #[serde(default)]
    pub part_sha256: Vec<String>,
}

impl Fingerprint {
    /// Whether it holds a checksum for every part of its layout (a job queued by a version that
    /// hashed only the whole clip does not, and is hashed again).
    pub fn is_complete(&self) -> bool {
        failberry_proto::clips::parse_part_sha256(self.size, &self.part_sha256).is_ok()
    }
}

/// How far a clip has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Not granted yet.
    Queued,
    /// Granted one PUT to `key`; it may or may not have been stored.
    Single { key: String },
    /// A multipart upload is open: resumed through `/v1/clips/resume`.
    Multipart { key: String, upload_id: String },
    /// Stored at `key`: waiting for the analysis result (since `stored_at`).
    Stored { key: String, stored_at: i64 },
}

impl Stage {
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Single { .. } | Stage::Multipart { .. } => "uploading",
            Stage::Stored { .. } => "awaiting_result",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub camera: String,
    /// The upload name: the file name made safe for a key.
    pub name: String,
    pub path: PathBuf,
    /// `path` is in the spool (downloaded by an HTTP source) and is removed when the job ends.
    pub owned: bool,
    pub origin: Origin,
    pub found_at: i64,
    pub fingerprint: Option<Fingerprint>,
    pub stage: Stage,
    pub attempts: u32,
    /// Unix seconds before which the job is not retried.
    pub not_before: i64,
    pub last_error: Option<String>,
}

impl Job {
    pub fn new(
        id: String,
        camera: &str,
        name: &str,
        path: PathBuf,
        owned: bool,
        origin: Origin,
        now: i64,
    ) -> Self {
        Job {
            id,
            camera: camera.to_string(),
            name: safe_name(name),
            path,
            owned,
            origin,
            found_at: now,
            fingerprint: None,
            stage: Stage::Queued,
            attempts: 0,
            not_before: 0,
            last_error: None,
        }
    }
}

/// A stable id for a clip as its source identifies it (path, size and mtime; an event id).
pub fn job_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..12])
}

/// The id of a folder clip: its path, size and mtime (a rewritten file is a new clip).
pub fn folder_job_id(path: &Path, size: u64, mtime_ns: u64) -> String {
    job_id(&[
        "folder",
        &path.to_string_lossy(),
        &size.to_string(),
        &mtime_ns.to_string(),
    ])
}

/// A file name as the grant contract accepts it: `[A-Za-z0-9._-]`, no leading dot, no `..`,
/// at most 128 characters (the end, with the extension, is kept).
pub fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    let out = out.trim_start_matches('.').to_string();
    let out = if out.is_empty() {
        "clip".to_string()
    } else {
        out
    };
    let max = failberry_proto::clips::MAX_NAME_LEN;
    if out.len() > max {
        out[out.len() - max..].trim_start_matches('.').to_string()
    } else {
        out
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct QueueError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> QueueError + '_ {
    move |source| QueueError {
        path: path.to_path_buf(),
        source,
    }
}

/// Counts per stage, and the failed ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    pub stages: BTreeMap<&'static str, usize>,
    pub failed: usize,
    /// Jobs not yet stored (what a link outage lets pile up).
    pub waiting: usize,
    pub oldest_found_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    dir: PathBuf,
}

const SUBDIRS: [&str; 5] = ["jobs", "done", "failed", "spool", "sources"];

impl Queue {
    /// Opens (creating) the queue directory.
    pub fn open(dir: &Path) -> Result<Self, QueueError> {
        for sub in SUBDIRS {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io_err(&path))?;
        }
        Ok(Queue {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn job_path(&self, id: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{id}.json"))
    }

    fn done_path(&self, id: &str) -> PathBuf {
        self.dir.join("done").join(id)
    }

    pub fn spool_path(&self, id: &str) -> PathBuf {
        self.dir.join("spool").join(id)
    }

    /// Whether the clip is queued, finished or failed already.
    pub fn is_known(&self, id: &str) -> bool {
        self.job_path(id).exists()
            || self.done_path(id).exists()
            || self.dir.join("failed").join(format!("{id}.json")).exists()
    }

    /// Writes the job atomically (temp file, fsync, rename).
    pub fn save(&self, job: &Job) -> Result<(), QueueError> {
        let bytes = serde_json::to_vec_pretty(job).expect("a job always serialises");
        write_atomic(&self.job_path(&job.id), &bytes)
    }

    /// Every job on disk, oldest first; an unreadable file is moved to `failed/`.
    pub fn load(&self) -> Vec<Job> {
        let dir = self.dir.join("jobs");
        let mut jobs = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return jobs;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Job>(&b).ok())
            {
                Some(job) => jobs.push(job),
                None => {
                    tracing::warn!(path = %path.display(), "unreadable queue entry moved to failed/");
                    let _ = std::fs::rename(&path, self.dir.join("failed").join(entry.file_name()));
                }
            }
        }
        jobs.sort_by(|a, b| (a.found_at, &a.id).cmp(&(b.found_at, &b.id)));
        jobs
    }

    /// The job is over: a `done/` marker (holding the key) replaces it, and a spooled copy goes.
    pub fn finish(&self, job: &Job, key: &str) -> Result<(), QueueError> {
        write_atomic(&self.done_path(&job.id), key.as_bytes())?;
        // A folder clip re-read after a change was sent as it is now: that version is done too.
        if let (Origin::Folder, Some(print)) = (&job.origin, &job.fingerprint) {
            let now_id = folder_job_id(&job.path, print.size, print.mtime_ns);
            if now_id != job.id {
                write_atomic(&self.done_path(&now_id), key.as_bytes())?;
            }
        }
        self.remove(job)
    }

    /// The job is refused for good: kept under `failed/` with the reason.
    pub fn fail(&self, job: &Job, reason: &str) -> Result<(), QueueError> {
        let mut job = job.clone();
        job.last_error = Some(reason.to_string());
        let bytes = serde_json::to_vec_pretty(&job).expect("a job always serialises");
        write_atomic(
            &self.dir.join("failed").join(format!("{}.json", job.id)),
            &bytes,
        )?;
        self.remove(&job)
    }

    fn remove(&self, job: &Job) -> Result<(), QueueError> {
        let path = self.job_path(&job.id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io_err(&path)(e)),
            _ => {}
        }
        // Only our own spooled copy, never a file of the NVR's.
        if job.owned && job.path.starts_with(self.dir.join("spool")) {
            let _ = std::fs::remove_file(&job.path);
        }
        Ok(())
    }

    pub fn depth(&self) -> Depth {
        let mut depth = Depth::default();
        for job in self.load() {
            *depth.stages.entry(job.stage.name()).or_default() += 1;
            if !matches!(job.stage, Stage::Stored { .. }) {
                depth.waiting += 1;
                depth.oldest_found_at = Some(
                    depth
                        .oldest_found_at
                        .map_or(job.found_at, |t| t.min(job.found_at)),
                );
            }
        }
        depth.failed = std::fs::read_dir(self.dir.join("failed"))
            .map(|d| d.count())
            .unwrap_or(0);
        depth
    }

    /// A source's saved mark (e.g. the end time of the last Frigate event seen).
    pub fn source_mark(&self, source: &str) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.dir.join("sources").join(job_id(&[source]))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn save_source_mark(
        &self,
        source: &str,
        mark: &serde_json::Value,
    ) -> Result<(), QueueError> {
        let path = self.dir.join("sources").join(job_id(&[source]));
        write_atomic(&path, &serde_json::to_vec(mark).expect("JSON"))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), QueueError> {
    let dir = path.parent().expect("queue paths have a parent");
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        let cases = [
            ("plain", "front-10.mp4", "front-10.mp4"),
            ("spaces", "my clip (1).mp4", "my-clip--1-.mp4"),
            ("hidden", ".x.mp4", "x.mp4"),
            ("dots", "a..b.mp4", "a.b.mp4"),
            ("empty", "", "clip"),
            ("unicode", "café.mp4", "caf-.mp4"),
        ];
        for (name, input, want) in cases {
            assert_eq!(safe_name(input), want, "{name}");
            assert!(
                failberry_proto::clips::check_name(&safe_name(input)).is_ok(),
                "{name}"
            );
        }
        let long = format!("{}.mp4", "a".repeat(300));
        let got = safe_name(&long);
        assert!(got.ends_with(".mp4") && got.len() <= 128, "{got}");
    }

    #[test]
    fn jobs_survive_a_reopen_and_finish_into_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let mut job = Job::new(
            job_id(&["a"]),
            "front",
            "a.mp4",
            "/srv/a.mp4".into(),
            false,
            Origin::Folder,
            10,
        );
        queue.save(&job).unwrap();
        job.stage = Stage::Multipart {
            key: "k".into(),
            upload_id: "u".into(),
        };
        queue.save(&job).unwrap();
        let reopened = Queue::open(dir.path()).unwrap();
        assert_eq!(reopened.load(), vec![job.clone()]);
        assert_eq!(reopened.depth().waiting, 1);
        assert!(reopened.is_known(&job.id));
        reopened.finish(&job, "k").unwrap();
        assert!(reopened.load().is_empty());
        assert!(
            reopened.is_known(&job.id),
            "a finished clip is not queued again"
        );
        assert_eq!(reopened.depth().waiting, 0);
    }

    #[test]
    fn a_corrupt_entry_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("jobs/bad.json"), b"{not json").unwrap();
        assert!(queue.load().is_empty());
        assert_eq!(queue.depth().failed, 1);
    }

    #[test]
    fn finishing_never_removes_a_file_outside_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        let nvr_file = dir.path().join("nvr.mp4");
        std::fs::write(&nvr_file, b"clip").unwrap();
        // Even a job wrongly marked as owning it.
        let job = Job::new(
            "x".into(),
            "c",
            "n.mp4",
            nvr_file.clone(),
            true,
            Origin::Folder,
            0,
        );
        queue.save(&job).unwrap();
        queue.finish(&job, "k").unwrap();
        assert!(nvr_file.exists());
    }
}
