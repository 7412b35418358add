//! `POST /v1/report`: the Pi's own view of its links, the wireless link's data used this billing
//! month and the watchdog's actions, signed like `/v1/update` (same headers, same canonical
//! string, the device's hostname as key id). The body's shape and bounds live here once; the
//! ddns function checks a body with [`check`] after the signature holds, and the client builds
//! bodies that pass it.

use serde::{Deserialize, Serialize};

use crate::update::valid_nonce;

/// Largest report body accepted; anything bigger is refused before parsing.
pub const MAX_REPORT_BYTES: usize = 4096;
/// Links in one report (wireless, wired, and room for a spare).
pub const MAX_LINKS: usize = 4;
/// The links a device reports unless its host entry lists its own (`links`): the two the
/// watchdog watches. Each is two CloudWatch metrics billed by the month, so a device may not mint
/// new ones at will.
pub const DEFAULT_LINKS: [&str; 2] = ["wired", "wireless"];
/// Actions in one report; a client with more keeps the newest.
pub const MAX_ACTIONS: usize = 16;
/// Link and step names: 1-32 of `[A-Za-z0-9_-]`, safe as a CloudWatch dimension value.
pub const MAX_NAME_CHARS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The reporting device: must be the key id the request is signed with.
    pub device: String,
    /// Unix seconds when the report was signed; ordered like updates (see `docs/protocol.md`).
    pub timestamp: i64,
    pub nonce: String,
    #[serde(default)]
    pub links: Vec<LinkReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataReport>,
    #[serde(default)]
    pub actions: Vec<ActionReport>,
}

/// A link as seen from inside at the last round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkReport {
    pub name: String,
    pub up: bool,
    /// Probe targets that answered in the last round, of `probed`.
    pub answered: u32,
    pub probed: u32,
}

