//! `failberry camera watch` and `camera status`: runs the clip sources, keeps the durable queue
//! (`queue`), runs at most `concurrency` uploads at once (`upload`), polls each stored clip's
//! result and sets the marks (`mark`); `schedule` decides what starts when. A failure of one clip
//! is logged, backed off and retried; it never stops the others. Local files are only ever read.

pub mod mark;
pub mod queue;
mod schedule;
pub mod source;
pub mod upload;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::api::ApiClient;
use crate::backoff;
use crate::config::CameraConfig;
use mark::Marker;
use queue::{Job, Queue, Stage};
use schedule::{Admit, Ended, Now, Schedule, Start};
use source::{Source, SourceContext};
use upload::{UploadError, Uploader};

/// The longest wait between two tries of a failing upload.
const RETRY_CAP: Duration = Duration::from_secs(600);

/// The sources the config names.
pub fn sources(config: &CameraConfig) -> Vec<Box<dyn Source>> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for f in &config.folders {
        sources.push(Box::new(source::folder::Folder::new(f.clone())));
    }
    for f in &config.frigate {
        sources.push(Box::new(source::frigate::Frigate::new(f.clone())));
    }
    for u in &config.unifi {
        sources.push(Box::new(source::unifi::UnifiVideo::new(u.clone())));
    }
    sources
}

/// Uploads and marks until `shutdown` completes. Work in flight is dropped at shutdown: every
/// stage is on disk, and the next start resumes it.
pub async fn watch(
    config: &CameraConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let queue = Queue::open(&config.queue_dir)
        .with_context(|| format!("opening the queue {}", config.queue_dir.display()))?;
    // Unbound: clips leave by the default route, over whichever link is up.
    let api = Arc::new(ApiClient::new(&config.device, None).context("building the HTTP client")?);
    let workers = Workers {
        queue: queue.clone(),
        uploader: Arc::new(Uploader::new(api).context("building the HTTP client")?),
        marker: Arc::new(Marker::new(config)),
        retry: config.retry,
        result_timeout: config.result_timeout,
    };

    let (tx, mut found) = mpsc::channel::<Job>(64);
    let mut source_tasks = JoinSet::new();
    let ctx = SourceContext {
        queue: queue.clone(),
        jobs: tx,
    };
    for source in sources(config) {
        info!(source = %source.name(), "source started");
        source_tasks.spawn(source.run(ctx.clone()));
    }
    drop(ctx);

    let mut schedule = Schedule::new(
        queue.load(),
        config.concurrency,
        config.result_poll,
        Instant::now(),
    );
    let depth = queue.depth();
    info!(
        queue = %config.queue_dir.display(),
        waiting = depth.waiting,
        awaiting_result = depth.stages.get("awaiting_result").copied().unwrap_or(0),
        failed = depth.failed,
        concurrency = config.concurrency,
        "camera connector started"
    );
    let mut tasks: JoinSet<(String, Ended)> = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        let now = Now {
            at: Instant::now(),
            unix: workers.uploader.api().now(),
        };
        for start in schedule.due(now) {
            tasks.spawn(workers.clone().run(start));
        }
        if let Some(depth) = schedule.depth_to_log(now.at) {
            info!(
                waiting = depth.waiting,
                uploading = depth.uploading,
                awaiting_result = depth.awaiting_result,
                "queue depth"
            );
        }
        // Nothing changes between deadlines but a found clip or a task's end.
        let wake = schedule.next_deadline(now);
        tokio::select! {
            () = &mut shutdown => break,
            Some(job) = found.recv() => match schedule.admit(&job) {
                Admit::Rewritten => {
                    info!(path = ?job.path, "file changed while queued, its job reads it again");
                }
                Admit::Known => {}
                Admit::New => match queue.save(&job) {
                    Ok(()) => schedule.found(job),
                    Err(e) => warn!(error = %e, "queue write failed, clip not queued"),
                },
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((id, ended)) = done {
                    schedule.finished(&id, ended, Instant::now());
                }
            }
            () = tokio::time::sleep_until(wake.unwrap_or(now.at).into()), if wake.is_some() => {}
        }
    }
    source_tasks.abort_all();
    tasks.abort_all();
    info!(
        waiting = schedule.job_count(),
        "camera connector stopped; the queue resumes at the next start"
    );
    Ok(())
}

