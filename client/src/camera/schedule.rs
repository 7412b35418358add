//! What the camera loop knows and decides, with no clock, task or file of its own: the jobs
//! found, which of them run, when each stored clip's result is asked for next, and when the
//! queue depth was last logged. `watch` feeds it events and the time and does what it returns,
//! so every decision is tested here without tokio.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::queue::{Job, Stage};

/// Result polls at once (each is one small GET).
const RESULT_POLLS: usize = 4;
/// The longest wait between two result polls of one clip.
const RESULT_POLL_CAP: Duration = Duration::from_secs(60);
/// How often the queue depth is logged while it is not empty.
const DEPTH_EVERY: Duration = Duration::from_secs(60);

/// The two clocks a decision reads: the monotonic one for result polls and the depth log, and
/// the server-corrected Unix seconds a retried upload's `not_before` is written in.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub at: Instant,
    pub unix: i64,
}

/// A task to start now.
#[derive(Debug)]
pub enum Start {
    Upload(Job),
    /// Ask for a stored clip's analysis result and mark it.
    Poll(Job),
}

/// How a task ended, as far as the schedule cares.
pub enum Ended {
    /// The upload stored the clip: its result is asked for one first wait later.
    Stored(Job),
    /// The upload did not store the clip: tried again from the job's `not_before`.
    Retry(Job),
    /// The result is not there yet: asked again after a longer wait.
    Pending,
    /// The result poll failed: asked again after five first waits.
    PollFailed,
    /// Marked, given up on or set aside in failed/: the job is over.
    Over,
}

/// What to do with a job a source reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Save it and hand it to [`Schedule::found`].
    New,
    /// Already known (a source may report a clip again).
    Known,
    /// Its file's earlier version still waits; that job sees the change and reads it again.
    Rewritten,
}

/// One "queue depth" log line.
#[derive(Debug, PartialEq, Eq)]
pub struct Depth {
    pub waiting: usize,
    pub uploading: usize,
    pub awaiting_result: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Task {
    Upload,
    Poll,
}

/// When a stored clip's result is asked for next, and how many "pending" answers it got.
struct NextPoll {
    at: Instant,
    pending: u32,
}

pub struct Schedule {
    upload_limit: usize,
    first_poll: Duration,
    jobs: HashMap<String, Job>,
    running: HashMap<String, Task>,
    next_poll: HashMap<String, NextPoll>,
    /// The waiting count last logged (`None`: nothing logged yet) and when.
    shown_depth: Option<usize>,
    depth_shown_at: Instant,
}

impl Schedule {
    pub fn new(jobs: Vec<Job>, upload_limit: usize, first_poll: Duration, now: Instant) -> Self {
        Schedule {
            upload_limit,
            first_poll,
            jobs: jobs.into_iter().map(|j| (j.id.clone(), j)).collect(),
            running: HashMap::new(),
            next_poll: HashMap::new(),
            shown_depth: None,
            depth_shown_at: now,
        }
    }

    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    pub fn admit(&self, job: &Job) -> Admit {
        let rewritten = !job.owned
            && self
                .jobs
                .values()
                .any(|j| j.path == job.path && !matches!(j.stage, Stage::Stored { .. }));
        if rewritten {
            Admit::Rewritten
        } else if self.jobs.contains_key(&job.id) {
            Admit::Known
        } else {
            Admit::New
        }
    }

    pub fn found(&mut self, job: Job) {
        self.jobs.insert(job.id.clone(), job);
    }

    pub fn finished(&mut self, id: &str, ended: Ended, now: Instant) {
        self.running.remove(id);
        let pending = self.next_poll.get(id).map_or(0, |p| p.pending);
        let next_poll = match ended {
            Ended::Stored(job) => {
                // Just stored: its analysis has not even started.
                self.jobs.insert(job.id.clone(), job);
                NextPoll {
                    at: now + self.first_poll,
                    pending: 0,
                }
            }
            Ended::Retry(job) => {
                self.jobs.insert(job.id.clone(), job);
                return;
            }
            Ended::Pending => NextPoll {
                at: now + result_wait(self.first_poll, pending + 1),
                pending: pending + 1,
            },
            Ended::PollFailed => NextPoll {
                at: now + self.first_poll * 5,
                pending,
            },
            Ended::Over => {
                self.jobs.remove(id);
                self.next_poll.remove(id);
                return;
            }
        };
        self.next_poll.insert(id.to_string(), next_poll);
    }

