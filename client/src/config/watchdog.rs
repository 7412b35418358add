//! The checked config of `failberry watchdog`: the links it checks (mwan3's `track_ip`,
//! `reliability`, `count`, `up`, `down`), the recovery ladder, the reboot cap, the data cap and
//! the state file. Unlike the other sections it collects every problem, not the first one, so
//! `failberry config check` can name them all; `file_check` finds their lines.
//! (Over 400 lines through its tests: the code is some 340 lines.)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::check::check_interface;
use super::raw::{RawDataCap, RawRecoveryStep, RawWatchdog};
use super::ConfigError;

/// Its own directory: the watchdog runs as root, the other units as `failberry`.
pub const DEFAULT_WATCHDOG_STATE_FILE: &str = "/var/lib/failberry-watchdog/state.json";
/// mwan3 probes public resolvers; these answer TCP on 53 and 443 from anywhere.
pub const DEFAULT_TRACK: [&str; 3] = ["1.1.1.1:443", "8.8.8.8:53", "9.9.9.9:443"];
const MAX_TRACK: usize = 16;
const MAX_STEPS: usize = 8;
/// What a step runs when it says `reboot = true` and no command.
pub const DEFAULT_REBOOT_COMMAND: [&str; 2] = ["systemctl", "reboot"];

/// One probe target, answered through the link's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    /// A TCP connection that completes its handshake. An address, not a name: resolving a name
    /// would go through whichever link the resolver picks.
    Tcp(SocketAddr),
    /// An HTTP(S) `GET` answered with any status.
    Http(Url),
}

impl std::fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeTarget::Tcp(addr) => write!(f, "{addr}"),
            ProbeTarget::Http(url) => write!(f, "{url}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryStep {
    pub name: String,
    pub command: Vec<String>,
    /// Counts against `max_reboots_per_day`.
    pub reboot: bool,
    /// How long the link gets after this step before the next check may escalate.
    pub grace: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    pub percent: u8,
    /// Run once when the month's use crosses `percent` of the cap.
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCap {
    pub cap_bytes: u64,
    /// Day of the month (1-28) the carrier's month starts, local time.
    pub billing_day: u8,
    /// Ascending by percent.
    pub thresholds: Vec<Threshold>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// The wireless link: checked, recovered, and its bytes counted.
    pub interface: String,
    /// Checked too when set, to see a partial outage of the wired link from inside.
    pub wired_interface: Option<String>,
    pub track: Vec<ProbeTarget>,
    /// A round succeeds when at least this many targets answer.
    pub reliability: u32,
    /// Tries per target per round; one answer is enough.
    pub count: u32,
    pub timeout: Duration,
    pub interval: Duration,
    /// Good rounds in a row before a down link counts as up again.
    pub up: u32,
    /// Failed rounds in a row before an up link counts as down.
    pub down: u32,
    /// No recovery this soon after the watchdog starts (the modem may still be dialling).
    pub startup_grace: Duration,
    /// Wait after a whole ladder failed, doubled per failed pass up to `backoff_max`.
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub max_reboots_per_day: u32,
    pub state_file: PathBuf,
    /// How often the API gets a report; zero turns reporting off.
    pub report_interval: Duration,
    pub recovery: Vec<RecoveryStep>,
    pub data_cap: Option<DataCap>,
}

/// Collects problems instead of stopping at the first.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, value: impl std::fmt::Display, reason: &str) {
        self.0.push(ConfigError::InvalidAt {
            key: key.into(),
            value: value.to_string(),
            reason: reason.to_string(),
        });
    }

    fn range<T: PartialOrd + Copy + std::fmt::Display>(
        &mut self,
        key: &str,
        value: Option<T>,
        default: T,
        (low, high): (T, T),
        unit: &str,
    ) -> T {
        let value = value.unwrap_or(default);
        if value < low || value > high {
            self.add(
                key,
                value,
                &format!("must be between {low} and {high}{unit}"),
            );
            return default;
        }
        value
    }

    fn secs(
        &mut self,
        key: &str,
        value: Option<u64>,
        default: u64,
        bounds: (u64, u64),
    ) -> Duration {
        Duration::from_secs(self.range(key, value, default, bounds, " seconds"))
    }
}

