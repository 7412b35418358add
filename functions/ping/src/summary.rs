//! The JSON summary a run returns and logs: per target up or down, status, latency, phases,
//! error kind and certificate days, and what became of the metrics.

use serde::Serialize;

use crate::config::Emit;
use crate::metrics::Delivery;
use crate::probe::{Observation, Phases};
use crate::verdict::{ErrorKind, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The run's time by the function's clock: the metrics' timestamp.
    pub time: String,
    /// The schedule's time, from the EventBridge event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
    pub up: usize,
    pub down: usize,
    pub emit: Emit,
    pub metrics: Delivery,
    pub duration_ms: f64,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub name: String,
    pub url: String,
    /// At least half of the target's probes were up.
    pub up: bool,
    /// The fraction of probes that were up: the run's Availability average.
    pub availability: f64,
    /// The following fields come from the probe that speaks for the target (see `probes`).
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    pub phases: Phases,
    pub error: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i64>,
    /// Every probe, when the target has more than one.
    #[serde(skip_serializing_if = "at_most_one")]
    pub probes: Vec<ProbeReport>,
}

fn at_most_one(probes: &[ProbeReport]) -> bool {
    probes.len() <= 1
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProbeReport {
    pub up: bool,
    pub status: Option<u16>,
    /// The total time, only when a response came.
    pub latency_ms: Option<f64>,
    pub phases: Phases,
    pub error: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<i64>,
}

impl ProbeReport {
    pub fn new(obs: &Observation, verdict: Verdict) -> Self {
        Self {
            up: verdict.up,
            status: obs.status,
            latency_ms: if verdict.responded {
                obs.phases.total_ms
            } else {
                None
            },
            phases: obs.phases,
            error: verdict.error,
            detail: verdict.detail,
            cert_days_left: verdict.cert_days_left,
        }
    }
}
