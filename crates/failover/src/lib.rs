//! A model of the chain that decides which link the home's DNS name points to: CloudWatch alarm
//! evaluation, Route 53 CLOUDWATCH_METRIC health checks, and failover routing, written from
//! AWS's documentation so that the demo, the tests and `failberry-ctl status` can say what AWS
//! would answer (the local emulator stores alarms and health checks but evaluates neither).
//!
//! Pure logic: no AWS SDK, no async runtime, no I/O.
//!
//! - `metric`: the per-period statistics (the datapoints);
//! - `alarm`, `evaluation`: an alarm's settings and the state its datapoints give it;
//! - `health`: what Route 53 accepts, and a health check's status from the alarm's data;
//! - `routing`: the failover pair's answer;
//! - `link`: the link contract: the metric's names, the alarm and health check failberry puts on
//!   each link, and why;
//! - `timeline`: both links stepped minute by minute (the flapping and outage tests);
//! - `ping`: the ping document model (targets, metric names, cadences) that the ping function
//!   reads and `failberry-ctl` writes and prices.

#[macro_use]
mod names;

pub mod alarm;
pub mod evaluation;
pub mod health;
pub mod link;
pub mod metric;
pub mod ping;
pub mod routing;
pub mod timeline;

pub use alarm::{
    AlarmDefinition, AlarmSpec, AlarmSpecError, AlarmState, Comparison, TreatMissingData,
};
pub use health::{
    route53_accepts, status_from_alarm, CloudWatchMetricHealthCheck, HealthCheckError,
    HealthCheckSettings, HealthStatus, InsufficientDataHealthStatus,
};
pub use link::{
    link_alarm, link_alarm_definition, link_health_check, link_health_check_settings, LinkFigures,
    LinkPolicy, PROBES_PER_RUN, PROBE_SPACING_MS,
};
pub use metric::Statistic;
pub use names::UnknownName;
pub use routing::{failover_answer, FailoverAnswer, FailoverDecision};
pub use timeline::{FailoverModel, LinkStep, Timeline, TimelineError, TimelineStep};
