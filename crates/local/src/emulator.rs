//! Points the AWS SDK at the emulator (moto server) with dummy credentials and a fixed region.

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};

pub const REGION: &str = "us-east-1";

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "failberry-local",
        ))
        .load()
        .await
}

/// S3 on a bare host:port needs path-style addressing.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

pub fn route53_client(sdk: &aws_config::SdkConfig) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(sdk)
}

/// The ddns function wired to the emulator: its config document at `seed::CONFIG_KEY` in
/// `bucket`, replay marks beside it.
pub fn ddns<K: failberry_ddns::Clock>(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    config_max_age: std::time::Duration,
    clock: K,
) -> failberry_ddns::AwsDdns<K> {
    let settings = failberry_ddns::Settings {
        config_bucket: bucket.into(),
        config_key: crate::seed::CONFIG_KEY.into(),
        config_max_age,
        replay_prefix: "replay/".into(),
    };
    failberry_ddns::AwsDdns::from_clients(route53_client(sdk), s3_client(sdk), settings, clock)
}

/// Clears the emulator (moto's `POST /moto-api/reset`).
pub async fn reset(endpoint: &str) -> anyhow::Result<()> {
    let url = format!("{}/moto-api/reset", endpoint.trim_end_matches('/'));
    reqwest::Client::new()
        .post(url)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
