//! The ping document model, shared by the ping function that reads it and `failberry-ctl` that
//! writes and prices it: the configuration document and its checks (`config`), the metrics a
//! target can publish (`metric`), and how often each is published (`cadence`). Pure: probing,
//! judging and sending are left to `failberry-ping`.

pub mod cadence;
pub mod config;
pub mod metric;

pub use cadence::{cadence, daily_run, series, Cadence, Series};
pub use config::{Emit, PingConfig, PingConfigError, StatusRange, Target, AGGREGATE_TARGET};
pub use metric::{MetricName, Unit};
