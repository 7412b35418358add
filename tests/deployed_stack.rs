//! `failberry-ctl` against the stack a deploy creates, on the emulator: `scripts/moto-stack`
//! translates `infra/template.yaml` with aws-sam-translator (offline) and creates it on moto's
//! CloudFormation. It runs in a moto server of its own because the template names its buckets
//! after the account and region, so a second copy in the suite's shared server would collide.
//! moto's CloudFormation creates no `AWS::CloudWatch::Alarm` (docs/deploy.md lists what it does
//! and does not create), so the test puts the two link alarms as the template defines them; the
//! health checks, the failover records and the config bucket are the stack's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use failberry_local::seed::links::put_link_alarm;
use failberry_tests::put_availability;

const REGION: &str = "eu-west-1";
const STACK: &str = "failberry";
const CONFIG_BUCKET: &str = "failberry-config-123456789012-eu-west-1";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A moto server for this test alone, stopped when dropped.
struct OwnMoto {
    name: String,
    url: String,
}

impl OwnMoto {
    fn start() -> Self {
        let name = format!("deployed-stack-{}", std::process::id());
        let out = Command::new("scripts/moto")
            .args(["start", &name])
            .current_dir(root())
            .output()
            .expect("scripts/moto runs (make test installs .venv with moto)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Self { name, url }
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = Command::new("scripts/moto")
            .args(["stop", &self.name])
            .current_dir(root())
            .status();
    }
}

/// `failberry-ctl`, built beside this test by `cargo test --workspace`.
fn ctl(moto: &OwnMoto, args: &[&str]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("failberry-ctl");
    Command::new(&bin)
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("FAILBERRY_STACK")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_owners_tool_reads_the_stack_the_template_creates() {
    let moto = OwnMoto::start();
    let created = Command::new(".venv/bin/python")
        .arg("scripts/moto-stack")
        .env("FAILBERRY_MOTO_URL", &moto.url)
        .current_dir(root())
        .output()
        .expect("scripts/moto-stack runs");
    let report = text(&created.stdout);
    assert!(
        created.status.success(),
        "{report}{}",
        text(&created.stderr)
    );
    assert!(report.contains("stack status: CREATE_COMPLETE"), "{report}");
    assert!(
        report.contains("AWS::Route53::HealthCheck: 2 of 2"),
        "{report}"
    );
    assert!(
        report.contains("AWS::Route53::RecordSet: 4 of 4"),
        "{report}"
    );
    let zone_id = report
        .lines()
        .find_map(|l| l.strip_prefix("zone id: "))
        .expect("moto-stack prints the zone id")
        .to_string();

    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    for target in ["wired", "wireless"] {
        put_link_alarm(&cloudwatch, target).await.unwrap();
    }
    // The last ten minutes: the wired link answered nothing in the last five, the wireless one
    // answered every probe.
    let now = (failberry_proto::clock::unix_secs(std::time::SystemTime::now()) / 60) * 60 - 60;
    let minutes = |range: std::ops::Range<i64>, v: f64| {
        range.map(|m| (now - 60 * m + 5, v)).collect::<Vec<_>>()
    };
    put_availability(&cloudwatch, "wired", &minutes(5..10, 1.0)).await;
    put_availability(&cloudwatch, "wired", &minutes(0..5, 0.0)).await;
    put_availability(&cloudwatch, "wireless", &minutes(0..10, 1.0)).await;

    // Zone and name come from the stack's parameters alone.
    let at = now.to_string();
    for (record_type, primary_answers) in [
        ("A", "wired.home.example.com (alias)"),
        ("AAAA", "2001:db8::7"),
    ] {
        let out = ctl(
            &moto,
            &[
                "status",
                "--stack",
                STACK,
                "--record-type",
                record_type,
                "--at",
                &at,
                "--json",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["name"], "vpn.home.example.com", "{status:#}");
        assert_eq!(
            status["answers_with"], "wireless.home.example.com (alias)",
            "{record_type}: the wired link is down: {status:#}"
        );
        let links = status["links"].as_array().unwrap();
        assert_eq!(links.len(), 2, "{record_type}: one pair: {status:#}");
        assert_eq!(links[0]["answers"], primary_answers, "{status:#}");
        assert!(
            links.iter().all(|l| l["problem"].is_null()),
            "each health check found its alarm: {status:#}"
        );
    }

    // Without the stack, nothing says which record: one clear line, non-zero.
    let out = ctl(&moto, &["status"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--stack"), "{err}");

    // moto leaves the ApiUrl output unresolved (it cannot create the HTTP API): printing it into
    // the Pi's settings would hand out a secret with a URL that cannot work, so the host is
    // refused before anything is written.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let out = ctl(
        &moto,
        &[
            "host",
            "--stack",
            STACK,
            "add",
            "wireless.home.example.com",
            "--zone",
            "home.example.com",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("ApiUrl output") && err.contains("--api-url"),
        "{err}"
    );
    let stored = s3
        .head_object()
        .bucket(CONFIG_BUCKET)
        .key("ddns.json")
        .send()
        .await;
    assert!(stored.is_err(), "nothing written after a refusal");

    // With the URL given, the zone id is found by the zone's name, and the stored host has it.
    let out = ctl(
        &moto,
        &[
            "host",
            "--stack",
            STACK,
            "--api-url",
            "https://ddns.home.example.com",
            "add",
            "wireless.home.example.com",
            "--zone",
            "home.example.com",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("url = \"https://ddns.home.example.com\""));
    let doc = s3
        .get_object()
        .bucket(CONFIG_BUCKET)
        .key("ddns.json")
        .send()
        .await
        .expect("the hosts document in the stack's config bucket");
    let doc = doc.body.collect().await.unwrap().into_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    assert!(
        doc.to_string().contains(&zone_id),
        "the zone id looked up by name is stored: {doc:#}"
    );
}
