//! Configuration: the TOML file as written (`raw`: `RawConfig` with one struct per section,
//! unknown keys refused), the values given by flags or environment (`Overrides`, owned by `cli`),
//! and the checked configs with real types the commands run on (`ddns::DdnsConfig`,
//! `health::HealthConfig`, `camera::CameraConfig`, `watchdog::WatchdogConfig`), each built from
//! the two by laying the flags over the file. Precedence: flag/env > file > default.
//!
//! Like ripgrep's low/high args, the layers import downwards only: `raw` and `cli` know nothing of
//! the checked configs (every section's raw struct lives in `raw`, so no checked module is
//! imported back); `check` holds the value checks the checked configs share.

mod camera;
mod check;
mod ddns;
mod device;
mod file_check;
mod health;
mod raw;
mod watchdog;

use std::fmt;
use std::path::PathBuf;

pub use crate::cli::Overrides;
pub use camera::{CameraConfig, FolderSource, FrigateSource, UnifiSource, DEFAULT_QUEUE_DIR};
pub use check::MIN_SECRET_CHARS;
pub use ddns::{DdnsConfig, Ipv4Source, Ipv6Source, DEFAULT_INTERVAL_SECS, DEFAULT_REFRESH_DAYS};
pub use device::Device;
pub use file_check::{check_text, Problem};
pub use health::{
    HealthConfig, DEFAULT_HEADER_TIMEOUT_SECS, DEFAULT_HEALTH_LISTEN, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_WRITE_TIMEOUT_SECS,
};
pub use raw::{
    FolderMode, Ipv4From, Ipv6From, RawApi, RawCamera, RawConfig, RawDdns, RawHealth, RawWatchdog,
};
pub use watchdog::{
    parse_target, DataCap, ProbeTarget, RecoveryStep, Threshold, WatchdogConfig,
    DEFAULT_WATCHDOG_STATE_FILE,
};

/// Where `ddns` keeps the last acknowledged addresses and `health serve` reads them.
pub const DEFAULT_STATE_FILE: &str = "/var/lib/failberry/ddns-state.json";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key} is not set (config file, {flag} or {env})")]
    Missing {
        key: &'static str,
        flag: &'static str,
        env: &'static str,
    },
    #[error("{key} = {value:?}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
    /// Like `Invalid`, for keys built at run time (`watchdog.recovery[1].grace_secs`).
    #[error("{key} = {value:?}: {reason}")]
    InvalidAt {
        key: String,
        value: String,
        reason: String,
    },
}

fn invalid(key: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The flag's value when one was given, else the file's.
fn pick<T: Clone>(flag: &Option<T>, file: Option<T>) -> Option<T> {
    flag.clone().or(file)
}

/// The config file the ddns and health tests read.
#[cfg(test)]
mod fixtures {
    pub const SECRET: &str = "demo-secret-change-me-0123456789";

    pub fn full_file() -> String {
        format!(
            r#"
[api]
url = "https://abc.execute-api.eu-west-1.amazonaws.com"
[ddns]
hostname = "Wireless.Home.Example.com."
secret = "{SECRET}"
ipv4 = "myip"
ipv4_interface = "wwan0"
ipv6 = "interface"
ipv6_interface = "wwan0"
state_file = "/tmp/state.json"
interval_secs = 30
refresh_days = 2
"#
        )
    }
}
