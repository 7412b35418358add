//! The ddns function: an HTTP API (API Gateway HTTP API, payload 2.0) that keeps Route53 A/AAAA
//! records on a home's changing addresses. `main.rs` only wires the runtime; the handler lives in
//! `routes` (and `report` for `/v1/report`, its metrics as EMF lines behind `MetricLog`), the decisions in `records` and `failberry-proto` (whose `hosts` holds the config document), and every AWS call behind
//! the `DnsStore`, `ReplayGuard` and `DocumentSource` traits.

mod dns;
mod error;
mod metric_log;
mod records;
mod replay;
mod report;
mod routes;
mod service;

pub use dns::{DnsError, DnsStore, Route53Store};
pub use failberry_proto::hosts::{DdnsConfig, HostConfig};
pub use metric_log::{MetricLog, StdoutLog};
pub use records::{CurrentRecords, RecordSet, RecordType, Upsert};
pub use replay::{next_mark, Admission, Ordered, ReplayError, ReplayGuard, S3ReplayGuard, Stamp};
pub use report::{emf_lines, DEVICE, LINK, NAMESPACE};
pub use service::{AwsDdns, Ddns, DeferredDdns, Settings};