    /// The tasks to start now, oldest clip first, within the upload and result poll limits; each
    /// counts as running until [`Schedule::finished`].
    pub fn due(&mut self, now: Now) -> Vec<Start> {
        let mut idle: Vec<&Job> = self.idle().collect();
        idle.sort_by(|a, b| (a.found_at, &a.id).cmp(&(b.found_at, &b.id)));
        let mut uploads = self.running(Task::Upload);
        let mut polls = self.running(Task::Poll);
        let mut starts = Vec::new();
        for job in idle {
            if matches!(job.stage, Stage::Stored { .. }) {
                if polls < RESULT_POLLS && self.poll_at(job, now.at) <= now.at {
                    polls += 1;
                    starts.push(Start::Poll(job.clone()));
                }
            } else if uploads < self.upload_limit && job.not_before <= now.unix {
                uploads += 1;
                starts.push(Start::Upload(job.clone()));
            }
        }
        for start in &starts {
            let (job, task) = match start {
                Start::Upload(job) => (job, Task::Upload),
                Start::Poll(job) => (job, Task::Poll),
            };
            self.running.insert(job.id.clone(), task);
        }
        starts
    }

    /// When something next becomes due, if nothing else happens first; `None` while all that
    /// is left waits for a running task. Past [`Schedule::due`] and [`Schedule::depth_to_log`]
    /// at `now`, it is later than `now`. A retry is due from the Unix second `not_before`:
    /// counted from the whole second `now.unix`, the wake-up is never early and at most a
    /// second late.
    pub fn next_deadline(&self, now: Now) -> Option<Instant> {
        let polls_free = self.running(Task::Poll) < RESULT_POLLS;
        let uploads_free = self.running(Task::Upload) < self.upload_limit;
        let starts = self.idle().filter_map(|job| match job.stage {
            Stage::Stored { .. } => polls_free.then(|| self.poll_at(job, now.at)),
            _ => uploads_free.then(|| {
                now.at + Duration::from_secs(job.not_before.saturating_sub(now.unix).max(0) as u64)
            }),
        });
        let depth = self
            .shown_depth
            .is_some_and(|shown| shown != self.waiting())
            .then_some(self.depth_shown_at + DEPTH_EVERY);
        starts.chain(depth).min()
    }

    /// The depth line to log now, if any: at the start, at once when the queue empties, else a
    /// change at most once every [`DEPTH_EVERY`], so a busy queue does not flood the log.
    pub fn depth_to_log(&mut self, now: Instant) -> Option<Depth> {
        let waiting = self.waiting();
        let show = match self.shown_depth {
            None => true,
            Some(shown) => {
                shown != waiting && (waiting == 0 || now >= self.depth_shown_at + DEPTH_EVERY)
            }
        };
        if !show {
            return None;
        }
        self.shown_depth = Some(waiting);
        self.depth_shown_at = now;
        Some(Depth {
            waiting,
            uploading: self.running(Task::Upload),
            awaiting_result: self.jobs.len() - waiting,
        })
    }

    fn idle(&self) -> impl Iterator<Item = &Job> {
        self.jobs
            .values()
            .filter(|j| !self.running.contains_key(&j.id))
    }

    fn running(&self, task: Task) -> usize {
        self.running.values().filter(|t| **t == task).count()
    }

    /// Jobs not stored yet.
    fn waiting(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| !matches!(j.stage, Stage::Stored { .. }))
            .count()
    }

    /// A clip loaded already stored is asked for at once.
    fn poll_at(&self, job: &Job, now: Instant) -> Instant {
        self.next_poll.get(&job.id).map_or(now, |p| p.at)
    }
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::camera::queue::Origin;

    const UNIX0: i64 = 1_700_000_000;
    const FIRST_POLL: Duration = Duration::from_secs(5);

    fn job(id: &str, found: i64, stage: Stage) -> Job {
        let path = PathBuf::from(format!("/nvr/front/{id}.mp4"));
        let mut job = Job::new(
            id.into(),
            "front",
            id,
            path,
            false,
            Origin::Folder,
            UNIX0 + found,
        );
        job.stage = stage;
        job
    }

    fn queued(id: &str, found: i64) -> Job {
        job(id, found, Stage::Queued)
    }

