//! The one path every protocol takes to change a record: check the host may publish these
//! addresses, read what Route53 holds, and only when something differs admit the change past the
//! replay guard and UPSERT.

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use failberry_aws::{Deferred, DocumentCache, DocumentSource, S3Documents};
use failberry_proto::address::non_public_reason;
use failberry_proto::hostname::in_zone;
use failberry_proto::UpdateStatus;

use crate::dns::{DnsError, DnsStore, Route53Store};
use crate::error::ApiError;
use crate::metric_log::StdoutLog;
use crate::records::plan;
use crate::replay::{Admission, ReplayGuard, S3ReplayGuard, Stamp};
use failberry_proto::address::Addresses;
use failberry_proto::hosts::{DdnsConfig, HostConfig};

use failberry_proto::clock::{Clock, SystemClock};

/// What a change request achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub status: UpdateStatus,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    pub change_id: Option<String>,
}

/// Where the function finds its configuration and replay marks.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_bucket: String,
    pub config_key: String,
    pub config_max_age: Duration,
    pub replay_prefix: String,
}

pub struct Ddns<D, R, S, K, L = StdoutLog> {
    pub dns: D,
    pub replay: R,
    pub config: DocumentCache<S, DdnsConfig>,
    pub clock: K,
    /// Where `/v1/report` writes its metric lines.
    pub report_log: L,
}

/// The deployed shape: Route53, S3 and the system clock.
pub type AwsDdns<K = SystemClock> = Ddns<Route53Store, S3ReplayGuard, S3Documents, K>;

impl<K: Clock> AwsDdns<K> {
    /// Builds the service from SDK clients made once, outside the handler.
    pub fn from_clients(
        route53: aws_sdk_route53::Client,
        s3: aws_sdk_s3::Client,
        settings: Settings,
        clock: K,
    ) -> Self {
        let documents = S3Documents::new(s3.clone(), &settings.config_bucket, &settings.config_key);
        Ddns {
            dns: Route53Store::new(route53),
            replay: S3ReplayGuard::new(s3, settings.config_bucket, settings.replay_prefix),
            config: DocumentCache::new(documents, DdnsConfig::parse, settings.config_max_age),
            clock,
            report_log: StdoutLog::default(),
        }
    }
}

/// The deployed shape with its AWS clients still being built (`failberry_aws::Deferred`): only the
/// calls that reach AWS wait for them, so the first event is fetched, and an answer that needs no
/// AWS call (`GET /v1/myip`, a refusal) given, beside the SDK's start-up.
pub type DeferredDdns<K = SystemClock> =
    Ddns<Deferred<Route53Store>, Deferred<S3ReplayGuard>, Deferred<S3Documents>, K>;

impl<K: Clock> DeferredDdns<K> {
    /// Starts `clients` (Route53, S3) beside the caller, off its thread; the stores are made
    /// from them as [`AwsDdns::from_clients`] makes them.
    pub fn spawn(
        clients: impl Future<Output = (aws_sdk_route53::Client, aws_sdk_s3::Client)> + Send + 'static,
        settings: Settings,
        clock: K,
    ) -> Self {
        let max_age = settings.config_max_age;
        let stores = Arc::new(Deferred::spawn(async move {
            let (route53, s3) = clients.await;
            let documents =
                S3Documents::new(s3.clone(), &settings.config_bucket, &settings.config_key);
            let replay = S3ReplayGuard::new(s3, settings.config_bucket, settings.replay_prefix);
            (Route53Store::new(route53), replay, documents)
        }));
        Ddns {
            dns: Deferred::after(&stores, |(dns, _, _)| dns.clone()),
            replay: Deferred::after(&stores, |(_, replay, _)| replay.clone()),
            config: DocumentCache::new(
                Deferred::after(&stores, |(_, _, documents)| documents.clone()),
                DdnsConfig::parse,
                max_age,
            ),
            clock,
            report_log: StdoutLog::default(),
        }
    }
}

