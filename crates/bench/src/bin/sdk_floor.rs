//! The floor of a Rust Lambda that talks to AWS: the echo function plus what every such function
//! does at start (load the SDK config, build a client). The gap between this and `echo-floor` is
//! the AWS SDK's start-up (mostly loading the TLS trust store), not failberry's code.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let s3 = &s3;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let _ = s3;
            Ok::<_, Error>(event.payload)
        },
    ))
    .await
}
