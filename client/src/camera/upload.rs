//! Moving one queued clip into S3 through upload grants: hash it (refusing a file that changes
//! while read), ask `POST /v1/clips`, stream the single PUT or the multipart parts from the file
//! (never more than a read buffer of it in memory), complete, and on a retry after a restart or a
//! link drop ask `/v1/clips/resume` for the parts S3 does not hold yet. Every stage is saved in the
//! queue before the network is touched. Signing is `api`'s; deciding when to run is `camera`'s.
//! (Some 420 lines: the grant, resume, PUT and completion paths are one state machine over one
//! job, and splitting them would spread its stage handling over two files.)

use std::io::{Read, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use failberry_proto::clips::{
    layout, CompleteRequest, Grant, GrantRequest, Layout, PartUrl, Presigned, ResumeRequest,
};
use failberry_proto::{paths, ErrorCode};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::queue::{Fingerprint, Job, Queue, QueueError, Stage};
use crate::api::{ApiClient, ApiError, ErrorClass};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A PUT that receives nothing back for this long is dropped (and resumed later).
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes read from a clip at once, for hashing and for each chunk of an upload: every chunk of an
/// upload is one hop to tokio's blocking pool, and at 64 KiB those hops cost the connector more
/// CPU than its socket writes (perf, 50 clips of 20 MB); four uploads at once still hold only
/// 1 MiB of buffers.
const READ_BUFFER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the clip changed while it was read ({0})")]
    Changed(String),
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

impl From<ApiError> for UploadError {
    fn from(e: ApiError) -> Self {
        match e.class() {
            ErrorClass::Transient => UploadError::Transient(e.to_string()),
            ErrorClass::Permanent => UploadError::Permanent(e.to_string()),
        }
    }
}

fn refused_with(e: &ApiError) -> Option<ErrorCode> {
    match e {
        ApiError::Refused { code, .. } => Some(*code),
        _ => None,
    }
}

/// Size and modification time of a regular file, in nanoseconds. A symlink is not followed: it
/// is `InvalidInput`, like a directory or a FIFO (see `open_clip`).
pub fn stat(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(not_regular());
    }
    let mtime_ns = u64::try_from(meta.mtime())
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(meta.mtime_nsec()).unwrap_or(0));
    Ok((meta.len(), mtime_ns))
}

fn not_regular() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a regular file (symlinks are never followed)",
    )
}

/// Opens a clip for reading without following a symlink: a link planted in a watched folder
/// (`x.mp4 → /etc/failberry/config.toml`) must never upload what it points at, even if it
/// replaced the file after it was found. `O_NONBLOCK` so a FIFO put there cannot hang the open;
/// it changes nothing for a regular file.
pub fn open_clip(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => std::fs::File::from(fd),
        Err(rustix::io::Errno::LOOP) => return Err(not_regular()),
        Err(e) => return Err(e.into()),
    };
    if !file.metadata()?.file_type().is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// The error of an unreadable clip; the path in Debug form, as it reaches the log.
fn unreadable(path: &Path, e: std::io::Error) -> UploadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        UploadError::Permanent(format!("{path:?}: the clip is gone"))
    } else if e.kind() == std::io::ErrorKind::InvalidInput {
        UploadError::Permanent(format!("{path:?}: {e}"))
    } else {
        UploadError::Transient(format!("{path:?}: {e}"))
    }
}

/// Hashes the file, whole and part by part; a size or mtime that differs after the read from
/// before it means the file is still being written (or was replaced): `Changed`.
pub fn fingerprint(path: &Path) -> Result<Fingerprint, UploadError> {
    let (size, mtime_ns) = stat(path).map_err(|e| unreadable(path, e))?;
    let file = open_clip(path).map_err(|e| unreadable(path, e))?;
    let hashes = hash_clip(file, size).map_err(|e| unreadable(path, e))?;
    let after = stat(path).map_err(|e| unreadable(path, e))?;
    if after != (size, mtime_ns) || hashes.read != size {
        return Err(UploadError::Changed(format!(
            "{} bytes before, {} read, {} after",
            size, hashes.read, after.0
        )));
    }
    Ok(Fingerprint {
        size,
        mtime_ns,
        sha256: hashes.whole,
        part_sha256: hashes.parts,
    })
}

/// What one read of a clip gives.
#[derive(Debug, PartialEq, Eq)]
pub struct ClipHashes {
    /// Bytes read (the clip's size, unless it changed).
    pub read: u64,
    /// Hex SHA-256 of everything read.
    pub whole: String,
    /// Hex SHA-256 of each part of `layout(size)` (none for a single PUT), in the same pass.
    pub parts: Vec<String>,
}

