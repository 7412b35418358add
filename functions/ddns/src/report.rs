//! `POST /v1/report`: the Pi's own view (links from inside, data used this billing month,
//! watchdog actions) turned into CloudWatch metrics as Embedded Metric Format log lines: no IAM
//! permission, no PutMetricData call, namespace `Failberry/Pi`, dimension `Device` (the signing
//! key id, never a value from the body). Signed like `/v1/update`; ordered like it too, on a
//! replay mark of its own (`<key id>/report`), so a replayed or reordered report is refused and
//! a report never blocks an address update signed in the same second. The body's shape and
//! bounds are `proto::report`'s.

use failberry_aws::DocumentSource;
use failberry_proto::paths;
use failberry_proto::report::{self, ActionKind, ReportProblem, ReportRequest, ReportResponse};
use failberry_proto::signing;
use failberry_proto::Clock;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use crate::dns::DnsStore;
use crate::error::{json_response, ApiError};
use crate::metric_log::MetricLog;
use crate::replay::{Ordered, ReplayGuard, Stamp};
use crate::routes::signed_request;
use crate::service::Ddns;

pub const NAMESPACE: &str = "Failberry/Pi";
pub const DEVICE: &str = "Device";
pub const LINK: &str = "Link";

fn emf(timestamp_ms: i64, dimensions: &[&str], fields: Value, metrics: &[(&str, &str)]) -> String {
    let mut root = fields;
    root["_aws"] = json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [dimensions],
            "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
        }],
    });
    root.to_string()
}

/// The EMF lines of a checked report from `device`: one per link (`LinkUp` 1/0,
/// `ProbesAnswered` as a percentage of the targets probed; dimensions Device, Link) and one for
/// the device (`DataUsed` bytes and `DataUsedPercent` of the cap when a cap is set; the actions
/// by kind: `Recoveries`, `Reboots`, `RebootsSkipped`, `BackOffs`, `DataThresholds`).
pub fn emf_lines(device: &str, report: &ReportRequest, timestamp_ms: i64) -> Vec<String> {
    let mut lines = Vec::new();
    for link in &report.links {
        let answered = if link.probed == 0 {
            0.0
        } else {
            f64::from(link.answered) * 100.0 / f64::from(link.probed)
        };
        lines.push(emf(
            timestamp_ms,
            &[DEVICE, LINK],
            json!({DEVICE: device, LINK: link.name, "LinkUp": u8::from(link.up), "ProbesAnswered": answered}),
            &[("LinkUp", "None"), ("ProbesAnswered", "Percent")],
        ));
    }
    let mut fields = json!({ DEVICE: device });
    let mut metrics = Vec::new();
    if let Some(data) = &report.data {
        fields["DataUsed"] = json!(data.used_bytes);
        fields["DataUsedPercent"] = json!(data.used_bytes as f64 * 100.0 / data.cap_bytes as f64);
        metrics.push(("DataUsed", "Bytes"));
        metrics.push(("DataUsedPercent", "Percent"));
    }
    if !report.actions.is_empty() {
        let count = |f: &dyn Fn(&report::ActionReport) -> bool| {
            report.actions.iter().filter(|a| f(a)).count()
        };
        let counts = [
            ("Recoveries", count(&|a| a.kind == ActionKind::Recovery)),
            (
                "Reboots",
                count(&|a| a.kind == ActionKind::Recovery && a.reboot),
            ),
            (
                "RebootsSkipped",
                count(&|a| a.kind == ActionKind::RebootSkipped),
            ),
            ("BackOffs", count(&|a| a.kind == ActionKind::BackOff)),
            (
                "DataThresholds",
                count(&|a| a.kind == ActionKind::DataThreshold),
            ),
        ];
        for (name, n) in counts {
            fields[name] = json!(n);
            metrics.push((name, "Count"));
        }
    }
    if !metrics.is_empty() {
        lines.push(emf(timestamp_ms, &[DEVICE], fields, &metrics));
    }
    lines
}

