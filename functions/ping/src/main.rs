use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use failberry_ping::{AwsPing, Settings, SystemClock};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

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
        config_bucket: env("PING_CONFIG_BUCKET")?,
        config_key: std::env::var("PING_CONFIG_KEY").unwrap_or_else(|_| "ping.json".into()),
        config_max_age: Duration::from_secs(match std::env::var("PING_CONFIG_MAX_AGE_SECS") {
            Ok(s) => s.parse().map_err(|_| {
                format!("PING_CONFIG_MAX_AGE_SECS={s:?} is not a number of seconds")
            })?,
            Err(_) => 30,
        }),
    };
    let sdk = aws_config::load_from_env().await;
    // PutMetricData is retried by the sink's own jittered policy, bounded by the deadline.
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&sdk)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let app = AwsPing::from_clients(cloudwatch, s3, settings, SystemClock);
    let app = &app;
    run(service_fn(
        move |event: LambdaEvent<CloudWatchEvent>| async move { app.handle(event).await },
    ))
    .await
}
