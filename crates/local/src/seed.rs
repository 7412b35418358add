//! The demo world: a config bucket, the hosted zone `home.example.com.` and a ddns config document
//! with one host whose credentials are printed for the user to try. The failover chain on top of
//! it (alarms, health checks, the record pair) is `links`'s.

pub mod links;

use anyhow::Context;
use aws_sdk_route53::types::HostedZoneConfig;
use sha2::{Digest, Sha256};

pub const ZONE: &str = "home.example.com";
pub const HOSTNAME: &str = "wireless.home.example.com";
/// Demo credentials: the local stack listens on loopback only; never reuse these.
pub const SECRET: &str = "demo-secret-change-me-0123456789";
pub const DYNDNS2_PASSWORD: &str = "demo-dyndns2-password";

#[derive(Debug, Clone)]
pub struct Seeded {
    pub zone_id: String,
}

/// Options for one host in the seeded document.
#[derive(Debug, Clone)]
pub struct HostSeed {
    pub hostname: String,
    pub secret: String,
    pub dyndns2_password: Option<String>,
    pub allow_private: bool,
    pub legacy: bool,
    pub record_types: Vec<&'static str>,
}

impl Default for HostSeed {
    fn default() -> Self {
        Self {
            hostname: HOSTNAME.into(),
            secret: SECRET.into(),
            dyndns2_password: Some(DYNDNS2_PASSWORD.into()),
            allow_private: false,
            legacy: true,
            record_types: vec!["A", "AAAA"],
        }
    }
}

/// The config document for `hosts` in `zone_id`.
pub fn config_document(zone_id: &str, hosts: &[HostSeed]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for h in hosts {
        let mut host = serde_json::json!({
            "zone_id": zone_id,
            "zone": ZONE,
            "ttl": 60,
            "record_types": h.record_types,
            "secret": h.secret,
            "allow_private": h.allow_private,
            "legacy": h.legacy,
            // Every seeded host may upload camera clips (to the stack's one bucket).
            "clips": {"enabled": true},
        });
        if let Some(p) = &h.dyndns2_password {
            host["dyndns2_password_sha256"] = hex::encode(Sha256::digest(p.as_bytes())).into();
        }
        map.insert(h.hostname.clone(), host);
    }
    serde_json::json!({ "hosts": map })
}

/// Creates the bucket, the zone and the config document.
pub async fn seed(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    hosts: &[HostSeed],
) -> anyhow::Result<Seeded> {
    let s3 = crate::emulator::s3_client(sdk);
    let route53 = crate::emulator::route53_client(sdk);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .with_context(|| format!("creating bucket {bucket}"))?;
    let zone = route53
        .create_hosted_zone()
        .name(format!("{ZONE}."))
        .caller_reference(format!("failberry-{}", fastrand::u64(..)))
        .hosted_zone_config(
            HostedZoneConfig::builder()
                .comment("failberry demo")
                .build(),
        )
        .send()
        .await
        .context("creating the hosted zone")?;
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .context("moto returned no hosted zone")?;
    let doc = config_document(&zone_id, hosts);
    s3.put_object()
        .bucket(bucket)
        .key(failberry_proto::hosts::CONFIG_KEY)
        .content_type("application/json")
        .body(serde_json::to_vec_pretty(&doc)?.into())
        .send()
        .await
        .context("writing the ddns config document")?;
    Ok(Seeded { zone_id })
}
