//! The watchdog's traits for the real system: link checks through `/sys/class/net` and probes
//! bound to the interface (`SO_BINDTODEVICE`, as the ddns client binds its requests), commands
//! run as child processes, and byte counters from `/sys/class/net/IF/statistics`; and [`run`],
//! which builds the daemon on them from the config and flags.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinSet;

use super::datacap::Reading;
use super::{ByteCounters, CheckResult, Commands, LinkChecks};
use crate::command::{run_bounded, CommandError};
use crate::config::ProbeTarget;

/// `IFF_UP` in `/sys/class/net/IF/flags`.
const IFF_UP: u32 = 0x1;

/// Whether `IF` exists under `sys` (normally `/sys/class/net`) and is up: administratively
/// (`IFF_UP`) and not reported down by its driver (`ppp0` and `lo` say `unknown`, which is fine).
pub fn interface_up(sys: &Path, interface: &str) -> bool {
    let dir = sys.join(interface);
    let flags = std::fs::read_to_string(dir.join("flags")).ok();
    let flags = flags
        .as_deref()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok());
    let Some(flags) = flags else {
        return false;
    };
    let oper = std::fs::read_to_string(dir.join("operstate")).unwrap_or_default();
    flags & IFF_UP != 0
        && !matches!(
            oper.trim(),
            "down" | "lowerlayerdown" | "notpresent" | "dormant"
        )
}

/// Probes through the named interface.
pub struct SystemChecks {
    pub sys: PathBuf,
    pub targets: Vec<ProbeTarget>,
    pub count: u32,
    pub timeout: Duration,
    /// One HTTP client per interface, made on first use.
    http: Mutex<HashMap<String, reqwest::Client>>,
}

impl SystemChecks {
    pub fn new(targets: Vec<ProbeTarget>, count: u32, timeout: Duration) -> Self {
        Self {
            sys: PathBuf::from("/sys/class/net"),
            targets,
            count,
            timeout,
            http: Mutex::new(HashMap::new()),
        }
    }

    fn http_client(&self, interface: &str) -> Option<reqwest::Client> {
        let mut clients = self.http.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(interface) {
            return Some(client.clone());
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("failberry-watchdog/", env!("CARGO_PKG_VERSION")))
            .interface(interface)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok()?;
        clients.insert(interface.to_string(), client.clone());
        Some(client)
    }
}

/// One try: a completed TCP handshake, or any HTTP answer, through `interface`.
async fn probe_once(
    target: &ProbeTarget,
    interface: &str,
    http: Option<&reqwest::Client>,
    timeout: Duration,
) -> bool {
    match target {
        ProbeTarget::Tcp(addr) => {
            let socket = match addr {
                std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
            };
            let Ok(socket) = socket else { return false };
            if socket.bind_device(Some(interface.as_bytes())).is_err() {
                return false;
            }
            matches!(
                tokio::time::timeout(timeout, socket.connect(*addr)).await,
                Ok(Ok(_))
            )
        }
        ProbeTarget::Http(url) => match http {
            Some(client) => client.get(url.clone()).send().await.is_ok(),
            None => false,
        },
    }
}

impl LinkChecks for SystemChecks {
    async fn check(&self, interface: &str) -> CheckResult {
        let probed = self.targets.len() as u32;
        if !interface_up(&self.sys, interface) {
            return CheckResult {
                interface_up: false,
                answered: 0,
                probed,
            };
        }
        let http = self
            .targets
            .iter()
            .any(|t| matches!(t, ProbeTarget::Http(_)))
            .then(|| self.http_client(interface))
            .flatten();
        let mut probes = JoinSet::new();
        for target in self.targets.clone() {
            let (interface, http, timeout, count) = (
                interface.to_string(),
                http.clone(),
                self.timeout,
                self.count,
            );
            probes.spawn(async move {
                for _ in 0..count {
                    if probe_once(&target, &interface, http.as_ref(), timeout).await {
                        return true;
                    }
                }
                false
            });
        }
        let answered = probes.join_all().await.into_iter().filter(|ok| *ok).count() as u32;
        CheckResult {
            interface_up: true,
            answered,
            probed,
        }
    }
}

/// Runs commands as child processes, each bounded in time.
pub struct SystemCommands {
    pub timeout: Duration,
}

impl Commands for SystemCommands {
    async fn run(&self, argv: &[String]) -> Result<(), CommandError> {
        run_bounded(argv, &[], None, self.timeout).await
    }
}

/// `/sys/class/net/IF/statistics/{rx,tx}_bytes` and the kernel's boot id.
pub struct SysfsCounters {
    pub sys: PathBuf,
    pub boot_id_file: PathBuf,
}

impl Default for SysfsCounters {
    fn default() -> Self {
        Self {
            sys: PathBuf::from("/sys/class/net"),
            boot_id_file: PathBuf::from("/proc/sys/kernel/random/boot_id"),
        }
    }
}