/// Reads `reader` once, hashing it whole and in the parts of the upload layout of `size`.
pub fn hash_clip(mut reader: impl Read, size: u64) -> std::io::Result<ClipHashes> {
    let part_size = match layout(size) {
        Layout::Single => None,
        Layout::Multipart { part_size, .. } => Some(part_size),
    };
    let mut whole = Sha256::new();
    let mut part = Sha256::new();
    let mut in_part = 0u64;
    let mut parts = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut read = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        whole.update(&buf[..n]);
        let Some(part_size) = part_size else { continue };
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            let take = chunk.len().min((part_size - in_part) as usize);
            part.update(&chunk[..take]);
            in_part += take as u64;
            chunk = &chunk[take..];
            if in_part == part_size {
                parts.push(hex::encode(part.finalize_reset()));
                in_part = 0;
            }
        }
    }
    if part_size.is_some() && in_part > 0 {
        parts.push(hex::encode(part.finalize()));
    }
    Ok(ClipHashes {
        read,
        whole: hex::encode(whole.finalize()),
        parts,
    })
}

/// Fails with `Changed` unless the file is still what was hashed.
fn check_unchanged(path: &Path, print: &Fingerprint) -> Result<(), UploadError> {
    let now = stat(path).map_err(|e| unreadable(path, e))?;
    if now != (print.size, print.mtime_ns) {
        return Err(UploadError::Changed(format!(
            "{} bytes when hashed, {} now",
            print.size, now.0
        )));
    }
    Ok(())
}

pub struct Uploader {
    api: Arc<ApiClient>,
    http: reqwest::Client,
}

