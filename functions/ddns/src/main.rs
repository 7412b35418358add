use failberry_ddns::{DeferredDdns, Settings};
use failberry_proto::SystemClock;
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON or text, and the level, as Lambda's LoggingConfig says (AWS_LAMBDA_LOG_FORMAT,
    // AWS_LAMBDA_LOG_LEVEL; RUST_LOG when run elsewhere).
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings {
        config_bucket: failberry_aws::required_env("CONFIG_BUCKET")?,
        config_key: std::env::var("CONFIG_KEY")
            .unwrap_or_else(|_| failberry_proto::hosts::CONFIG_KEY.into()),
        config_max_age: failberry_aws::env_secs("CONFIG_MAX_AGE_SECS", 10)?,
        replay_prefix: std::env::var("REPLAY_PREFIX")
            .unwrap_or_else(|_| failberry_proto::signing::REPLAY_PREFIX.into()),
    };
    // The SDK configuration (trusting only the Amazon Trust Services roots) and clients are
    // built on another thread while the runtime fetches the first event: only the calls that
    // reach AWS wait for them (docs/protocol.md, "Trust store and start-up").
    let app = DeferredDdns::spawn(
        async {
            let sdk = failberry_aws::sdk_config().await;
            (
                aws_sdk_route53::Client::new(&sdk),
                aws_sdk_s3::Client::new(&sdk),
            )
        },
        settings,
        SystemClock,
    );
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