    fn stored(id: &str, found: i64) -> Job {
        let key = format!("clips/front/{id}");
        job(
            id,
            found,
            Stage::Stored {
                key,
                stored_at: UNIX0,
            },
        )
    }

    /// How a test ends a task.
    enum End {
        Stored,
        RetryIn(i64),
        Pending,
        PollFailed,
        Over,
    }

    /// One step of a row; the first number is the second (from the row's start) it happens at.
    enum Step {
        Found(Box<Job>),
        /// `due` starts exactly these, in this order ("up a", "poll b").
        Due(u64, &'static [&'static str]),
        Ends(u64, &'static str, End),
        /// The next deadline, as a second from the start.
        Wakes(u64, Option<u64>),
        /// The depth line logged: (waiting, uploading, awaiting result).
        Logs(u64, Option<(usize, usize, usize)>),
    }

    use End::*;
    use Step::*;

    fn run(name: &str, upload_limit: usize, jobs: Vec<Job>, steps: Vec<Step>) {
        let t0 = Instant::now();
        let at = |s: u64| Now {
            at: t0 + Duration::from_secs(s),
            unix: UNIX0 + s as i64,
        };
        let mut schedule = Schedule::new(jobs, upload_limit, FIRST_POLL, t0);
        for (i, step) in steps.into_iter().enumerate() {
            let name = format!("{name}, step {i}");
            match step {
                Found(job) => schedule.found(*job),
                Due(s, want) => {
                    let got: Vec<String> = schedule
                        .due(at(s))
                        .iter()
                        .map(|start| match start {
                            Start::Upload(j) => format!("up {}", j.id),
                            Start::Poll(j) => format!("poll {}", j.id),
                        })
                        .collect();
                    assert_eq!(got, want, "{name}");
                }
                Ends(s, id, end) => {
                    let mut job = schedule.jobs[id].clone();
                    let ended = match end {
                        Stored => {
                            job.stage = stored(id, 0).stage;
                            Ended::Stored(job)
                        }
                        RetryIn(secs) => {
                            job.not_before = at(s).unix + secs;
                            Ended::Retry(job)
                        }
                        Pending => Ended::Pending,
                        PollFailed => Ended::PollFailed,
                        Over => Ended::Over,
                    };
                    schedule.finished(id, ended, at(s).at);
                }
                Wakes(s, want) => {
                    let want = want.map(|w| t0 + Duration::from_secs(w));
                    assert_eq!(schedule.next_deadline(at(s)), want, "{name}");
                }
                Logs(s, want) => {
                    let want = want.map(|(waiting, uploading, awaiting_result)| super::Depth {
                        waiting,
                        uploading,
                        awaiting_result,
                    });
                    assert_eq!(schedule.depth_to_log(at(s).at), want, "{name}");
                }
            }
        }
    }

