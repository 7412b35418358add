//! The `ddns update` and `ddns watch` commands: detect the addresses, decide whether to send (the
//! pure `decide`), send a signed update, and remember what the API acknowledged. Detection is
//! `detect`'s, the HTTP calls are `api`'s, the file is `state`'s, the decision `decide`'s.
//! (Just over 400 lines: the run, the state bookkeeping and the watch loop all work on the
//! `Updater`'s fields; apart, they would pass the whole struct around.)

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use failberry_proto::address::non_public_reason;
use failberry_proto::{UpdateResponse, UpdateStatus};
use tracing::{debug, error, info, warn};

use crate::api::{ApiClient, ApiError, ErrorClass, PreparedUpdate};
use crate::backoff::Backoff;
use crate::config::DdnsConfig;
use crate::detect::{self, Detection, Detector};
use crate::state::{self, Loaded, State};
use crate::warnings::Warnings;

mod decide;

pub use decide::{decide, render_dry_run, Decision, Detected, Reason};

/// First retry delay after a network or server failure; it doubles up to `TRANSIENT_CAP`.
const TRANSIENT_BASE: Duration = Duration::from_secs(10);
const TRANSIENT_CAP: Duration = Duration::from_secs(600);
/// After a refusal, retries start at the interval and slow down to this.
const REFUSED_CAP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Send even when the addresses are the acknowledged ones.
    pub force: bool,
    /// Decide and prepare, but neither send nor touch the state file.
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Updated(UpdateResponse),
    Unchanged(UpdateResponse),
    UpToDate,
    NothingDetected,
    /// `--dry-run`: the decision, and the request that would have been sent.
    DryRun {
        decision: Decision,
        prepared: Option<Box<PreparedUpdate>>,
    },
}

/// Log keys of the conditions that are reported once until they recover.
struct FamilyKeys {
    family: &'static str,
    failed: &'static str,
    empty: &'static str,
    not_public: &'static str,
}

const IPV4_KEYS: FamilyKeys = FamilyKeys {
    family: "ipv4",
    failed: "ipv4 detection failed",
    empty: "ipv4 empty",
    not_public: "ipv4 not public",
};
const IPV6_KEYS: FamilyKeys = FamilyKeys {
    family: "ipv6",
    failed: "ipv6 detection failed",
    empty: "ipv6 empty",
    not_public: "ipv6 not public",
};
const NOTHING_DETECTED: &str = "nothing detected";
const UP_TO_DATE: &str = "up to date";
const STATE_MISSING: &str = "state missing";
const STATE_CORRUPT: &str = "state corrupt";
const STATE_OTHER_HOST: &str = "state for another host";
const STATE_UNWRITABLE: &str = "state unwritable";

/// One device's updater: its detectors, its API client (which keeps the learnt clock offset)
/// and what it has already logged. `watch` keeps one for its whole life.
pub struct Updater {
    config: DdnsConfig,
    api: Arc<ApiClient>,
    ipv4: Option<Box<dyn Detector<Ipv4Addr>>>,
    ipv6: Option<Box<dyn Detector<Ipv6Addr>>>,
    warnings: Warnings,
    last_ipv4: Option<Ipv4Addr>,
    last_ipv6: Option<Ipv6Addr>,
}

impl Updater {
    /// The detectors and API client the config asks for.
    pub fn new(config: &DdnsConfig) -> anyhow::Result<Self> {
        let api = Arc::new(
            ApiClient::new(&config.device, config.bind_interface())
                .context("building the HTTP client")?,
        );
        let ipv4 = detect::ipv4_detector(config, api.clone());
        let ipv6 = detect::ipv6_detector(config);
        Ok(Self::with_detectors(config, api, ipv4, ipv6))
    }

    /// With chosen detectors (the tests use fakes through this).
    pub fn with_detectors(
        config: &DdnsConfig,
        api: Arc<ApiClient>,
        ipv4: Option<Box<dyn Detector<Ipv4Addr>>>,
        ipv6: Option<Box<dyn Detector<Ipv6Addr>>>,
    ) -> Self {
        Self {
            config: config.clone(),
            api,
            ipv4,
            ipv6,
            warnings: Warnings::default(),
            last_ipv4: None,
            last_ipv6: None,
        }
    }

    /// Asks both sources at once and logs what changed since the last time.
    pub async fn detect(&mut self) -> Detected {
        let ipv4 = async {
            match &self.ipv4 {
                Some(d) => Some((d.source(), d.detect().await)),
                None => None,
            }
        };
        let ipv6 = async {
            match &self.ipv6 {
                Some(d) => Some((d.source(), d.detect().await)),
                None => None,
            }
        };
        let (ipv4, ipv6) = tokio::join!(ipv4, ipv6);
        if let Some((source, found)) = &ipv4 {
            note(
                &mut self.warnings,
                &mut self.last_ipv4,
                &IPV4_KEYS,
                source,
                found,
            );
        }
        if let Some((source, found)) = &ipv6 {
            note(
                &mut self.warnings,
                &mut self.last_ipv6,
                &IPV6_KEYS,
                source,
                found,
            );
        }
        Detected {
            ipv4: ipv4.map(|(_, d)| d),
            ipv6: ipv6.map(|(_, d)| d),
        }
    }

