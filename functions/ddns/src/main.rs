use std::time::Duration;

use aws_config::retry::RetryConfig;
use failberry_ddns::{AwsDdns, Settings, SystemClock};
use lambda_http::{run, service_fn, Error, Request};

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let settings = Settings {
        config_bucket: env("CONFIG_BUCKET")?,
        config_key: std::env::var("CONFIG_KEY").unwrap_or_else(|_| "ddns.json".into()),
        config_max_age: Duration::from_secs(
            env("CONFIG_MAX_AGE_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10),
        ),
        nonce_prefix: std::env::var("NONCE_PREFIX").unwrap_or_else(|_| "nonces/".into()),
    };
    let sdk = aws_config::load_from_env().await;
    // Route53 calls are retried by the store's own jittered policy; one policy, not two stacked.
    let route53 = aws_sdk_route53::Client::from_conf(
        aws_sdk_route53::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let app = AwsDdns::from_clients(route53, s3, settings, SystemClock);
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
