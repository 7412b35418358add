//! The decision: is a target up, judging one probe's observation against the target's
//! expectations, and if not, which kind of failure. Pure: the observation comes from `probe`,
//! the time from the caller's clock.

use serde::Serialize;

use crate::config::Target;
use crate::probe::{Failure, Observation, Stage};

/// Why a probe counts as down, from the network up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// The name did not resolve.
    Dns,
    /// No TCP connection (refused, unreachable).
    Connect,
    /// The TLS handshake failed: untrusted, expired or mismatched certificate, protocol error.
    Tls,
    /// The target's timeout struck first.
    Timeout,
    /// An unexpected status, or no valid HTTP response at all.
    Status,
    /// The body lacked the expected text, or broke off.
    Body,
    /// The certificate is valid but expires within `min_cert_days`.
    Cert,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status => "status",
            ErrorKind::Body => "body",
            ErrorKind::Cert => "cert",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub up: bool,
    pub error: Option<ErrorKind>,
    /// Human words for the failure.
    pub detail: Option<String>,
    /// Whole days until the certificate expires (negative once expired), for https.
    pub cert_days_left: Option<i64>,
    /// Whether a response (a status line) came: only then does the latency mean anything.
    pub responded: bool,
}

const DAY: i64 = 86_400;

/// Judges one observation made at `now` (Unix seconds).
pub fn judge(target: &Target, obs: &Observation, now: i64) -> Verdict {
    let cert_days_left = obs
        .cert_not_after
        .map(|not_after| (not_after - now).div_euclid(DAY));
    let mut verdict = Verdict {
        up: false,
        error: None,
        detail: None,
        cert_days_left,
        responded: obs.status.is_some(),
    };
    let down = |mut v: Verdict, kind: ErrorKind, detail: String| {
        v.error = Some(kind);
        v.detail = Some(detail);
        v
    };
    match &obs.failure {
        Some(Failure::TimedOut { stage, after }) => {
            let waiting = match stage {
                Stage::Dns => "the name to resolve",
                Stage::Connect => "the connection",
                Stage::Tls => "the TLS handshake",
                Stage::Response => "the response",
                Stage::Body => "the body",
            };
            return down(
                verdict,
                ErrorKind::Timeout,
                format!(
                    "no answer within {} ms (waiting for {waiting})",
                    after.as_millis()
                ),
            );
        }
        Some(Failure::Failed { stage, detail }) => {
            let kind = match stage {
                Stage::Dns => ErrorKind::Dns,
                Stage::Connect => ErrorKind::Connect,
                Stage::Tls => ErrorKind::Tls,
                Stage::Response => ErrorKind::Status,
                Stage::Body => ErrorKind::Body,
            };
            return down(verdict, kind, detail.clone());
        }
        None => {}
    }
    let Some(status) = obs.status else {
        return down(verdict, ErrorKind::Status, "no HTTP response".into());
    };
    if !target.expect_status.iter().any(|r| r.contains(status)) {
        return down(
            verdict,
            ErrorKind::Status,
            format!("status {status} is not expected"),
        );
    }
    if let Some(needle) = &target.body_contains {
        let body = obs.body.as_deref().unwrap_or_default();
        if !contains(body, needle.as_bytes()) {
            return down(
                verdict,
                ErrorKind::Body,
                format!("the first {} bytes of the body lack {needle:?}", body.len()),
            );
        }
    }
    if let (Some(min), Some(left)) = (target.min_cert_days, cert_days_left) {
        if left < min {
            return down(
                verdict,
                ErrorKind::Cert,
                format!("the certificate expires in {left} days (minimum {min})"),
            );
        }
    }
    verdict.up = true;
    verdict
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PingConfig;
    use std::time::Duration;

    const NOW: i64 = 1_764_000_000;

    fn target(extra: &str) -> Target {
        let doc =
            format!(r#"{{"targets": [{{"name": "t", "url": "https://a.example/"{extra}}}]}}"#);
        PingConfig::parse(doc.as_bytes()).unwrap().targets.remove(0)
    }

    fn answered(status: u16) -> Observation {
        Observation {
            status: Some(status),
            body: Some(b"<html>all good</html>".to_vec()),
            cert_not_after: Some(NOW + 90 * DAY),
            stage: Stage::Body,
            ..Default::default()
        }
    }

    fn failed(stage: Stage) -> Observation {
        Observation {
            failure: Some(Failure::Failed {
                stage,
                detail: "boom".into(),
            }),
            stage,
            ..Default::default()
        }
    }

    #[test]
    fn verdicts() {
        let timed_out = |stage| Observation {
            failure: Some(Failure::TimedOut {
                stage,
                after: Duration::from_millis(3000),
            }),
            stage,
            ..Default::default()
        };
        let plain = target("");
        let with_body = target(r#", "body_contains": "all good""#);
        let with_cert = target(r#", "min_cert_days": 14"#);
        let redirect_ok = target(r#", "expect_status": ["200-299", "301"]"#);
        let cases: Vec<(&str, &Target, Observation, Option<ErrorKind>, bool)> = vec![
            ("200 is up", &plain, answered(200), None, true),
            ("204 is in 200-299", &plain, answered(204), None, true),
            (
                "500 is a status error",
                &plain,
                answered(500),
                Some(ErrorKind::Status),
                true,
            ),
            (
                "301 not expected by default",
                &plain,
                answered(301),
                Some(ErrorKind::Status),
                true,
            ),
            (
                "301 expected when listed",
                &redirect_ok,
                answered(301),
                None,
                true,
            ),
            (
                "dns failure",
                &plain,
                failed(Stage::Dns),
                Some(ErrorKind::Dns),
                false,
            ),
            (
                "refused",
                &plain,
                failed(Stage::Connect),
                Some(ErrorKind::Connect),
                false,
            ),
            (
                "bad certificate",
                &plain,
                failed(Stage::Tls),
                Some(ErrorKind::Tls),
                false,
            ),
            (
                "connection closed before a response",
                &plain,
                failed(Stage::Response),
                Some(ErrorKind::Status),
                false,
            ),
            (
                "timeout while connecting",
                &plain,
                timed_out(Stage::Connect),
                Some(ErrorKind::Timeout),
                false,
            ),
            (
                "timeout waiting for the response",
                &plain,
                timed_out(Stage::Response),
                Some(ErrorKind::Timeout),
                false,
            ),
            ("body found", &with_body, answered(200), None, true),
            (
                "body missing",
                &with_body,
                Observation {
                    body: Some(b"maintenance".to_vec()),
                    ..answered(200)
                },
                Some(ErrorKind::Body),
                true,
            ),
            (
                "status is judged before the body",
                &with_body,
                Observation {
                    body: Some(b"maintenance".to_vec()),
                    ..answered(503)
                },
                Some(ErrorKind::Status),
                true,
            ),
            (
                "body broke off",
                &with_body,
                Observation {
                    status: Some(200),
                    ..failed(Stage::Body)
                },
                Some(ErrorKind::Body),
                true,
            ),
            (
                "certificate far from expiry",
                &with_cert,
                answered(200),
                None,
                true,
            ),
            (
                "certificate expiring soon",
                &with_cert,
                Observation {
                    cert_not_after: Some(NOW + 13 * DAY + 5),
                    ..answered(200)
                },
                Some(ErrorKind::Cert),
                true,
            ),
            (
                "certificate exactly at the minimum",
                &with_cert,
                Observation {
                    cert_not_after: Some(NOW + 14 * DAY),
                    ..answered(200)
                },
                None,
                true,
            ),
            (
                "a soon-expiring certificate without a minimum is fine",
                &plain,
                Observation {
                    cert_not_after: Some(NOW + DAY),
                    ..answered(200)
                },
                None,
                true,
            ),
        ];
        for (name, target, obs, want_error, want_responded) in cases {
            let v = judge(target, &obs, NOW);
            assert_eq!(v.error, want_error, "{name}: {v:?}");
            assert_eq!(v.up, want_error.is_none(), "{name}: {v:?}");
            assert_eq!(v.responded, want_responded, "{name}: responded");
            assert_eq!(v.detail.is_some(), !v.up, "{name}: a failure says why");
        }
    }

    #[test]
    fn certificate_days_are_whole_days_rounded_down() {
        let t = target("");
        let cases = [
            ("90 days", NOW + 90 * DAY, 90),
            ("just under a day", NOW + DAY - 1, 0),
            ("expired an hour ago", NOW - 3600, -1),
        ];
        for (name, not_after, want) in cases {
            let obs = Observation {
                cert_not_after: Some(not_after),
                ..answered(200)
            };
            assert_eq!(judge(&t, &obs, NOW).cert_days_left, Some(want), "{name}");
        }
        assert_eq!(judge(&t, &failed(Stage::Connect), NOW).cert_days_left, None);
    }
}
