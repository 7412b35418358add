//! Single-use nonces for clip requests, shared by every concurrent Lambda instance. A device asks
//! for several grants at once (one per clip, uploads run in parallel), so its requests cannot be
//! strictly ordered the way ddns changes are: instead every nonce is consumed, by a conditional
//! create (`If-None-Match: *`) of `<prefix><key id>/nonces/<nonce>` in the config bucket. The
//! create that loses (412, or 409 while another is in flight) is a replay. The lifecycle rule on
//! the replay prefix expires the entries after a day, long after the ±300 s window has closed on
//! any request that could reuse them.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use failberry_aws::{describe, lost_conditional_write};

/// The nonce store could not say whether the nonce is fresh (the request is neither granted nor
/// refused as a replay).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// The store failed or could not be reached; the SDK error, described.
    #[error("{0}")]
    Unavailable(String),
}

pub trait NonceStore: Send + Sync {
    /// Consumes `nonce` for `key_id`: `true` the first time, `false` for a replay.
    fn consume(
        &self,
        key_id: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<bool, NonceError>> + Send;
}

#[derive(Debug, Clone)]
pub struct S3Nonces {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Nonces {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }
}

/// Where a nonce's entry lives. The key id is a validated host name and the nonce is checked to be
/// `[A-Za-z0-9_-]` before this is called: neither can escape the prefix.
pub fn nonce_key(prefix: &str, key_id: &str, nonce: &str) -> String {
    format!("{prefix}{key_id}/nonces/{nonce}")
}

impl NonceStore for S3Nonces {
    async fn consume(&self, key_id: &str, nonce: &str) -> Result<bool, NonceError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(nonce_key(&self.prefix, key_id, nonce))
            .if_none_match("*")
            .body(ByteStream::from_static(b""))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if lost_conditional_write(&e) => Ok(false),
            Err(e) => Err(NonceError::Unavailable(describe(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sit_beside_the_ddns_marks() {
        assert_eq!(
            nonce_key("replay/", "pi.home.example.com", "abcdefghijklmnop"),
            "replay/pi.home.example.com/nonces/abcdefghijklmnop"
        );
    }
}