impl<D: DnsStore, R: ReplayGuard, S: DocumentSource, K: Clock, L> Ddns<D, R, S, K, L> {
    pub async fn config(&self) -> Result<Arc<DdnsConfig>, ApiError> {
        self.config.get().await.map_err(|e| {
            tracing::error!(error = %e, "configuration unavailable");
            ApiError::ConfigUnavailable(e.to_string())
        })
    }

    /// Publishes `desired` for `host`. A change (and only a change: a request that would change
    /// nothing writes nothing) must pass the replay guard with `stamp`: a signed one only when
    /// newer than the last change applied for the host.
    pub async fn apply(
        &self,
        host: &HostConfig,
        desired: Addresses,
        stamp: Stamp,
    ) -> Result<Applied, ApiError> {
        if !in_zone(&host.name, &host.zone) {
            return Err(ApiError::OutsideZone {
                hostname: host.name.clone(),
                zone: host.zone.clone(),
            });
        }
        if desired.ipv4.is_some() && !host.allow_a {
            return Err(ApiError::FamilyNotAllowed("A"));
        }
        if desired.ipv6.is_some() && !host.allow_aaaa {
            return Err(ApiError::FamilyNotAllowed("AAAA"));
        }
        if desired.is_empty() {
            return Err(ApiError::Malformed("no address to publish".into()));
        }
        if !host.allow_private {
            if let Some((ip, reason)) = desired
                .iter()
                .find_map(|ip| non_public_reason(ip).map(|r| (ip, r)))
            {
                return Err(ApiError::AddressNotPublic { ip, reason });
            }
        }
        let current = self
            .dns
            .current(&host.zone_id, &host.name)
            .await
            .map_err(dns_error)?;
        let changes = plan(&host.name, host.ttl, &current, &desired);
        let ipv4 = desired.ipv4.or(current.ipv4());
        let ipv6 = desired.ipv6.or(current.ipv6());
        if changes.is_empty() {
            tracing::info!(host = %host.name, ipv4 = %shown(ipv4), ipv6 = %shown(ipv6), "record unchanged");
            return Ok(Applied {
                status: UpdateStatus::Unchanged,
                ipv4,
                ipv6,
                change_id: None,
            });
        }
        let change: Vec<String> = changes
            .iter()
            .map(|u| format!("{:?} {} {}", u.record_type, u.value, u.ttl))
            .collect();
        match self
            .replay
            .admit_change(&host.name, stamp, &change.join(", "))
            .await
        {
            Ok(Admission::Admitted) => {}
            Ok(Admission::AlreadyApplied { last_applied }) => {
                tracing::info!(host = %host.name, ?stamp, last_applied, "change already applied by a request racing this one");
                return Ok(Applied {
                    status: UpdateStatus::Unchanged,
                    ipv4,
                    ipv6,
                    change_id: None,
                });
            }
            Ok(Admission::Replayed { last_applied }) => {
                tracing::warn!(host = %host.name, ?stamp, last_applied, "replayed or out-of-order change refused");
                return Err(ApiError::Replayed { last_applied });
            }
            Err(e) => return Err(ApiError::ConfigUnavailable(format!("replay marks: {e}"))),
        }
        let change_id = self
            .dns
            .upsert(&host.zone_id, &changes)
            .await
            .map_err(dns_error)?;
        tracing::info!(
            host = %host.name,
            old_ipv4 = %shown(current.ipv4()), new_ipv4 = %shown(ipv4),
            old_ipv6 = %shown(current.ipv6()), new_ipv6 = %shown(ipv6),
            change_id = %change_id,
            "record updated"
        );
        Ok(Applied {
            status: UpdateStatus::Updated,
            ipv4,
            ipv6,
            change_id: Some(change_id),
        })
    }
}

/// An optional address for a log line: the address, or `none`.
fn shown<T: std::fmt::Display>(ip: Option<T>) -> String {
    ip.map_or_else(|| "none".into(), |ip| ip.to_string())
}

fn dns_error(e: DnsError) -> ApiError {
    tracing::error!(error = %e, "route53 call failed");
    match e {
        DnsError::Unavailable(_) => ApiError::DnsUnavailable(e.to_string()),
        DnsError::Rejected(_) => ApiError::DnsRejected(e.to_string()),
    }
}
