//! The DNS store: read a name's A/AAAA sets and UPSERT changes. `Route53Store` implements it over
//! `aws-sdk-route53` under failberry's one retry policy (`failberry_aws::SdkRetry`: jittered
//! back-off on throttling, 5xx, network errors and Route53's `PriorRequestNotComplete`); the
//! store turns the client's own retries off when it is built, so no two policies stack.

use std::future::Future;
use std::net::IpAddr;

use aws_sdk_route53::config::retry::RetryConfig;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use failberry_aws::{describe_attempts, SdkRetry};

use crate::records::{CurrentRecords, RecordSet, RecordType, Upsert};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// Throttled, busy or unreachable even after retries: the caller may try again later.
    #[error("Route53 is unavailable: {0}")]
    Unavailable(String),
    /// Route53 refused the request itself (no such zone, invalid batch): retrying will not help.
    #[error("Route53 refused the change: {0}")]
    Rejected(String),
}

pub trait DnsStore: Send + Sync {
    fn current(
        &self,
        zone_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<CurrentRecords, DnsError>> + Send;
    /// Applies the UPSERTs in one batch and returns the change id, without waiting for INSYNC.
    fn upsert(
        &self,
        zone_id: &str,
        changes: &[Upsert],
    ) -> impl Future<Output = Result<String, DnsError>> + Send;
}

/// A store whose client is still being built answers once it is.
impl<T: DnsStore + 'static> DnsStore for failberry_aws::Deferred<T> {
    async fn current(&self, zone_id: &str, name: &str) -> Result<CurrentRecords, DnsError> {
        self.get().await.current(zone_id, name).await
    }

    async fn upsert(&self, zone_id: &str, changes: &[Upsert]) -> Result<String, DnsError> {
        self.get().await.upsert(zone_id, changes).await
    }
}

#[derive(Debug, Clone)]
pub struct Route53Store {
    client: aws_sdk_route53::Client,
    retry: SdkRetry,
}

impl Route53Store {
    /// Calls are retried by the store's own jittered policy: the SDK's retries are turned off
    /// here, so that whoever builds the client does not stack two policies.
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_route53::Client::from_conf(config),
            retry: ROUTE53_RETRY,
        }
    }
}

/// Route53's own "try again" beside the common throttling codes.
const ROUTE53_RETRY: SdkRetry = SdkRetry::new(&["PriorRequestNotComplete"]);

/// Unavailable when another attempt later may succeed, rejected when it would not.
fn to_dns_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: SdkError<E, aws_sdk_route53::config::http::HttpResponse>,
    attempts: u32,
) -> DnsError {
    let what = describe_attempts(&e, attempts);
    if ROUTE53_RETRY.retryable(&e) {
        DnsError::Unavailable(what)
    } else {
        DnsError::Rejected(what)
    }
}

/// Route53 returns names with a trailing dot and octal escapes for special characters; our
/// names are lowercase letters, digits, `-` and `_`, which Route53 returns verbatim.
fn same_name(route53: &str, ours: &str) -> bool {
    route53.trim_end_matches('.').eq_ignore_ascii_case(ours)
}

fn parse_values<T: std::str::FromStr>(set: &ResourceRecordSet) -> RecordSet<T> {
    RecordSet {
        values: set
            .resource_records()
            .iter()
            .filter_map(|r| r.value().parse().ok())
            .collect(),
        ttl: set.ttl(),
    }
}

impl DnsStore for Route53Store {
    async fn current(&self, zone_id: &str, name: &str) -> Result<CurrentRecords, DnsError> {
        let (result, attempts) = self
            .retry
            .call(|| {
                self.client
                    .list_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .start_record_name(name)
                    .start_record_type(RrType::A)
                    .max_items(4)
                    .send()
            })
            .await;
        let out = result.map_err(|e| to_dns_error(e, attempts))?;
        let mut current = CurrentRecords::default();
        // Only simple records: weighted/failover sets (with a set identifier) are not ours to move.
        for set in out
            .resource_record_sets()
            .iter()
            .filter(|s| same_name(s.name(), name) && s.set_identifier().is_none())
        {
            match set.r#type() {
                RrType::A => current.a = Some(parse_values(set)),
                RrType::Aaaa => current.aaaa = Some(parse_values(set)),
                _ => {}
            }
        }
        Ok(current)
    }

    async fn upsert(&self, zone_id: &str, changes: &[Upsert]) -> Result<String, DnsError> {
        let batch = change_batch(changes).map_err(|e| DnsError::Rejected(e.to_string()))?;
        let (result, attempts) = self
            .retry
            .call(|| {
                self.client
                    .change_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .change_batch(batch.clone())
                    .send()
            })
            .await;
        let out = result.map_err(|e| to_dns_error(e, attempts))?;
        Ok(out
            .change_info()
            .map(|c| c.id().trim_start_matches("/change/").to_string())
            .unwrap_or_default())
    }
}

fn change_batch(changes: &[Upsert]) -> Result<ChangeBatch, aws_sdk_route53::error::BuildError> {
    let mut batch = ChangeBatch::builder().comment("failberry ddns");
    for u in changes {
        let rtype = match u.record_type {
            RecordType::A => RrType::A,
            RecordType::Aaaa => RrType::Aaaa,
        };
        let value = match u.value {
            IpAddr::V4(v) => v.to_string(),
            IpAddr::V6(v) => v.to_string(),
        };
        let set = ResourceRecordSet::builder()
            .name(&u.name)
            .r#type(rtype)
            .ttl(u.ttl)
            .resource_records(ResourceRecord::builder().value(value).build()?)
            .build()?;
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()?,
        );
    }
    batch.build()
}
