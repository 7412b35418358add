//! The watchdog daemon, one round at a time, against scripted check results, recovery commands
//! that only record their calls, byte counters the test sets and a clock it moves: the ladder,
//! the back-off, recovery resetting the ladder, the reboot cap surviving a restart, the data cap
//! and the reports. Fakes, because a test may not redial a modem or reboot the machine; the
//! real checks run against network namespaces in `tests/netns.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use failberry::config::{RawConfig, WatchdogConfig};
use failberry::watchdog::datacap::Reading;
use failberry::watchdog::ladder::Decision;
use failberry::watchdog::{
    ByteCounters, CheckResult, Commands, LinkChecks, Report, Reporter, Watchdog, WatchdogState,
};
use failberry_proto::report::ActionKind;
use failberry_proto::Clock;
use jiff::tz::TimeZone;

const T0: i64 = 1_764_000_000;

#[derive(Clone, Default)]
struct World {
    link_ok: Arc<AtomicBool>,
    now: Arc<AtomicI64>,
    rx: Arc<AtomicU64>,
    commands: Arc<Mutex<Vec<(i64, String)>>>,
    reports: Arc<Mutex<Vec<Report>>>,
}

impl World {
    fn new() -> Self {
        let w = World::default();
        w.now.store(T0, Ordering::SeqCst);
        w
    }
    fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
    fn ran(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap()
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }
}

impl LinkChecks for World {
    async fn check(&self, _interface: &str) -> CheckResult {
        let ok = self.link_ok.load(Ordering::SeqCst);
        CheckResult {
            interface_up: true,
            answered: if ok { 2 } else { 0 },
            probed: 2,
        }
    }
}

impl Commands for World {
    async fn run(&self, argv: &[String]) -> Result<(), failberry::command::CommandError> {
        let now = self.now.load(Ordering::SeqCst);
        self.commands.lock().unwrap().push((now, argv.join(" ")));
        Ok(())
    }
}

impl ByteCounters for World {
    fn read(&self, _interface: &str) -> Option<Reading> {
        Some(Reading {
            rx_bytes: self.rx.load(Ordering::SeqCst),
            tx_bytes: 0,
            boot_id: "boot-1".into(),
        })
    }
}

impl Reporter for World {
    async fn send(&self, report: &Report) -> Result<(), failberry::api::ApiError> {
        self.reports.lock().unwrap().push(report.clone());
        Ok(())
    }
}

impl Clock for World {
    fn now(&self) -> SystemTime {
        failberry_proto::clock::from_unix_secs(self.now.load(Ordering::SeqCst))
    }
}

fn config(state_file: &Path, extra: &str) -> WatchdogConfig {
    let text = format!(
        r#"
[watchdog]
interface = "wwan0"
track_ip = ["192.0.2.1:443", "192.0.2.2:443"]
down = 2
up = 1
startup_grace_secs = 0
backoff_secs = 600
backoff_max_secs = 1200
max_reboots_per_day = 1
report_interval_secs = 0
state_file = "{}"
[[watchdog.recovery]]
name = "redial"
command = ["redial"]
grace_secs = 60
[[watchdog.recovery]]
name = "usb"
command = ["uhubctl-cycle"]
grace_secs = 120
[[watchdog.recovery]]
reboot = true
command = ["reboot-now"]
grace_secs = 300
{extra}"#,
        state_file.display()
    );
    let raw = RawConfig::parse(&text, Path::new("test.toml")).unwrap();
    WatchdogConfig::build(raw.watchdog).unwrap()
}

type Dog = Watchdog<World, World, World, World, World>;

fn dog(world: &World, config: WatchdogConfig, dry_run: bool) -> Dog {
    let reporter = (!config.report_interval.is_zero()).then(|| world.clone());
    Watchdog::new(
        config,
        world.clone(),
        world.clone(),
        world.clone(),
        reporter,
        world.clone(),
        TimeZone::UTC,
        dry_run,
    )
}

/// Runs rounds every 30 s until `until` (inclusive); the decisions taken.
async fn rounds(world: &World, dog: &mut Dog, count: usize) -> Vec<Decision> {
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(dog.round().await.decision);
        world.advance(30);
    }
    out
}

#[tokio::test]
async fn ladder_backs_off_and_recovery_resets_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::new();
    let mut dog = dog(&world, config(&dir.path().join("state.json"), ""), false);

    // Up: nothing happens.
    world.link_ok.store(true, Ordering::SeqCst);
    rounds(&world, &mut dog, 3).await;
    assert!(world.ran().is_empty());

    // Down from now on (T0+90). The second failed round declares it down (down = 2).
    world.link_ok.store(false, Ordering::SeqCst);
    let down_at = world.now.load(Ordering::SeqCst);
    let decisions = rounds(&world, &mut dog, 40).await; // 20 minutes
    assert_eq!(
        decisions[0],
        Decision::Idle,
        "one failed round is not down yet"
    );
    let log = world.commands.lock().unwrap().clone();
    let relative: Vec<(i64, &str)> = log.iter().map(|(t, c)| (t - down_at, c.as_str())).collect();
    assert_eq!(
        relative,
        vec![
            (30, "redial"),
            // Each step waits out the previous one's grace (60 s, 120 s, 300 s).
            (90, "uhubctl-cycle"),
            (210, "reboot-now"),
            // 510: the ladder is spent: back off 600 s, then start over.
            (1110, "redial"),
            (1170, "uhubctl-cycle"),
        ],
    );
    assert!(
        decisions.contains(&Decision::BackOff {
            until: down_at + 510 + 600,
            passes: 1
        }),
        "{decisions:?}"
    );

    // The link comes back: the ladder resets, and the next outage starts at its first step.
    world.link_ok.store(true, Ordering::SeqCst);
    let back = rounds(&world, &mut dog, 1).await;
    assert!(matches!(back[0], Decision::Recovered { .. }), "{back:?}");
    assert_eq!(dog.state().ladder.next_step, 0);
    assert_eq!(dog.state().ladder.failed_passes, 0);
    world.commands.lock().unwrap().clear();
    world.link_ok.store(false, Ordering::SeqCst);
    rounds(&world, &mut dog, 3).await;
    assert_eq!(
        world.ran(),
        vec!["redial"],
        "a fresh ladder, no back-off left over"
    );
}

