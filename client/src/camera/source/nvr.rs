//! What the Pi accepts from an NVR, which it does not trust: every request has a total deadline,
//! answers are read in chunks under caps (`NvrLimits`), redirects stay within the configured
//! origin, and an NVR's ids go into URLs only as plain path segments. Polling, parsing and marks
//! are the sources' (`frigate`, `unifi`); logging a failing streak once is `Reachability`'s.

use std::time::Duration;

use url::Url;

use super::SourceContext;
use crate::camera::queue::Job;

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
    /// The answer went over `cap` bytes; nothing of it is kept.
    #[error("{what}: answer over {cap} bytes, {limit}")]
    TooLarge {
        what: &'static str,
        cap: u64,
        limit: Cap,
    },
    /// An event or recording id that is not one plain path segment: refused before it is put
    /// in a URL, where `../../api/x?y#z` would reach other paths with the NVR's credentials.
    #[error("id {id:?} is not a plain path segment ([A-Za-z0-9._-])")]
    BadId { id: String },
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
    pub(super) fn event(&self) -> &'static str {
        match self {
            NvrError::Deadline { .. } => "NVR request deadline hit",
            NvrError::TooLarge { .. } => "NVR answer over its cap",
            _ => "NVR unreachable",
        }
    }
}

/// Whether an NVR's id can go into a URL path as one segment: `[A-Za-z0-9._-]+`, and not `.`
/// or `..` (which are made of those but climb the path).
pub fn plain_segment(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `id` if it is a plain path segment, else `BadId`.
pub fn checked_id(id: &str) -> Result<&str, NvrError> {
    if plain_segment(id) {
        Ok(id)
    } else {
        Err(NvrError::BadId { id: id.to_string() })
    }
}

/// Records a listed item whose id is refused as failed (so it is logged once, not every poll).
pub fn refuse_id(ctx: &SourceContext, source: &str, job: &Job, id: &str) {
    tracing::warn!(source, id = ?id, "NVR id not a plain path segment, skipped");
    let _ = ctx
        .queue
        .fail(job, &NvrError::BadId { id: id.to_string() }.to_string());
}

/// Which cap an NVR's answer went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The size of a list (events, recordings).
    List,
    /// The largest clip a host may upload (the hosts document's `clips.max_size`).
    ClipSize,
    /// The spool's free space less its reserve.
    SpoolSpace,
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cap::List => "the cap of a list",
            Cap::ClipSize => "the largest clip a host may upload",
            Cap::SpoolSpace => "the spool's free space less its reserve",
        })
    }
}

/// The most bytes one clip download may write, and which cap that is: the clip size cap, or
/// less when the spool (free space unknown: `None`) cannot hold that and keep its reserve.
pub fn clip_cap(max_size: u64, spool_free: Option<u64>, reserve: u64) -> (u64, Cap) {
    match spool_free.map(|free| free.saturating_sub(reserve)) {
        Some(room) if room < max_size => (room, Cap::SpoolSpace),
        _ => (max_size, Cap::ClipSize),
    }
}

