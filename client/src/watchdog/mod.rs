//! `failberry watchdog`: checks the links from inside every `interval`, climbs the recovery
//! ladder while the wireless link is down, counts its bytes against the month's cap, and reports
//! to the API. This module owns the daemon (one [`Watchdog::round`] at a time, the state file,
//! one log line per action); the decisions are pure (`ladder`, `datacap`), the outside world is
//! behind small traits implemented for the real system in `system` (which also wires the daemon
//! up: [`system::run`]) and for the API in `report`.

pub mod datacap;
pub mod ladder;
pub mod report;
pub mod system;

use std::future::Future;
use std::path::Path;

use failberry_proto::report::{ActionKind, ActionReport, DataReport, LinkReport, MAX_ACTIONS};
use failberry_proto::Clock;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::command::CommandError;
use crate::config::WatchdogConfig;
use datacap::{Reading, Usage};
use ladder::{Decision, LadderState, LinkStatus, Policy, Tracker};

/// The wireless link's name in logs and reports; the wired one is `wired`.
pub const WIRELESS: &str = "wireless";
pub const WIRED: &str = "wired";

/// One round's check of one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckResult {
    /// The interface exists and is administratively and operationally up.
    pub interface_up: bool,
    pub answered: u32,
    pub probed: u32,
}

/// Checks a link: its interface, then the probe targets through it.
pub trait LinkChecks {
    fn check(&self, interface: &str) -> impl Future<Output = CheckResult>;
}

/// Runs a recovery or threshold command.
pub trait Commands {
    fn run(&self, argv: &[String]) -> impl Future<Output = Result<(), CommandError>>;
}

/// Reads an interface's byte counters; `None` when it does not exist.
pub trait ByteCounters {
    fn read(&self, interface: &str) -> Option<Reading>;
}

/// Sends a report to the API.
pub trait Reporter {
    fn send(&self, report: &Report) -> impl Future<Output = Result<(), crate::api::ApiError>>;
}

/// What a report carries, before signing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub links: Vec<LinkReport>,
    pub data: Option<DataReport>,
    pub actions: Vec<ActionReport>,
}

/// Everything the state file keeps across restarts and reboots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogState {
    #[serde(default)]
    pub ladder: LadderState,
    #[serde(default)]
    pub usage: Usage,
    /// Actions not yet reported.
    #[serde(default)]
    pub unreported: Vec<ActionReport>,
}

fn load_state(path: &Path) -> WatchdogState {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            warn!(path = %path.display(), error = %e, "watchdog state unreadable, starting afresh");
            WatchdogState::default()
        }),
        Err(_) => WatchdogState::default(),
    }
}

/// What one round saw and did, for tests and the daemon's loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    pub wireless: CheckResult,
    pub status: LinkStatus,
    pub decision: Decision,
}

pub struct Watchdog<L, C, B, R, K> {
    config: WatchdogConfig,
    checks: L,
    commands: C,
    counters: B,
    reporter: Option<R>,
    clock: K,
    tz: TimeZone,
    dry_run: bool,
    state: WatchdogState,
    wireless: Tracker,
    wired: Tracker,
    last_links: Vec<LinkReport>,
    last_report: Option<i64>,
    started_at: i64,
}

