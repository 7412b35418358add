//! Where clips come from: one module per kind of NVR behind the `Source` trait. A source finds
//! finished clips and hands them to the queue as `Job`s (downloading them into the spool first
//! when the NVR serves them over HTTP); it never uploads, never marks, never touches the NVR's
//! files. Several run at once, each in its own task; a failing one logs and keeps trying.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::queue::{Job, Queue};

pub mod folder;
pub mod frigate;
pub mod unifi;

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
        tracing::info!(camera = %job.camera, name = %job.name, source = %job.path.display(), "clip found");
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
    pub fn note(&mut self, source: &str, what: &str, polled: Result<bool, String>) -> bool {
        match polled {
            Ok(going) => {
                if going && std::mem::take(&mut self.failing) {
                    tracing::info!(source, "{what} reachable again");
                }
                going
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(source, error = %e, "{what} unreachable");
                }
                true
            }
        }
    }
}

/// Writes an answer's body into `dest` (through `dest.part`, renamed when complete), streamed.
pub async fn download(
    mut answer: reqwest::Response,
    dest: &std::path::Path,
) -> Result<u64, String> {
    use tokio::io::AsyncWriteExt;
    if !answer.status().is_success() {
        return Err(format!("answered {}", answer.status()));
    }
    let part = dest.with_extension("part");
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let mut size = 0u64;
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| crate::api::error_chain(&e))?
    {
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("{}: {e}", part.display()))?;
    }
    file.sync_all()
        .await
        .map_err(|e| format!("{}: {e}", part.display()))?;
    tokio::fs::rename(&part, dest)
        .await
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(size)
}

/// The HTTP client the NVR sources and marks share.
pub fn nvr_http() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("failberry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("a client without custom TLS always builds")
}

pub fn now_secs() -> i64 {
    failberry_proto::clock::unix_secs(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each poll's outcome: whether the source keeps going, and whether the NVR counts as
    /// unreachable after it (the warning is logged on the step into it, the info on the step out).
    #[test]
    fn reachability_follows_the_polls() {
        let polls: [(Result<bool, String>, bool, bool); 6] = [
            (Ok(true), true, false),
            (Err("connection refused".into()), true, true),
            (Err("connection refused".into()), true, true),
            (Ok(true), true, false),
            (Err("timed out".into()), true, true),
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
