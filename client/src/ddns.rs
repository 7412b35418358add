//! The `ddns update` and `ddns watch` commands: detect the addresses, decide whether to send (the
//! pure `decide`), send a signed update, and remember what the API acknowledged. Detection is
//! `detect`'s, the HTTP calls are `api`'s, the file is `state`'s.

use std::fmt::{self, Display};
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

/// First retry delay after a network or server failure; it doubles up to `TRANSIENT_CAP`.
const TRANSIENT_BASE: Duration = Duration::from_secs(10);
const TRANSIENT_CAP: Duration = Duration::from_secs(600);
/// After a refusal, retries start at the interval and slow down to this.
const REFUSED_CAP: Duration = Duration::from_secs(3600);

/// What detection gave for each family; `None` when the family is off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detected {
    pub ipv4: Option<Detection<Ipv4Addr>>,
    pub ipv6: Option<Detection<Ipv6Addr>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing acknowledged yet (first run, or the state file was lost).
    NoState,
    /// A detected address differs from the acknowledged one.
    Changed,
    /// Unchanged, but the last acknowledgement is older than the refresh period.
    Refresh,
    /// `--force`.
    Forced,
}

impl Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NoState => "no acknowledged addresses",
            Reason::Changed => "address changed",
            Reason::Refresh => "periodic refresh",
            Reason::Forced => "forced",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send these addresses; an omitted family is left alone by the server.
    Send {
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
        reason: Reason,
    },
    /// The detected addresses are the acknowledged ones.
    UpToDate,
    /// No family was found: sending would let the server fall back to the source address, so
    /// nothing is sent.
    NothingDetected,
}