impl WatchdogConfig {
    /// Checks `[watchdog]`; every problem found, each naming its key.
    pub fn build(raw: RawWatchdog) -> Result<Self, Vec<ConfigError>> {
        let mut p = Problems::default();
        let interface = match raw.interface {
            None => {
                p.0.push(ConfigError::Missing {
                    key: "watchdog.interface",
                    flag: "--interface",
                    env: "FAILBERRY_WATCHDOG_INTERFACE",
                });
                String::new()
            }
            Some(name) => check_interface("watchdog.interface", name).unwrap_or_else(|e| {
                p.0.push(e);
                String::new()
            }),
        };
        let wired_interface = raw.wired_interface.and_then(|name| {
            check_interface("watchdog.wired_interface", name)
                .map_err(|e| p.0.push(e))
                .ok()
        });
        let track_raw = raw
            .track_ip
            .unwrap_or_else(|| DEFAULT_TRACK.iter().map(|s| s.to_string()).collect());
        if track_raw.is_empty() || track_raw.len() > MAX_TRACK {
            p.add(
                "watchdog.track_ip",
                track_raw.len(),
                &format!("list 1 to {MAX_TRACK} targets"),
            );
        }
        let track: Vec<ProbeTarget> = track_raw
            .iter()
            .enumerate()
            .filter_map(|(i, text)| {
                parse_target(text)
                    .map_err(|reason| p.add(format!("watchdog.track_ip[{i}]"), text, reason))
                    .ok()
            })
            .collect();
        let reliability = p.range(
            "watchdog.reliability",
            raw.reliability,
            1,
            (1, MAX_TRACK as u32),
            "",
        );
        if reliability as usize > track_raw.len() && !track_raw.is_empty() {
            p.add(
                "watchdog.reliability",
                reliability,
                "is more than the number of track_ip targets: the link could never be up",
            );
        }
        let count = p.range("watchdog.count", raw.count, 1, (1, 10), "");
        let timeout = p.secs("watchdog.timeout_secs", raw.timeout_secs, 4, (1, 60));
        let interval = p.secs("watchdog.interval_secs", raw.interval_secs, 30, (1, 3600));
        let up = p.range("watchdog.up", raw.up, 2, (1, 100), "");
        let down = p.range("watchdog.down", raw.down, 4, (1, 100), "");
        let startup_grace = p.secs(
            "watchdog.startup_grace_secs",
            raw.startup_grace_secs,
            120,
            (0, 3600),
        );
        let backoff = p.secs("watchdog.backoff_secs", raw.backoff_secs, 600, (1, 86_400));
        let backoff_max = p.secs(
            "watchdog.backoff_max_secs",
            raw.backoff_max_secs,
            6 * 3600,
            (1, 7 * 86_400),
        );
        if backoff_max < backoff {
            p.add(
                "watchdog.backoff_max_secs",
                backoff_max.as_secs(),
                "is shorter than watchdog.backoff_secs",
            );
        }
        let max_reboots_per_day = p.range(
            "watchdog.max_reboots_per_day",
            raw.max_reboots_per_day,
            2,
            (0, 24),
            "",
        );
        let state_file = raw
            .state_file
            .unwrap_or_else(|| PathBuf::from(DEFAULT_WATCHDOG_STATE_FILE));
        if state_file.file_name().is_none() {
            p.add(
                "watchdog.state_file",
                state_file.display(),
                "not a file path",
            );
        }
        let report_interval = p.secs(
            "watchdog.report_interval_secs",
            raw.report_interval_secs,
            300,
            (0, 86_400),
        );
        let recovery = raw.recovery.unwrap_or_default();
        if recovery.len() > MAX_STEPS {
            p.add(
                "watchdog.recovery",
                recovery.len(),
                &format!("at most {MAX_STEPS} steps"),
            );
        }
        let recovery = recovery
            .into_iter()
            .enumerate()
            .filter_map(|(i, step)| recovery_step(&mut p, i, step))
            .collect();
        let data_cap = raw.data_cap.and_then(|cap| data_cap(&mut p, cap));
        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(Self {
            interface,
            wired_interface,
            track,
            reliability,
            count,
            timeout,
            interval,
            up,
            down,
            startup_grace,
            backoff,
            backoff_max,
            max_reboots_per_day,
            state_file,
            report_interval,
            recovery,
            data_cap,
        })
    }
}

