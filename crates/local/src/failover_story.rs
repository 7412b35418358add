//! The second half of `make demo`: the failover story. Two real `failberry health serve`
//! endpoints on two loopback addresses stand for the wired and the wireless link; the ping function
//! runs in-process once per simulated minute (a tick of the accelerated clock), its metrics go to
//! moto with the simulated timestamps, and `failberry-ctl status`'s decision (the failover model:
//! moto evaluates no alarm) says which answer DNS gives.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use failberry_ctl::observe::{observe, Clients};
use failberry_ctl::status::{decide, Status};
use failberry_failover::{AlarmState, FailoverAnswer, PROBES_PER_RUN};
use failberry_ping::AwsPing;

use crate::failover::{self, LinkSeed};
use crate::picture::{self, Minute};

pub const FAILOVER_NAME: &str = "vpn.home.example.com";
pub const WIRED_ADDRESS: &str = "81.2.69.10";

/// The simulated clock the ping function stamps its metrics with.
#[derive(Debug)]
pub struct SimClock(AtomicI64);

impl failberry_ping::Clock for SimClock {
    fn now(&self) -> SystemTime {
        failberry_proto::clock::from_unix_secs(self.0.load(Ordering::SeqCst))
    }
}

/// A `failberry health serve` process standing for one link.
struct Endpoint {
    child: Option<tokio::process::Child>,
    listen: String,
}

impl Endpoint {
    async fn start(client: &Path, listen: &str) -> anyhow::Result<Self> {
        let mut e = Endpoint {
            child: None,
            listen: listen.to_string(),
        };
        e.restart(client).await?;
        Ok(e)
    }

