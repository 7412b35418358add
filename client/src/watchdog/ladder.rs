//! The watchdog's decisions as pure functions: whether a link is up or down from its rounds
//! (mwan3's `up`/`down` counts), and what the recovery ladder does next (run a step, wait out a
//! grace period or a back-off, skip a reboot over the day's cap, start over once the link is
//! back). Running commands, keeping time and saving the state are the daemon's job.

use serde::{Deserialize, Serialize};

use crate::backoff::delay;
use crate::config::RecoveryStep;

/// Reboots are capped over a rolling day.
pub const DAY_SECS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    Up,
    Down,
}

/// A link's status and how many rounds in a row disagreed with it. Starts up, as mwan3's
/// `initial_state online`: a link is declared down only after `down` failed rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracker {
    pub status: LinkStatus,
    pub streak: u32,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            status: LinkStatus::Up,
            streak: 0,
        }
    }
}

/// The tracker after one round; the new status when it changed.
pub fn track(t: Tracker, round_ok: bool, up: u32, down: u32) -> (Tracker, Option<LinkStatus>) {
    let (agrees, needed, flipped) = match t.status {
        LinkStatus::Up => (round_ok, down, LinkStatus::Down),
        LinkStatus::Down => (!round_ok, up, LinkStatus::Up),
    };
    if agrees {
        return (Tracker { streak: 0, ..t }, None);
    }
    let streak = t.streak + 1;
    if streak >= needed {
        (
            Tracker {
                status: flipped,
                streak: 0,
            },
            Some(flipped),
        )
    } else {
        (Tracker { streak, ..t }, None)
    }
}

/// Where the ladder stands; kept in the state file so a reboot does not forget it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderState {
    /// The step to run when the link is still down at `not_before`.
    pub next_step: usize,
    /// Unix seconds: nothing runs before (a grace period or a back-off).
    pub not_before: i64,
    /// Whole passes of the ladder that did not bring the link back.
    pub failed_passes: u32,
    /// Unix seconds of the reboots of the last day.
    pub reboots: Vec<i64>,
}

/// What the ladder needs from the config.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub steps: &'a [RecoveryStep],
    pub max_reboots_per_day: u32,
    pub backoff_secs: u64,
    pub backoff_max_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The link is up and the ladder at rest.
    Idle,
    /// The link is down, but a grace period or a back-off is running.
    Wait { until: i64 },
    /// The link is down and no recovery is configured.
    NoLadder,
    /// Run this step now.
    Run { step: usize },
    /// This reboot step is skipped: the day's reboots are used up.
    SkipReboot { step: usize, reboots_today: usize },
    /// Every step ran and the link is still down: wait, then start over.
    BackOff { until: i64, passes: u32 },
    /// The link is back after recovery began: the ladder starts from its first step again.
    Recovered { steps_run: usize },
}

/// Reboots within a day of `now` either way (a Pi without a real-time clock may boot with its
/// clock behind: a reboot "in the future" still counts, one a day away no longer does).
pub fn recent_reboots(reboots: &[i64], now: i64) -> Vec<i64> {
    reboots
        .iter()
        .copied()
        .filter(|t| (now - t).abs() < DAY_SECS)
        .collect()
}