/// `IP:PORT` for a TCP connect, or an `http(s)://` URL.
pub fn parse_target(text: &str) -> Result<ProbeTarget, &'static str> {
    let text = text.trim();
    if text.starts_with("http://") || text.starts_with("https://") {
        let url = Url::parse(text).map_err(|_| "not a valid URL")?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL has no host");
        }
        return Ok(ProbeTarget::Http(url));
    }
    text.parse::<SocketAddr>()
        .map(ProbeTarget::Tcp)
        .map_err(|_| {
            "expected IP:PORT (e.g. 1.1.1.1:443, [2606:4700::1111]:443) or an http(s):// URL"
        })
}

fn check_command(p: &mut Problems, key: String, command: &[String]) -> bool {
    if command.is_empty() || command[0].trim().is_empty() {
        p.add(
            key,
            format!("{command:?}"),
            "a command is a non-empty list: program, then arguments",
        );
        return false;
    }
    true
}

fn recovery_step(p: &mut Problems, i: usize, raw: RawRecoveryStep) -> Option<RecoveryStep> {
    let key = |field: &str| format!("watchdog.recovery[{i}].{field}");
    let reboot = raw.reboot.unwrap_or(false);
    let command = match raw.command {
        Some(command) => command,
        None if reboot => DEFAULT_REBOOT_COMMAND
            .iter()
            .map(|s| s.to_string())
            .collect(),
        None => {
            p.add(
                key("command"),
                "none",
                "a step needs a command (or reboot = true)",
            );
            return None;
        }
    };
    let ok = check_command(p, key("command"), &command);
    let name = raw.name.unwrap_or_else(|| {
        if reboot {
            "reboot".into()
        } else {
            format!("step{}", i + 1)
        }
    });
    let name_ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        p.add(key("name"), &name, "1-32 letters, digits, '_' or '-'");
    }
    let grace = p.secs(&key("grace_secs"), raw.grace_secs, 120, (0, 86_400));
    (ok && name_ok).then_some(RecoveryStep {
        name,
        command,
        reboot,
        grace,
    })
}

