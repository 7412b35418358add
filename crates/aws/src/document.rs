//! JSON configuration documents in S3, read through a cache that is revalidated by ETag: a
//! conditional GET answered 304 costs no parsing. A document that fails to parse or check never
//! replaces the last good one; an unreachable S3 falls back to it too, with a warning.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::Mutex;
// tokio's clock, so that the tests can move it.
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("no such document s3://{bucket}/{key}")]
    NotFound { bucket: String, key: String },
    #[error("the document changed since it was read (ETag {expected} no longer current)")]
    Conflict { expected: String },
    #[error("document store unavailable: {0}")]
    Unavailable(String),
    #[error("the document (ETag {etag}) is invalid: {reason}")]
    Invalid { etag: String, reason: String },
}

/// The answer of a conditional read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    NotModified,
    Document { bytes: Vec<u8>, etag: String },
}

/// Where documents live. Implemented for S3; tests use the same trait with moto or a fake.
pub trait DocumentSource: Send + Sync {
    fn fetch(
        &self,
        if_none_match: Option<&str>,
    ) -> impl Future<Output = Result<Fetched, DocumentError>> + Send;
}

/// One S3 object holding a JSON document.
#[derive(Debug, Clone)]
pub struct S3Documents {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3Documents {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// Writes the document: with `if_match` only over that exact version, without it only if
    /// no document exists yet. Two editors can never overwrite each other. Returns the new ETag.
    pub async fn put(
        &self,
        bytes: Vec<u8>,
        if_match: Option<&str>,
    ) -> Result<String, DocumentError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        put = match if_match {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
            Err(e) => {
                if lost_conditional_write(&e) {
                    Err(DocumentError::Conflict {
                        expected: if_match.unwrap_or("(none)").to_string(),
                    })
                } else {
                    Err(DocumentError::Unavailable(describe(&e)))
                }
            }
        }
    }
}

/// Whether a conditional S3 write (`If-Match`, `If-None-Match: *`) lost: 412 when the condition
/// failed, 409 while another conditional write of the key is in flight.
pub fn lost_conditional_write<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    matches!(
        e.raw_response().map(|r| r.status().as_u16()),
        Some(412 | 409)
    )
}

/// One line for any AWS SDK error (every service shares `SdkError`): its code and message when
/// the service sent them.
pub fn describe<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => format!("{e:?}").chars().take(300).collect(),
    }
}

impl DocumentSource for S3Documents {
    async fn fetch(&self, if_none_match: Option<&str>) -> Result<Fetched, DocumentError> {
        let mut get = self.client.get_object().bucket(&self.bucket).key(&self.key);
        if let Some(etag) = if_none_match {
            get = get.if_none_match(etag);
        }
        match get.send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| DocumentError::Unavailable(format!("reading body: {e}")))?
                    .to_vec();
                Ok(Fetched::Document { bytes, etag })
            }
            Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                Some(304) => Ok(Fetched::NotModified),
                Some(404) => Err(DocumentError::NotFound {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                }),
                _ => Err(DocumentError::Unavailable(describe(&e))),
            },
        }
    }
}

/// A source whose SDK client is still being built answers once it is (`crate::deferred`).
impl<S: DocumentSource + 'static> DocumentSource for crate::Deferred<S> {
    async fn fetch(&self, if_none_match: Option<&str>) -> Result<Fetched, DocumentError> {
        self.get().await.fetch(if_none_match).await
    }
}

struct Cached<T> {
    value: Arc<T>,
    etag: String,
    checked: Instant,
}

/// A document's parser as the cache keeps it: the parser's own error, boxed.
type Parse<T> =
    Box<dyn Fn(&[u8]) -> Result<T, Box<dyn std::error::Error + Send + Sync>> + Send + Sync>;

/// Keeps the last good parsed document; revalidates it at most every `max_age`.
pub struct DocumentCache<S, T> {
    source: S,
    parse: Parse<T>,
    max_age: Duration,
    cached: Mutex<Option<Cached<T>>>,
}

