//! The `ClipStore` capability (clip metadata and bytes, result documents, the clip's tag) and
//! its S3 implementation. Reads are capped; tagging merges with the clip's other tags.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a network error, a 5xx: the message goes back to the queue.
    #[error("S3 unavailable: {0}")]
    Unavailable(String),
}

/// A clip's size and version.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectInfo {
    pub size: u64,
    pub etag: String,
}

#[async_trait::async_trait]
pub trait ClipStore: Send + Sync {
    /// `None` when the object is gone (deleted since the notification).
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError>;
    /// The object's bytes; the caller checked the size with `head`.
    async fn read(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError>;
    /// A small document (a previous result), `None` when absent.
    async fn read_document(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn write_document(
        &self,
        bucket: &str,
        key: &str,
        json: Vec<u8>,
    ) -> Result<(), StoreError>;
    /// Sets one tag on the object, keeping its others.
    async fn tag(&self, bucket: &str, key: &str, name: &str, value: &str)
        -> Result<(), StoreError>;
}

pub struct S3Clips {
    client: aws_sdk_s3::Client,
}

impl S3Clips {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Clips { client }
    }
}

#[async_trait::async_trait]
impl ClipStore for S3Clips {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(ObjectInfo {
                size: o.content_length().unwrap_or(0).max(0) as u64,
                etag: o.e_tag().unwrap_or_default().to_string(),
            })),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(None),
            Err(e) => Err(StoreError::Unavailable(failberry_aws::describe(&e))),
        }
    }

    async fn read(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let bytes = o
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reading {key}: {e}")))?
                    .to_vec();
                Ok(Some((bytes, etag)))
            }
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(None),
            Err(e) => Err(StoreError::Unavailable(failberry_aws::describe(&e))),
        }
    }

    async fn read_document(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read(bucket, key).await?.map(|(b, _)| b))
    }

    async fn write_document(
        &self,
        bucket: &str,
        key: &str,
        json: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(json))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(failberry_aws::describe(&e)))?;
        Ok(())
    }

    async fn tag(
        &self,
        bucket: &str,
        key: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let current = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(failberry_aws::describe(&e)))?;
        let mut tags: Vec<Tag> = current
            .tag_set()
            .iter()
            .filter(|t| t.key() != name)
            .cloned()
            .collect();
        tags.push(
            Tag::builder()
                .key(name)
                .value(value)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?,
        );
        let tagging = Tagging::builder()
            .set_tag_set(Some(tags))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(failberry_aws::describe(&e)))?;
        Ok(())
    }
}
