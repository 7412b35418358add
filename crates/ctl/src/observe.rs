//! Reads what AWS (or the emulator) holds about a failover record pair. Only reading: nothing here
//! decides anything, and nothing is filled in: an alarm setting AWS did not return is an error,
//! not a guess. The names (alarm name rule, namespace, dimension) are the link contract's,
//! `failberry_failover::link`.

use anyhow::Context;
use aws_sdk_cloudwatch::types::{Dimension, StandardUnit, Statistic as CwStatistic};
use aws_sdk_route53::types::ResourceRecordSetFailover as Failover;
use failberry_failover::link::{self, DIMENSION};
use failberry_failover::{
    AlarmDefinition, Comparison, FailoverAnswer, Statistic, TreatMissingData,
};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ObservedAlarm {
    pub name: String,
    pub definition: AlarmDefinition,
    pub namespace: String,
    pub metric: String,
    pub target: Option<String>,
    /// The state CloudWatch reports (the emulator never evaluates, so it is not trusted there).
    pub reported_state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedLink {
    pub role: FailoverAnswer,
    pub set_identifier: String,
    /// What the record answers: its alias target or its values.
    pub answers: String,
    pub health_check_id: Option<String>,
    pub insufficient_data_health_status: Option<String>,
    /// Route53's own verdict from its checkers (meaningless on the emulator).
    pub reported_health: Option<String>,
    pub alarm: Option<ObservedAlarm>,
    /// One statistic per period, oldest first, ending at the period that holds `now`.
    pub datapoints: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    pub name: String,
    pub now: i64,
    pub period_secs: u32,
    pub links: Vec<ObservedLink>,
}

pub struct Clients {
    pub route53: aws_sdk_route53::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// A failover pair: its zone, its name and its record type (`A` or `AAAA`).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub zone_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
}

/// Reads the failover pair `record` names and everything that decides it, over the last
/// `periods` alarm periods before `now`.
pub async fn observe(
    clients: &Clients,
    record: &Record<'_>,
    now: i64,
    periods: u32,
) -> anyhow::Result<Observed> {
    let Record {
        zone_id,
        name,
        kind,
    } = *record;
    let bare = name.trim_end_matches('.');
    let fqdn = format!("{bare}.");
    let records = clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(&fqdn)
        .send()
        .await
        .with_context(|| format!("reading the records of {name} in zone {zone_id}"))?;
    let mut links = Vec::new();
    for set in records
        .resource_record_sets()
        .iter()
        // Route 53 answers names with their final dot; the emulator keeps them as a stack
        // wrote them, without it.
        .filter(|s| {
            s.name().trim_end_matches('.').eq_ignore_ascii_case(bare)
                && s.r#type().as_str() == kind
                && s.failover().is_some()
        })
    {
        let role = match set.failover() {
            Some(Failover::Primary) => FailoverAnswer::Primary,
            _ => FailoverAnswer::Secondary,
        };
        let set_identifier = set.set_identifier().unwrap_or_default().to_string();
        let answers = match set.alias_target() {
            Some(alias) => format!("{} (alias)", alias.dns_name().trim_end_matches('.')),
            None => set
                .resource_records()
                .iter()
                .map(|r| r.value())
                .collect::<Vec<_>>()
                .join(","),
        };
        let mut link = ObservedLink {
            role,
            set_identifier: set_identifier.clone(),
            answers,
            health_check_id: set.health_check_id().map(str::to_string),
            insufficient_data_health_status: None,
            reported_health: None,
            alarm: None,
            datapoints: Vec::new(),
        };
        // Where a health check's alarm is named when Route53 does not say (the emulator drops
        // `AlarmIdentifier`): the link contract's name for it.
        let mut alarm_name = link::alarm_name(&set_identifier);
        if let Some(id) = set.health_check_id() {
            let check = clients
                .route53
                .get_health_check()
                .health_check_id(id)
                .send()
                .await
                .with_context(|| format!("reading health check {id}"))?;
            if let Some(config) = check.health_check().and_then(|h| h.health_check_config()) {
                link.insufficient_data_health_status = config
                    .insufficient_data_health_status()
                    .map(|s| s.as_str().to_string());
                if let Some(alarm) = config.alarm_identifier() {
                    alarm_name = alarm.name().to_string();
                }
            }
            if let Ok(status) = clients
                .route53
                .get_health_check_status()
                .health_check_id(id)
                .send()
                .await
            {
                let observations = status.health_check_observations();
                let healthy = observations
                    .iter()
                    .filter(|o| {
                        o.status_report()
                            .and_then(|r| r.status())
                            .is_some_and(|s| s.starts_with("Success"))
                    })
                    .count();
                link.reported_health =
                    Some(format!("{healthy}/{} checkers healthy", observations.len()));
            }
        }
        link.alarm = read_alarm(clients, &alarm_name).await?;
        if let Some(alarm) = &link.alarm {
            link.datapoints = read_datapoints(clients, alarm, now, periods).await?;
        }
        links.push(link);
    }
    links.sort_by_key(|l| l.role != FailoverAnswer::Primary);
    let period_secs = links
        .iter()
        .filter_map(|l| l.alarm.as_ref())
        .map(|a| a.definition.period_secs)
        .next()
        .unwrap_or(60);
    Ok(Observed {
        name: bare.to_string(),
        now,
        period_secs,
        links,
    })
}

async fn read_alarm(clients: &Clients, name: &str) -> anyhow::Result<Option<ObservedAlarm>> {
    let out = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .with_context(|| format!("reading alarm {name}"))?;
    let Some(a) = out.metric_alarms().first() else {
        return Ok(None);
    };
    let lacks = |setting: &str| format!("alarm {name} as read has no {setting}");
    let comparison = a
        .comparison_operator()
        .map(|c| c.as_str())
        .with_context(|| lacks("ComparisonOperator"))?;
    let definition = AlarmDefinition {
        period_secs: a.period().with_context(|| lacks("Period"))?.max(0) as u32,
        evaluation_periods: a
            .evaluation_periods()
            .with_context(|| lacks("EvaluationPeriods"))?
            .max(0) as u32,
        datapoints_to_alarm: a.datapoints_to_alarm().map(|d| d.max(0) as u32),
        threshold: a.threshold().with_context(|| lacks("Threshold"))?,
        comparison: comparison
            .parse::<Comparison>()
            .map_err(|e| anyhow::anyhow!("alarm {name}: {e}"))?,
        statistic: a
            .statistic()
            .map(|s| s.as_str().parse::<Statistic>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("alarm {name}: {e}"))?,
        extended_statistic: a.extended_statistic().map(str::to_string),
        treat_missing_data: a
            .treat_missing_data()
            .map(|t| t.parse::<TreatMissingData>())
            .transpose()
            .map_err(|e| anyhow::anyhow!("alarm {name}: {e}"))?,
        metric_math: (!a.metrics().is_empty()).then(|| "metric math".to_string()),
        storage_resolution_secs: None,
    };
    Ok(Some(ObservedAlarm {
        name: name.to_string(),
        definition,
        namespace: a.namespace().unwrap_or_default().to_string(),
        metric: a.metric_name().unwrap_or_default().to_string(),
        target: a
            .dimensions()
            .iter()
            .find(|d| d.name() == Some(DIMENSION))
            .and_then(|d| d.value())
            .map(str::to_string),
        reported_state: a
            .state_value()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    }))
}

async fn read_datapoints(
    clients: &Clients,
    alarm: &ObservedAlarm,
    now: i64,
    periods: u32,
) -> anyhow::Result<Vec<Option<f64>>> {
    let period = i64::from(alarm.definition.period_secs.max(60));
    let end = (now.div_euclid(period) + 1) * period;
    let start = end - period * i64::from(periods);
    // An alarm on an extended statistic (a percentile) has no simple statistic to read; the
    // model refuses it anyway (Route 53 accepts simple statistics only), so no datapoints.
    let Some(statistic) = alarm.definition.statistic else {
        return Ok(Vec::new());
    };
    let mut req = clients
        .cloudwatch
        .get_metric_statistics()
        .namespace(&alarm.namespace)
        .metric_name(&alarm.metric)
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(start))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(end))
        .period(period as i32)
        .statistics(CwStatistic::from(statistic.to_string().as_str()))
        .unit(StandardUnit::None);
    if let Some(target) = &alarm.target {
        req = req.dimensions(Dimension::builder().name(DIMENSION).value(target).build());
    }
    let out = req
        .send()
        .await
        .with_context(|| format!("reading {} datapoints", alarm.metric))?;
    let mut series = vec![None; periods as usize];
    for dp in out.datapoints() {
        let Some(ts) = dp.timestamp().map(|t| t.secs()) else {
            continue;
        };
        let index = (ts.div_euclid(period) * period - start) / period;
        let value = match statistic {
            Statistic::Average => dp.average(),
            Statistic::Sum => dp.sum(),
            Statistic::Minimum => dp.minimum(),
            Statistic::Maximum => dp.maximum(),
            Statistic::SampleCount => dp.sample_count(),
        };
        if let (Ok(i), Some(v)) = (usize::try_from(index), value) {
            if let Some(slot) = series.get_mut(i) {
                *slot = Some(v);
            }
        }
    }
    Ok(series)
}
