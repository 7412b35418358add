//! The HTTP adapter: authenticates a request exactly as ddns authenticates `/v1/update` (same
//! headers, canonical string, key ids and secrets, ±300 s window), consumes its nonce, and turns
//! grant, resume, completion and result requests into `ClipStore` calls. Never fails: every
//! error is an answer.

use std::sync::Arc;
use std::time::Duration;

use failberry_aws::DocumentSource;
use failberry_proto::clips::{
    self, check_parts, clip_key, content_type, layout, owns_key, parse_part_sha256, parse_sha256,
    part_range, result_key, CompleteRequest, Completed, DonePart, Grant, GrantRequest, Layout,
    PartUrl, Pending, ResumeRequest,
};
use failberry_proto::hosts::{DdnsConfig, HostConfig};
use failberry_proto::paths;
use failberry_proto::signing::{self, Signed, SignedRequest};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::error::{json_response, ApiError};
use crate::nonces::NonceStore;
use crate::store::{ClipStore, StoreError, Upload};
use crate::{Clips, Clock};

impl<S: ClipStore, N: NonceStore, D: DocumentSource, K: Clock> Clips<S, N, D, K> {
    /// The Lambda handler body.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let now = self.clock.unix_secs();
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let result = match (path.as_str(), &method) {
            (paths::CLIPS, &Method::POST) => self.grant(&req, now).await,
            (paths::CLIPS_RESUME, &Method::POST) => self.resume(&req, now).await,
            (paths::CLIPS_COMPLETE, &Method::POST) => self.complete(&req, now).await,
            (paths::CLIPS | paths::CLIPS_RESUME | paths::CLIPS_COMPLETE, _) => {
                Err(ApiError::MethodNotAllowed)
            }
            (p, &Method::GET) if p.starts_with(paths::CLIP_RESULT_PREFIX) => {
                self.result(&req, &path).await
            }
            _ => Err(ApiError::NotFound),
        };
        result.unwrap_or_else(|e| {
            tracing::info!(method = %method, path = %path, status = e.status(), error = %e.code(), reason = %e, detail = ?e, "request refused");
            e.into_response(now)
        })
    }

    async fn config(&self) -> Result<Arc<DdnsConfig>, ApiError> {
        self.config
            .get()
            .await
            .map_err(|e| ApiError::ConfigUnavailable(e.to_string()))
    }

    /// Authenticates a request at the shared door: the host it names, which must be allowed
    /// clips.
    fn authenticate<'c>(
        config: &'c DdnsConfig,
        req: &Request,
        path: &str,
    ) -> Result<&'c HostConfig, ApiError> {
        may_upload(signing::authenticate(config, &signed_request(req, path))?)
    }

    /// Opens a signed POST at the shared door and consumes its nonce.
    async fn signed_post<T: Signed>(
        &self,
        req: &Request,
        path: &str,
        now: i64,
    ) -> Result<(Arc<DdnsConfig>, String, T), ApiError> {
        let config = self.config().await?;
        let (host, parsed) = signing::open::<T>(&config, &signed_request(req, path), now)?;
        let host = may_upload(host)?.name.clone();
        match self.nonces.consume(&host, parsed.nonce()).await {
            Ok(true) => Ok((config, host, parsed)),
            Ok(false) => {
                tracing::warn!(host = %host, "replayed clips request refused");
                Err(ApiError::Replayed)
            }
            Err(e) => Err(ApiError::StorageUnavailable(format!("nonces: {e}"))),
        }
    }

    /// Refuses an upload id that is not an upload at `key` (another device's, or none), before
    /// any URL is handed out or anything completed.
    async fn upload_belongs(&self, key: &str, upload_id: &str) -> Result<(), ApiError> {
        match self
            .store
            .upload_is_at(key, upload_id)
            .await
            .map_err(storage)?
        {
            true => Ok(()),
            false => {
                tracing::warn!(key = %key, "an upload id that is not this key's was refused");
                Err(storage(StoreError::NoSuchUpload))
            }
        }
    }

    async fn grant(&self, req: &Request, now: i64) -> Result<Response<Body>, ApiError> {
        let (config, device, grant) = self
            .signed_post::<GrantRequest>(req, paths::CLIPS, now)
            .await?;
        let host = config.hosts.get(&device).expect("authenticated host");
        check_size(host, grant.size)?;
        let sha256 = parse_sha256(&grant.sha256).map_err(|e| ApiError::Malformed(e.to_string()))?;
        let part_sha256 = parse_part_sha256(grant.size, &grant.part_sha256)
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        let key = clip_key(&device, &grant.camera, grant.timestamp, &grant.name)
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        if self.store.exists(&key).await.map_err(storage)? {
            return Err(ApiError::Exists(key));
        }
        let upload = Upload {
            key: &key,
            size: grant.size,
            content_type: content_type(&grant.name),
            sha256,
        };
        let ttl = Duration::from_secs(clips::URL_LIFETIME_SECS);
        let expires = now + clips::URL_LIFETIME_SECS as i64;
        let answer = match layout(grant.size) {
            Layout::Single => Grant::Single {
                put: self
                    .store
                    .presign_put(&upload, ttl)
                    .await
                    .map_err(storage)?,
                key: key.clone(),
                expires,
            },
            Layout::Multipart { part_size, .. } => {
                let upload_id = self
                    .store
                    .create_multipart(&upload)
                    .await
                    .map_err(storage)?;
                let parts = self
                    .part_urls(&key, &upload_id, grant.size, &part_sha256, &[], ttl)
                    .await?;
                Grant::Multipart {
                    key: key.clone(),
                    upload_id,
                    part_size,
                    parts,
                    done: Vec::new(),
                    expires,
                }
            }
        };
        tracing::info!(host = %device, key = %key, size = grant.size, "clip upload granted");
        Ok(json_response(200, &answer))
    }

    /// Presigned URLs for every part of the layout of `size` not in `done`, each bound to its
    /// checksum in `part_sha256` (one per part, checked against the layout).
    async fn part_urls(
        &self,
        key: &str,
        upload_id: &str,
        size: u64,
        part_sha256: &[[u8; 32]],
        done: &[DonePart],
        ttl: Duration,
    ) -> Result<Vec<PartUrl>, ApiError> {
        let Layout::Multipart { part_size, count } = layout(size) else {
            return Err(ApiError::Malformed(format!(
                "a clip of {size} bytes is uploaded in one PUT"
            )));
        };
        let mut parts = Vec::new();
        for number in 1..=count {
            if done.iter().any(|d| d.number == number) {
                continue;
            }
            let (offset, len) = part_range(size, part_size, number).expect("within the layout");
            // `parse_part_sha256` gave one checksum per part of this layout.
            let sha256 = part_sha256[number as usize - 1];
            let request = self
                .store
                .presign_part(key, upload_id, number, len, sha256, ttl)
                .await
                .map_err(storage)?;
            parts.push(PartUrl {
                number,
                offset,
                size: len,
                request,
            });
        }
        Ok(parts)
    }

    async fn resume(&self, req: &Request, now: i64) -> Result<Response<Body>, ApiError> {
        let (config, device, resume) = self
            .signed_post::<ResumeRequest>(req, paths::CLIPS_RESUME, now)
            .await?;
        let host = config.hosts.get(&device).expect("authenticated host");
        if !owns_key(&device, &resume.key) {
            return Err(ApiError::NotFound);
        }
        check_size(host, resume.size)?;
        let Layout::Multipart { part_size, .. } = layout(resume.size) else {
            return Err(ApiError::Malformed(
                "this clip is uploaded in one PUT".into(),
            ));
        };
        let part_sha256 = parse_part_sha256(resume.size, &resume.part_sha256)
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        self.upload_belongs(&resume.key, &resume.upload_id).await?;
        let held = self
            .store
            .list_parts(&resume.key, &resume.upload_id)
            .await
            .map_err(storage)?;
        // A part of the wrong size or checksum (a clip that changed under the upload) is sent
        // again.
        let done: Vec<DonePart> = held
            .into_iter()
            .filter(|p| {
                let size_fits =
                    part_range(resume.size, part_size, p.number).map(|r| r.1) == Some(p.size);
                let wanted = (p.number as usize)
                    .checked_sub(1)
                    .and_then(|i| part_sha256.get(i))
                    .map(hex::encode);
                let hash_fits = p.sha256.is_none() || p.sha256 == wanted;
                size_fits && hash_fits
            })
            .collect();
        let ttl = Duration::from_secs(clips::URL_LIFETIME_SECS);
        let parts = self
            .part_urls(
                &resume.key,
                &resume.upload_id,
                resume.size,
                &part_sha256,
                &done,
                ttl,
            )
            .await?;
        tracing::info!(host = %device, key = %resume.key, done = done.len(), missing = parts.len(), "clip upload resumed");
        Ok(json_response(
            200,
            &Grant::Multipart {
                key: resume.key,
                upload_id: resume.upload_id,
                part_size,
                parts,
                done,
                expires: now + clips::URL_LIFETIME_SECS as i64,
            },
        ))
    }

    async fn complete(&self, req: &Request, now: i64) -> Result<Response<Body>, ApiError> {
        let (config, device, complete) = self
            .signed_post::<CompleteRequest>(req, paths::CLIPS_COMPLETE, now)
            .await?;
        let host = config.hosts.get(&device).expect("authenticated host");
        if !owns_key(&device, &complete.key) {
            return Err(ApiError::NotFound);
        }
        check_size(host, complete.size)?;
        self.upload_belongs(&complete.key, &complete.upload_id)
            .await?;
        let held = self
            .store
            .list_parts(&complete.key, &complete.upload_id)
            .await
            .map_err(storage)?;
        check_parts(complete.size, &held).map_err(|e| ApiError::Incomplete(e.to_string()))?;
        match self
            .store
            .complete(&complete.key, &complete.upload_id, &held)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Exists) => return Err(ApiError::Exists(complete.key)),
            Err(e) => return Err(storage(e)),
        }
        tracing::info!(host = %device, key = %complete.key, size = complete.size, parts = held.len(), "clip upload completed");
        Ok(json_response(
            200,
            &Completed {
                key: complete.key,
                size: complete.size,
            },
        ))
    }

    /// `GET /v1/clips/<key>`, signed over an empty body: the result, 202 while the clip waits for
    /// it, 404 for a key that is not one of the device's clips.
    async fn result(&self, req: &Request, path: &str) -> Result<Response<Body>, ApiError> {
        let config = self.config().await?;
        let device = Self::authenticate(&config, req, path)?.name.clone();
        let key = path
            .strip_prefix(paths::CLIP_RESULT_PREFIX)
            .unwrap_or_default();
        if !owns_key(&device, key) {
            return Err(ApiError::NotFound);
        }
        if let Some(bytes) = self.store.result(&result_key(key)).await.map_err(storage)? {
            let body = String::from_utf8(bytes)
                .map_err(|_| ApiError::StorageUnavailable("the result is not UTF-8".into()))?;
            return Ok(Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::Text(body))
                .expect("static status and header are valid"));
        }
        if !self.store.exists(key).await.map_err(storage)? {
            return Err(ApiError::NotFound);
        }
        Ok(json_response(
            202,
            &Pending {
                key: key.to_string(),
                status: "pending".into(),
            },
        ))
    }
}

fn check_size(host: &HostConfig, size: u64) -> Result<(), ApiError> {
    if size > host.clips.max_size {
        return Err(ApiError::ClipTooLarge {
            size,
            max: host.clips.max_size,
        });
    }
    Ok(())
}

fn storage(e: StoreError) -> ApiError {
    match e {
        StoreError::Exists => ApiError::Exists("the clip's key".into()),
        StoreError::NoSuchUpload => ApiError::Incomplete("no such multipart upload".into()),
        StoreError::Unavailable(reason) => {
            tracing::error!(error = %reason, "s3 call failed");
            ApiError::StorageUnavailable(reason)
        }
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An authenticated host, if its entry lets it use the clip routes.
fn may_upload(host: &HostConfig) -> Result<&HostConfig, ApiError> {
    if host.clips.enabled {
        Ok(host)
    } else {
        Err(ApiError::ClipsDisabled)
    }
}

/// The request as the shared door (`proto::signing::open`) reads it.
fn signed_request<'a>(req: &'a Request, path: &'a str) -> SignedRequest<'a> {
    SignedRequest::new(
        req.method().as_str(),
        path,
        |name| header(req, name),
        req.body().as_ref(),
    )
}
