//! The config bucket found from a CloudFormation stack by name, on the emulator (moto creates the
//! stack's bucket and resolves its outputs; `make test` sets `FAILBERRY_MOTO_URL`): the stack's
//! outputs and parameters, then the binary editing through `--stack` alone.

use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use failberry_ctl::stack::{describe, resolve, Overrides};

fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("this test needs the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

/// A plain CloudFormation template with what failberry's stack exposes to the tool: the config
/// bucket as an output, the API URL, the document keys as parameters.
const TEMPLATE: &str = r#"
Parameters:
  ConfigKey: { Type: String, Default: hosts.json }
Resources:
  ConfigBucket: { Type: AWS::S3::Bucket }
Outputs:
  ConfigBucketName: { Value: !Ref ConfigBucket }
  ApiUrl: { Value: "https://abc123.execute-api.us-east-1.amazonaws.com" }
"#;

#[tokio::test]
async fn the_stack_names_the_bucket_and_the_keys() {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
    let name = format!("failberry-{:08x}", fastrand::u32(..));
    cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(TEMPLATE)
        .send()
        .await
        .expect("stack created");

    let facts = describe(&cloudformation, &name).await.expect("described");
    let (location, api_url) = resolve(Some(&facts), &Overrides::default()).unwrap();
    assert!(!location.bucket.is_empty());
    assert_eq!(
        (location.hosts_key.as_str(), location.ping_key.as_str()),
        ("hosts.json", "ping.json"),
        "the stack's ConfigKey, the default ping key"
    );
    assert_eq!(
        api_url.as_ref().map(|a| a.url.as_str()),
        Some("https://abc123.execute-api.us-east-1.amazonaws.com")
    );

    let missing = describe(&cloudformation, "no-such-stack")
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no-such-stack"), "{missing}");

    // The binary with nothing but the stack's name.
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_failberry-ctl"))
            .args(args)
            .env("AWS_ENDPOINT_URL", moto_url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("FAILBERRY_STACK", &name)
            .env_remove("FAILBERRY_CONFIG_BUCKET")
            .output()
            .unwrap()
    };
    let added = ctl(&[
        "host",
        "add",
        "wireless.home.example.com",
        "--zone",
        "home.example.com",
        "--zone-id",
        "Z0123456789",
    ]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        stdout.contains(&format!("s3://{}/hosts.json", location.bucket)),
        "{stdout}"
    );
    assert!(
        stdout.contains("server=abc123.execute-api.us-east-1.amazonaws.com"),
        "the printed settings use the stack's ApiUrl: {stdout}"
    );
    let listed = ctl(&["host", "list"]);
    let list = String::from_utf8_lossy(&listed.stdout);
    assert!(list.contains("wireless.home.example.com"), "{list}");
    assert!(!list.contains("secret"), "no secret in the list: {list}");
}