    /// Detect, decide, and send if needed. The error is the API's, classified; everything else
    /// (detection trouble, an unreadable or unwritable state file) is logged and not fatal.
    pub async fn run_once(&mut self, options: RunOptions) -> Result<Outcome, ApiError> {
        let detected = self.detect().await;
        let state = self.load_state();
        let decision = decide(
            state.as_ref(),
            &detected,
            self.api.now(),
            self.config.refresh_after,
            options.force,
        );
        if options.dry_run {
            let prepared = match decision {
                Decision::Send { ipv4, ipv6, .. } => {
                    Some(Box::new(self.api.prepare_update(ipv4, ipv6)))
                }
                _ => None,
            };
            return Ok(Outcome::DryRun { decision, prepared });
        }
        let (ipv4, ipv6, reason) = match decision {
            // Reported by the caller: once per outage by `watch`, as the exit line by `update`.
            Decision::NothingDetected => return Ok(Outcome::NothingDetected),
            Decision::UpToDate => {
                if self.warnings.raise(UP_TO_DATE) {
                    info!(hostname = %self.config.device.hostname, "nothing to send");
                } else {
                    debug!(hostname = %self.config.device.hostname, "nothing to send");
                }
                return Ok(Outcome::UpToDate);
            }
            Decision::Send { ipv4, ipv6, reason } => (ipv4, ipv6, reason),
        };
        self.warnings.clear(UP_TO_DATE);
        info!(
            hostname = %self.config.device.hostname,
            ipv4 = %or_dash(ipv4),
            ipv6 = %or_dash(ipv6),
            reason = %reason,
            "update sent"
        );
        let answer = self.api.update(ipv4, ipv6).await?;
        match answer.status {
            UpdateStatus::Updated => info!(
                hostname = %answer.hostname,
                ipv4 = %or_dash(answer.ipv4),
                ipv6 = %or_dash(answer.ipv6),
                change_id = %answer.change_id.as_deref().unwrap_or("-"),
                "record updated"
            ),
            UpdateStatus::Unchanged => info!(
                hostname = %answer.hostname,
                ipv4 = %or_dash(answer.ipv4),
                ipv6 = %or_dash(answer.ipv6),
                "record unchanged"
            ),
        }
        self.save_state(&answer, state);
        Ok(match answer.status {
            UpdateStatus::Updated => Outcome::Updated(answer),
            UpdateStatus::Unchanged => Outcome::Unchanged(answer),
        })
    }

    fn load_state(&mut self) -> Option<State> {
        let path = &self.config.state_file;
        match state::load(path) {
            Loaded::State(state) if state.hostname == self.config.device.hostname => {
                self.warnings.clear(STATE_MISSING);
                self.warnings.clear(STATE_CORRUPT);
                self.warnings.clear(STATE_OTHER_HOST);
                Some(state)
            }
            Loaded::State(state) => {
                if self.warnings.raise(STATE_OTHER_HOST) {
                    info!(
                        path = %path.display(),
                        state_hostname = %state.hostname,
                        "state file is for another hostname, ignoring it"
                    );
                }
                None
            }
            Loaded::Missing => {
                if self.warnings.raise(STATE_MISSING) {
                    info!(path = %path.display(), "no state file yet");
                }
                None
            }
            Loaded::Corrupt(reason) => {
                if self.warnings.raise(STATE_CORRUPT) {
                    warn!(path = %path.display(), reason = %reason, "state file unreadable, ignoring it");
                }
                None
            }
        }
    }

    fn save_state(&mut self, answer: &UpdateResponse, previous: Option<State>) {
        let state = State {
            hostname: self.config.device.hostname.clone(),
            ipv4: answer.ipv4,
            ipv6: answer.ipv6,
            acknowledged_at: answer.time,
            change_id: answer
                .change_id
                .clone()
                .or_else(|| previous.and_then(|s| s.change_id)),
        };
        match state::save(&self.config.state_file, &state) {
            Ok(()) => {
                if self.warnings.clear(STATE_UNWRITABLE) {
                    info!(path = %self.config.state_file.display(), "state file written again");
                }
            }
            Err(e) => {
                if self.warnings.raise(STATE_UNWRITABLE) {
                    error!(error = %e, "state file not written; unchanged addresses will be sent again");
                }
            }
        }
    }

