//! Single-use nonces, shared by every concurrent Lambda instance: a nonce is claimed by creating
//! `<prefix><key id>/<nonce>` in S3 with `If-None-Match: *`, so exactly one claim of it succeeds.
//! A lifecycle rule (in the template) expires the markers after a day, long after the ±300 s
//! window in which a nonce could still be accepted.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Fresh,
    Replayed,
}

pub trait NonceStore: Send + Sync {
    fn claim(
        &self,
        key_id: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<Claim, String>> + Send;
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

impl NonceStore for S3Nonces {
    async fn claim(&self, key_id: &str, nonce: &str) -> Result<Claim, String> {
        // Both parts were validated (FQDN, nonce alphabet): neither can escape the prefix.
        let key = format!("{}{key_id}/{nonce}", self.prefix);
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .if_none_match("*")
            .body(ByteStream::from_static(b""))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Fresh),
            Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                // 409 is S3's answer when a concurrent conditional write on the key is in flight.
                Some(412) | Some(409) => Ok(Claim::Replayed),
                _ => Err(failberry_aws::describe(&e)),
            },
        }
    }
}
