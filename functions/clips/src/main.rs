use failberry_clips::{AwsClips, Settings, SystemClock};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON or text, and the level, as Lambda's LoggingConfig says.
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings {
        config_bucket: failberry_aws::required_env("CONFIG_BUCKET")?,
        config_key: std::env::var("CONFIG_KEY")
            .unwrap_or_else(|_| failberry_proto::hosts::CONFIG_KEY.into()),
        config_max_age: failberry_aws::env_secs("CONFIG_MAX_AGE_SECS", 10)?,
        replay_prefix: std::env::var("REPLAY_PREFIX")
            .unwrap_or_else(|_| failberry_proto::signing::REPLAY_PREFIX.into()),
        clips_bucket: failberry_aws::required_env("CLIPS_BUCKET")?,
    };
    // Trusts only the Amazon Trust Services roots: no system trust store to load at start.
    let sdk = failberry_aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let app = AwsClips::from_client(s3, settings, SystemClock);
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
