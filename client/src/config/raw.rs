//! The config file as written: one serde struct per TOML section, unknown keys refused, every
//! value optional. Checking and defaults belong to the checked configs above it.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::cli::{FolderMode, Ipv4From, Ipv6From};

use super::ConfigError;

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub ddns: RawDdns,
    #[serde(default)]
    pub health: RawHealth,
    #[serde(default)]
    pub camera: RawCamera,
    #[serde(default)]
    pub watchdog: RawWatchdog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDdns {
    pub hostname: Option<String>,
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub ipv4: Option<Ipv4From>,
    pub ipv4_interface: Option<String>,
    pub ipv4_file: Option<PathBuf>,
    pub ipv6: Option<Ipv6From>,
    pub ipv6_interface: Option<String>,
    pub state_file: Option<PathBuf>,
    pub interval_secs: Option<u64>,
    pub refresh_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub listen: Option<String>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub write_timeout_secs: Option<u64>,
    /// Link name → interface, e.g. `{ wired = "eth0", wireless = "wwan0" }`.
    pub links: Option<BTreeMap<String, String>>,
}

/// `[camera]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCamera {
    pub queue_dir: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub retry_secs: Option<u64>,
    /// The first wait for a clip's result; doubled after each "pending" answer.
    pub result_poll_secs: Option<u64>,
    pub result_timeout_secs: Option<u64>,
    /// A command (program and arguments) run with each result JSON on stdin.
    pub on_result: Option<Vec<String>>,
    #[serde(default)]
    pub folder: Vec<RawFolder>,
    #[serde(default)]
    pub frigate: Vec<RawFrigate>,
    #[serde(default)]
    pub unifi_video: Vec<RawUnifi>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFolder {
    pub path: PathBuf,
    pub camera: Option<String>,
    pub mode: Option<FolderMode>,
    pub stable_secs: Option<u64>,
    pub poll_secs: Option<u64>,
    pub extensions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrigate {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub poll_secs: Option<u64>,
    /// Mark interesting clips `retain` (default true).
    pub retain: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnifi {
    pub url: String,
    pub api_key: String,
    pub poll_secs: Option<u64>,
    /// Lock interesting recordings (default true).
    pub lock: Option<bool>,
}

/// `[watchdog]`: mwan3's vocabulary where it fits (`track_ip`, `reliability`, `count`, `up`,
/// `down`), the recovery ladder as `[[watchdog.recovery]]` steps and the data cap.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatchdog {
    pub interface: Option<String>,
    pub wired_interface: Option<String>,
    pub track_ip: Option<Vec<String>>,
    pub reliability: Option<u32>,
    pub count: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub interval_secs: Option<u64>,
    pub up: Option<u32>,
    pub down: Option<u32>,
    pub startup_grace_secs: Option<u64>,
    pub backoff_secs: Option<u64>,
    pub backoff_max_secs: Option<u64>,
    pub max_reboots_per_day: Option<u32>,
    pub state_file: Option<PathBuf>,
    pub report_interval_secs: Option<u64>,
    pub recovery: Option<Vec<RawRecoveryStep>>,
    pub data_cap: Option<RawDataCap>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecoveryStep {
    pub name: Option<String>,
    pub command: Option<Vec<String>>,
    pub reboot: Option<bool>,
    pub grace_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataCap {
    pub cap_mib: Option<u64>,
    pub billing_day: Option<u8>,
    pub thresholds: Option<Vec<RawThreshold>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    pub percent: Option<u8>,
    pub command: Option<Vec<String>>,
}

impl RawConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    /// Reads the file; a missing file is an empty config (flags and environment may suffice).
    /// Returns whether the file existed.
    pub fn load(path: &Path) -> Result<(Self, bool), ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&text, path)?, true)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok((Self::default(), false)),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, existed) = RawConfig::load(&dir.path().join("absent.toml")).expect("fine");
        assert!(!existed);
        assert!(raw.api.url.is_none());
    }
}
