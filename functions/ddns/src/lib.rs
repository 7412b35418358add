//! The ddns function: an HTTP API (API Gateway HTTP API, payload 2.0) that keeps Route53 A/AAAA
//! records on a home's changing addresses. `main.rs` only wires the runtime; the handler lives in
//! `routes`, the decisions in `records` and `failberry-proto` (whose `hosts` holds the config document), and every AWS call behind
//! the `DnsStore`, `ReplayGuard` and `DocumentSource` traits.

pub mod dns;
pub mod error;
pub mod records;
pub mod replay;
pub mod routes;
pub mod service;

pub use failberry_proto::hosts::{DdnsConfig, HostConfig};
pub use service::{AwsDdns, Clock, Ddns, Settings, SystemClock};
