//! `failberry camera watch` and `camera status`: runs the clip sources, keeps the durable queue
//! (`queue`), runs at most `concurrency` uploads at once (`upload`), polls each stored clip's
//! result and sets the marks (`mark`). A failure of one clip is logged, backed off and retried;
//! it never stops the others. Local files are only ever read.

pub mod mark;
pub mod queue;
#[allow(dead_code)] // wired into `watch` in the next commit
mod schedule;
pub mod source;
pub mod upload;

use std::collections::{HashMap, HashSet};
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
use source::{Source, SourceContext};
use upload::{UploadError, Uploader};

/// Result polls at once (each is one small GET).
const RESULT_POLLS: usize = 4;
/// The longest wait between two tries of a failing upload.
const RETRY_CAP: Duration = Duration::from_secs(600);
/// The longest wait between two result polls of one clip.
const RESULT_POLL_CAP: Duration = Duration::from_secs(60);
/// How often the queue depth is logged while it is not empty.
const DEPTH_EVERY: Duration = Duration::from_secs(60);

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

/// What one task reports back to the loop.
enum Done {
    Upload(Job, Result<(), UploadError>),
    Result(Job, ResultPoll),
}

enum ResultPoll {
    /// Marked (or given up on): the job is over.
    Finished,
    Pending,
    Failed(String),
}

/// Uploads and marks until `shutdown` completes. Work in flight is dropped at shutdown: every
/// stage is on disk, and the next start resumes it.
pub async fn watch(
    config: &CameraConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let queue = Queue::open(&config.queue_dir)
        .with_context(|| format!("opening the queue {}", config.queue_dir.display()))?;
    let api = Arc::new(ApiClient::new(&config.device).context("building the HTTP client")?);
    let uploader = Arc::new(Uploader::new(api).context("building the HTTP client")?);
    let marker = Arc::new(Marker::new(config));

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

    let mut jobs: HashMap<String, Job> = queue
        .load()
        .into_iter()
        .map(|j| (j.id.clone(), j))
        .collect();
    let depth = queue.depth();
    info!(
        queue = %config.queue_dir.display(),
        waiting = depth.waiting,
        awaiting_result = depth.stages.get("awaiting_result").copied().unwrap_or(0),
        failed = depth.failed,
        concurrency = config.concurrency,
        "camera connector started"
    );
    let mut busy: HashSet<String> = HashSet::new();
    let mut uploads = 0usize;
    let mut polls = 0usize;
    // When each stored clip's result is asked for next, and how many "pending" answers it got.
    let mut next_poll: HashMap<String, (Instant, u32)> = HashMap::new();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_depth = Instant::now();
    let mut shown_depth = usize::MAX;
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(job) = found.recv() => {
                // A file rewritten while its earlier version waits is not a second clip: the
                // waiting job sees the change and reads it again.
                let pending_same_file = !job.owned && jobs.values().any(|j| {
                    j.path == job.path && !matches!(j.stage, Stage::Stored { .. })
                });
                if pending_same_file {
                    info!(path = ?job.path, "file changed while queued, its job reads it again");
                } else if !jobs.contains_key(&job.id) {
                    if let Err(e) = queue.save(&job) {
                        warn!(error = %e, "queue write failed, clip not queued");
                    } else {
                        jobs.insert(job.id.clone(), job);
                    }
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok(done) = done else { continue };
                match done {
                    Done::Upload(job, outcome) => {
                        uploads -= 1;
                        busy.remove(&job.id);
                        if outcome.is_ok() {
                            // Just stored: its analysis has not even started.
                            next_poll.insert(job.id.clone(), (Instant::now() + config.result_poll, 0));
                        }
                        settle_upload(&queue, &mut jobs, job, outcome, config.retry);
                    }
                    Done::Result(job, poll) => {
                        polls -= 1;
                        busy.remove(&job.id);
                        let pending = next_poll.get(&job.id).map_or(0, |p| p.1);
                        let next = match poll {
                            ResultPoll::Finished => None,
                            ResultPoll::Pending => Some((result_wait(config.result_poll, pending + 1), pending + 1)),
                            ResultPoll::Failed(e) => {
                                warn!(key = ?stored_key(&job), error = %e, "result poll failed");
                                Some((config.result_poll * 5, pending))
                            }
                        };
                        match next {
                            Some((wait, pending)) => { next_poll.insert(job.id.clone(), (Instant::now() + wait, pending)); }
                            None => { jobs.remove(&job.id); next_poll.remove(&job.id); }
                        }
                    }
                }
            }
            _ = tick.tick() => {}
        }

        let now = uploader.api().now();
        let mut ready: Vec<&Job> = jobs.values().filter(|j| !busy.contains(&j.id)).collect();
        ready.sort_by(|a, b| (a.found_at, &a.id).cmp(&(b.found_at, &b.id)));
        let mut start = Vec::new();
        for job in ready {
            match &job.stage {
                Stage::Stored { .. }
                    if polls < RESULT_POLLS
                        && next_poll.get(&job.id).is_none_or(|p| p.0 <= Instant::now()) =>
                {
                    polls += 1;
                    start.push((job.clone(), false));
                }
                Stage::Stored { .. } => {}
                _ if uploads < config.concurrency && job.not_before <= now => {
                    uploads += 1;
                    start.push((job.clone(), true));
                }
                _ => {}
            }
        }
        for (mut job, upload) in start {
            busy.insert(job.id.clone());
            let queue = queue.clone();
            if upload {
                let uploader = uploader.clone();
                tasks.spawn(async move {
                    let outcome = uploader.upload(&queue, &mut job).await;
                    Done::Upload(job, outcome)
                });
            } else {
                let uploader = uploader.clone();
                let marker = marker.clone();
                let timeout = config.result_timeout;
                tasks.spawn(async move {
                    let poll = poll_result(&uploader, &marker, &queue, &job, timeout).await;
                    Done::Result(job, poll)
                });
            }
        }

        let waiting = jobs
            .values()
            .filter(|j| !matches!(j.stage, Stage::Stored { .. }))
            .count();
        if waiting != shown_depth
            && (waiting == 0 || last_depth.elapsed() >= DEPTH_EVERY || shown_depth == usize::MAX)
        {
            info!(
                waiting,
                uploading = uploads,
                awaiting_result = jobs.len() - waiting,
                "queue depth"
            );
            shown_depth = waiting;
            last_depth = Instant::now();
        }
    }
    source_tasks.abort_all();
    tasks.abort_all();
    info!(
        waiting = jobs.len(),
        "camera connector stopped; the queue resumes at the next start"
    );
    Ok(())
}

