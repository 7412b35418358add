//! Decides where the failover name points from what `observe` read, and renders it. On the
//! emulator the decision comes from failberry's model of CloudWatch and Route 53 (moto evaluates
//! no alarm and runs no health check); against AWS, Route53's checkers are shown beside it.

use failberry_failover::{
    failover_answer, AlarmState, CloudWatchMetricHealthCheck, FailoverAnswer, HealthCheckSettings,
    HealthStatus, InsufficientDataHealthStatus,
};
use serde::Serialize;

use crate::observe::{Observed, ObservedLink};

#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    pub role: FailoverAnswer,
    pub set_identifier: String,
    pub answers: String,
    pub health_check_id: Option<String>,
    pub alarm: Option<String>,
    pub target: Option<String>,
    /// The alarm state the datapoints give (the model).
    pub alarm_state: Option<AlarmState>,
    /// The state CloudWatch reports.
    pub reported_alarm_state: Option<String>,
    /// `None`: the record has no health check and always counts as healthy.
    pub health: Option<HealthStatus>,
    pub reported_health: Option<String>,
    pub datapoints: Vec<Option<f64>>,
    /// Why this link could not be modelled, if it could not.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    pub at: i64,
    pub answer: Option<FailoverAnswer>,
    /// What the answer resolves to: the chosen record's target.
    pub answers_with: Option<String>,
    pub reason: String,
    pub decided_by: &'static str,
    pub links: Vec<LinkStatus>,
}

/// Steps one link's health check through its datapoints, oldest first.
fn model_link(link: &ObservedLink) -> LinkStatus {
    let mut status = LinkStatus {
        role: link.role,
        set_identifier: link.set_identifier.clone(),
        answers: link.answers.clone(),
        health_check_id: link.health_check_id.clone(),
        alarm: link.alarm.as_ref().map(|a| a.name.clone()),
        target: link.alarm.as_ref().and_then(|a| a.target.clone()),
        alarm_state: None,
        reported_alarm_state: link.alarm.as_ref().map(|a| a.reported_state.clone()),
        health: None,
        reported_health: link.reported_health.clone(),
        datapoints: link.datapoints.clone(),
        problem: None,
    };
    if link.health_check_id.is_none() {
        return status;
    }
    let Some(alarm) = &link.alarm else {
        status.problem = Some("its health check's alarm was not found".into());
        status.health = Some(HealthStatus::Unhealthy);
        return status;
    };
    let settings = HealthCheckSettings {
        insufficient_data_health_status: link
            .insufficient_data_health_status
            .as_deref()
            .and_then(|s| s.parse::<InsufficientDataHealthStatus>().ok())
            .unwrap_or(InsufficientDataHealthStatus::LastKnownStatus),
        ..HealthCheckSettings::default()
    };
    let mut check = match CloudWatchMetricHealthCheck::new(&alarm.definition, settings) {
        Ok(c) => c,
        Err(e) => {
            status.problem = Some(format!("Route 53 would refuse this health check: {e}"));
            return status;
        }
    };
    let health = check.replay(&link.datapoints);
    status.alarm_state = Some(check.alarm_state_from_data());
    status.health = Some(health);
    status
}

/// The decision for `observed`.
pub fn decide(observed: &Observed, decided_by: &'static str) -> Status {
    let links: Vec<LinkStatus> = observed.links.iter().map(model_link).collect();
    let primary = links.iter().find(|l| l.role == FailoverAnswer::Primary);
    let secondary = links.iter().find(|l| l.role == FailoverAnswer::Secondary);
    let (answer, answers_with, reason) = match (primary, secondary) {
        (Some(p), Some(s)) => {
            let decision = failover_answer(p.health, s.health);
            let with = match decision.answer {
                FailoverAnswer::Primary => p.answers.clone(),
                FailoverAnswer::Secondary => s.answers.clone(),
            };
            (
                Some(decision.answer),
                Some(with),
                decision.reason.to_string(),
            )
        }
        _ => (
            None,
            None,
            format!("{} has no PRIMARY/SECONDARY failover pair", observed.name),
        ),
    };
    Status {
        name: observed.name.clone(),
        at: observed.now,
        answer,
        answers_with,
        reason,
        decided_by,
        links,
    }
}