/// The next move of the ladder, and its state after it.
pub fn decide(
    policy: &Policy,
    state: &LadderState,
    link: LinkStatus,
    now: i64,
) -> (Decision, LadderState) {
    let mut next = LadderState {
        reboots: recent_reboots(&state.reboots, now),
        ..state.clone()
    };
    if link == LinkStatus::Up {
        if state.next_step == 0 && state.failed_passes == 0 {
            return (Decision::Idle, next);
        }
        let steps_run = state.next_step + state.failed_passes as usize * policy.steps.len();
        return (
            Decision::Recovered { steps_run },
            LadderState {
                reboots: next.reboots,
                ..LadderState::default()
            },
        );
    }
    if policy.steps.is_empty() {
        return (Decision::NoLadder, next);
    }
    if now < state.not_before {
        return (
            Decision::Wait {
                until: state.not_before,
            },
            next,
        );
    }
    if state.next_step >= policy.steps.len() {
        let passes = state.failed_passes.saturating_add(1);
        let wait = delay(
            std::time::Duration::from_secs(policy.backoff_secs),
            std::time::Duration::from_secs(policy.backoff_max_secs),
            passes,
        );
        next.failed_passes = passes;
        next.next_step = 0;
        next.not_before = now + wait.as_secs() as i64;
        return (
            Decision::BackOff {
                until: next.not_before,
                passes,
            },
            next,
        );
    }
    let step = state.next_step;
    let spec = &policy.steps[step];
    next.next_step = step + 1;
    if spec.reboot && next.reboots.len() >= policy.max_reboots_per_day as usize {
        return (
            Decision::SkipReboot {
                step,
                reboots_today: next.reboots.len(),
            },
            next,
        );
    }
    if spec.reboot {
        next.reboots.push(now);
    }
    next.not_before = now + spec.grace.as_secs() as i64;
    (Decision::Run { step }, next)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use LinkStatus::{Down, Up};

    #[test]
    fn links_flip_after_up_and_down_rounds_in_a_row() {
        let t = |status, streak| Tracker { status, streak };
        let cases = [
            ("up stays up", t(Up, 0), true, t(Up, 0), None),
            ("first failure", t(Up, 0), false, t(Up, 1), None),
            (
                "a success resets the streak",
                t(Up, 2),
                true,
                t(Up, 0),
                None,
            ),
            (
                "third failure flips (down=3)",
                t(Up, 2),
                false,
                t(Down, 0),
                Some(Down),
            ),
            ("down stays down", t(Down, 0), false, t(Down, 0), None),
            ("first success", t(Down, 0), true, t(Down, 1), None),
            ("a failure resets it", t(Down, 1), false, t(Down, 0), None),
            (
                "second success flips (up=2)",
                t(Down, 1),
                true,
                t(Up, 0),
                Some(Up),
            ),
        ];
        for (name, before, ok, want, flip) in cases {
            assert_eq!(track(before, ok, 2, 3), (want, flip), "{name}");
        }
    }

    fn steps() -> Vec<RecoveryStep> {
        let step = |name: &str, reboot, grace| RecoveryStep {
            name: name.into(),
            command: vec![name.into()],
            reboot,
            grace: Duration::from_secs(grace),
        };
        vec![
            step("redial", false, 60),
            step("usb", false, 120),
            step("reboot", true, 300),
        ]
    }

    #[test]
    fn ladder_decisions() {
        let steps = steps();
        let policy = Policy {
            steps: &steps,
            max_reboots_per_day: 1,
            backoff_secs: 600,
            backoff_max_secs: 1800,
        };
        let s = |next_step, not_before, failed_passes, reboots: &[i64]| LadderState {
            next_step,
            not_before,
            failed_passes,
            reboots: reboots.to_vec(),
        };
        let now = 100_000;
        let cases = [
            (
                "up at rest",
                s(0, 0, 0, &[]),
                Up,
                Decision::Idle,
                s(0, 0, 0, &[]),
            ),
            (
                "down: first step",
                s(0, 0, 0, &[]),
                Down,
                Decision::Run { step: 0 },
                s(1, now + 60, 0, &[]),
            ),
            (
                "in its grace",
                s(1, now + 5, 0, &[]),
                Down,
                Decision::Wait { until: now + 5 },
                s(1, now + 5, 0, &[]),
            ),
            (
                "grace over: escalate",
                s(1, now, 0, &[]),
                Down,
                Decision::Run { step: 1 },
                s(2, now + 120, 0, &[]),
            ),
            (
                "reboot recorded before it runs",
                s(2, 0, 0, &[]),
                Down,
                Decision::Run { step: 2 },
                s(3, now + 300, 0, &[now]),
            ),
            (
                "reboot over the cap is skipped",
                s(2, 0, 0, &[now - 3600]),
                Down,
                Decision::SkipReboot {
                    step: 2,
                    reboots_today: 1,
                },
                s(3, 0, 0, &[now - 3600]),
            ),
            (
                "a day-old reboot no longer counts",
                s(2, 0, 0, &[now - DAY_SECS]),
                Down,
                Decision::Run { step: 2 },
                s(3, now + 300, 0, &[now]),
            ),
            (
                "a reboot ahead of a clock set back still counts",
                s(2, 0, 0, &[now + 3600]),
                Down,
                Decision::SkipReboot {
                    step: 2,
                    reboots_today: 1,
                },
                s(3, 0, 0, &[now + 3600]),
            ),
            (
                "whole ladder failed: back off",
                s(3, 0, 0, &[]),
                Down,
                Decision::BackOff {
                    until: now + 600,
                    passes: 1,
                },
                s(0, now + 600, 1, &[]),
            ),
            (
                "back-off doubles",
                s(3, 0, 1, &[]),
                Down,
                Decision::BackOff {
                    until: now + 1200,
                    passes: 2,
                },
                s(0, now + 1200, 2, &[]),
            ),
            (
                "back-off is capped",
                s(3, 0, 4, &[]),
                Down,
                Decision::BackOff {
                    until: now + 1800,
                    passes: 5,
                },
                s(0, now + 1800, 5, &[]),
            ),
            (
                "back up resets the ladder, keeps reboots",
                s(3, now + 300, 1, &[now - 10]),
                Up,
                Decision::Recovered { steps_run: 6 },
                s(0, 0, 0, &[now - 10]),
            ),
        ];
        for (name, before, link, want, after) in cases {
            assert_eq!(decide(&policy, &before, link, now), (want, after), "{name}");
        }
        let empty = Policy {
            steps: &[],
            ..policy
        };
        assert_eq!(
            decide(&empty, &LadderState::default(), Down, now).0,
            Decision::NoLadder
        );
    }
}
