//! The failover chain on the emulator, as the SAM template builds it in AWS: per link an alarm on
//! `Failberry/Ping` `Availability` (failberry's link alarm), a CLOUDWATCH_METRIC health check on
//! it, and the failover record pair — PRIMARY aliased to the wired name, SECONDARY aliased to the
//! wireless name that ddns keeps current. Every name comes from the link contract
//! (`failberry_failover::link`).

use anyhow::Context;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic as CwStatistic};
use aws_sdk_route53::types::{
    AlarmIdentifier, AliasTarget, Change, ChangeAction, ChangeBatch, CloudWatchRegion,
    HealthCheckConfig, HealthCheckType, InsufficientDataHealthStatus, ResourceRecord,
    ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use failberry_failover::link::{self, alarm_name, link_alarm};

/// One side of the pair.
#[derive(Debug, Clone)]
pub struct LinkSeed {
    /// Set identifier of the failover record, and the ping target's name.
    pub name: &'static str,
    /// The name the failover record aliases to.
    pub alias_of: String,
}

/// Creates (or replaces) the link alarm on `target`'s Availability, as the template's
/// `WiredLinkAlarm` and `WirelessLinkAlarm` define it.
pub async fn put_link_alarm(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    target: &str,
) -> anyhow::Result<()> {
    let alarm = link_alarm();
    cloudwatch
        .put_metric_alarm()
        .alarm_name(alarm_name(target))
        .alarm_description(format!(
            "the {target} link stopped answering failberry's pings"
        ))
        .namespace(link::NAMESPACE)
        .metric_name(link::AVAILABILITY_METRIC)
        .dimensions(
            Dimension::builder()
                .name(link::DIMENSION)
                .value(target)
                .build(),
        )
        .statistic(CwStatistic::from(alarm.statistic().as_str()))
        .period(alarm.period_secs().get() as i32)
        .evaluation_periods(alarm.evaluation_periods() as i32)
        .datapoints_to_alarm(alarm.datapoints_to_alarm() as i32)
        .threshold(alarm.threshold())
        .comparison_operator(ComparisonOperator::from(alarm.comparison().as_str()))
        .treat_missing_data(alarm.treat_missing_data().as_str())
        .send()
        .await
        .with_context(|| format!("creating the {target} alarm"))?;
    Ok(())
}

/// Creates both links' alarms and health checks, the wired name's A record (`wired_address`) and
/// the failover record pair of `name` in `zone_id`.
pub async fn seed_pair(
    sdk: &aws_config::SdkConfig,
    zone_id: &str,
    name: &str,
    wired_address: &str,
    primary: &LinkSeed,
    secondary: &LinkSeed,
) -> anyhow::Result<()> {
    let cloudwatch = crate::emulator::cloudwatch_client(sdk);
    let route53 = crate::emulator::route53_client(sdk);
    let mut health_checks = Vec::new();
    for link in [primary, secondary] {
        put_link_alarm(&cloudwatch, link.name).await?;
        let check = route53
            .create_health_check()
            .caller_reference(format!("failberry-{}-{:08x}", link.name, fastrand::u32(..)))
            .health_check_config(
                HealthCheckConfig::builder()
                    .r#type(HealthCheckType::CloudwatchMetric)
                    .alarm_identifier(
                        AlarmIdentifier::builder()
                            .region(CloudWatchRegion::UsEast1)
                            .name(alarm_name(link.name))
                            .build()?,
                    )
                    .insufficient_data_health_status(InsufficientDataHealthStatus::LastKnownStatus)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("creating the {} health check", link.name))?;
        health_checks.push(
            check
                .health_check()
                .map(|h| h.id().to_string())
                .context("no health check id")?,
        );
    }
    let fqdn = |n: &str| format!("{}.", n.trim_end_matches('.'));
    let wired = ResourceRecordSet::builder()
        .name(fqdn(&primary.alias_of))
        .r#type(RrType::A)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(wired_address).build()?)
        .build()?;
    let mut batch = ChangeBatch::builder().changes(
        Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(wired)
            .build()?,
    );
    for (link, role, check) in [
        (
            primary,
            ResourceRecordSetFailover::Primary,
            &health_checks[0],
        ),
        (
            secondary,
            ResourceRecordSetFailover::Secondary,
            &health_checks[1],
        ),
    ] {
        let set = ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(RrType::A)
            .set_identifier(link.name)
            .failover(role)
            .health_check_id(check)
            .alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(zone_id)
                    .dns_name(fqdn(&link.alias_of))
                    .evaluate_target_health(false)
                    .build()?,
            )
            .build()?;
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()?,
        );
    }
    route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch.build()?)
        .send()
        .await
        .context("creating the failover record pair")?;
    Ok(())
}