/// Bytes free for an unprivileged writer on the filesystem of `dir`.
fn free_space(dir: &std::path::Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(dir).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Reads a whole answer of at most `cap` bytes, chunk by chunk: an NVR sending more (or an
/// endless body) is cut off there, not buffered.
pub async fn read_capped(
    mut answer: reqwest::Response,
    what: &'static str,
    cap: u64,
    deadline: Duration,
) -> Result<Vec<u8>, NvrError> {
    let too_large = NvrError::TooLarge {
        what,
        cap,
        limit: Cap::List,
    };
    if answer.content_length().is_some_and(|n| n > cap) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(NvrError::http(what, deadline))?
    {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON answer of at most `cap` bytes.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    answer: reqwest::Response,
    what: &'static str,
    cap: u64,
    deadline: Duration,
) -> Result<T, NvrError> {
    let body = read_capped(answer, what, cap, deadline).await?;
    serde_json::from_slice(&body).map_err(|e| NvrError::Unreadable {
        what,
        detail: e.to_string(),
    })
}

/// The first `max` items (a list sorted oldest first: the rest come in a later poll), and how
/// many were left for then.
pub fn at_most<T>(mut items: Vec<T>, max: usize) -> (Vec<T>, usize) {
    let left = items.len().saturating_sub(max);
    items.truncate(max);
    (items, left)
}

/// [`at_most`] for a source's poll, saying when some of its list waits for the next poll.
pub fn at_most_logged<T>(items: Vec<T>, max: usize, source: &str) -> Vec<T> {
    let (kept, left) = at_most(items, max);
    if left > 0 {
        tracing::warn!(
            source,
            kept = kept.len(),
            left,
            "NVR list over its count cap, the rest next poll"
        );
    }
    kept
}

/// Writes an answer's body into `dest` (through `dest.part`, renamed when complete), streamed,
/// at most `cap` bytes: over it, or on any failure, the part is removed.
pub async fn download(
    answer: reqwest::Response,
    dest: &std::path::Path,
    deadline: Duration,
    (cap, limit): (u64, Cap),
) -> Result<u64, NvrError> {
    let part = dest.with_extension("part");
    let written = write_part(answer, &part, deadline, (cap, limit)).await;
    let renamed = match written {
        Ok(size) => tokio::fs::rename(&part, dest)
            .await
            .map(|()| size)
            .map_err(|source| NvrError::Spool {
                path: dest.to_path_buf(),
                source,
            }),
        Err(e) => Err(e),
    };
    if renamed.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    renamed
}

async fn write_part(
    mut answer: reqwest::Response,
    part: &std::path::Path,
    deadline: Duration,
    (cap, limit): (u64, Cap),
) -> Result<u64, NvrError> {
    use tokio::io::AsyncWriteExt;
    const WHAT: &str = "clip";
    if !answer.status().is_success() {
        return Err(NvrError::Status {
            what: WHAT,
            status: answer.status(),
        });
    }
    let too_large = NvrError::TooLarge {
        what: WHAT,
        cap,
        limit,
    };
    if answer.content_length().is_some_and(|n| n > cap) {
        return Err(too_large);
    }
    let spool = |source| NvrError::Spool {
        path: part.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::File::create(part).await.map_err(spool)?;
    let mut size = 0u64;
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(NvrError::http(WHAT, deadline))?
    {
        size += chunk.len() as u64;
        if size > cap {
            return Err(too_large);
        }
        file.write_all(&chunk).await.map_err(spool)?;
    }
    file.sync_all().await.map_err(spool)?;
    Ok(size)
}

/// Downloads the clip of `job` into its spool path. `Ok(false)`: it is larger than a host may
/// upload, and is recorded as failed so that it is not fetched again. Out of spool space is an
/// error: the next poll tries again.
pub async fn fetch_clip(
    ctx: &SourceContext,
    source: &str,
    job: &Job,
    answer: reqwest::Response,
    limits: &NvrLimits,
) -> Result<bool, NvrError> {
    let spool = job.path.parent().unwrap_or(std::path::Path::new("."));
    let cap = clip_cap(limits.clip_bytes, free_space(spool), limits.spool_reserve);
    match download(answer, &job.path, limits.clip_deadline, cap).await {
        Ok(size) => {
            tracing::debug!(source, clip = %job.name, size, "clip downloaded");
            Ok(true)
        }
        Err(
            e @ NvrError::TooLarge {
                limit: Cap::ClipSize,
                cap,
                ..
            },
        ) => {
            tracing::warn!(source, clip = %job.name, cap, "clip over the largest a host may upload, skipped");
            let _ = ctx.queue.fail(job, &e.to_string());
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// What the Pi accepts from an NVR: a hostile or broken one must not hold a source forever,
/// fill the Pi's memory or fill its spool.
#[derive(Debug, Clone)]
pub struct NvrLimits {
    /// The whole of a login, a list or a mark, answer included.
    pub deadline: Duration,
    /// The whole of one clip download (a 2 GiB clip over a slow LAN takes minutes).
    pub clip_deadline: Duration,
    /// Bytes of one list answer: Frigate's 100 events are some 50 KB.
    pub list_bytes: u64,
    /// Items taken from one list (Frigate is asked for 100).
    pub list_count: usize,
    /// Bytes of one clip: what the API accepts of a host (its `clips.max_size`, which the Pi
    /// is not told; the default unless set otherwise).
    pub clip_bytes: u64,
    /// Spool space a download leaves free (for the queue's own files and the system).
    pub spool_reserve: u64,
}

impl Default for NvrLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            clip_deadline: Duration::from_secs(15 * 60),
            list_bytes: 4 << 20,
            list_count: 1000,
            clip_bytes: failberry_proto::hosts::DEFAULT_CLIP_MAX_SIZE,
            spool_reserve: 256 << 20,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_downloads_are_capped_by_the_host_cap_or_the_spool_room() {
        const GIB: u64 = 1 << 30;
        let reserve = 256 << 20;
        let cases = [
            ("plenty of space", Some(100 * GIB), (2 * GIB, Cap::ClipSize)),
            ("free space unknown", None, (2 * GIB, Cap::ClipSize)),
            (
                "less room than the cap",
                Some(GIB),
                (GIB - reserve, Cap::SpoolSpace),
            ),
            (
                "room exactly the cap",
                Some(2 * GIB + reserve),
                (2 * GIB, Cap::ClipSize),
            ),
            (
                "the reserve eaten already",
                Some(reserve / 2),
                (0, Cap::SpoolSpace),
            ),
        ];
        for (name, free, want) in cases {
            assert_eq!(clip_cap(2 * GIB, free, reserve), want, "{name}");
        }
    }

    #[test]
    fn only_plain_segments_go_into_urls() {
        let long = "a".repeat(257);
        let cases = [
            ("frigate id", "1764000000.5-abc123", true),
            ("unifi id", "5c1a2b3c4d5e6f7a8b9c0d1e", true),
            ("underscore", "a_b", true),
            ("traversal", "../../../api/evil?x=1#frag", false),
            ("dot dot", "..", false),
            ("dot", ".", false),
            ("slash", "a/b", false),
            ("percent", "a%2Fb", false),
            ("query", "a?x=1", false),
            ("fragment", "a#b", false),
            ("space", "a b", false),
            ("newline", "a\nb", false),
            ("not ascii", "caméra", false),
            ("empty", "", false),
            ("too long", long.as_str(), false),
        ];
        for (name, id, want) in cases {
            assert_eq!(plain_segment(id), want, "{name}");
        }
    }

    #[test]
    fn lists_keep_their_first_items() {
        let cases = [
            ("under", 3, 5, 3, 0),
            ("exactly", 5, 5, 5, 0),
            ("over", 8, 5, 5, 3),
            ("empty", 0, 5, 0, 0),
        ];
        for (name, len, max, kept, left) in cases {
            let (got, got_left) = at_most((0..len).collect::<Vec<u32>>(), max);
            assert_eq!((got.len(), got_left), (kept, left), "{name}");
            assert!(got.iter().copied().eq(0..kept as u32), "{name}");
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
