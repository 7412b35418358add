use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use failberry_ping::{AwsPing, Settings};
use failberry_proto::SystemClock;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON or text, and the level, as Lambda's LoggingConfig says (AWS_LAMBDA_LOG_FORMAT,
    // AWS_LAMBDA_LOG_LEVEL; RUST_LOG when run elsewhere).
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings {
        config_bucket: failberry_aws::required_env("PING_CONFIG_BUCKET")?,
        config_key: std::env::var("PING_CONFIG_KEY")
            .unwrap_or_else(|_| failberry_failover::link::PING_CONFIG_KEY.into()),
        config_max_age: failberry_aws::env_secs("PING_CONFIG_MAX_AGE_SECS", 30)?,
    };
    // Trusts only the Amazon Trust Services roots: no system trust store to load at start.
    let sdk = failberry_aws::sdk_config().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let app = AwsPing::from_clients(cloudwatch, s3, settings, SystemClock);
    let app = &app;
    run(service_fn(
        move |event: LambdaEvent<CloudWatchEvent>| async move { app.handle(event).await },
    ))
    .await
}
