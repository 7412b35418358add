//! The ping function: an EventBridge-scheduled Lambda that probes the home links and any other
//! site over HTTP(S), times each phase, judges each probe, and publishes `Availability`,
//! `Latency`, `StatusCode` and `CertDaysLeft` in namespace `Failberry/Ping` (dimension
//! `Target`), by PutMetricData or as Embedded Metric Format lines. The decisions live in
//! `config`, `verdict` and `metrics`; the sinks behind `MetricSink`.

pub mod cloudwatch;
pub mod config;
pub mod emf;
pub mod metrics;
pub mod probe;
pub mod verdict;

pub use cloudwatch::CloudWatchSink;
pub use config::{Emit, PingConfig, Target};
pub use emf::EmfSink;
pub use metrics::{Delivery, MetricSink, RunMetrics, TargetMetrics};
pub use probe::{probe_all, Observation, Prober};
pub use verdict::{judge, ErrorKind, Verdict};
