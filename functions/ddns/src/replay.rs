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

use failberry_aws::{DocumentError, DocumentSource, Fetched, S3Documents};
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

/// What [`ReplayGuard::admit`] answers: a change admitted in order or refused. It remembers no
/// change, so it never tells a duplicate apart (only [`Admission`] can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordered {
    Admitted,
    /// A change stamped `last_applied` (or later) was already applied for this key.
    Replayed {
        last_applied: i64,
    },
}

/// What [`ReplayGuard::admit_change`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// This very change was admitted a moment ago for a signed request stamped `last_applied`,
    /// within the signing window of this one: a duplicate racing it (the same new address sent
    /// twice) changes nothing and is answered `unchanged`, so a change is written once.
    AlreadyApplied {
        last_applied: i64,
    },
    /// A change stamped `last_applied` (or later) was already applied for this key.
    Replayed {
        last_applied: i64,
    },
}

impl From<Ordered> for Admission {
    fn from(o: Ordered) -> Self {
        match o {
            Ordered::Admitted => Admission::Admitted,
            Ordered::Replayed { last_applied } => Admission::Replayed { last_applied },
        }
    }
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

/// Whether a signed request for `change`, stamped `stamp`, duplicates the change the mark holds:
/// the same change, admitted for a signed stamp within the signing window of this one. Pure.
pub fn duplicates(mark: Option<(i64, Option<&str>)>, stamp: Stamp, change: &str) -> bool {
    match (mark, stamp) {
        (Some((last, Some(applied))), Stamp::Signed(ts)) => {
            applied == change
                && ts.abs_diff(last) <= failberry_proto::signing::TIMESTAMP_WINDOW_SECS as u64
        }
        _ => false,
    }
}

/// Why the replay defence could not answer (the store, not the request): the change is neither
/// admitted nor refused, and the caller answers "try again".
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] DocumentError),
    #[error("not a replay mark: {0}")]
    BadMark(serde_json::Error),
    #[error("a mark read unconditionally answered 304")]
    UnexpectedNotModified,
    #[error("the mark of {key_id} kept changing under {attempts} attempts")]
    Contended { key_id: String, attempts: usize },
}

pub trait ReplayGuard: Send + Sync {
    /// Admits a change for `key_id` stamped `stamp` and moves the mark, or refuses it.
    fn admit(
        &self,
        key_id: &str,
        stamp: Stamp,
    ) -> impl Future<Output = Result<Ordered, ReplayError>> + Send;

    /// As [`admit`](Self::admit), for the planned `change` (the UPSERTs, as text): a guard that
    /// remembers the change it admitted answers a racing duplicate of it `AlreadyApplied`. By
    /// default the change is not remembered.
    fn admit_change(
        &self,
        key_id: &str,
        stamp: Stamp,
        change: &str,
    ) -> impl Future<Output = Result<Admission, ReplayError>> + Send {
        let _ = change;
        async move { self.admit(key_id, stamp).await.map(Admission::from) }
    }
}

/// A guard whose client is still being built answers once it is.
impl<T: ReplayGuard + 'static> ReplayGuard for failberry_aws::Deferred<T> {
    async fn admit(&self, key_id: &str, stamp: Stamp) -> Result<Ordered, ReplayError> {
        self.get().await.admit(key_id, stamp).await
    }

    async fn admit_change(
        &self,
        key_id: &str,
        stamp: Stamp,
        change: &str,
    ) -> Result<Admission, ReplayError> {
        self.get().await.admit_change(key_id, stamp, change).await
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    last_applied: i64,
    /// The change admitted with the mark (absent in marks written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<String>,
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
}

/// The mark and its ETag, `None` when no change was applied yet (or the mark expired).
async fn read(mark: &S3Documents) -> Result<Option<(Mark, String)>, ReplayError> {
    match mark.fetch(None).await {
        Ok(Fetched::Document { bytes, etag }) => {
            let read: Mark = serde_json::from_slice(&bytes).map_err(ReplayError::BadMark)?;
            Ok(Some((read, etag)))
        }
        Ok(Fetched::NotModified) => Err(ReplayError::UnexpectedNotModified),
        Err(DocumentError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl ReplayGuard for S3ReplayGuard {
    async fn admit(&self, key_id: &str, stamp: Stamp) -> Result<Ordered, ReplayError> {
        self.move_mark(key_id, stamp, None, |_| None).await
    }

    async fn admit_change(
        &self,
        key_id: &str,
        stamp: Stamp,
        change: &str,
    ) -> Result<Admission, ReplayError> {
        self.move_mark(key_id, stamp, Some(change), |held| {
            duplicates(held, stamp, change).then(|| Admission::AlreadyApplied {
                last_applied: held.map_or(0, |(t, _)| t),
            })
        })
        .await
    }
}

impl S3ReplayGuard {
    /// Moves the mark of `key_id` to `stamp`, recording `change`, unless `duplicate` (given the
    /// mark held) answers first or the mark refuses the stamp.
    async fn move_mark<A: From<Ordered>>(
        &self,
        key_id: &str,
        stamp: Stamp,
        change: Option<&str>,
        duplicate: impl Fn(Option<(i64, Option<&str>)>) -> Option<A>,
    ) -> Result<A, ReplayError> {
        // The key id is a validated FQDN: it cannot escape the prefix.
        let key = format!("{}{key_id}/last-applied.json", self.prefix);
        let mark = S3Documents::new(self.client.clone(), &self.bucket, key);
        for _ in 0..RACE_ATTEMPTS {
            let current = read(&mark).await?;
            let held = current
                .as_ref()
                .map(|(m, _)| (m.last_applied, m.change.as_deref()));
            if let Some(answer) = duplicate(held) {
                return Ok(answer);
            }
            let next = match next_mark(held.map(|(t, _)| t), stamp) {
                Ok(next) => next,
                Err(last_applied) => return Ok(Ordered::Replayed { last_applied }.into()),
            };
            let body = serde_json::to_vec(&Mark {
                last_applied: next,
                change: change.map(str::to_string),
            })
            .expect("a mark serialises");
            // Over the ETag read, or only if there is none yet: a lost race reads again.
            match mark
                .put(body, current.as_ref().map(|(_, etag)| etag.as_str()))
                .await
            {
                Ok(_) => return Ok(Ordered::Admitted.into()),
                Err(DocumentError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ReplayError::Contended {
            key_id: key_id.to_string(),
            attempts: RACE_ATTEMPTS,
        })
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

    #[test]
    fn only_a_recent_signed_duplicate_of_the_held_change_is_a_duplicate() {
        let x = "A 81.2.69.142 60";
        let cases = [
            ("no mark", None, Stamp::Signed(100), x, false),
            (
                "a mark without a change",
                Some((100, None)),
                Stamp::Signed(101),
                x,
                false,
            ),
            (
                "the same change racing",
                Some((100, Some(x))),
                Stamp::Signed(101),
                x,
                true,
            ),
            (
                "an older request of it",
                Some((100, Some(x))),
                Stamp::Signed(99),
                x,
                true,
            ),
            (
                "another change",
                Some((100, Some(x))),
                Stamp::Signed(101),
                "A 81.2.69.160 60",
                false,
            ),
            (
                "the same change much later",
                Some((100, Some(x))),
                Stamp::Signed(100 + 301),
                x,
                false,
            ),
            (
                "a dyndns2 change",
                Some((100, Some(x))),
                Stamp::Server(101),
                x,
                false,
            ),
        ];
        for (name, mark, stamp, change, want) in cases {
            assert_eq!(duplicates(mark, stamp, change), want, "{name}");
        }
    }
}
