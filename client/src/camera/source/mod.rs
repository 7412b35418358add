//! Where clips come from: one module per kind of NVR behind the `Source` trait. A source finds
//! finished clips and hands them to the queue as `Job`s (downloading them into the spool first
//! when the NVR serves them over HTTP); it never uploads, never marks, never touches the NVR's
//! files. Several run at once, each in its own task; a failing one logs and keeps trying.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use url::Url;

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

/// Why one request to an NVR failed. The NVR is not trusted: its answers are bounded in time
/// (and size), and a failure of one poll is logged once by `Reachability`, then retried.
#[derive(Debug, thiserror::Error)]
pub enum NvrError {
    /// Not reached, reset, or a redirect that was not followed.
    #[error("{what}: {detail}")]
    Http { what: &'static str, detail: String },
    /// A slow drip or a stalled answer: the whole request took longer than its deadline.
    #[error("{what}: no whole answer within {deadline:?}")]
    Deadline {
        what: &'static str,
        deadline: Duration,
    },
    #[error("{what} answered {status}")]
    Status {
        what: &'static str,
        status: reqwest::StatusCode,
    },
    #[error("{what}: the answer is not readable: {detail}")]
    Unreadable { what: &'static str, detail: String },
    #[error("login answered without a frigate_token cookie")]
    NoToken,
    #[error("spool {}: {source}", path.display())]
    Spool {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl NvrError {
    /// Maps a reqwest error of request `what`, keeping a deadline apart from other failures.
    pub fn http(what: &'static str, deadline: Duration) -> impl Fn(reqwest::Error) -> NvrError {
        move |e| {
            if e.is_timeout() {
                NvrError::Deadline { what, deadline }
            } else {
                NvrError::Http {
                    what,
                    // The URL may hold Unifi Video's API key.
                    detail: crate::api::error_chain(&e.without_url()),
                }
            }
        }
    }

    /// The log line of a failing streak: a deadline is not the NVR being down.
    fn event(&self) -> &'static str {
        match self {
            NvrError::Deadline { .. } => "NVR request deadline hit",
            _ => "NVR unreachable",
        }
    }
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

/// Writes an answer's body into `dest` (through `dest.part`, renamed when complete), streamed.
pub async fn download(
    mut answer: reqwest::Response,
    dest: &std::path::Path,
    deadline: Duration,
) -> Result<u64, NvrError> {
    use tokio::io::AsyncWriteExt;
    const WHAT: &str = "clip";
    if !answer.status().is_success() {
        return Err(NvrError::Status {
            what: WHAT,
            status: answer.status(),
        });
    }
    let part = dest.with_extension("part");
    let spool = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| NvrError::Spool { path, source }
    };
    let mut file = tokio::fs::File::create(&part).await.map_err(spool(&part))?;
    let mut size = 0u64;
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(NvrError::http(WHAT, deadline))?
    {
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(spool(&part))?;
    }
    file.sync_all().await.map_err(spool(&part))?;
    tokio::fs::rename(&part, dest).await.map_err(spool(dest))?;
    Ok(size)
}

/// What the Pi accepts from an NVR: a hostile or broken one must not hold a source forever.
#[derive(Debug, Clone)]
pub struct NvrLimits {
    /// The whole of a login, a list or a mark, answer included.
    pub deadline: Duration,
    /// The whole of one clip download (a 2 GiB clip over a slow LAN takes minutes).
    pub clip_deadline: Duration,
}

impl Default for NvrLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            clip_deadline: Duration::from_secs(15 * 60),
        }
    }
}

/// Whether a redirect from the configured NVR to `to` may be followed: only within its origin
/// (scheme, host and port), so a login is never re-POSTed, nor a token sent, elsewhere.
pub fn same_origin(configured: &Url, to: &Url) -> bool {
    let origin = configured.origin();
    origin.is_tuple() && origin == to.origin()
}

/// The HTTP client of one NVR (its source and its marks): every request has a total deadline
/// (`read_timeout` alone let a byte-at-a-time answer run for ever), and redirects stay within the
/// configured origin.
pub fn nvr_http(configured: &Url, limits: &NvrLimits) -> reqwest::Client {
    let base = configured.clone();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if same_origin(&base, attempt.url()) {
            attempt.follow()
        } else {
            // Only the origin is logged: the URL may hold Unifi Video's API key.
            tracing::warn!(nvr = %base.origin().ascii_serialization(), to = %attempt.url().origin().ascii_serialization(), "NVR redirect to another origin not followed");
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("failberry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .timeout(limits.deadline)
        .redirect(redirects)
        .build()
        .expect("a client without custom TLS always builds")
}

const MAX_REDIRECTS: usize = 5;

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

    #[test]
    fn redirects_are_followed_only_within_the_configured_origin() {
        let cases = [
            (
                "same origin, other path",
                "http://nvr:5000/api/login",
                "http://nvr:5000/login",
                true,
            ),
            (
                "default port spelled out",
                "https://nvr/api",
                "https://nvr:443/x",
                true,
            ),
            ("other host", "http://nvr:5000/", "http://evil:5000/", false),
            ("other port", "http://nvr:5000/", "http://nvr:5001/", false),
            ("https down to http", "https://nvr/", "http://nvr/", false),
            (
                "userinfo changes no origin",
                "http://nvr/",
                "http://a@nvr/",
                true,
            ),
            (
                "not a web origin",
                "file:///srv/nvr",
                "file:///srv/nvr",
                false,
            ),
        ];
        for (name, from, to, want) in cases {
            let (from, to) = (Url::parse(from).unwrap(), Url::parse(to).unwrap());
            assert_eq!(same_origin(&from, &to), want, "{name}");
        }
    }
}
