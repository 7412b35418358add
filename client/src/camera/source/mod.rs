//! Where clips come from: one module per kind of NVR behind the `Source` trait. A source finds
//! finished clips and hands them to the queue as `Job`s (downloading them into the spool first
//! when the NVR serves them over HTTP); it never uploads, never marks, never touches the NVR's
//! files. Several run at once, each in its own task; a failing one logs and keeps trying.
//! What an NVR may send (deadlines, caps, redirects, ids) is `nvr`'s.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::queue::{Job, Queue};

pub mod folder;
pub mod frigate;
mod nvr;
pub mod unifi;

pub use nvr::{
    at_most, at_most_logged, checked_id, clip_cap, fetch_clip, nvr_http, plain_segment,
    read_capped, read_json, refuse_id, same_origin, Cap, NvrError, NvrLimits,
};

/// What a source gets to work with: the queue (to skip known clips, keep its "last seen" mark
/// and spool downloads) and the channel new jobs go to.
#[derive(Clone)]
pub struct SourceContext {
    pub queue: Queue,
    pub jobs: mpsc::Sender<Job>,
}

impl SourceContext {
    /// Hands a new job to the connector; false once the connector has stopped.
    pub async fn found(&self, job: Job) -> bool {
        // `?`: a file's name may hold newlines or terminal escapes; Debug escapes them.
        tracing::info!(camera = %job.camera, name = %job.name, source = ?job.path, "clip found");
        self.jobs.send(job).await.is_ok()
    }
}

pub type SourceFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A clip source. `run` finds clips until its task is dropped.
pub trait Source: Send {
    /// Names the source in logs and in its saved mark, e.g. `folder:/srv/nvr`.
    fn name(&self) -> String;
    fn run(self: Box<Self>, ctx: SourceContext) -> SourceFuture;
}

/// Logs an HTTP source's reachability on changes only (one line when it goes, one when it comes
/// back), not on every failed poll.
#[derive(Default)]
pub struct Reachability {
    failing: bool,
}

impl Reachability {
    /// Notes one poll's outcome; `false` when the source should stop (the connector is gone).
    pub fn note(&mut self, source: &str, what: &str, polled: Result<bool, NvrError>) -> bool {
        match polled {
            Ok(going) => {
                if going && std::mem::take(&mut self.failing) {
                    tracing::info!(source, "{what} reachable again");
                }
                going
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(source, nvr = what, error = %e, "{}", e.event());
                }
                true
            }
        }
    }
}

pub fn now_secs() -> i64 {
    failberry_proto::clock::unix_secs(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Each poll's outcome: whether the source keeps going, and whether the NVR counts as
    /// unreachable after it (the warning is logged on the step into it, the info on the step out).
    #[test]
    fn reachability_follows_the_polls() {
        let refused = || NvrError::Http {
            what: "events",
            detail: "connection refused".into(),
        };
        let drip = || NvrError::Deadline {
            what: "events",
            deadline: Duration::from_secs(30),
        };
        let polls: [(Result<bool, NvrError>, bool, bool); 6] = [
            (Ok(true), true, false),
            (Err(refused()), true, true),
            (Err(refused()), true, true),
            (Ok(true), true, false),
            (Err(drip()), true, true),
            (Ok(false), false, true),
        ];
        let mut reachability = Reachability::default();
        for (i, (polled, going, failing)) in polls.into_iter().enumerate() {
            assert_eq!(
                reachability.note("frigate", "Frigate", polled),
                going,
                "poll {i}"
            );
            assert_eq!(reachability.failing, failing, "poll {i}");
        }
    }
}
