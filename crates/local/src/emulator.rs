//! Points the AWS SDK at the emulator (moto server) with dummy credentials and a fixed region,
//! builds the clients the stack uses (with `list_parts`'s fix-up of one moto answer), and clears
//! the emulator. Knows nothing of what is seeded.

mod list_parts;

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
            .interceptor(list_parts::ListPartsRoot)
            .build(),
    )
}

pub fn route53_client(sdk: &aws_config::SdkConfig) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(sdk)
}

pub fn cloudwatch_client(sdk: &aws_config::SdkConfig) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(sdk)
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