    /// Runs until `shutdown` completes: detect, decide, send, then sleep the interval, or the
    /// back-off delay after a failure. A refusal keeps the state and retries only slowly.
    pub async fn watch(&mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let interval = self.config.interval;
        let mut transient = Backoff::new(TRANSIENT_BASE, TRANSIENT_CAP);
        let mut refused = Backoff::new(interval, REFUSED_CAP.max(interval));
        info!(
            hostname = %self.config.device.hostname,
            interval_secs = interval.as_secs(),
            "watch started"
        );
        loop {
            let result = tokio::select! {
                () = &mut shutdown => break,
                result = self.run_once(RunOptions::default()) => result,
            };
            let delay = match result {
                Ok(outcome) => {
                    if matches!(outcome, Outcome::NothingDetected) {
                        if self.warnings.raise(NOTHING_DETECTED) {
                            warn!(
                                hostname = %self.config.device.hostname,
                                "address detection failed; DNS left unchanged"
                            );
                        }
                    } else if self.warnings.clear(NOTHING_DETECTED) {
                        info!(hostname = %self.config.device.hostname, "address detection recovered");
                    }
                    if transient.reset() {
                        info!("api reachable again");
                    }
                    if refused.reset() {
                        info!("update accepted again");
                    }
                    interval
                }
                Err(e) => match e.class() {
                    ErrorClass::Transient => {
                        let delay = transient.next_delay();
                        if transient.failures() == 1 {
                            warn!(error = %e, retry_in_secs = delay.as_secs(), "api unreachable, backing off");
                        } else {
                            debug!(error = %e, retry_in_secs = delay.as_secs(), "api unreachable, backing off");
                        }
                        delay
                    }
                    ErrorClass::Permanent => {
                        if transient.reset() {
                            info!("api reachable again");
                        }
                        let delay = refused.next_delay().max(interval);
                        if refused.failures() == 1 {
                            error!(error = %e, retry_in_secs = delay.as_secs(), "update refused");
                        } else {
                            debug!(error = %e, retry_in_secs = delay.as_secs(), "update refused");
                        }
                        delay
                    }
                },
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        info!("watch stopped");
    }
}

/// Logs a family's detection: a new address at info, a failure or an odd address once until it
/// recovers.
fn note<A>(
    warnings: &mut Warnings,
    last: &mut Option<A>,
    keys: &FamilyKeys,
    source: &str,
    detection: &Detection<A>,
) where
    A: Copy + Eq + Display + Into<IpAddr>,
{
    let family = keys.family;
    match detection {
        Detection::Found(ip) => {
            let recovered = warnings.clear(keys.failed) | warnings.clear(keys.empty);
            if recovered || *last != Some(*ip) {
                info!(family, source, ip = %ip, "address detected");
            } else {
                debug!(family, source, ip = %ip, "address detected");
            }
            *last = Some(*ip);
            match non_public_reason((*ip).into()) {
                Some(reason) => {
                    if warnings.raise(keys.not_public) {
                        warn!(family, ip = %ip, reason, "address not public; the API may refuse it");
                    }
                }
                None => {
                    warnings.clear(keys.not_public);
                }
            }
        }
        Detection::Empty => {
            warnings.clear(keys.failed);
            if warnings.raise(keys.empty) {
                warn!(family, source, "no address found");
            }
        }
        Detection::Unknown(reason) => {
            warnings.clear(keys.empty);
            if warnings.raise(keys.failed) {
                warn!(family, source, reason = %reason, "address detection failed");
            }
        }
    }
}

fn or_dash<A: Display>(value: Option<A>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// One detect-decide-send pass with a fresh updater, as `ddns update` does.
pub async fn run_once(config: &DdnsConfig, options: RunOptions) -> anyhow::Result<Outcome> {
    let mut updater = Updater::new(config)?;
    Ok(updater.run_once(options).await?)
}

/// `failberry ddns update`: succeeds when the record is updated, unchanged, or needs nothing.
pub async fn update(config: &DdnsConfig, options: RunOptions) -> anyhow::Result<()> {
    let mut updater = Updater::new(config)?;
    let outcome = updater.run_once(options).await.map_err(|e| {
        let what = match e.class() {
            ErrorClass::Transient => "api unreachable",
            ErrorClass::Permanent => "update refused",
        };
        anyhow::Error::new(e).context(what)
    })?;
    match outcome {
        Outcome::DryRun { decision, prepared } => {
            let text = render_dry_run(&decision, prepared.as_deref());
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("writing to stdout")?;
            Ok(())
        }
        Outcome::NothingDetected => {
            anyhow::bail!("address detection failed; DNS left unchanged")
        }
        Outcome::Updated(_) | Outcome::Unchanged(_) | Outcome::UpToDate => Ok(()),
    }
}

/// `failberry ddns watch`: runs until `shutdown` completes.
pub async fn watch(config: &DdnsConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let mut updater = Updater::new(config)?;
    updater.watch(shutdown).await;
    Ok(())
}