fn data_cap(p: &mut Problems, raw: RawDataCap) -> Option<DataCap> {
    let Some(cap_mib) = raw.cap_mib else {
        p.add(
            "watchdog.data_cap.cap_mib",
            "none",
            "the cap is required in [watchdog.data_cap]",
        );
        return None;
    };
    if cap_mib == 0 || cap_mib > 1 << 30 {
        p.add(
            "watchdog.data_cap.cap_mib",
            cap_mib,
            "must be between 1 and 2^30 MiB",
        );
        return None;
    }
    let billing_day = p.range(
        "watchdog.data_cap.billing_day",
        raw.billing_day,
        1,
        (1, 28),
        " (day of the month)",
    );
    let mut thresholds = Vec::new();
    let raw_thresholds = raw.thresholds.unwrap_or_else(|| {
        vec![
            super::raw::RawThreshold {
                percent: Some(80),
                command: None,
            },
            super::raw::RawThreshold {
                percent: Some(100),
                command: None,
            },
        ]
    });
    for (i, t) in raw_thresholds.into_iter().enumerate() {
        let key = |field: &str| format!("watchdog.data_cap.thresholds[{i}].{field}");
        let Some(percent) = t.percent else {
            p.add(key("percent"), "none", "each threshold needs a percent");
            continue;
        };
        if !(1..=200).contains(&percent) {
            p.add(key("percent"), percent, "must be between 1 and 200");
            continue;
        }
        if thresholds.iter().any(|t: &Threshold| t.percent == percent) {
            p.add(key("percent"), percent, "listed twice");
            continue;
        }
        if let Some(command) = &t.command {
            if !check_command(p, key("command"), command) {
                continue;
            }
        }
        thresholds.push(Threshold {
            percent,
            command: t.command,
        });
    }
    thresholds.sort_by_key(|t| t.percent);
    Some(DataCap {
        cap_bytes: cap_mib * 1024 * 1024,
        billing_day,
        thresholds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use std::path::Path;

    fn build(text: &str) -> Result<WatchdogConfig, Vec<String>> {
        let raw = RawConfig::parse(text, Path::new("t.toml")).map_err(|e| vec![e.to_string()])?;
        WatchdogConfig::build(raw.watchdog)
            .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn minimal_section_gets_mwan3_like_defaults() {
        let cfg = build("[watchdog]\ninterface = \"wwan0\"\n").expect("valid");
        assert_eq!(cfg.interface, "wwan0");
        assert_eq!(cfg.track.len(), 3);
        assert_eq!((cfg.reliability, cfg.count, cfg.up, cfg.down), (1, 1, 2, 4));
        assert_eq!(cfg.max_reboots_per_day, 2);
        assert!(cfg.recovery.is_empty());
        assert_eq!(cfg.data_cap, None);
    }

    #[test]
    fn full_section_is_read_with_real_types() {
        let text = r#"
[watchdog]
interface = "ppp0"
wired_interface = "eth0"
track_ip = ["1.1.1.1:443", "http://connectivitycheck.gstatic.com/generate_204"]
reliability = 2
count = 3
interval_secs = 10
[[watchdog.recovery]]
name = "redial"
command = ["mmcli", "-m", "any", "-r"]
grace_secs = 60
[[watchdog.recovery]]
reboot = true
[watchdog.data_cap]
cap_mib = 10240
billing_day = 15
thresholds = [{ percent = 100, command = ["nft", "-f", "/etc/failberry/cap.nft"] }, { percent = 80 }]
"#;
        let cfg = build(text).expect("valid");
        assert_eq!(cfg.wired_interface.as_deref(), Some("eth0"));
        assert!(matches!(cfg.track[1], ProbeTarget::Http(_)));
        assert_eq!(cfg.recovery[0].grace, Duration::from_secs(60));
        assert_eq!(cfg.recovery[1].name, "reboot");
        assert!(cfg.recovery[1].reboot);
        assert_eq!(cfg.recovery[1].command, ["systemctl", "reboot"]);
        let cap = cfg.data_cap.unwrap();
        assert_eq!(cap.cap_bytes, 10240 * 1024 * 1024);
        assert_eq!(
            cap.thresholds.iter().map(|t| t.percent).collect::<Vec<_>>(),
            [80, 100],
            "sorted"
        );
    }

    #[test]
    fn every_problem_is_named_not_just_the_first() {
        let text = r#"
[watchdog]
track_ip = ["1.1.1.1", "http://"]
reliability = 5
count = 0
[[watchdog.recovery]]
name = "bad name!"
[watchdog.data_cap]
cap_mib = 100
billing_day = 31
"#;
        let errors = build(text).expect_err("invalid");
        let cases = [
            "watchdog.interface is not set",
            "watchdog.track_ip[0] = \"1.1.1.1\"",
            "watchdog.track_ip[1] = \"http://\"",
            "watchdog.reliability = \"5\"",
            "watchdog.count = \"0\"",
            "watchdog.recovery[0].command",
            "watchdog.data_cap.billing_day = \"31\"",
        ];
        for want in cases {
            assert!(
                errors.iter().any(|e| e.contains(want)),
                "{want} missing from {errors:#?}"
            );
        }
        assert_eq!(errors.len(), cases.len(), "{errors:#?}");
    }
}
