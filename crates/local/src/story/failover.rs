//! The failover story: two real `failberry health serve` endpoints on two loopback addresses
//! stand for the wired and the wireless link; the ping function runs in-process once per simulated
//! minute (a tick of the accelerated clock), its metrics go to moto with the simulated
//! timestamps, and `failberry-ctl status`'s decision (the failover model: moto evaluates no alarm)
//! says which answer DNS gives. It ends with a picture of the minutes (`picture`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use failberry_ctl::observe::{observe, Clients, Record};
use failberry_ctl::status::{decide, Status};
use failberry_failover::link::{LinkPolicy, PING_CONFIG_KEY, PROBES_PER_RUN, PROBE_LOSS};
use failberry_failover::{AlarmState, FailoverAnswer};
use failberry_ping::AwsPing;

use super::ddns::a_record;
use super::pi::{Endpoint, Pi};
use super::picture::{self, Minute};
use super::Story;
use crate::seed::links::{seed_pair, LinkSeed};
use crate::seed::HOSTNAME;
use crate::stack::Stack;

pub const FAILOVER_NAME: &str = "vpn.home.example.com";
pub const WIRED_ADDRESS: &str = "81.2.69.10";

/// The simulated clock the ping function stamps its metrics with.
#[derive(Debug)]
pub struct SimClock(AtomicI64);

impl failberry_proto::Clock for SimClock {
    fn now(&self) -> SystemTime {
        failberry_proto::clock::from_unix_secs(self.0.load(Ordering::SeqCst))
    }
}

struct Sim<'s, 'o> {
    story: &'s mut Story<'o>,
    zone_id: String,
    ping: AwsPing<Arc<SimClock>>,
    clock: Arc<SimClock>,
    clients: Clients,
    minute: i64,
    start: i64,
    minutes: Vec<Minute>,
    events: Vec<(usize, String)>,
}