impl Uploader {
    pub fn new(api: Arc<ApiClient>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("failberry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()?;
        Ok(Self { api, http })
    }

    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Takes the job from wherever it stopped to `Stored`, saving each stage in `queue`.
    pub async fn upload(&self, queue: &Queue, job: &mut Job) -> Result<(), UploadError> {
        let print = match &job.fingerprint {
            Some(print) if print.is_complete() => print.clone(),
            _ => {
                let path = job.path.clone();
                let print = tokio::task::spawn_blocking(move || fingerprint(&path))
                    .await
                    .map_err(|e| UploadError::Transient(e.to_string()))??;
                job.fingerprint = Some(print.clone());
                queue.save(job)?;
                print
            }
        };
        if let Err(e) = check_unchanged(&job.path, &print) {
            return Err(self.restart(queue, job, e)?);
        }
        loop {
            match job.stage.clone() {
                Stage::Stored { .. } => return Ok(()),
                Stage::Queued => self.grant(queue, job, &print).await?,
                // Stored already if the last PUT got through before its answer was lost.
                Stage::Single { key } => self.stored_or_granted_again(queue, job, key).await?,
                Stage::Multipart { key, upload_id } => {
                    let body = |timestamp, nonce| {
                        serde_json::to_vec(&ResumeRequest {
                            key: key.clone(),
                            upload_id: upload_id.clone(),
                            size: print.size,
                            part_sha256: print.part_sha256.clone(),
                            timestamp,
                            nonce,
                        })
                        .expect("JSON")
                    };
                    match self
                        .api
                        .signed(reqwest::Method::POST, paths::CLIPS_RESUME, body)
                        .await
                    {
                        Ok((_, answer)) => {
                            let grant = parse_grant(&answer)?;
                            if let Grant::Multipart { done, parts, .. } = &grant {
                                tracing::info!(key = %key, done = done.len(), missing = parts.len(), "upload resumed");
                            }
                            self.send(queue, job, &print, grant).await?;
                        }
                        Err(e)
                            if matches!(
                                refused_with(&e),
                                Some(ErrorCode::NotFound | ErrorCode::UploadIncomplete)
                            ) || matches!(&e, ApiError::Refused { status: 503, message, .. } if message.contains("NoSuchUpload")) =>
                        {
                            // Gone because an earlier completion went through and its answer
                            // was lost (the clip is there), or expired (it is not).
                            tracing::warn!(key = %key, error = %e, "the open upload is gone");
                            self.stored_or_granted_again(queue, job, key).await?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// The clip changed: forget its hash and any open upload, so it is hashed and granted anew.
    fn restart(
        &self,
        queue: &Queue,
        job: &mut Job,
        why: UploadError,
    ) -> Result<UploadError, QueueError> {
        if matches!(why, UploadError::Changed(_)) {
            self.forget(queue, job)?;
        }
        Ok(why)
    }

    fn forget(&self, queue: &Queue, job: &mut Job) -> Result<(), QueueError> {
        job.fingerprint = None;
        job.stage = Stage::Queued;
        queue.save(job)
    }

    /// S3 refused the bytes sent under a URL signed over their size and SHA-256 (`BadDigest`):
    /// the file no longer holds what was hashed, unnoticed by its size and mtime. It is hashed
    /// and granted again, after the backoff of a failure (should S3 refuse for another reason,
    /// the retries slow down instead of spinning).
    fn refused(&self, queue: &Queue, job: &mut Job) -> Result<UploadError, QueueError> {
        self.forget(queue, job)?;
        Ok(UploadError::Transient(
            "storage refused the bytes as not matching their checksum (400): hashing the clip again"
                .into(),
        ))
    }

    /// After an answer that may have been lost: the clip at `key` is stored if the API knows it
    /// (a result or "pending"), otherwise the job starts over from a grant.
    async fn stored_or_granted_again(
        &self,
        queue: &Queue,
        job: &mut Job,
        key: String,
    ) -> Result<(), UploadError> {
        match self.result_status(&key).await {
            Ok(_) => Ok(self.stored(queue, job, key)?),
            Err(e) if refused_with(&e) == Some(ErrorCode::NotFound) => {
                job.stage = Stage::Queued;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn stored(&self, queue: &Queue, job: &mut Job, key: String) -> Result<(), QueueError> {
        job.stage = Stage::Stored {
            key,
            stored_at: self.api.now(),
        };
        job.last_error = None;
        queue.save(job)
    }

    async fn grant(
        &self,
        queue: &Queue,
        job: &mut Job,
        print: &Fingerprint,
    ) -> Result<(), UploadError> {
        let body = |timestamp, nonce| {
            serde_json::to_vec(&GrantRequest {
                camera: job.camera.clone(),
                name: job.name.clone(),
                size: print.size,
                sha256: print.sha256.clone(),
                part_sha256: print.part_sha256.clone(),
                timestamp,
                nonce,
            })
            .expect("JSON")
        };
        let (_, answer) = match self
            .api
            .signed(reqwest::Method::POST, paths::CLIPS, body)
            .await
        {
            Ok(answer) => answer,
            // The same name granted within the same second (a clip that changed and came
            // straight back): a later grant gets a later key.
            Err(e) if refused_with(&e) == Some(ErrorCode::ClipExists) => {
                return Err(UploadError::Transient(e.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        let grant = parse_grant(&answer)?;
        tracing::info!(key = %grant.key(), size = print.size, "upload granted");
        self.send(queue, job, print, grant).await
    }

    /// Saves the grant's stage, sends what it asks for, and completes a multipart upload.
    async fn send(
        &self,
        queue: &Queue,
        job: &mut Job,
        print: &Fingerprint,
        grant: Grant,
    ) -> Result<(), UploadError> {
        match grant {
            Grant::Single { key, put, .. } => {
                job.stage = Stage::Single { key: key.clone() };
                queue.save(job)?;
                match self.put(&job.path, &put, 0, print.size).await {
                    Ok(_) => {}
                    // If-None-Match: the object is there already (an earlier try got through).
                    Err(PutError::Status(412)) => {}
                    Err(PutError::Status(400)) => return Err(self.refused(queue, job)?),
                    Err(e) => return Err(e.into()),
                }
                if let Err(e) = check_unchanged(&job.path, print) {
                    return Err(self.restart(queue, job, e)?);
                }
                self.stored(queue, job, key)?;
            }
            Grant::Multipart {
                key,
                upload_id,
                parts,
                ..
            } => {
                job.stage = Stage::Multipart {
                    key: key.clone(),
                    upload_id: upload_id.clone(),
                };
                queue.save(job)?;
                for part in &parts {
                    match self.put_part(&job.path, part).await {
                        Ok(()) => {}
                        Err(PutError::Status(400)) => return Err(self.refused(queue, job)?),
                        Err(e) => return Err(e.into()),
                    }
                    if let Err(e) = check_unchanged(&job.path, print) {
                        return Err(self.restart(queue, job, e)?);
                    }
                }
                let body = |timestamp, nonce| {
                    serde_json::to_vec(&CompleteRequest {
                        key: key.clone(),
                        upload_id: upload_id.clone(),
                        size: print.size,
                        timestamp,
                        nonce,
                    })
                    .expect("JSON")
                };
                match self
                    .api
                    .signed(reqwest::Method::POST, paths::CLIPS_COMPLETE, body)
                    .await
                {
                    Ok(_) => {}
                    // Completed by an earlier try whose answer was lost.
                    Err(e) if refused_with(&e) == Some(ErrorCode::ClipExists) => {}
                    Err(e) => return Err(e.into()),
                }
                tracing::info!(key = %key, parts = parts.len(), "multipart upload completed");
                self.stored(queue, job, key)?;
            }
        }
        Ok(())
    }

    async fn put_part(&self, path: &Path, part: &PartUrl) -> Result<(), PutError> {
        self.put(path, &part.request, part.offset, part.size)
            .await?;
        tracing::debug!(part = part.number, size = part.size, "part stored");
        Ok(())
    }

    /// PUTs bytes `offset..offset + len` of the file, streamed, with the presigned headers.
    async fn put(
        &self,
        path: &Path,
        put: &Presigned,
        offset: u64,
        len: u64,
    ) -> Result<(), PutError> {
        let mut file = open_clip(path)
            .map(tokio::fs::File::from_std)
            .map_err(|e| PutError::File(e.to_string()))?;
        file.seek(SeekFrom::Start(offset))
            .await
            .map_err(|e| PutError::File(e.to_string()))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), READ_BUFFER);
        let mut request = self
            .http
            .put(&put.url)
            .body(reqwest::Body::wrap_stream(stream));
        let mut has_length = false;
        for (name, value) in &put.headers {
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            has_length |= name.eq_ignore_ascii_case("content-length");
            request = request.header(name.as_str(), value.as_str());
        }
        if !has_length {
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| PutError::Network(crate::api::error_chain(&e.without_url())))?;
        let status = answer.status().as_u16();
        // Read the body so the connection can be reused.
        let _ = answer.bytes().await;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(PutError::Status(status))
        }
    }

    /// `GET /v1/clips/<key>`: the status (200 with a result, 202 pending) and the body.
    pub async fn result_status(&self, key: &str) -> Result<(u16, Vec<u8>), ApiError> {
        let path = format!("{}{key}", paths::CLIP_RESULT_PREFIX);
        self.api
            .signed(reqwest::Method::GET, &path, |_, _| Vec::new())
            .await
    }
}

#[derive(Debug)]
enum PutError {
    File(String),
    Network(String),
    Status(u16),
}

impl From<PutError> for UploadError {
    fn from(e: PutError) -> Self {
        match e {
            PutError::File(e) => UploadError::Transient(format!("reading the clip: {e}")),
            PutError::Network(e) => UploadError::Transient(format!("upload interrupted: {e}")),
            // Expired or refused URLs come fresh with the next grant or resume.
            PutError::Status(s) => UploadError::Transient(format!("storage answered {s}")),
        }
    }
}

fn parse_grant(body: &[u8]) -> Result<Grant, UploadError> {
    serde_json::from_slice(body)
        .map_err(|e| UploadError::Transient(format!("the grant is not readable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_hashes_the_clip_whole_and_part_by_part() {
        let part = failberry_proto::clips::MIN_PART_SIZE as usize;
        let single = failberry_proto::clips::SINGLE_PUT_MAX as usize;
        let cases = [
            ("single PUT", 1000, 0),
            ("the largest single PUT", single, 0),
            ("one byte over: the last part holds it", single + 1, 3),
            ("parts of exactly the part size", 3 * part, 3),
            ("a short last part", 2 * part + 5, 3),
        ];
        for (name, len, parts) in cases {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let got = hash_clip(&data[..], len as u64).unwrap();
            let want: Vec<String> = data
                .chunks(part)
                .map(|c| hex::encode(Sha256::digest(c)))
                .take(parts)
                .collect();
            assert_eq!(got.read, len as u64, "{name}");
            assert_eq!(got.whole, hex::encode(Sha256::digest(&data)), "{name}");
            assert_eq!(got.parts, want, "{name}");
        }
    }

    #[test]
    fn fingerprints_hash_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mp4");
        std::fs::write(&path, vec![1u8; 200_000]).unwrap();
        let print = fingerprint(&path).unwrap();
        assert_eq!(print.size, 200_000);
        assert_eq!(
            print.sha256,
            hex::encode(Sha256::digest(vec![1u8; 200_000]))
        );
        assert!(check_unchanged(&path, &print).is_ok());
        std::fs::write(&path, vec![1u8; 200_001]).unwrap();
        assert!(matches!(
            check_unchanged(&path, &print),
            Err(UploadError::Changed(_))
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(fingerprint(&path), Err(UploadError::Permanent(_))));
    }
}
