//! The ping function: an EventBridge-scheduled Lambda that probes the home links and any other
//! site over HTTP(S), times each phase, judges each probe, and publishes `Availability`,
//! `Latency`, `StatusCode` and `CertDaysLeft` in namespace `Failberry/Ping` (dimension
//! `Target`), by PutMetricData or as Embedded Metric Format lines. `main.rs` only wires the
//! runtime; the run lives in `service`, the decisions in `config`, `verdict` and `metrics`, and
//! every outside service behind `DocumentSource`, `MetricSink` and `Clock`.

pub mod cloudwatch;
pub mod config;
pub mod emf;
pub mod metrics;
pub mod probe;
pub mod service;
pub mod summary;
pub mod verdict;

pub use cloudwatch::CloudWatchSink;
pub use config::{Emit, PingConfig, Target};
pub use emf::EmfSink;
pub use metrics::{Delivery, MetricSink, RunMetrics, TargetMetrics};
pub use probe::{probe_all, Observation, Prober};
pub use service::{AwsPing, Clock, Ping, PingError, Settings, SystemClock};
pub use summary::{Summary, TargetReport};
pub use verdict::{judge, ErrorKind, Verdict};
