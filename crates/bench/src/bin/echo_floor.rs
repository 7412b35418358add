//! The floor any Rust Lambda pays: a `lambda_runtime` function that answers its event unchanged.
//! `make bench` measures the ddns function's cold start beside this one.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