fn series(points: &[Option<f64>]) -> String {
    points
        .iter()
        .map(|p| p.map_or_else(|| "  -".to_string(), |v| format!("{v:.2}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The human table.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    match (&status.answer, &status.answers_with) {
        (Some(answer), Some(with)) => out.push_str(&format!(
            "{} → {answer}: {with}\n  why: {}\n",
            status.name, status.reason
        )),
        _ => out.push_str(&format!("{}: {}\n", status.name, status.reason)),
    }
    out.push_str(&format!("  decided by: {}\n\n", status.decided_by));
    for l in &status.links {
        let health = l.health.map_or_else(
            || "healthy (no health check)".to_string(),
            |h| h.to_string(),
        );
        out.push_str(&format!(
            "  {:<9} {:<10} answers {}\n",
            l.role.as_str(),
            l.set_identifier,
            l.answers
        ));
        out.push_str(&format!(
            "            health check {}  alarm {}  target {}\n",
            l.health_check_id.as_deref().unwrap_or("-"),
            l.alarm.as_deref().unwrap_or("-"),
            l.target.as_deref().unwrap_or("-")
        ));
        out.push_str(&format!(
            "            alarm state {} (CloudWatch says {})  health {}{}\n",
            l.alarm_state.map_or("-".to_string(), |s| s.to_string()),
            l.reported_alarm_state.as_deref().unwrap_or("-"),
            health,
            l.reported_health
                .as_deref()
                .map(|r| format!(" (Route53: {r})"))
                .unwrap_or_default()
        ));
        out.push_str(&format!(
            "            availability, oldest → newest: {}\n",
            series(&l.datapoints)
        ));
        if let Some(p) = &l.problem {
            out.push_str(&format!("            problem: {p}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ObservedAlarm;
    use failberry_failover::{link, link_alarm_definition};

    fn link(role: FailoverAnswer, datapoints: Vec<Option<f64>>) -> ObservedLink {
        let set_identifier = role.as_str().to_lowercase();
        ObservedLink {
            role,
            set_identifier: set_identifier.clone(),
            answers: format!("{set_identifier}.home.example.com"),
            health_check_id: Some(format!("hc-{role}")),
            insufficient_data_health_status: Some("LastKnownStatus".into()),
            reported_health: None,
            alarm: Some(ObservedAlarm {
                name: link::alarm_name(&set_identifier),
                definition: link_alarm_definition(),
                namespace: link::NAMESPACE.into(),
                metric: link::AVAILABILITY_METRIC.into(),
                target: Some(set_identifier),
                reported_state: "OK".into(),
            }),
            datapoints,
        }
    }

    fn observed(primary: Vec<Option<f64>>, secondary: Vec<Option<f64>>) -> Observed {
        Observed {
            name: "vpn.home.example.com".into(),
            now: 0,
            period_secs: 60,
            links: vec![
                link(FailoverAnswer::Primary, primary),
                link(FailoverAnswer::Secondary, secondary),
            ],
        }
    }

    #[test]
    fn decisions() {
        let up = vec![Some(1.0); 10];
        let wire_dead = [vec![Some(1.0); 5], vec![Some(0.0); 5]].concat();
        let nothing = vec![None; 10];
        let cases = [
            ("both up", up.clone(), up.clone(), FailoverAnswer::Primary),
            (
                "wired dead for 5 minutes",
                wire_dead.clone(),
                up.clone(),
                FailoverAnswer::Secondary,
            ),
            (
                "both dead: fail safe",
                wire_dead.clone(),
                wire_dead.clone(),
                FailoverAnswer::Primary,
            ),
            (
                "no data at all: fail safe",
                nothing.clone(),
                nothing,
                FailoverAnswer::Primary,
            ),
        ];
        for (name, p, s, want) in cases {
            let status = decide(&observed(p, s), "model");
            assert_eq!(status.answer, Some(want), "{name}: {}", status.reason);
        }
    }

    #[test]
    fn missing_alarm_counts_as_unhealthy_and_is_said() {
        let mut obs = observed(vec![Some(1.0); 5], vec![Some(1.0); 5]);
        obs.links[0].alarm = None;
        let status = decide(&obs, "model");
        assert_eq!(status.answer, Some(FailoverAnswer::Secondary));
        assert!(render(&status).contains("problem: its health check's alarm was not found"));
    }
}
