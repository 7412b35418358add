//! Address detection: one module per source behind the `Detector` trait. A detection is a value
//! (found, empty, unknown), never an error: what to do about a failed detection is `ddns`'s call,
//! and its rule is that DNS is never touched for a family that was not found.

use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;

use crate::api::ApiClient;
use crate::config::{DdnsConfig, Ipv4Source, Ipv6Source};

pub mod file;
pub mod if_inet6;
pub mod interface;
pub mod myip;

/// What one source said about one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection<A> {
    /// The address to publish.
    Found(A),
    /// The source answered, and it has no usable address (e.g. no global IPv6 on the link).
    Empty,
    /// The source could not answer (network down, interface missing, unreadable file).
    Unknown(String),
}

impl<A: Copy> Detection<A> {
    pub fn found(&self) -> Option<A> {
        match self {
            Detection::Found(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl<A: fmt::Display> fmt::Display for Detection<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detection::Found(ip) => write!(f, "{ip}"),
            Detection::Empty => f.write_str("no address"),
            Detection::Unknown(reason) => write!(f, "unknown ({reason})"),
        }
    }
}

pub type DetectFuture<'a, A> = Pin<Box<dyn Future<Output = Detection<A>> + Send + 'a>>;

/// A source of one family's address.
pub trait Detector<A>: Send + Sync {
    /// Names the source in logs, e.g. `myip via wwan0`.
    fn source(&self) -> String;
    fn detect(&self) -> DetectFuture<'_, A>;
}

/// The IPv4 detector the config asks for, or `None` when IPv4 is off.
pub fn ipv4_detector(
    config: &DdnsConfig,
    api: Arc<ApiClient>,
) -> Option<Box<dyn Detector<Ipv4Addr>>> {
    match &config.ipv4 {
        Ipv4Source::MyIp { interface } => Some(Box::new(myip::MyIp {
            api,
            interface: interface.clone(),
        })),
        Ipv4Source::Interface(name) => Some(Box::new(interface::InterfaceV4::new(name))),
        Ipv4Source::File(path) => Some(Box::new(file::FileV4::new(path))),
        Ipv4Source::Off => None,
    }
}

/// The IPv6 detector the config asks for, or `None` when IPv6 is off.
pub fn ipv6_detector(config: &DdnsConfig) -> Option<Box<dyn Detector<Ipv6Addr>>> {
    match &config.ipv6 {
        Ipv6Source::Interface(name) => Some(Box::new(interface::InterfaceV6::new(name))),
        Ipv6Source::Off => None,
    }
}
