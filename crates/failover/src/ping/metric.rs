//! The names of the metrics a ping run publishes (the `metrics` a target opts into, the
//! `MetricName` in namespace `Failberry/Ping`) and their CloudWatch units. The availability
//! metric's name is the link contract's (`link::AVAILABILITY_METRIC`); the samples, their packing
//! and the sinks are the ping function's.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetricName {
    /// 1 per probe that found the target up, 0 per probe that did not. Its per-minute Average is
    /// the link's health: several probes per run make one lost probe a dip, not an outage.
    Availability,
    /// Milliseconds from the start of the probe to the end of the body, only for probes that got
    /// a response, so a failure never drags the average down.
    Latency,
    StatusCode,
    /// Whole days of certificate validity left (https).
    CertDaysLeft,
}

/// The CloudWatch units we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    None,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::None => "None",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

impl MetricName {
    pub const ALL: [MetricName; 4] = [
        MetricName::Availability,
        MetricName::Latency,
        MetricName::StatusCode,
        MetricName::CertDaysLeft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricName::Availability => crate::link::AVAILABILITY_METRIC,
            MetricName::Latency => "Latency",
            MetricName::StatusCode => "StatusCode",
            MetricName::CertDaysLeft => "CertDaysLeft",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            MetricName::Latency => Unit::Milliseconds,
            _ => Unit::None,
        }
    }
}