impl ByteCounters for SysfsCounters {
    fn read(&self, interface: &str) -> Option<Reading> {
        let stat = |name: &str| -> Option<u64> {
            std::fs::read_to_string(self.sys.join(interface).join("statistics").join(name))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(Reading {
            rx_bytes: stat("rx_bytes")?,
            tx_bytes: stat("tx_bytes")?,
            boot_id: std::fs::read_to_string(&self.boot_id_file)
                .unwrap_or_default()
                .trim()
                .to_string(),
        })
    }
}

/// Builds the watchdog from the config file and flags, and runs it until SIGTERM (or for
/// `--rounds`). Reports go to the API when `[api]` and the ddns key are configured.
pub async fn run(
    mut raw: crate::config::RawConfig,
    overrides: &crate::config::Overrides,
    args: &crate::cli::WatchdogArgs,
) -> anyhow::Result<()> {
    if let Some(interface) = &args.interface {
        raw.watchdog.interface = Some(interface.clone());
    }
    if let Some(path) = &args.state_file {
        raw.watchdog.state_file = Some(path.clone());
    }
    let config = crate::config::WatchdogConfig::build(std::mem::take(&mut raw.watchdog)).map_err(
        |errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("[watchdog] is not valid:\n  {}", lines.join("\n  "))
        },
    )?;
    let reporter = match crate::config::Device::build(&raw, overrides) {
        Ok(device) if !config.report_interval.is_zero() => {
            Some(super::report::ApiReporter::new(&device)?)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::info!(reason = %e, "reports off: the API and the device key come from [api] and [ddns]");
            None
        }
    };
    tracing::info!(
        interface = %config.interface,
        wired_interface = config.wired_interface.as_deref().unwrap_or("none"),
        track_ip = %config.track.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","),
        reliability = config.reliability,
        steps = %config.recovery.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(">"),
        max_reboots_per_day = config.max_reboots_per_day,
        data_cap_mib = config.data_cap.as_ref().map_or(0, |c| c.cap_bytes >> 20),
        state_file = %config.state_file.display(),
        reports = reporter.is_some(),
        dry_run = args.dry_run,
        "watchdog started"
    );
    let interval = config.interval;
    let checks = SystemChecks::new(config.track.clone(), config.count, config.timeout);
    let commands = SystemCommands {
        timeout: std::time::Duration::from_secs(120),
    };
    let watchdog = super::Watchdog::new(
        config,
        checks,
        commands,
        SysfsCounters::default(),
        reporter,
        failberry_proto::SystemClock,
        jiff::tz::TimeZone::system(),
        args.dry_run,
    );
    match args.rounds {
        Some(rounds) => {
            let mut watchdog = watchdog;
            for i in 0..rounds {
                if i > 0 {
                    tokio::time::sleep(interval).await;
                }
                watchdog.round().await;
            }
        }
        None => super::run_loop(watchdog, crate::shutdown_signal()).await,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_states_from_sysfs() {
        let sys = tempfile::tempdir().unwrap();
        let cases = [
            ("up", Some(("0x1003", "up")), true),
            ("ppp says unknown", Some(("0x10d1", "unknown")), true),
            ("admin down", Some(("0x1002", "down")), false),
            ("no carrier", Some(("0x1003", "lowerlayerdown")), false),
            ("absent", None, false),
        ];
        for (name, files, want) in cases {
            if let Some((flags, oper)) = files {
                let dir = sys.path().join(name);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("flags"), format!("{flags}\n")).unwrap();
                std::fs::write(dir.join("operstate"), format!("{oper}\n")).unwrap();
            }
            assert_eq!(interface_up(sys.path(), name), want, "{name}");
        }
    }

    #[test]
    fn loopback_counters_are_read() {
        // `lo` exists on every Linux machine this runs on.
        let reading = SysfsCounters::default()
            .read("lo")
            .expect("lo has counters");
        assert!(!reading.boot_id.is_empty());
        assert_eq!(SysfsCounters::default().read("no-such-if0"), None);
    }

    #[tokio::test]
    async fn commands_report_failure_and_timeouts() {
        async fn run(argv: &[&str], secs: u64) -> Result<(), String> {
            // As the watchdog logs it.
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            SystemCommands {
                timeout: Duration::from_secs(secs),
            }
            .run(&argv)
            .await
            .map_err(|e| e.to_string())
        }
        assert_eq!(run(&["true"], 5).await, Ok(()));
        assert!(run(&["false"], 5).await.unwrap_err().contains("exited"));
        assert!(run(&["sleep", "5"], 1)
            .await
            .unwrap_err()
            .contains("killed"));
        assert!(run(&["/nonexistent/cmd"], 1).await.is_err());
    }
}
