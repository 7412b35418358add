//! A model of the chain that decides which link the home's DNS name points to: CloudWatch alarm
//! evaluation, Route 53 CLOUDWATCH_METRIC health checks, and failover routing, written from
//! AWS's documentation so that the demo, the tests and `failberry-ctl status` can say what AWS
//! would answer (the local emulator stores alarms and health checks but evaluates neither).
//!
//! Pure logic: no AWS SDK, no async runtime, no I/O.
//!
//! - `metric`: samples and per-period statistics (the datapoints);
//! - `alarm`, `evaluation`: an alarm's settings and the state its datapoints give it.

#[macro_use]
mod names;

pub mod alarm;
pub mod evaluation;
pub mod metric;

pub use alarm::{
    AlarmDefinition, AlarmSpec, AlarmSpecError, AlarmState, Comparison, MetricAlarm,
    TreatMissingData,
};
pub use metric::{aggregate, align_down, Sample, Statistic};
pub use names::UnknownName;