impl<L: LinkChecks, C: Commands, B: ByteCounters, R: Reporter, K: Clock> Watchdog<L, C, B, R, K> {
    /// Loads the state file (a missing or corrupt one is a fresh start).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: WatchdogConfig,
        checks: L,
        commands: C,
        counters: B,
        reporter: Option<R>,
        clock: K,
        tz: TimeZone,
        dry_run: bool,
    ) -> Self {
        let mut state = load_state(&config.state_file);
        let started_at = clock.unix_secs();
        // The modem may still be dialling after a (re)boot: no step before the startup grace.
        let grace_end = started_at + config.startup_grace.as_secs() as i64;
        state.ladder.not_before = state.ladder.not_before.max(grace_end);
        // A restart in the middle of a recovery (the reboot step, typically) has not seen the
        // link come back: it starts down and needs `up` good rounds, or the ladder would reset
        // on an assumption and a dead SIM would reboot the Pi every day anew.
        let recovering = state.ladder.next_step > 0 || state.ladder.failed_passes > 0;
        let wireless = Tracker {
            status: if recovering {
                LinkStatus::Down
            } else {
                LinkStatus::Up
            },
            streak: 0,
        };
        Self {
            config,
            checks,
            commands,
            counters,
            reporter,
            clock,
            tz,
            dry_run,
            state,
            wireless,
            wired: Tracker::default(),
            last_links: Vec::new(),
            last_report: None,
            started_at,
        }
    }

    pub fn state(&self) -> &WatchdogState {
        &self.state
    }

    fn round_ok(&self, r: &CheckResult) -> bool {
        r.interface_up && r.answered >= self.config.reliability
    }

    fn record(&mut self, action: ActionReport) {
        self.state.unreported.push(action);
        let excess = self.state.unreported.len().saturating_sub(MAX_ACTIONS);
        self.state.unreported.drain(..excess);
    }

    fn save(&self) {
        if self.dry_run {
            return;
        }
        if let Err(e) = crate::state::save_json(&self.config.state_file, &self.state) {
            warn!(error = %e, "watchdog state not saved");
        }
    }

    async fn run_command(&self, argv: &[String], what: &str, reason: &str) {
        if self.dry_run {
            info!(action = what, command = ?argv, reason, "dry run: would run");
            return;
        }
        info!(action = what, command = ?argv, reason, "running");
        if let Err(e) = self.commands.run(argv).await {
            warn!(action = what, command = ?argv, error = %e, "command failed");
        }
    }

    /// One round: check the links, move the ladder, count the bytes, report when due. The state
    /// is saved before any command runs, so a reboot step is on disk before the reboot.
    pub async fn round(&mut self) -> Round {
        let now = self.clock.unix_secs();
        let wireless = self.checks.check(&self.config.interface.clone()).await;
        let (tracker, flipped) = ladder::track(
            self.wireless,
            self.round_ok(&wireless),
            self.config.up,
            self.config.down,
        );
        self.wireless = tracker;
        if let Some(status) = flipped {
            info!(link = WIRELESS, interface = %self.config.interface, status = ?status,
                answered = wireless.answered, probed = wireless.probed, "link status changed");
        }
        let mut links = vec![link_report(WIRELESS, tracker.status, &wireless)];
        if let Some(wired_if) = self.config.wired_interface.clone() {
            let wired = self.checks.check(&wired_if).await;
            let (tracker, flipped) = ladder::track(
                self.wired,
                self.round_ok(&wired),
                self.config.up,
                self.config.down,
            );
            self.wired = tracker;
            if let Some(status) = flipped {
                info!(link = WIRED, interface = %wired_if, status = ?status,
                    answered = wired.answered, probed = wired.probed, "link status changed");
            }
            links.push(link_report(WIRED, tracker.status, &wired));
        }
        self.last_links = links;

        let policy = Policy {
            steps: &self.config.recovery,
            max_reboots_per_day: self.config.max_reboots_per_day,
            backoff_secs: self.config.backoff.as_secs(),
            backoff_max_secs: self.config.backoff_max.as_secs(),
        };
        let (decision, ladder) = ladder::decide(&policy, &self.state.ladder, tracker.status, now);
        self.state.ladder = ladder;
        let mut command = None;
        match &decision {
            Decision::Idle | Decision::Wait { .. } | Decision::NoLadder => {}
            Decision::Run { step } => {
                let s = self.config.recovery[*step].clone();
                let reason = format!(
                    "wireless link down: {} of {} targets answered, need {}",
                    wireless.answered, wireless.probed, self.config.reliability
                );
                self.record(ActionReport {
                    kind: ActionKind::Recovery,
                    step: Some(s.name.clone()),
                    reboot: s.reboot,
                    percent: None,
                    at: now,
                });
                command = Some((s.command.clone(), s.name.clone(), reason));
            }
            Decision::SkipReboot {
                step,
                reboots_today,
            } => {
                let name = self.config.recovery[*step].name.clone();
                warn!(action = %name, reboots_today, cap = self.config.max_reboots_per_day,
                    reason = "the day's reboots are used up", "recovery step skipped");
                self.record(ActionReport {
                    kind: ActionKind::RebootSkipped,
                    step: Some(name),
                    reboot: true,
                    percent: None,
                    at: now,
                });
            }
            Decision::BackOff { until, passes } => {
                warn!(
                    passes,
                    wait_secs = until - now,
                    reason = "every recovery step ran and the link is still down",
                    "backing off"
                );
                self.record(ActionReport {
                    kind: ActionKind::BackOff,
                    step: None,
                    reboot: false,
                    percent: None,
                    at: now,
                });
            }
            Decision::Recovered { steps_run } => {
                info!(
                    steps_run,
                    reason = "the wireless link answers again",
                    "recovered, ladder reset"
                );
                self.record(ActionReport {
                    kind: ActionKind::Recovered,
                    step: None,
                    reboot: false,
                    percent: None,
                    at: now,
                });
            }
        }

        let crossed = self.count_bytes(now);
        self.save();
        if let Some((argv, name, reason)) = command {
            self.run_command(&argv, &name, &reason).await;
        }
        for (percent, argv) in crossed {
            let reason = format!("{percent} % of the month's data cap used");
            match argv {
                Some(argv) => self.run_command(&argv, "data_threshold", &reason).await,
                None => {
                    warn!(action = "data_threshold", percent, reason = %reason, "threshold crossed")
                }
            }
        }
        self.report_if_due(now).await;
        Round {
            wireless,
            status: tracker.status,
            decision,
        }
    }

    /// Counts the wireless link's bytes; the thresholds crossed, with their commands.
    fn count_bytes(&mut self, now: i64) -> Vec<(u8, Option<Vec<String>>)> {
        let Some(cap) = self.config.data_cap.clone() else {
            return Vec::new();
        };
        let period = datacap::period_start(now, &self.tz, cap.billing_day);
        let reading = self.counters.read(&self.config.interface);
        let (usage, crossed) = datacap::account(&self.state.usage, reading, period, &cap);
        self.state.usage = usage;
        crossed
            .into_iter()
            .map(|percent| {
                self.record(ActionReport {
                    kind: ActionKind::DataThreshold,
                    step: None,
                    reboot: false,
                    percent: Some(percent),
                    at: now,
                });
                let command = cap
                    .thresholds
                    .iter()
                    .find(|t| t.percent == percent)
                    .and_then(|t| t.command.clone());
                (percent, command)
            })
            .collect()
    }

    async fn report_if_due(&mut self, now: i64) {
        let Some(reporter) = &self.reporter else {
            return;
        };
        let interval = self.config.report_interval.as_secs() as i64;
        let due = match self.last_report {
            None => now - self.started_at >= interval.min(60) || !self.state.unreported.is_empty(),
            Some(last) => now - last >= interval,
        };
        if interval == 0 || !due {
            return;
        }
        let report = Report {
            links: self.last_links.clone(),
            data: self.config.data_cap.as_ref().map(|cap| DataReport {
                used_bytes: self.state.usage.used_bytes,
                cap_bytes: cap.cap_bytes,
                period_start: self.state.usage.period_start,
            }),
            actions: self.state.unreported.clone(),
        };
        if self.dry_run {
            info!(actions = report.actions.len(), "dry run: would report");
            self.last_report = Some(now);
            return;
        }
        match reporter.send(&report).await {
            Ok(()) => {
                info!(actions = report.actions.len(), "reported");
                self.last_report = Some(now);
                self.state.unreported.clear();
                self.save();
            }
            // Kept for the next report; tried again next round.
            Err(e) => warn!(error = %e, "report not delivered"),
        }
    }
}

fn link_report(name: &str, status: LinkStatus, r: &CheckResult) -> LinkReport {
    LinkReport {
        name: name.into(),
        up: status == LinkStatus::Up,
        answered: r.answered,
        probed: r.probed,
    }
}

/// The daemon: a round every `interval` until `shutdown`.
pub async fn run_loop<L, C, B, R, K>(
    mut watchdog: Watchdog<L, C, B, R, K>,
    shutdown: impl Future<Output = ()>,
) where
    L: LinkChecks,
    C: Commands,
    B: ByteCounters,
    R: Reporter,
    K: Clock,
{
    tokio::pin!(shutdown);
    let interval = watchdog.config.interval;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = watchdog.round() => {}
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