impl<D: DnsStore, R: ReplayGuard, S: DocumentSource, K: Clock, L: MetricLog> Ddns<D, R, S, K, L> {
    /// Authenticates, checks and orders a report, then writes its metric lines.
    pub(crate) async fn signed_report(
        &self,
        req: &Request,
        now: i64,
    ) -> Result<Response<Body>, ApiError> {
        let config = self.config().await?;
        let (host, report) =
            signing::open::<ReportRequest>(&config, &signed_request(req, paths::REPORT), now)?;
        report::check(&report, &host.name)
            .and_then(|()| report::check_links(&report, &host.links))
            .map_err(|e| match e {
                ReportProblem::OtherDevice { device, .. } => ApiError::HostMismatch {
                    key_id: host.name.clone(),
                    hostname: device,
                },
                ReportProblem::UnknownLink { .. } => ApiError::LinkNotAllowed(e.to_string()),
                ReportProblem::Malformed(m) => ApiError::Malformed(m),
            })?;
        match self
            .replay
            .admit(
                &format!("{}/report", host.name),
                Stamp::Signed(report.timestamp),
            )
            .await
        {
            Ok(Ordered::Admitted) => {}
            Ok(Ordered::Replayed { last_applied }) => {
                return Err(ApiError::Replayed { last_applied })
            }
            Err(e) => return Err(ApiError::ConfigUnavailable(format!("replay marks: {e}"))),
        }
        let lines = emf_lines(&host.name, &report, report.timestamp.saturating_mul(1000));
        if let Err(e) = self.report_log.write_lines(&lines) {
            tracing::error!(device = %host.name, error = %e, "report metrics lost");
            return Err(ApiError::ConfigUnavailable(format!("metric log: {e}")));
        }
        tracing::info!(device = %host.name, links = report.links.len(), actions = report.actions.len(), "report accepted");
        Ok(json_response(
            200,
            &ReportResponse {
                metrics: lines.len() as u32,
                time: now,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failberry_proto::report::{ActionReport, DataReport, LinkReport};

    fn report(
        links: Vec<LinkReport>,
        data: Option<DataReport>,
        actions: Vec<ActionReport>,
    ) -> ReportRequest {
        ReportRequest {
            device: "ignored.example.com".into(),
            timestamp: 1,
            nonce: "0123456789abcdef".into(),
            links,
            data,
            actions,
        }
    }

    fn action(kind: ActionKind, reboot: bool) -> ActionReport {
        ActionReport {
            kind,
            step: None,
            reboot,
            percent: (kind == ActionKind::DataThreshold).then_some(80),
            at: 1,
        }
    }

    /// The lines as (dimensions, metric names, Device value) triples.
    fn shape(lines: &[String]) -> Vec<(Vec<String>, Vec<String>, String)> {
        lines
            .iter()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                let cw = &v["_aws"]["CloudWatchMetrics"][0];
                assert_eq!(cw["Namespace"], NAMESPACE);
                let dims: Vec<String> =
                    serde_json::from_value(cw["Dimensions"][0].clone()).unwrap();
                let names: Vec<String> = cw["Metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        let name = m["Name"].as_str().unwrap().to_string();
                        assert!(v.get(&name).is_some(), "{name} has a value in {line}");
                        name
                    })
                    .collect();
                for d in &dims {
                    assert!(v[d].is_string(), "dimension {d} has a value in {line}");
                }
                (dims, names, v[DEVICE].as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn report_lines() {
        let link = |name: &str, up| LinkReport {
            name: name.into(),
            up,
            answered: 1,
            probed: 3,
        };
        let data = DataReport {
            used_bytes: 800,
            cap_bytes: 1000,
            period_start: 0,
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let link_line = (
            s(&[DEVICE, LINK]),
            s(&["LinkUp", "ProbesAnswered"]),
            "pi.example.com".to_string(),
        );
        let action_names = [
            "Recoveries",
            "Reboots",
            "RebootsSkipped",
            "BackOffs",
            "DataThresholds",
        ];
        let cases = [
            (
                "empty report: no line",
                report(vec![], None, vec![]),
                vec![],
            ),
            (
                "two links",
                report(
                    vec![link("wireless", true), link("wired", false)],
                    None,
                    vec![],
                ),
                vec![link_line.clone(), link_line.clone()],
            ),
            (
                "data only",
                report(vec![], Some(data.clone()), vec![]),
                vec![(
                    s(&[DEVICE]),
                    s(&["DataUsed", "DataUsedPercent"]),
                    "pi.example.com".into(),
                )],
            ),
            (
                "actions only",
                report(vec![], None, vec![action(ActionKind::Recovery, true)]),
                vec![(s(&[DEVICE]), s(&action_names), "pi.example.com".into())],
            ),
        ];
        for (name, r, want) in cases {
            assert_eq!(shape(&emf_lines("pi.example.com", &r, 5)), want, "{name}");
        }
    }

    #[test]
    fn figures_are_right() {
        let r = report(
            vec![LinkReport {
                name: "wireless".into(),
                up: false,
                answered: 1,
                probed: 4,
            }],
            Some(DataReport {
                used_bytes: 800,
                cap_bytes: 1000,
                period_start: 0,
            }),
            vec![
                action(ActionKind::Recovery, false),
                action(ActionKind::Recovery, true),
                action(ActionKind::RebootSkipped, true),
                action(ActionKind::DataThreshold, false),
            ],
        );
        let lines: Vec<Value> = emf_lines("pi.example.com", &r, 1_764_000_000_000)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            (
                lines[0]["LinkUp"].as_u64(),
                lines[0]["ProbesAnswered"].as_f64()
            ),
            (Some(0), Some(25.0))
        );
        assert_eq!(lines[0]["_aws"]["Timestamp"], 1_764_000_000_000_i64);
        let d = &lines[1];
        assert_eq!(d["DataUsedPercent"].as_f64(), Some(80.0));
        assert_eq!(
            [
                &d["Recoveries"],
                &d["Reboots"],
                &d["RebootsSkipped"],
                &d["BackOffs"],
                &d["DataThresholds"]
            ]
            .map(|v| v.as_u64().unwrap()),
            [2, 1, 1, 0, 1]
        );
    }
}
