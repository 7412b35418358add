//! What `ddns update` decides before any call: whether the detected addresses must be sent, and
//! why (the pure `decide`, table-tested), and what `--dry-run` prints of it. Acting on the
//! decision is the parent module's.

use std::fmt::{self, Display};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::api::PreparedUpdate;
use crate::detect::Detection;
use crate::state::State;

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
