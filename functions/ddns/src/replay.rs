//! Replay defence for signed changes, shared by every concurrent Lambda instance: per key id, the
//! timestamp of the last change applied (`<prefix><key id>/last-applied.json` in the config
//! bucket). A signed request may change a record only when it is newer than that mark, and the
//! mark moves forward with a conditional write (`If-Match` on the ETag read, `If-None-Match: *`
//! for the first), so of two racing changes only one takes each step.
//!
//! Why not single-use nonces: a request that changed nothing used to leave no trace, so once the
//! record moved on, replaying it dragged the record back. Ordering closes that without a write per
//! unchanged refresh. A lifecycle rule (in the template) expires the marks after a day: a mark older
//! than the ±300 s window can no longer refuse anything that passed the window.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use failberry_aws::describe;
use serde::{Deserialize, Serialize};

/// Who vouches for the moment a change is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The timestamp inside a signed body: ordered against the mark.
    Signed(i64),
    /// The server's clock, for protocols that carry no signed time (dyndns2, the reference
    /// protocol): never refused, but it moves the mark so an older signed request cannot
    /// undo the change.
    Server(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// A change stamped `last_applied` (or later) was already applied for this key.
    Replayed {
        last_applied: i64,
    },
}

/// The mark after admitting `stamp`, or the mark that refuses it. Pure: the store only reads and
/// writes what this decides.
pub fn next_mark(last_applied: Option<i64>, stamp: Stamp) -> Result<i64, i64> {
    match (last_applied, stamp) {
        (Some(last), Stamp::Signed(ts)) if ts <= last => Err(last),
        (_, Stamp::Signed(ts)) => Ok(ts),
        (last, Stamp::Server(now)) => Ok(last.map_or(now, |last| last.max(now))),
    }
}

pub trait ReplayGuard: Send + Sync {
    /// Admits a change for `key_id` stamped `stamp` and moves the mark, or refuses it.
    fn admit(
        &self,
        key_id: &str,
        stamp: Stamp,
    ) -> impl Future<Output = Result<Admission, String>> + Send;
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    last_applied: i64,
}

/// How often a conditional write that lost a race is tried again, re-reading the mark each time.
const RACE_ATTEMPTS: usize = 5;

#[derive(Debug, Clone)]
pub struct S3ReplayGuard {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3ReplayGuard {
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

    /// The mark and its ETag, `None` when no change was applied yet (or the mark expired).
    async fn read(&self, key: &str) -> Result<Option<(i64, String)>, String> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                return Ok(None)
            }
            Err(e) => return Err(describe(&e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| format!("reading {key}: {e}"))?
            .into_bytes();
        let mark: Mark =
            serde_json::from_slice(&bytes).map_err(|e| format!("{key} is not a mark: {e}"))?;
        Ok(Some((mark.last_applied, etag)))
    }
}

impl ReplayGuard for S3ReplayGuard {
    async fn admit(&self, key_id: &str, stamp: Stamp) -> Result<Admission, String> {
        // The key id is a validated FQDN: it cannot escape the prefix.
        let key = format!("{}{key_id}/last-applied.json", self.prefix);
        for _ in 0..RACE_ATTEMPTS {
            let current = self.read(&key).await?;
            let next = match next_mark(current.as_ref().map(|(t, _)| *t), stamp) {
                Ok(next) => next,
                Err(last_applied) => return Ok(Admission::Replayed { last_applied }),
            };
            let body = serde_json::to_vec(&Mark { last_applied: next }).expect("a mark serialises");
            let put = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type("application/json")
                .body(ByteStream::from(body));
            let put = match &current {
                Some((_, etag)) => put.if_match(etag),
                None => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(_) => return Ok(Admission::Admitted),
                // 412: another change moved the mark since we read it; 409: one is in flight.
                Err(e)
                    if matches!(
                        e.raw_response().map(|r| r.status().as_u16()),
                        Some(412 | 409)
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(describe(&e)),
            }
        }
        Err(format!(
            "the mark of {key_id} kept changing under {RACE_ATTEMPTS} attempts"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_move_forward_only() {
        let cases = [
            ("first signed change", None, Stamp::Signed(100), Ok(100)),
            (
                "newer signed change",
                Some(100),
                Stamp::Signed(101),
                Ok(101),
            ),
            (
                "the same request again",
                Some(100),
                Stamp::Signed(100),
                Err(100),
            ),
            (
                "an older request replayed",
                Some(100),
                Stamp::Signed(40),
                Err(100),
            ),
            ("first dyndns2 change", None, Stamp::Server(100), Ok(100)),
            (
                "dyndns2 after a signed change",
                Some(100),
                Stamp::Server(160),
                Ok(160),
            ),
            // A signed stamp may be ahead of the server clock (within the window): the mark
            // never moves back, so a dyndns2 change cannot reopen it.
            (
                "dyndns2 behind the mark",
                Some(200),
                Stamp::Server(160),
                Ok(200),
            ),
        ];
        for (name, last, stamp, want) in cases {
            assert_eq!(next_mark(last, stamp), want, "{name}");
        }
    }
}