    async fn restart(&mut self, client: &Path) -> anyhow::Result<()> {
        let child = tokio::process::Command::new(client)
            .args([
                "--config",
                "/nonexistent/failberry.toml",
                "health",
                "serve",
                "--listen",
                &self.listen,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting `failberry health serve`")?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&self.listen).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("the health endpoint on {} did not come up", self.listen)
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn free_port(ip: &str) -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// What the story needs from the DDNS half.
pub struct StoryContext<'a> {
    pub sdk: &'a aws_config::SdkConfig,
    pub bucket: &'a str,
    pub zone_id: &'a str,
    pub client: &'a Path,
    pub workdir: &'a Path,
}

pub struct Outcome {
    pub checks: Vec<(bool, String)>,
    pub svg: std::path::PathBuf,
}

struct Sim<'a> {
    ctx: &'a StoryContext<'a>,
    ping: AwsPing<Arc<SimClock>>,
    clock: Arc<SimClock>,
    clients: Clients,
    minute: i64,
    start: i64,
    minutes: Vec<Minute>,
    events: Vec<(usize, String)>,
    out: &'a mut dyn std::io::Write,
}

impl Sim<'_> {
    /// One simulated minute: the scheduled ping run (unless the function is dead), then what DNS
    /// answers at the end of the minute.
    async fn tick(&mut self, ping_alive: bool) -> anyhow::Result<Status> {
        let at = self.start + 60 * self.minute;
        self.clock.0.store(at + 10, Ordering::SeqCst);
        let mut minute = Minute {
            wired_availability: None,
            wireless_availability: None,
            wired_latency_ms: None,
            wireless_latency_ms: None,
            answered_wired: true,
        };
        if ping_alive {
            let summary = self
                .ping
                .run(Instant::now() + Duration::from_secs(10))
                .await
                .context("running the ping function")?;
            for t in &summary.targets {
                match t.name.as_str() {
                    "wired" => {
                        (minute.wired_availability, minute.wired_latency_ms) =
                            (Some(t.availability), t.latency_ms)
                    }
                    "wireless" => {
                        (minute.wireless_availability, minute.wireless_latency_ms) =
                            (Some(t.availability), t.latency_ms)
                    }
                    _ => {}
                }
            }
        }
        let observed = observe(&self.clients, self.ctx.zone_id, FAILOVER_NAME, at + 59, 10).await?;
        let status = decide(&observed, "model");
        minute.answered_wired = status.answer != Some(FailoverAnswer::Secondary);
        let _ = writeln!(
            self.out,
            "   minute {:>2}: wired {:<5} wireless {:<5} → DNS answers {}",
            self.minute,
            shown(minute.wired_availability),
            shown(minute.wireless_availability),
            status.answers_with.as_deref().unwrap_or("nothing")
        );
        self.minutes.push(minute);
        self.minute += 1;
        Ok(status)
    }

    /// Ticks until `done` holds, at most `limit` minutes; returns the minutes it took.
    async fn until(
        &mut self,
        limit: usize,
        ping_alive: bool,
        done: impl Fn(&Status) -> bool,
    ) -> anyhow::Result<Option<usize>> {
        for i in 1..=limit {
            if done(&self.tick(ping_alive).await?) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    fn mark(&mut self, label: &str) {
        self.events.push((self.minutes.len(), label.to_string()));
    }
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn answers(status: &Status, answer: FailoverAnswer) -> bool {
    status.answer == Some(answer)
}

/// Runs the story; `set_ip` changes the Pi's mobile address and runs its DDNS update.
pub async fn run<F, Fut>(
    ctx: &StoryContext<'_>,
    out: &mut dyn std::io::Write,
    mut set_ip: F,
) -> anyhow::Result<Outcome>
where
    F: FnMut(&'static str) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<String>>>,
{
    let wired_listen = format!("127.0.0.2:{}", free_port("127.0.0.2")?);
    let wireless_listen = format!("127.0.0.3:{}", free_port("127.0.0.3")?);
    let mut wired = Endpoint::start(ctx.client, &wired_listen).await?;
    let mut wireless = Endpoint::start(ctx.client, &wireless_listen).await?;

    let targets = serde_json::json!({
        "concurrency": 8, "emit": "api",
        "targets": [
            {"name": "wired", "url": format!("http://{wired_listen}/"), "timeout_ms": 1000, "probes": PROBES_PER_RUN},
            {"name": "wireless", "url": format!("http://{wireless_listen}/"), "timeout_ms": 1000, "probes": PROBES_PER_RUN},
        ]
    });
    crate::emulator::s3_client(ctx.sdk)
        .put_object()
        .bucket(ctx.bucket)
        .key(failberry_failover::link::PING_CONFIG_KEY)
        .body(serde_json::to_vec(&targets)?.into())
        .send()
        .await
        .context("writing the ping targets")?;
    let primary = LinkSeed {
        name: "wired",
        alias_of: "wired.home.example.com".into(),
    };
    let secondary = LinkSeed {
        name: "wireless",
        alias_of: crate::seed::HOSTNAME.into(),
    };
    failover::seed(
        ctx.sdk,
        ctx.zone_id,
        FAILOVER_NAME,
        WIRED_ADDRESS,
        &primary,
        &secondary,
    )
    .await?;

    let now = failberry_proto::clock::unix_secs(SystemTime::now());
    // Simulated minutes lie hours back (CloudWatch takes datapoints up to two weeks old), at a
    // random hour so two runs against one emulator never share datapoints.
    let start = (now / 60) * 60 - 3600 * (3 + i64::from(fastrand::u32(0..300)));
    let clock = Arc::new(SimClock(AtomicI64::new(start)));
    let settings = failberry_ping::Settings {
        config_bucket: ctx.bucket.into(),
        config_key: failberry_failover::link::PING_CONFIG_KEY.into(),
        config_max_age: Duration::ZERO,
    };
    let ping = AwsPing::from_clients(
        aws_sdk_cloudwatch::Client::new(ctx.sdk),
        crate::emulator::s3_client(ctx.sdk),
        settings,
        clock.clone(),
    );
    let clients = Clients {
        route53: crate::emulator::route53_client(ctx.sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(ctx.sdk),
    };
    let mut checks = Vec::new();
    let mut check = |ok: bool, what: String, out: &mut dyn std::io::Write| {
        let _ = writeln!(out, "   {} {what}", if ok { "✓" } else { "✗" });
        checks.push((ok, what));
    };

    let _ = writeln!(out, "\n7. The home has two links: the wired one ({wired_listen}) and the 4G one ({wireless_listen}),");
    let _ = writeln!(out, "   each answering on failberry's health endpoint. The ping function probes each three times a");
    let _ = writeln!(out, "   minute (the clock runs a minute per tick). {FAILOVER_NAME} fails over from wired to wireless.");
    let mut sim = Sim {
        ctx,
        ping,
        clock,
        clients,
        minute: 0,
        start,
        minutes: Vec::new(),
        events: Vec::new(),
        out,
    };
    sim.mark("all healthy");
    let mut last = None;
    for _ in 0..4 {
        last = Some(sim.tick(true).await?);
    }
    let ok = last
        .as_ref()
        .is_some_and(|s| answers(s, FailoverAnswer::Primary));
    check(
        ok,
        format!(
            "all healthy: DNS answers the wired link ({})",
            last.and_then(|s| s.answers_with).unwrap_or_default()
        ),
        sim.out,
    );

    let _ = writeln!(sim.out, "\n8. The wired link fails.");
    wired.stop().await;
    sim.mark("wire fails");
    let took = sim
        .until(6, true, |s| answers(s, FailoverAnswer::Secondary))
        .await?;
    check(took.is_some_and(|m| m <= 3), format!("its alarm went to ALARM and DNS moved to the wireless link within {} minutes (goal: 3)", took.map_or("-".into(), |m| m.to_string())), sim.out);

    let _ = writeln!(sim.out, "\n9. Meanwhile the carrier gives the Pi a new address, 81.2.69.200; the failberry client updates it.");
    sim.mark("mobile IP changes");
    let record = set_ip("81.2.69.200").await?;
    let status = sim.tick(true).await?;
    check(
        record.as_deref() == Some("81.2.69.200") && answers(&status, FailoverAnswer::Secondary),
        format!(
            "wireless.home.example.com A {} — and DNS still answers the wireless link",
            record.unwrap_or_default()
        ),
        sim.out,
    );

    let _ = writeln!(sim.out, "\n10. The wire comes back.");
    wired.restart(ctx.client).await?;
    sim.mark("wire back");
    let took = sim
        .until(6, true, |s| answers(s, FailoverAnswer::Primary))
        .await?;
    check(
        took.is_some_and(|m| m <= 3),
        format!(
            "DNS returned to the wired link within {} minutes",
            took.map_or("-".into(), |m| m.to_string())
        ),
        sim.out,
    );

    let _ = writeln!(
        sim.out,
        "\n11. The ping function itself dies: no more datapoints for either link."
    );
    sim.mark("ping function dies");
    let both_alarm = |s: &Status| {
        s.links
            .iter()
            .all(|l| l.alarm_state == Some(AlarmState::Alarm))
    };
    let took = sim.until(8, false, both_alarm).await?;
    let status = sim.tick(false).await?;
    check(
        took.is_some() && answers(&status, FailoverAnswer::Primary),
        format!("missing data breaches both alarms (after {} minutes) and DNS fails safe to the wired link: {}", took.map_or("-".into(), |m| m.to_string()), status.reason),
        sim.out,
    );

    wired.stop().await;
    wireless.stop().await;
    let svg = ctx.workdir.join("failover.svg");
    std::fs::write(&svg, picture::render(&sim.minutes, &sim.events))
        .with_context(|| format!("writing {}", svg.display()))?;
    Ok(Outcome { checks, svg })
}