/// Whether to send an update. Only found addresses are ever sent: a family whose detection came
/// back empty or unknown is omitted, so a failed detection never removes or replaces a record.
pub fn decide(
    state: Option<&State>,
    detected: &Detected,
    now: i64,
    refresh_after: Duration,
    force: bool,
) -> Decision {
    let ipv4 = detected.ipv4.as_ref().and_then(Detection::found);
    let ipv6 = detected.ipv6.as_ref().and_then(Detection::found);
    if ipv4.is_none() && ipv6.is_none() {
        return Decision::NothingDetected;
    }
    let refresh_secs = i64::try_from(refresh_after.as_secs()).unwrap_or(i64::MAX);
    let reason = match state {
        _ if force => Reason::Forced,
        None => Reason::NoState,
        Some(s)
            if ipv4.is_some_and(|ip| s.ipv4 != Some(ip))
                || ipv6.is_some_and(|ip| s.ipv6 != Some(ip)) =>
        {
            Reason::Changed
        }
        Some(s) if now.saturating_sub(s.acknowledged_at) >= refresh_secs => Reason::Refresh,
        Some(_) => return Decision::UpToDate,
    };
    Decision::Send { ipv4, ipv6, reason }
}

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
        let api = Arc::new(ApiClient::new(config).context("building the HTTP client")?);
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
                    info!(hostname = %self.config.hostname, "nothing to send");
                } else {
                    debug!(hostname = %self.config.hostname, "nothing to send");
                }
                return Ok(Outcome::UpToDate);
            }
            Decision::Send { ipv4, ipv6, reason } => (ipv4, ipv6, reason),
        };
        self.warnings.clear(UP_TO_DATE);
        info!(
            hostname = %self.config.hostname,
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
            Loaded::State(state) if state.hostname == self.config.hostname => {
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
            hostname: self.config.hostname.clone(),
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
            hostname = %self.config.hostname,
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
                                hostname = %self.config.hostname,
                                "address detection failed; DNS left unchanged"
                            );
                        }
                    } else if self.warnings.clear(NOTHING_DETECTED) {
                        info!(hostname = %self.config.hostname, "address detection recovered");
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

/// What `--dry-run` prints: the request that would be sent (without its signature, which would
/// make the printout a valid request for the next five minutes), or why nothing would be.
pub fn render_dry_run(decision: &Decision, prepared: Option<&PreparedUpdate>) -> String {
    match (decision, prepared) {
        (Decision::Send { reason, .. }, Some(p)) => {
            let key_id = p
                .headers
                .iter()
                .find(|(name, _)| *name == failberry_proto::KEY_ID_HEADER)
                .map_or("", |(_, value)| value.as_str());
            format!(
                "# would send ({reason})\nPOST {}\ncontent-type: application/json\n{}: {key_id}\n{}: <signed when sent>\n\n{}\n",
                p.url,
                failberry_proto::KEY_ID_HEADER,
                failberry_proto::SIGNATURE_HEADER,
                String::from_utf8_lossy(&p.body),
            )
        }
        (Decision::UpToDate, _) => {
            "# nothing to send: the detected addresses are the acknowledged ones (--force sends anyway)\n"
                .to_string()
        }
        _ => "# nothing to send: address detection failed; DNS left unchanged\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_764_000_000;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn state(ipv4: Option<&str>, ipv6: Option<&str>, age_days: i64) -> State {
        State {
            hostname: "wireless.home.example.com".into(),
            ipv4: ipv4.map(v4),
            ipv6: ipv6.map(v6),
            acknowledged_at: NOW - age_days * DAY,
            change_id: None,
        }
    }

    fn detected(ipv4: Option<Detection<Ipv4Addr>>, ipv6: Option<Detection<Ipv6Addr>>) -> Detected {
        Detected { ipv4, ipv6 }
    }

    fn send(ipv4: Option<&str>, ipv6: Option<&str>, reason: Reason) -> Decision {
        Decision::Send {
            ipv4: ipv4.map(v4),
            ipv6: ipv6.map(v6),
            reason,
        }
    }

    #[test]
    fn decide_table() {
        use Detection::{Empty, Found, Unknown};
        let a = "81.2.69.142";
        let b = "81.2.69.143";
        let x = "2a01:4f8:c17:beef::2";
        let y = "2a01:4f8:c17:beef::3";
        let unknown = || Unknown("timeout".to_string());
        let cases: Vec<(&str, Option<State>, Detected, bool, Decision)> = vec![
            (
                "first run sends what was found",
                None,
                detected(Some(Found(v4(a))), None),
                false,
                send(Some(a), None, Reason::NoState),
            ),
            (
                "unchanged ipv4 sends nothing",
                Some(state(Some(a), None, 1)),
                detected(Some(Found(v4(a))), None),
                false,
                Decision::UpToDate,
            ),
            (
                "changed ipv4 is sent",
                Some(state(Some(a), None, 1)),
                detected(Some(Found(v4(b))), None),
                false,
                send(Some(b), None, Reason::Changed),
            ),
            (
                "changed ipv6 sends both found families",
                Some(state(Some(a), Some(x), 1)),
                detected(Some(Found(v4(a))), Some(Found(v6(y)))),
                false,
                send(Some(a), Some(y), Reason::Changed),
            ),
            (
                "an ipv6 never acknowledged is a change",
                Some(state(Some(a), None, 1)),
                detected(Some(Found(v4(a))), Some(Found(v6(x)))),
                false,
                send(Some(a), Some(x), Reason::Changed),
            ),
            (
                "unknown ipv4 is omitted, never sent as a removal",
                Some(state(Some(a), Some(x), 1)),
                detected(Some(unknown()), Some(Found(v6(y)))),
                false,
                send(None, Some(y), Reason::Changed),
            ),
            (
                "empty ipv6 with unchanged ipv4 sends nothing",
                Some(state(Some(a), Some(x), 1)),
                detected(Some(Found(v4(a))), Some(Empty)),
                false,
                Decision::UpToDate,
            ),
            (
                "nothing found sends nothing, even forced",
                Some(state(Some(a), None, 10)),
                detected(Some(unknown()), Some(Empty)),
                true,
                Decision::NothingDetected,
            ),
            (
                "nothing found on first run sends nothing",
                None,
                detected(Some(Empty), None),
                false,
                Decision::NothingDetected,
            ),
            (
                "all families off sends nothing",
                None,
                detected(None, None),
                false,
                Decision::NothingDetected,
            ),
            (
                "disabled ipv6 in the state is ignored",
                Some(state(Some(a), Some(x), 1)),
                detected(Some(Found(v4(a))), None),
                false,
                Decision::UpToDate,
            ),
            (
                "old acknowledgement forces a refresh",
                Some(state(Some(a), None, 3)),
                detected(Some(Found(v4(a))), None),
                false,
                send(Some(a), None, Reason::Refresh),
            ),
            (
                "just under the refresh age sends nothing",
                Some(State {
                    acknowledged_at: NOW - 3 * DAY + 1,
                    ..state(Some(a), None, 0)
                }),
                detected(Some(Found(v4(a))), None),
                false,
                Decision::UpToDate,
            ),
            (
                "acknowledgement from the future (clock not set yet) does not refresh",
                Some(state(Some(a), None, -400)),
                detected(Some(Found(v4(a))), None),
                false,
                Decision::UpToDate,
            ),
            (
                "force sends unchanged addresses",
                Some(state(Some(a), Some(x), 0)),
                detected(Some(Found(v4(a))), Some(Found(v6(x)))),
                true,
                send(Some(a), Some(x), Reason::Forced),
            ),
        ];
        for (name, state, detected, force, want) in cases {
            let got = decide(
                state.as_ref(),
                &detected,
                NOW,
                Duration::from_secs(3 * 86_400),
                force,
            );
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn dry_run_text() {
        let prepared = PreparedUpdate {
            url: "http://127.0.0.1:9/v1/update".parse().unwrap(),
            request: failberry_proto::UpdateRequest {
                hostname: "wireless.home.example.com".into(),
                ipv4: Some(v4("81.2.69.142")),
                ipv6: None,
                timestamp: NOW,
                nonce: "0123456789abcdef0123456789abcdef".into(),
            },
            body: br#"{"hostname":"wireless.home.example.com"}"#.to_vec(),
            headers: [
                (
                    failberry_proto::KEY_ID_HEADER,
                    "wireless.home.example.com".into(),
                ),
                (failberry_proto::SIGNATURE_HEADER, "ab".repeat(32)),
            ],
        };
        let text = render_dry_run(
            &send(Some("81.2.69.142"), None, Reason::NoState),
            Some(&prepared),
        );
        assert!(
            text.contains("POST http://127.0.0.1:9/v1/update\n"),
            "{text}"
        );
        assert!(
            text.contains("x-failberry-key-id: wireless.home.example.com\n"),
            "{text}"
        );
        assert!(
            text.ends_with("\n\n{\"hostname\":\"wireless.home.example.com\"}\n"),
            "{text}"
        );
        assert!(
            !text.contains(&"ab".repeat(32)),
            "the signature is not printed: {text}"
        );
        assert!(render_dry_run(&Decision::UpToDate, None).contains("nothing to send"));
        assert!(render_dry_run(&Decision::NothingDetected, None).contains("detection failed"));
    }
}