/// The wait before asking again for a result that was still pending `pending` times: the first
/// wait doubled each time, up to [`RESULT_POLL_CAP`] (or the first wait, if that is longer). A
/// clip analysed in seconds is marked in seconds; one that waits costs a call a minute, not one
/// every few seconds for the quarter hour before `result_timeout`.
fn result_wait(first: Duration, pending: u32) -> Duration {
    first
        .saturating_mul(1u32 << pending.min(16))
        .min(RESULT_POLL_CAP.max(first))
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
    jobs: &mut HashMap<String, Job>,
    mut job: Job,
    outcome: Result<(), UploadError>,
    retry: Duration,
) {
    let now = source::now_secs();
    match outcome {
        Ok(()) => {
            info!(camera = %job.camera, name = %job.name, key = ?stored_key(&job), "clip stored");
            job.attempts = 0;
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
            jobs.remove(&job.id);
            return;
        }
        Err(UploadError::Queue(e)) => {
            warn!(error = %e, "queue write failed");
            job.not_before = now + retry.as_secs() as i64;
        }
    }
    jobs.insert(job.id.clone(), job);
}

async fn poll_result(
    uploader: &Uploader,
    marker: &Marker,
    queue: &Queue,
    job: &Job,
    timeout: Duration,
) -> ResultPoll {
    let Stage::Stored { key, stored_at } = &job.stage else {
        return ResultPoll::Finished;
    };
    match uploader.result_status(key).await {
        Ok((200, body)) => {
            let verdict = mark::verdict(&body).ok();
            let marks = marker.mark(job, key, &body).await;
            info!(
                key = %key,
                interesting = verdict.as_ref().is_some_and(|v| v.interesting),
                reason = %verdict.map(|v| v.reason).unwrap_or_default(),
                marks = %marks.join(", "),
                "clip analysed"
            );
            finish(queue, job, key)
        }
        Ok(_) if uploader.api().now() - stored_at > timeout.as_secs() as i64 => {
            warn!(key = %key, "no analysis result in time, giving up on marks");
            finish(queue, job, key)
        }
        Ok(_) => ResultPoll::Pending,
        Err(e) => ResultPoll::Failed(e.to_string()),
    }
}

fn finish(queue: &Queue, job: &Job, key: &str) -> ResultPoll {
    match queue.finish(job, key) {
        Ok(()) => ResultPoll::Finished,
        Err(e) => ResultPoll::Failed(e.to_string()),
    }
}

/// `camera status`: the queue's depth as JSON on stdout.
pub fn status(config: &CameraConfig) -> anyhow::Result<queue::Depth> {
    let queue = Queue::open(&config.queue_dir)
        .with_context(|| format!("opening the queue {}", config.queue_dir.display()))?;
    Ok(queue.depth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_waits_double_up_to_the_cap() {
        let secs = Duration::from_secs;
        let cases = [
            ("first answer pending", secs(5), 1, secs(10)),
            ("third", secs(5), 3, secs(40)),
            ("capped", secs(5), 4, secs(60)),
            ("many pending answers", secs(5), 40, secs(60)),
            ("no pending answer yet", secs(5), 0, secs(5)),
            ("a first wait past the cap stays", secs(120), 3, secs(120)),
        ];
        for (name, first, pending, want) in cases {
            assert_eq!(result_wait(first, pending), want, "{name}");
        }
    }
}