impl Sim<'_, '_> {
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
            wired_alarm: None,
            wireless_alarm: None,
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
        let observed = observe(
            &self.clients,
            &Record {
                zone_id: &self.zone_id,
                name: FAILOVER_NAME,
                kind: "A",
            },
            at + 59,
            10,
        )
        .await?;
        let status = decide(&observed, "model");
        minute.answered_wired = status.answer != Some(FailoverAnswer::Secondary);
        let alarm_of = |role| {
            status
                .links
                .iter()
                .find(|l| l.role == role)
                .and_then(|l| l.alarm_state)
        };
        minute.wired_alarm = alarm_of(FailoverAnswer::Primary);
        minute.wireless_alarm = alarm_of(FailoverAnswer::Secondary);
        self.story.say(&format!(
            "   minute {:>2}: wired {:<5} wireless {:<5} → DNS answers {}",
            self.minute,
            shown(minute.wired_availability),
            shown(minute.wireless_availability),
            status.answers_with.as_deref().unwrap_or("nothing")
        ));
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

fn minutes(took: Option<usize>) -> String {
    took.map_or("-".into(), |m| m.to_string())
}

/// Tells the story (steps 7 to 11) and writes its picture under `workdir`; returns the
/// picture's path.
pub async fn tell(
    story: &mut Story<'_>,
    stack: &Stack,
    pi: &Pi,
    workdir: &Path,
) -> anyhow::Result<PathBuf> {
    let mut wired = Endpoint::start(pi.client(), "127.0.0.2").await?;
    let mut wireless = Endpoint::start(pi.client(), "127.0.0.3").await?;
    let (wired_listen, wireless_listen) =
        (wired.listen().to_string(), wireless.listen().to_string());
    let ping = set_up_links(stack, &wired_listen, &wireless_listen).await?;
    let clock = ping.1;

    story.step(&format!(
        "The home has two links: the wired one ({wired_listen}) and the 4G one ({wireless_listen}),\n   \
         each answering on failberry's health endpoint. The ping function probes each {PROBES_PER_RUN} times a\n   \
         minute (the clock runs a minute per tick). {FAILOVER_NAME} fails over from wired to wireless."
    ));
    let now = failberry_proto::clock::unix_secs(SystemTime::now());
    // Simulated minutes lie hours back (CloudWatch takes datapoints up to two weeks old), at a
    // random hour so two runs against one emulator never share datapoints.
    let start = (now / 60) * 60 - 3600 * (3 + i64::from(fastrand::u32(0..300)));
    let mut sim = Sim {
        story,
        zone_id: stack.zone_id.clone(),
        ping: ping.0,
        clock,
        clients: Clients {
            route53: stack.route53(),
            cloudwatch: stack.cloudwatch(),
        },
        minute: 0,
        start,
        minutes: Vec::new(),
        events: Vec::new(),
    };
    all_healthy(&mut sim).await?;

    sim.story.step("The wired link fails.");
    wired.stop().await;
    sim.mark("wire fails");
    let took = sim
        .until(6, true, |s| answers(s, FailoverAnswer::Secondary))
        .await?;
    // The link model's worst case, in whole minutes (2: 2 of 2 periods).
    let goal = LinkPolicy::CHOSEN.figures(PROBE_LOSS).detection_secs.1 as usize / 60;
    sim.story.check(
        took.is_some_and(|m| m <= goal),
        &format!(
            "its alarm went to ALARM and DNS moved to the wireless link within {} minutes (goal: {goal})",
            minutes(took)
        ),
    );

    sim.story.step(
        "Meanwhile the carrier gives the Pi a new address, 81.2.69.200; the failberry client updates it.",
    );
    sim.mark("mobile IP changes");
    pi.modem_gets("81.2.69.200")?;
    pi.update("failover: new mobile address").await?;
    let record = a_record(stack).await;
    let status = sim.tick(true).await?;
    sim.story.check(
        record.as_deref() == Some("81.2.69.200") && answers(&status, FailoverAnswer::Secondary),
        &format!(
            "wireless.home.example.com A {} — and DNS still answers the wireless link",
            record.unwrap_or_default()
        ),
    );

    sim.story.step("The wire comes back.");
    wired.restart(pi.client()).await?;
    sim.mark("wire back");
    let took = sim
        .until(6, true, |s| answers(s, FailoverAnswer::Primary))
        .await?;
    sim.story.check(
        took.is_some_and(|m| m <= 3),
        &format!(
            "DNS returned to the wired link within {} minutes",
            minutes(took)
        ),
    );

    ping_function_dies(&mut sim).await?;
    wired.stop().await;
    wireless.stop().await;
    let svg = workdir.join("failover.svg");
    std::fs::write(&svg, picture::render(&sim.minutes, &sim.events))
        .with_context(|| format!("writing {}", svg.display()))?;
    Ok(svg)
}

/// The targets document, the failover chain, and the ping function on the simulated clock.
async fn set_up_links(
    stack: &Stack,
    wired_listen: &str,
    wireless_listen: &str,
) -> anyhow::Result<(AwsPing<Arc<SimClock>>, Arc<SimClock>)> {
    let targets = serde_json::json!({
        "concurrency": 8, "emit": "api",
        "targets": [
            {"name": "wired", "url": format!("http://{wired_listen}/"), "timeout_ms": 1000, "probes": PROBES_PER_RUN, "link": true},
            {"name": "wireless", "url": format!("http://{wireless_listen}/"), "timeout_ms": 1000, "probes": PROBES_PER_RUN, "link": true},
        ]
    });
    stack
        .s3()
        .put_object()
        .bucket(&stack.bucket)
        .key(PING_CONFIG_KEY)
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
        alias_of: HOSTNAME.into(),
    };
    seed_pair(
        &stack.sdk,
        &stack.zone_id,
        FAILOVER_NAME,
        WIRED_ADDRESS,
        &primary,
        &secondary,
    )
    .await?;
    let clock = Arc::new(SimClock(AtomicI64::new(0)));
    let settings = failberry_ping::Settings {
        config_bucket: stack.bucket.clone(),
        config_key: PING_CONFIG_KEY.into(),
        config_max_age: Duration::ZERO,
    };
    let mut ping = AwsPing::from_clients(stack.cloudwatch(), stack.s3(), settings, clock.clone());
    // The story's minutes are simulated and its links lose nothing at random: spreading the
    // probes would add 0.6 s of real time a minute and change nothing the story measures.
    ping.prober = ping.prober.with_spacing(Duration::ZERO);
    Ok((ping, clock))
}

/// Step 7's minutes: both links up, DNS answers the wired one.
async fn all_healthy(sim: &mut Sim<'_, '_>) -> anyhow::Result<()> {
    sim.mark("all healthy");
    let mut last = None;
    for _ in 0..4 {
        last = Some(sim.tick(true).await?);
    }
    let ok = last
        .as_ref()
        .is_some_and(|s| answers(s, FailoverAnswer::Primary));
    sim.story.check(
        ok,
        &format!(
            "all healthy: DNS answers the wired link ({})",
            last.and_then(|s| s.answers_with).unwrap_or_default()
        ),
    );
    Ok(())
}

/// Step 11: no datapoints at all; both alarms breach and DNS fails safe to the wired link.
async fn ping_function_dies(sim: &mut Sim<'_, '_>) -> anyhow::Result<()> {
    sim.story
        .step("The ping function itself dies: no more datapoints for either link.");
    sim.mark("ping function dies");
    let both_alarm = |s: &Status| {
        s.links
            .iter()
            .all(|l| l.alarm_state == Some(AlarmState::Alarm))
    };
    let took = sim.until(8, false, both_alarm).await?;
    let status = sim.tick(false).await?;
    sim.story.check(
        took.is_some() && answers(&status, FailoverAnswer::Primary),
        &format!(
            "missing data breaches both alarms (after {} minutes) and DNS fails safe to the wired link: {}",
            minutes(took),
            status.reason
        ),
    );
    Ok(())
}
