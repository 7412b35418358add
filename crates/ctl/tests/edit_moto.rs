//! The editing commands against the emulator's S3 (moto; `make test` starts it and sets
//! `FAILBERRY_MOTO_URL`): documents created with `If-None-Match: *`, edited over their ETag, two
//! racing edits of which one is refused, whole documents pulled and pushed, and the binary's
//! exit code and one-line message on bad input. Each test has its own bucket.

use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use failberry_ctl::commands;
use failberry_ctl::documents::{begin, commit, Doc, DocumentStore, EditError, Location, S3Store};
use failberry_ctl::hosts::NewHost;
use failberry_ctl::targets::{self, NewTarget};

fn moto_url() -> String {
    std::env::var("FAILBERRY_MOTO_URL").unwrap_or_else(|_| {
        panic!("this test needs the AWS emulator: run `make test`, which starts moto and sets FAILBERRY_MOTO_URL")
    })
}

async fn store() -> (S3Store, Location) {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("failberry-ctl-{:08x}", fastrand::u32(..));
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let location = Location {
        bucket: bucket.clone(),
        hosts_key: "ddns.json".into(),
        ping_key: "ping.json".into(),
    };
    (S3Store { client, bucket }, location)
}

fn target(name: &str) -> NewTarget {
    NewTarget {
        name: name.into(),
        url: format!("https://{name}.example.com/"),
        ..NewTarget::default()
    }
}

#[tokio::test]
async fn two_racing_edits_one_is_refused_and_nothing_is_lost() {
    let (store, location) = store().await;
    commands::target_add(&store, &location, &target("blog"))
        .await
        .expect("the document is created");

    // Two owners read the same version, each adds a target.
    let first = begin(&store, &location, Doc::Ping).await.unwrap();
    let second = begin(&store, &location, Doc::Ping).await.unwrap();
    assert_eq!(first.etag, second.etag);
    let a = targets::add(first.value.clone(), &target("nas")).unwrap();
    let b = targets::add(second.value.clone(), &target("nvr")).unwrap();
    commit(&store, &first, &a)
        .await
        .expect("the first write wins");
    let refused = commit(&store, &second, &b).await.unwrap_err();
    assert!(matches!(refused, EditError::Conflict { .. }), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "ping.json changed since it was read (someone else edited it at the same time): nothing was written; run the command again"
    );

    let list = commands::target_list(&store, &location).await.unwrap();
    assert!(list.contains("blog") && list.contains("nas"), "{list}");
    assert!(
        !list.contains("nvr"),
        "the refused edit wrote nothing: {list}"
    );

    // Creating races the same way: If-None-Match: * lets one creator through.
    let (store, location) = self::store().await;
    let first = begin(&store, &location, Doc::Hosts).await.unwrap();
    let second = begin(&store, &location, Doc::Hosts).await.unwrap();
    assert!(first.etag.is_none() && first.value.is_none());
    let doc = serde_json::json!({"hosts": {}});
    commit(&store, &first, &doc).await.expect("created");
    assert!(matches!(
        commit(&store, &second, &doc).await,
        Err(EditError::Conflict { .. })
    ));
}

#[tokio::test]
async fn host_add_rotate_list_remove() {
    let (store, location) = store().await;
    let host = NewHost {
        name: "wireless.home.example.com".into(),
        zone: "home.example.com".into(),
        zone_id: "Z0123456789".into(),
        dyndns2_user: None,
        clips: true,
    };
    let shown = commands::host_add(&store, &location, &host, Some("https://api.example/"))
        .await
        .unwrap();
    let secret_line = shown
        .lines()
        .find(|l| l.starts_with("secret = "))
        .expect("the Pi's secret is shown once");
    let secret = secret_line
        .trim_start_matches("secret = ")
        .trim_matches('"');
    let password_line = shown.lines().find(|l| l.starts_with("password='")).unwrap();
    let password = password_line
        .trim_start_matches("password='")
        .trim_end_matches('\'');

    let stored = store.read("ddns.json").await.unwrap().unwrap();
    let text = String::from_utf8(stored.bytes.clone()).unwrap();
    assert!(text.contains(secret), "the function needs the secret");
    assert!(
        !text.contains(password),
        "only the password's hash is stored"
    );
    let config = failberry_proto::hosts::DdnsConfig::parse(&stored.bytes).unwrap();
    assert_eq!(
        config
            .dyndns2_account("wireless.home.example.com", password)
            .len(),
        1,
        "the ddns function accepts the printed password"
    );

    let listed = commands::host_list(&store, &location).await.unwrap();
    assert!(listed.contains("wireless.home.example.com"), "{listed}");
    assert!(!listed.contains(secret) && !listed.contains(password));

    let again = commands::host_add(&store, &location, &host, None)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("exists"), "{again}");

    let rotated = commands::host_rotate(
        &store,
        &location,
        "wireless.home.example.com",
        false,
        true,
        None,
    )
    .await
    .unwrap();
    assert!(
        !rotated.contains("secret = "),
        "only the password was rotated"
    );
    let config = failberry_proto::hosts::DdnsConfig::parse(
        &store.read("ddns.json").await.unwrap().unwrap().bytes,
    )
    .unwrap();
    assert!(
        config
            .dyndns2_account("wireless.home.example.com", password)
            .is_empty(),
        "the old password no longer works"
    );

    commands::host_remove(&store, &location, "wireless.home.example.com")
        .await
        .unwrap();
    let config = failberry_proto::hosts::DdnsConfig::parse(
        &store.read("ddns.json").await.unwrap().unwrap().bytes,
    )
    .unwrap();
    assert!(config.hosts.is_empty());
}