    #[test]
    fn what_starts_and_when() {
        let rows = [
            (
                "nothing known: nothing due, no deadline",
                1,
                vec![],
                vec![Due(0, &[]), Wakes(0, None)],
            ),
            (
                "uploads wait for a free slot, oldest clip first",
                2,
                vec![queued("c", 3), queued("a", 1), queued("b", 2)],
                vec![
                    Due(0, &["up a", "up b"]),
                    Due(1, &[]),
                    Wakes(1, None),
                    Ends(2, "a", Stored),
                    Due(2, &["up c"]),
                ],
            ),
            (
                "a running job is not started twice",
                2,
                vec![queued("a", 1)],
                vec![Due(0, &["up a"]), Due(1, &[]), Wakes(1, None)],
            ),
            (
                "a stored clip's result is asked for one first wait later",
                1,
                vec![queued("a", 1)],
                vec![
                    Due(0, &["up a"]),
                    Ends(3, "a", Stored),
                    Wakes(3, Some(8)),
                    Due(7, &[]),
                    Due(8, &["poll a"]),
                ],
            ),
            (
                "pending answers wait 10, 20, 40 s, then the 60 s cap",
                1,
                vec![stored("a", 1)],
                vec![
                    Due(0, &["poll a"]),
                    Ends(0, "a", Pending),
                    Wakes(0, Some(10)),
                    Due(9, &[]),
                    Due(10, &["poll a"]),
                    Ends(10, "a", Pending),
                    Wakes(10, Some(30)),
                    Due(30, &["poll a"]),
                    Ends(30, "a", Pending),
                    Wakes(30, Some(70)),
                    Due(70, &["poll a"]),
                    Ends(70, "a", Pending),
                    Wakes(70, Some(130)),
                ],
            ),
            (
                "a failed poll waits five first waits and keeps its pending count",
                1,
                vec![stored("a", 1)],
                vec![
                    Due(0, &["poll a"]),
                    Ends(0, "a", Pending),
                    Due(10, &["poll a"]),
                    Ends(10, "a", PollFailed),
                    Wakes(10, Some(35)),
                    Due(35, &["poll a"]),
                    Ends(35, "a", Pending),
                    Wakes(35, Some(55)),
                ],
            ),
            (
                "at most four result polls at once; a full limit sets no deadline",
                1,
                vec![
                    stored("e", 5),
                    stored("d", 4),
                    stored("c", 3),
                    stored("b", 2),
                    stored("a", 1),
                ],
                vec![
                    Due(0, &["poll a", "poll b", "poll c", "poll d"]),
                    Wakes(0, None),
                    Ends(1, "a", Over),
                    Due(1, &["poll e"]),
                    Due(100, &[]),
                ],
            ),
            (
                "uploads and result polls have separate limits",
                1,
                vec![queued("a", 1), stored("b", 2), queued("c", 3)],
                vec![Due(0, &["up a", "poll b"]), Wakes(0, None)],
            ),
            (
                "a retried upload waits for its not_before",
                1,
                vec![queued("a", 1)],
                vec![
                    Due(0, &["up a"]),
                    Ends(0, "a", RetryIn(30)),
                    Due(29, &[]),
                    Wakes(29, Some(30)),
                    Due(30, &["up a"]),
                ],
            ),
            (
                "nothing due: the next deadline is the earliest poll",
                1,
                vec![stored("a", 1), stored("b", 2)],
                vec![
                    Due(0, &["poll a", "poll b"]),
                    Ends(2, "b", Pending),
                    Ends(0, "a", PollFailed),
                    Wakes(3, Some(12)),
                ],
            ),
            (
                "a job set aside is forgotten",
                1,
                vec![queued("a", 1)],
                vec![
                    Due(0, &["up a"]),
                    Ends(0, "a", Over),
                    Wakes(0, None),
                    Due(100, &[]),
                ],
            ),
            (
                "a job found later starts at the next pass",
                1,
                vec![],
                vec![
                    Due(0, &[]),
                    Found(Box::new(queued("a", 1))),
                    Wakes(1, Some(1)),
                    Due(1, &["up a"]),
                ],
            ),
        ];
        for (name, upload_limit, jobs, steps) in rows {
            run(name, upload_limit, jobs, steps);
        }
    }

    #[test]
    fn the_depth_is_logged_at_the_start_when_it_empties_and_else_once_a_minute() {
        run(
            "depth",
            1,
            vec![],
            vec![
                Logs(0, Some((0, 0, 0))),
                Logs(1, None),
                Found(Box::new(queued("a", 1))),
                Due(1, &["up a"]),
                Logs(1, None),
                Wakes(1, Some(60)),
                Logs(59, None),
                Logs(60, Some((1, 1, 0))),
                Wakes(60, None),
                Ends(61, "a", Stored),
                Logs(61, Some((0, 0, 1))),
                Wakes(61, Some(66)),
            ],
        );
    }

    #[test]
    fn a_file_rewritten_while_queued_is_not_a_second_clip() {
        let mut rewritten = queued("a2", 2);
        rewritten.path = queued("a", 1).path;
        let mut owned = rewritten.clone();
        owned.owned = true;
        let mut after_stored = queued("s2", 2);
        after_stored.path = stored("s", 1).path;
        let schedule = Schedule::new(
            vec![queued("a", 1), stored("s", 1)],
            1,
            FIRST_POLL,
            Instant::now(),
        );
        let cases = [
            ("a new clip", queued("b", 3), Admit::New),
            ("reported again", queued("a", 1), Admit::Rewritten),
            ("a stored clip reported again", stored("s", 1), Admit::Known),
            ("the waiting file rewritten", rewritten, Admit::Rewritten),
            ("a spool file is never a rewrite", owned, Admit::New),
            ("a stored clip's file rewritten", after_stored, Admit::New),
        ];
        for (name, job, want) in cases {
            assert_eq!(schedule.admit(&job), want, "{name}");
        }
    }

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
