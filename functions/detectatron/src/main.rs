use std::sync::Arc;

use failberry_detectatron::{Config, ConfigSource, Detectatron, RekognitionLabeler, S3Clips};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    // Trusts only the Amazon Trust Services roots: no system trust store to load at start.
    let sdk = failberry_aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let labeler = RekognitionLabeler::new(aws_sdk_rekognition::Client::new(&sdk));
    // The config document is optional: without DETECTATRON_CONFIG_BUCKET the defaults apply.
    let source: Box<dyn ConfigSource> = match std::env::var("DETECTATRON_CONFIG_BUCKET") {
        Ok(bucket) => {
            let key = std::env::var("DETECTATRON_CONFIG_KEY")
                .unwrap_or_else(|_| "detectatron.json".into());
            let max_age = failberry_aws::env_secs("DETECTATRON_CONFIG_MAX_AGE_SECS", 60)?;
            Box::new(failberry_aws::DocumentCache::new(
                failberry_aws::S3Documents::new(s3.clone(), bucket, key),
                Config::parse,
                max_age,
            ))
        }
        Err(_) => Box::new(Arc::new(Config::default())),
    };
    let app = Detectatron::new(S3Clips::new(s3), labeler, source);
    let app = &app;
    // S3 invokes the function asynchronously with the notification itself.
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { app.handle(event).await },
    ))
    .await
}
