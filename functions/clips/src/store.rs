//! The clips bucket behind the [`ClipStore`] capability: presigned PUTs and part uploads (bound to
//! their size, content type, checksum and "create only"), multipart bookkeeping, and the analysis
//! results. What to grant is decided in `routes` and `failberry_proto::clips`; this module only
//! speaks S3.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use failberry_aws::{describe, lost_conditional_write};
use failberry_proto::clips::{DonePart, Presigned};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("an object already exists at the key")]
    Exists,
    #[error("no such multipart upload")]
    NoSuchUpload,
    #[error("S3: {0}")]
    Unavailable(String),
}

/// What one clip upload is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload<'a> {
    pub key: &'a str,
    pub size: u64,
    pub content_type: &'static str,
    pub sha256: [u8; 32],
}

pub trait ClipStore: Send + Sync {
    /// Whether an object exists at `key`.
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A presigned PUT of the whole clip, valid for `ttl`, that S3 accepts only with exactly the
    /// bound length, type and checksum, and only when no object exists at the key.
    fn presign_put(
        &self,
        upload: &Upload<'_>,
        ttl: Duration,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// Starts a multipart upload whose parts each carry a SHA-256 S3 checks; returns its id.
    fn create_multipart(
        &self,
        upload: &Upload<'_>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// A presigned PUT of part `number` of exactly `size` bytes whose SHA-256 is `sha256`.
    fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        size: u64,
        sha256: [u8; 32],
        ttl: Duration,
    ) -> impl Future<Output = Result<Presigned, StoreError>> + Send;

    /// Whether `upload_id` is a multipart upload in progress at exactly `key`. S3 binds an upload
    /// id to its key, but a device names both, and the function must not rest on S3 (or an
    /// emulator) refusing another key's upload id: it asks first.
    fn upload_is_at(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The parts S3 holds for the upload, in part order.
    fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<DonePart>, StoreError>> + Send;

    /// Assembles `parts`, only when no object exists at the key yet.
    fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[DonePart],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The analysis result document at `result_key`, when it exists.
    fn result(
        &self,
        result_key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}

/// The clips bucket in S3.
#[derive(Debug, Clone)]
pub struct S3ClipStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ClipStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn presigned(req: PresignedRequest) -> Presigned {
    Presigned {
        url: req.uri().to_string(),
        headers: req
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// The HTTP status S3 answered with, when it answered.
fn status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn length(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

impl ClipStore for S3ClipStore {
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }

    async fn presign_put(
        &self,
        upload: &Upload<'_>,
        ttl: Duration,
    ) -> Result<Presigned, StoreError> {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(upload.key)
            .content_length(length(upload.size))
            .content_type(upload.content_type)
            .checksum_sha256(BASE64.encode(upload.sha256))
            .metadata("sha256", hex::encode(upload.sha256))
            .if_none_match("*")
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(presigned(req))
    }

    async fn create_multipart(&self, upload: &Upload<'_>) -> Result<String, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(upload.key)
            .content_type(upload.content_type)
            .metadata("sha256", hex::encode(upload.sha256))
            .metadata("size", upload.size.to_string())
            // Each part then must come with its checksum, which its presigned URL is signed over.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        out.upload_id()
            .map(str::to_string)
            .ok_or_else(|| StoreError::Unavailable("S3 returned no upload id".into()))
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        size: u64,
        sha256: [u8; 32],
        ttl: Duration,
    ) -> Result<Presigned, StoreError> {
        let req = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(i32::try_from(number).unwrap_or(i32::MAX))
            .content_length(length(size))
            .checksum_sha256(BASE64.encode(sha256))
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| StoreError::Unavailable(describe(&e)))?;
        Ok(presigned(req))
    }

    async fn upload_is_at(&self, key: &str, upload_id: &str) -> Result<bool, StoreError> {
        // Uploads are listed by key prefix; the key itself sorts first among its own, so the
        // pages beyond the first are only read while they still hold this exact key.
        let mut key_marker: Option<String> = None;
        let mut id_marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
                .map_err(|e| StoreError::Unavailable(describe(&e)))?;
            let uploads = out.uploads();
            if uploads
                .iter()
                .any(|u| u.key() == Some(key) && u.upload_id() == Some(upload_id))
            {
                return Ok(true);
            }
            let more_of_this_key = uploads.last().is_some_and(|u| u.key() == Some(key));
            match (out.is_truncated(), more_of_this_key) {
                (Some(true), true) => {
                    key_marker = out.next_key_marker().map(str::to_string);
                    id_marker = out.next_upload_id_marker().map(str::to_string);
                }
                _ => return Ok(false),
            }
        }
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<DonePart>, StoreError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) if status(&e) == Some(404) => return Err(StoreError::NoSuchUpload),
                Err(e) => return Err(StoreError::Unavailable(describe(&e))),
            };
            for p in out.parts() {
                parts.push(DonePart {
                    number: p
                        .part_number()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0),
                    etag: p.e_tag().unwrap_or_default().to_string(),
                    size: p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    sha256: p
                        .checksum_sha256()
                        .and_then(|b| BASE64.decode(b).ok())
                        .map(hex::encode),
                });
            }
            match (out.is_truncated(), out.next_part_number_marker()) {
                (Some(true), Some(next)) => marker = Some(next.to_string()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[DonePart],
    ) -> Result<(), StoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        // S3 wants each part's checksum back when the upload has an algorithm.
                        CompletedPart::builder()
                            .part_number(i32::try_from(p.number).unwrap_or(i32::MAX))
                            .e_tag(&p.etag)
                            .set_checksum_sha256(
                                p.sha256
                                    .as_deref()
                                    .and_then(|h| hex::decode(h).ok())
                                    .map(|b| BASE64.encode(b)),
                            )
                            .build()
                    })
                    .collect(),
            ))
            .build();
        match self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .if_none_match("*")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if lost_conditional_write(&e) => Err(StoreError::Exists),
            Err(e) if status(&e) == Some(404) => Err(StoreError::NoSuchUpload),
            Err(e) => Err(StoreError::Unavailable(describe(&e))),
        }
    }

    async fn result(&self, result_key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(result_key)
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(StoreError::Unavailable(describe(&e))),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading {result_key}: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
