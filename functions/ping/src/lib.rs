//! The ping function: an EventBridge-scheduled Lambda that probes the home links and any other
//! site over HTTP(S), times each phase, judges each probe, and publishes `Availability`,
//! `Latency`, `StatusCode` and `CertDaysLeft` in namespace `Failberry/Ping` (dimension
//! `Target`), by PutMetricData or as Embedded Metric Format lines, each as often as `cadence`
//! says (cheap by default: the links' availability every run, the sites' folded into one
//! aggregate, the rest by opt-in or when unexpected). `main.rs` only wires the runtime; the run
//! lives in `service`, the decisions in `verdict`, `cadence` and `metrics`, the document model
//! (config, metric names, cadences) in `failberry_failover::ping`, and
//! every outside service behind `DocumentSource`, `MetricSink` and `Clock`.
//!
//! The modules are private: the crate exports the handler (`Ping`, `AwsPing`), its traits and
//! sinks, its config, what a run returns, and the prober with its judge (which the probe tests
//! drive against real local servers). A run's two halves, `Ping::probe` and `Ping::publish`, are
//! the seam for callers that time them apart (the bench).

mod cadence;
mod cloudwatch;
mod emf;
mod metrics;
mod probe;
mod service;
mod summary;
mod verdict;

/// The document model lives in `failberry_failover::ping`, shared with `failberry-ctl`.
use failberry_failover::ping::config;

pub use cloudwatch::CloudWatchSink;
pub use config::{Emit, PingConfig, PingConfigError, Target, AGGREGATE_TARGET};
pub use emf::EmfSink;
pub use failberry_failover::ping::cadence::{cadence, series, Cadence, Series};
pub use metrics::{
    Delivery, Lost, MetricName, MetricSink, RunMetrics, TargetMetrics, MAX_DATUMS_PER_REQUEST,
};
pub use probe::{probe_all, probe_start, Observation, Prober};
pub use service::{AwsPing, Ping, PingError, Probed, Settings};
pub use summary::{Summary, TargetReport};
pub use verdict::{judge, ErrorKind, Verdict};