/// The wireless link's use this billing month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataReport {
    pub used_bytes: u64,
    pub cap_bytes: u64,
    /// Unix seconds of the start of the billing month.
    pub period_start: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A recovery step ran (`step` names it).
    Recovery,
    /// A reboot step was skipped: the day's reboots were used up.
    RebootSkipped,
    /// The whole ladder failed: waiting before starting over.
    BackOff,
    /// The link came back; the ladder starts from its first step again.
    Recovered,
    /// The month's use crossed `percent` of the cap.
    DataThreshold,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Recovery => "recovery",
            ActionKind::RebootSkipped => "reboot_skipped",
            ActionKind::BackOff => "back_off",
            ActionKind::Recovered => "recovered",
            ActionKind::DataThreshold => "data_threshold",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionReport {
    pub kind: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Whether the step was a reboot.
    #[serde(default)]
    pub reboot: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResponse {
    /// Metric lines written.
    pub metrics: u32,
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportProblem {
    #[error("the report is about {device:?}, but signed by {key_id:?}: a device reports only its own figures")]
    OtherDevice { device: String, key_id: String },
    #[error("link {name:?} is not one this device reports (it may report {}; list others in its host entry's \"links\")", .allowed.join(", "))]
    UnknownLink { name: String, allowed: Vec<String> },
    #[error("{0}")]
    Malformed(String),
}

/// Whether `name` is a safe link name (a CloudWatch dimension value).
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks a parsed report signed by `key_id` (already normalised): its device is the signer, its
/// lists are bounded, its names are safe dimension values and its figures add up.
pub fn check(report: &ReportRequest, key_id: &str) -> Result<(), ReportProblem> {
    let malformed = |m: String| Err(ReportProblem::Malformed(m));
    let device = crate::hostname::normalize_fqdn(&report.device);
    if device.as_deref() != Some(key_id) {
        return Err(ReportProblem::OtherDevice {
            device: report.device.clone(),
            key_id: key_id.to_string(),
        });
    }
    if !valid_nonce(&report.nonce) {
        return malformed("nonce must be 16-64 characters of A-Z a-z 0-9 - _".into());
    }
    if report.links.len() > MAX_LINKS {
        return malformed(format!("at most {MAX_LINKS} links"));
    }
    if report.actions.len() > MAX_ACTIONS {
        return malformed(format!("at most {MAX_ACTIONS} actions"));
    }
    for (i, link) in report.links.iter().enumerate() {
        if !valid_name(&link.name) {
            return malformed(format!(
                "links[{i}].name must be 1-{MAX_NAME_CHARS} of A-Z a-z 0-9 - _"
            ));
        }
        if report.links[..i].iter().any(|l| l.name == link.name) {
            return malformed(format!("links[{i}].name {:?} is listed twice", link.name));
        }
        if link.answered > link.probed {
            return malformed(format!(
                "links[{i}]: more targets answered than were probed"
            ));
        }
    }
    if let Some(data) = &report.data {
        if data.cap_bytes == 0 {
            return malformed("data.cap_bytes must be positive".into());
        }
    }
    for (i, action) in report.actions.iter().enumerate() {
        if let Some(step) = &action.step {
            if !valid_name(step) {
                return malformed(format!(
                    "actions[{i}].step must be 1-{MAX_NAME_CHARS} of A-Z a-z 0-9 - _"
                ));
            }
        }
        if action.kind == ActionKind::DataThreshold && action.percent.is_none() {
            return malformed(format!(
                "actions[{i}]: a data_threshold action needs its percent"
            ));
        }
    }
    Ok(())
}

/// Refuses a report naming a link outside `allowed` (the host's `links`): the metrics a device
/// can create, and be billed for, are bounded by its configuration, not by what it sends.
pub fn check_links(report: &ReportRequest, allowed: &[String]) -> Result<(), ReportProblem> {
    match report.links.iter().find(|l| !allowed.contains(&l.name)) {
        None => Ok(()),
        Some(link) => Err(ReportProblem::UnknownLink {
            name: link.name.clone(),
            allowed: allowed.to_vec(),
        }),
    }
}

impl crate::signing::Signed for ReportRequest {
    const WHAT: &'static str = "a report";
    const MAX_BYTES: usize = MAX_REPORT_BYTES;
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn nonce(&self) -> &str {
        &self.nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ReportRequest {
        ReportRequest {
            device: "wireless.home.example.com".into(),
            timestamp: 1_764_000_000,
            nonce: "0123456789abcdef0123456789abcdef".into(),
            links: vec![LinkReport {
                name: "wireless".into(),
                up: true,
                answered: 2,
                probed: 3,
            }],
            data: Some(DataReport {
                used_bytes: 5,
                cap_bytes: 10,
                period_start: 1_763_000_000,
            }),
            actions: vec![ActionReport {
                kind: ActionKind::Recovery,
                step: Some("redial".into()),
                reboot: false,
                percent: None,
                at: 1_763_999_000,
            }],
        }
    }

    #[test]
    fn reports_are_checked() {
        type Edit = fn(&mut ReportRequest);
        let cases: [(&str, Edit, Option<&str>); 10] = [
            ("as built", |_| {}, None),
            (
                "device spelled differently",
                |r| r.device = "Wireless.Home.Example.com.".into(),
                None,
            ),
            (
                "another device",
                |r| r.device = "other.home.example.com".into(),
                Some("only its own"),
            ),
            ("short nonce", |r| r.nonce = "abc".into(), Some("nonce")),
            (
                "too many links",
                |r| r.links = vec![r.links[0].clone(); 5],
                Some("at most 4 links"),
            ),
            (
                "duplicate link",
                |r| r.links.push(r.links[0].clone()),
                Some("listed twice"),
            ),
            (
                "answered > probed",
                |r| r.links[0].answered = 4,
                Some("more targets answered"),
            ),
            (
                "dimension injection",
                |r| r.links[0].name = "a\",\"b".into(),
                Some("links[0].name"),
            ),
            (
                "zero cap",
                |r| r.data.as_mut().unwrap().cap_bytes = 0,
                Some("cap_bytes"),
            ),
            (
                "threshold without percent",
                |r| r.actions[0].kind = ActionKind::DataThreshold,
                Some("percent"),
            ),
        ];
        for (name, edit, want) in cases {
            let mut r = report();
            edit(&mut r);
            let got = check(&r, "wireless.home.example.com");
            match want {
                None => assert_eq!(got, Ok(()), "{name}"),
                Some(text) => {
                    let e = got.expect_err(name).to_string();
                    assert!(e.contains(text), "{name}: {e}");
                }
            }
        }
    }

    #[test]
    fn wire_names_and_unknown_fields() {
        let json = serde_json::to_value(report()).unwrap();
        assert_eq!(json["actions"][0]["kind"], "recovery");
        let mut extra = json.clone();
        extra["links"][0]["latency"] = 5.into();
        assert!(serde_json::from_value::<ReportRequest>(extra).is_err());
        let minimal = r#"{"device":"a.b","timestamp":1,"nonce":"abcdefghijklmnop"}"#;
        let parsed: ReportRequest = serde_json::from_str(minimal).unwrap();
        assert!(parsed.links.is_empty() && parsed.data.is_none());
        for kind in [
            ActionKind::Recovery,
            ActionKind::RebootSkipped,
            ActionKind::BackOff,
            ActionKind::Recovered,
            ActionKind::DataThreshold,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
