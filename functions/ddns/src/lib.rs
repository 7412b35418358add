//! The ddns function: an HTTP API (API Gateway HTTP API, payload 2.0) that keeps Route53 A/AAAA
//! records on a home's changing addresses. `main.rs` only wires the runtime; the handler lives in
//! `routes`, the decisions in `records`, `config` and `failberry-proto`, and every AWS call behind
//! the `DnsStore`, `ReplayGuard` and `DocumentSource` traits.

mod config;
mod dns;
mod error;
mod records;
mod replay;
mod routes;
mod service;

pub use config::{DdnsConfig, HostConfig};
pub use dns::{DnsError, DnsStore, Route53Store};
pub use records::{CurrentRecords, RecordSet, RecordType, Upsert};
pub use replay::{next_mark, Admission, ReplayGuard, S3ReplayGuard, Stamp};
pub use service::{AwsDdns, Ddns, Settings};