/// What the upload and result tasks share.
#[derive(Clone)]
struct Workers {
    queue: Queue,
    uploader: Arc<Uploader>,
    marker: Arc<Marker>,
    retry: Duration,
    result_timeout: Duration,
}

impl Workers {
    /// Runs a started job to its end, which is recorded in the queue before the schedule hears
    /// of it.
    async fn run(self, start: Start) -> (String, Ended) {
        match start {
            Start::Upload(mut job) => {
                let outcome = self.uploader.upload(&self.queue, &mut job).await;
                (
                    job.id.clone(),
                    settle_upload(&self.queue, job, outcome, self.retry),
                )
            }
            Start::Poll(job) => {
                let ended = poll_result(&self, &job).await;
                (job.id, ended)
            }
        }
    }
}

fn stored_key(job: &Job) -> Option<&str> {
    match &job.stage {
        Stage::Stored { key, .. } | Stage::Single { key } | Stage::Multipart { key, .. } => {
            Some(key)
        }
        Stage::Queued => None,
    }
}

/// Records an upload's outcome: stored, retried later, or set aside for good.
fn settle_upload(
    queue: &Queue,
    mut job: Job,
    outcome: Result<(), UploadError>,
    retry: Duration,
) -> Ended {
    let now = source::now_secs();
    match outcome {
        Ok(()) => {
            info!(camera = %job.camera, name = %job.name, key = ?stored_key(&job), "clip stored");
            job.attempts = 0;
            return Ended::Stored(job);
        }
        Err(UploadError::Changed(why)) => {
            info!(camera = %job.camera, name = %job.name, why = %why, "clip changed while read, queued again");
            job.not_before = now + retry.as_secs() as i64;
            let _ = queue.save(&job);
        }
        Err(UploadError::Transient(e)) => {
            job.attempts += 1;
            let wait = backoff::jittered(
                backoff::delay(retry, RETRY_CAP, job.attempts),
                fastrand::f64(),
            );
            job.not_before = now + wait.as_secs().max(1) as i64;
            job.last_error = Some(e.clone());
            warn!(camera = %job.camera, name = %job.name, attempts = job.attempts, retry_in_secs = wait.as_secs(), error = %e, "upload failed, will retry");
            let _ = queue.save(&job);
        }
        Err(UploadError::Permanent(e)) => {
            warn!(camera = %job.camera, name = %job.name, error = %e, "upload refused, set aside in failed/");
            let _ = queue.fail(&job, &e);
            return Ended::Over;
        }
        Err(UploadError::Queue(e)) => {
            warn!(error = %e, "queue write failed");
            job.not_before = now + retry.as_secs() as i64;
        }
    }
    Ended::Retry(job)
}

/// Asks for a stored clip's result and, once there (or given up on), marks it and ends the job.
async fn poll_result(workers: &Workers, job: &Job) -> Ended {
    let Stage::Stored { key, stored_at } = &job.stage else {
        return Ended::Over;
    };
    let timeout = workers.result_timeout.as_secs() as i64;
    match workers.uploader.result_status(key).await {
        Ok((200, body)) => {
            let verdict = mark::verdict(&body).ok();
            let marks = workers.marker.mark(job, key, &body).await;
            info!(
                key = %key,
                interesting = verdict.as_ref().is_some_and(|v| v.interesting),
                reason = %verdict.map(|v| v.reason).unwrap_or_default(),
                marks = %marks.join(", "),
                "clip analysed"
            );
            finish(&workers.queue, job, key)
        }
        Ok(_) if workers.uploader.api().now() - stored_at > timeout => {
            warn!(key = %key, "no analysis result in time, giving up on marks");
            finish(&workers.queue, job, key)
        }
        Ok(_) => Ended::Pending,
        Err(e) => poll_failed(job, &e),
    }
}

fn finish(queue: &Queue, job: &Job, key: &str) -> Ended {
    match queue.finish(job, key) {
        Ok(()) => Ended::Over,
        Err(e) => poll_failed(job, &e),
    }
}

fn poll_failed(job: &Job, e: &dyn std::fmt::Display) -> Ended {
    warn!(key = ?stored_key(job), error = %e, "result poll failed");
    Ended::PollFailed
}

/// `camera status`: the queue's depth as JSON on stdout.
pub fn status(config: &CameraConfig) -> anyhow::Result<queue::Depth> {
    let queue = Queue::open(&config.queue_dir)
        .with_context(|| format!("opening the queue {}", config.queue_dir.display()))?;
    Ok(queue.depth())
}