#[tokio::test]
async fn reboot_cap_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let world = World::new();
    world.link_ok.store(false, Ordering::SeqCst);
    let mut first = dog(&world, config(&state_file, ""), false);
    rounds(&world, &mut first, 10).await;
    assert_eq!(world.ran(), vec!["redial", "uhubctl-cycle", "reboot-now"]);
    // The reboot is on disk before the reboot command ran.
    let saved: WatchdogState =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert_eq!(saved.ladder.reboots.len(), 1);
    drop(first);

    // "After the reboot": a new daemon on the same state file; the SIM is still dead.
    world.advance(120);
    let mut second = dog(&world, config(&state_file, ""), false);
    let decisions = rounds(&world, &mut second, 60).await; // 30 minutes
    assert_eq!(
        world.ran(),
        vec![
            "redial",
            "uhubctl-cycle",
            "reboot-now",
            "redial",
            "uhubctl-cycle"
        ],
        "the second pass skips the reboot: {decisions:?}"
    );
    assert!(
        decisions.iter().any(|d| matches!(
            d,
            Decision::SkipReboot {
                reboots_today: 1,
                ..
            }
        )),
        "{decisions:?}"
    );
    let skipped = second
        .state()
        .unreported
        .iter()
        .filter(|a| a.kind == ActionKind::RebootSkipped)
        .count();
    assert!(skipped >= 1, "the skip is recorded for the report");

    // A day later the reboot is allowed again.
    world.advance(86_400);
    world.commands.lock().unwrap().clear();
    let mut third = dog(&world, config(&state_file, ""), false);
    rounds(&world, &mut third, 120).await;
    assert!(
        world.ran().contains(&"reboot-now".to_string()),
        "{:?}",
        world.ran()
    );
}

#[tokio::test]
async fn dry_run_runs_nothing_and_keeps_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let world = World::new();
    let mut dog = dog(&world, config(&state_file, ""), true);
    let decisions = rounds(&world, &mut dog, 20).await;
    assert!(
        decisions.iter().any(|d| matches!(d, Decision::Run { .. })),
        "{decisions:?}"
    );
    assert!(world.ran().is_empty());
    assert!(!state_file.exists());
}

#[tokio::test]
async fn data_cap_thresholds_run_once_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let world = World::new();
    world.link_ok.store(true, Ordering::SeqCst);
    let extra = r#"
[watchdog.data_cap]
cap_mib = 1
billing_day = 1
thresholds = [{ percent = 80, command = ["cap-80"] }, { percent = 100, command = ["cap-100"] }]
"#;
    let mut cfg = config(&state_file, extra);
    cfg.report_interval = std::time::Duration::from_secs(300);
    let mut dog = dog(&world, cfg.clone(), false);
    const MIB: u64 = 1 << 20;
    for (rx, want) in [
        (1_000, vec![]),
        (MIB * 85 / 100, vec!["cap-80"]),
        (MIB * 90 / 100, vec!["cap-80"]),
        (MIB + 1_010, vec!["cap-80", "cap-100"]),
    ] {
        world.rx.store(rx, Ordering::SeqCst);
        rounds(&world, &mut dog, 1).await;
        assert_eq!(world.ran(), want, "at {rx} bytes");
    }
    // The counter restarts (the modem redialled): counting goes on from the month's total.
    drop(dog);
    world.rx.store(500, Ordering::SeqCst);
    world.advance(600);
    let mut dog = self::dog(&world, cfg, false);
    rounds(&world, &mut dog, 1).await;
    assert_eq!(
        dog.state().usage.used_bytes,
        MIB + 10 + 500,
        "the first reading is the baseline"
    );
    assert_eq!(
        world.ran().len(),
        2,
        "thresholds fire once a month, restarts included"
    );

    let reports = world.reports.lock().unwrap().clone();
    let last = reports.last().expect("reported");
    assert_eq!(
        last.data.as_ref().unwrap().used_bytes,
        dog.state().usage.used_bytes
    );
    assert_eq!(last.links[0].name, "wireless");
    let thresholds: Vec<_> = reports
        .iter()
        .flat_map(|r| &r.actions)
        .filter(|a| a.kind == ActionKind::DataThreshold)
        .map(|a| a.percent.unwrap())
        .collect();
    assert_eq!(thresholds, vec![80, 100], "each crossing reported once");
}