impl<S: DocumentSource, T: Send + Sync + 'static> DocumentCache<S, T> {
    /// `parse` is the document's own parser (`DdnsConfig::parse`, `PingConfig::parse`, ...); its
    /// error is what a refused document is logged with and what [`DocumentError::Invalid`] says.
    pub fn new<E>(source: S, parse: fn(&[u8]) -> Result<T, E>, max_age: Duration) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self {
            source,
            parse: Box::new(move |bytes| parse(bytes).map_err(Into::into)),
            max_age,
            cached: Mutex::new(None),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// The current document. Errors only when no good document was ever read.
    pub async fn get(&self) -> Result<Arc<T>, DocumentError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.checked.elapsed() < self.max_age {
                return Ok(c.value.clone());
            }
        }
        let etag = cached.as_ref().map(|c| c.etag.clone());
        match self.source.fetch(etag.as_deref()).await {
            Ok(Fetched::NotModified) => {
                let c = cached
                    .as_mut()
                    .expect("304 only answers a conditional read");
                c.checked = Instant::now();
                Ok(c.value.clone())
            }
            Ok(Fetched::Document { bytes, etag }) => match (self.parse)(&bytes) {
                Ok(value) => {
                    let value = Arc::new(value);
                    tracing::info!(etag = %etag, "configuration loaded");
                    *cached = Some(Cached {
                        value: value.clone(),
                        etag,
                        checked: Instant::now(),
                    });
                    Ok(value)
                }
                Err(reason) => match cached.as_mut() {
                    Some(c) => {
                        tracing::error!(etag = %etag, reason = %reason, "new configuration refused; keeping the last good one");
                        c.checked = Instant::now();
                        Ok(c.value.clone())
                    }
                    None => Err(DocumentError::Invalid {
                        etag,
                        reason: reason.to_string(),
                    }),
                },
            },
            Err(e) => match cached.as_mut() {
                Some(c) => {
                    tracing::warn!(error = %e, "configuration store unreachable; using the cached document");
                    // Like a refused document: ask again after max_age, not on every request of
                    // an outage (each one would wait for S3 behind this lock).
                    c.checked = Instant::now();
                    Ok(c.value.clone())
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex as StdMutex;

    /// A scripted source: S3 semantics are covered against moto in the integration tests; this
    /// fake only exists to script the failure sequences moto cannot produce on demand.
    struct FakeSource {
        answers: StdMutex<Vec<Result<Fetched, DocumentError>>>,
        calls: AtomicUsize,
    }

    impl DocumentSource for FakeSource {
        async fn fetch(&self, _: Option<&str>) -> Result<Fetched, DocumentError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.answers.lock().unwrap().remove(0)
        }
    }

    fn parse_number(bytes: &[u8]) -> Result<u32, std::num::ParseIntError> {
        String::from_utf8_lossy(bytes).trim().parse()
    }

    fn doc(s: &str, etag: &str) -> Result<Fetched, DocumentError> {
        Ok(Fetched::Document {
            bytes: s.as_bytes().to_vec(),
            etag: etag.into(),
        })
    }

    #[tokio::test]
    async fn bad_or_missing_documents_never_replace_the_last_good_one() {
        let source = FakeSource {
            answers: StdMutex::new(vec![
                doc("1", "e1"),
                Ok(Fetched::NotModified),
                doc("garbage", "e2"),
                Err(DocumentError::Unavailable("timeout".into())),
                doc("2", "e3"),
            ]),
            calls: AtomicUsize::new(0),
        };
        let cache = DocumentCache::new(source, parse_number, Duration::ZERO);
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(*cache.get().await.unwrap());
        }
        assert_eq!(seen, vec![1, 1, 1, 1, 2]);
        assert_eq!(cache.source().calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn fresh_cache_is_not_revalidated() {
        let source = FakeSource {
            answers: StdMutex::new(vec![doc("7", "e")]),
            calls: AtomicUsize::new(0),
        };
        let cache = DocumentCache::new(source, parse_number, Duration::from_secs(60));
        assert_eq!(*cache.get().await.unwrap(), 7);
        assert_eq!(*cache.get().await.unwrap(), 7);
        assert_eq!(cache.source().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_is_asked_again_after_max_age_not_on_every_get() {
        let source = FakeSource {
            answers: StdMutex::new(vec![
                doc("1", "e1"),
                Err(DocumentError::Unavailable("timeout".into())),
                doc("2", "e2"),
            ]),
            calls: AtomicUsize::new(0),
        };
        let cache = DocumentCache::new(source, parse_number, Duration::from_secs(10));
        assert_eq!(*cache.get().await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(*cache.get().await.unwrap(), 1, "the outage: the cached one");
        assert_eq!(
            *cache.get().await.unwrap(),
            1,
            "and not asked again at once"
        );
        assert_eq!(cache.source().calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(*cache.get().await.unwrap(), 2, "asked again after max_age");
        assert_eq!(cache.source().calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn no_good_document_is_an_error() {
        let source = FakeSource {
            answers: StdMutex::new(vec![doc("x", "e")]),
            calls: AtomicUsize::new(0),
        };
        let cache = DocumentCache::new(source, parse_number, Duration::ZERO);
        assert!(matches!(
            cache.get().await,
            Err(DocumentError::Invalid { .. })
        ));
    }
}