#[tokio::test]
async fn pull_then_push_is_conditional_on_the_pulled_version() {
    let (store, location) = store().await;
    commands::target_add(&store, &location, &target("blog"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ping.json");
    let (note, stdout) = commands::config_pull(&store, &location, Doc::Ping, Some(&file))
        .await
        .unwrap();
    assert!(stdout.is_empty());
    let etag = note
        .split("--if-match '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the note says the ETag")
        .to_string();

    let without = commands::config_push(&store, &location, Doc::Ping, &file, None)
        .await
        .unwrap_err();
    assert!(
        matches!(without, EditError::ExistsWithoutEtag { .. }),
        "{without}"
    );

    std::fs::write(
        &file,
        br#"{"targets": [{"name": "bad name", "url": "http://a/"}]}"#,
    )
    .unwrap();
    let invalid = commands::config_push(&store, &location, Doc::Ping, &file, Some(&etag))
        .await
        .unwrap_err();
    assert!(invalid.to_string().contains("\"bad name\""), "{invalid}");

    std::fs::write(&file, br#"{"emit": "emf", "targets": []}"#).unwrap();
    commands::config_push(&store, &location, Doc::Ping, &file, Some(&etag))
        .await
        .expect("over the pulled version");
    let stale = commands::config_push(&store, &location, Doc::Ping, &file, Some(&etag))
        .await
        .unwrap_err();
    assert!(matches!(stale, EditError::Conflict { .. }), "{stale}");

    let checked = commands::config_check(&store, &location, Doc::Ping, None)
        .await
        .unwrap();
    assert!(
        checked.contains("a valid ping document, 0 target(s)"),
        "{checked}"
    );

    let hosts_to_stdout = commands::config_pull(&store, &location, Doc::Hosts, None).await;
    assert!(hosts_to_stdout.is_err());
}

#[tokio::test]
async fn bad_input_exits_non_zero_with_one_line() {
    let (_, location) = store().await;
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_failberry-ctl"))
            .args(args)
            .env("AWS_ENDPOINT_URL", moto_url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("FAILBERRY_STACK")
            .env_remove("FAILBERRY_CONFIG_BUCKET")
            .output()
            .unwrap()
    };
    let bucket = location.bucket.as_str();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "a target name the ping function refuses",
            &[
                "target",
                "--config-bucket",
                bucket,
                "add",
                "bad name",
                "https://a.example/",
            ],
            "\"bad name\"",
        ),
        (
            "a host outside its zone",
            &[
                "host",
                "--config-bucket",
                bucket,
                "add",
                "pi.example.org",
                "--zone",
                "home.example.com",
                "--zone-id",
                "Z1",
            ],
            "not inside zone",
        ),
        ("no bucket", &["target", "list"], "pass --stack"),
        (
            "an unknown metric",
            &[
                "target",
                "--config-bucket",
                bucket,
                "add",
                "x",
                "https://a/",
                "--metric",
                "Jitter",
            ],
            "Jitter",
        ),
        (
            "removing what is not there",
            &[
                "host",
                "--config-bucket",
                bucket,
                "remove",
                "pi.home.example.com",
            ],
            "no host",
        ),
    ];
    for (name, args, want) in cases {
        let out = ctl(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: exits non-zero");
        assert!(stderr.contains(want), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
    }
    // The happy path through the binary, for contrast.
    let out = ctl(&[
        "target",
        "--config-bucket",
        bucket,
        "add",
        "wired",
        "http://203.0.113.7:9000/",
        "--link",
        "--probes",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
