//! Real clients against the local stack: Debian's `ddclient` speaking dyndns2, and the reference
//! solution's shell-client protocol driven by `curl`, `sha256sum` and `grep` exactly as its
//! documented commands run them. Records are read back from Route53 (moto).

use std::process::Command;

use failberry_local::seed::{self, HostSeed};
use failberry_tests::{loopback_host, Stack};

fn ddclient_conf(dir: &std::path::Path, api: &str, ip: &str) -> std::path::PathBuf {
    let server = api.trim_start_matches("http://");
    let conf = format!(
        "ssl=no\nprotocol=dyndns2\nserver={server}\nlogin={host}\npassword='{pw}'\nusev4=ipv4, ipv4={ip}\n{host}\n",
        host = seed::HOSTNAME,
        pw = seed::DYNDNS2_PASSWORD,
    );
    let path = dir.join("ddclient.conf");
    std::fs::write(&path, conf).unwrap();
    // ddclient refuses a world-readable config holding a password.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

async fn run_ddclient(dir: &std::path::Path, api: &str, ip: &str) -> String {
    let conf = ddclient_conf(dir, api, ip);
    let cache = dir.join("ddclient.cache");
    let out = tokio::process::Command::new("ddclient")
        // `daemon=0` in the file is raised to its 60 s minimum; only the flag really means "once".
        .args([
            "-daemon",
            "0",
            "-foreground",
            "-force",
            "-verbose",
            "-noquiet",
            "-file",
        ])
        .arg(&conf)
        .arg("-cache")
        .arg(&cache)
        .output()
        .await
        .expect("ddclient is installed by `make test` (scripts/ensure-test-tools)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn ddclient_updates_the_record() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let dir = tempfile::tempdir().unwrap();

    let log = run_ddclient(dir.path(), &stack.api, "81.2.69.142").await;
    assert!(log.contains("good"), "ddclient log:\n{log}");
    assert_eq!(stack.record(seed::HOSTNAME, "A").await, vec!["81.2.69.142"]);

    let log = run_ddclient(dir.path(), &stack.api, "81.2.69.160").await;
    assert!(log.contains("SUCCESS"), "ddclient log:\n{log}");
    assert_eq!(stack.record(seed::HOSTNAME, "A").await, vec!["81.2.69.160"]);

    let log = run_ddclient(dir.path(), &stack.api, "81.2.69.160").await;
    assert!(
        log.contains("nochg") || log.contains("SUCCESS"),
        "a forced refresh with the same address is fine:\n{log}"
    );
    assert_eq!(stack.record(seed::HOSTNAME, "A").await, vec!["81.2.69.160"]);
}

#[tokio::test]
async fn ddclient_with_a_wrong_password_changes_nothing() {
    let stack = Stack::start(&[HostSeed {
        dyndns2_password: Some("another-password-entirely".into()),
        ..HostSeed::default()
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log = run_ddclient(dir.path(), &stack.api, "81.2.69.142").await;
    assert!(log.contains("badauth"), "ddclient log:\n{log}");
    assert!(stack.record(seed::HOSTNAME, "A").await.is_empty());
}

/// A refused address (here a private one, as a router behind CGNAT or a misconfigured `use=` would
/// send) is answered `dnserr`: ddclient reports a failed DNS update, not an account blocked for
/// abuse with an email on its way, nor wrong credentials.
#[tokio::test]
async fn ddclient_is_told_plainly_when_an_address_may_not_be_published() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    let dir = tempfile::tempdir().unwrap();
    let log = run_ddclient(dir.path(), &stack.api, "10.1.2.3").await;
    assert!(
        log.contains("dnserr") && log.contains("DNS error encountered"),
        "ddclient log:\n{log}"
    );
    for misleading in ["abuse", "email", "Bad authorization"] {
        assert!(
            !log.contains(misleading),
            "{misleading:?} in ddclient log:\n{log}"
        );
    }
    assert!(!log.contains("SUCCESS"), "ddclient log:\n{log}");
    assert!(stack.record(seed::HOSTNAME, "A").await.is_empty());
}

/// The reference client's get/hash/set sequence, as its README documents the commands.
const REFERENCE_CLIENT: &str = r#"
set -eu
url=$1; host=$2; secret=$3
ip=$(curl --ipv4 -q -s -X POST -H 'content-type: application/json' -d '{"execution_mode":"get"}' "$url" | grep -E -o '[0-9\.]+')
hash=$(echo -n "$ip$host$secret" | sha256sum | awk '{print $1}')
curl --ipv4 -s -X POST -w ",{\"status_code\":\"%{http_code}\"}" -H 'content-type: application/json' \
  -d '{"execution_mode":"set", "ddns_hostname":"'$host'", "validation_hash":"'$hash'"}' "$url"
"#;

fn reference_client(api: &str, host: &str, secret: &str) -> String {
    let out = Command::new("bash")
        .args([
            "-c",
            REFERENCE_CLIENT,
            "reference-client",
            &format!("{api}/"),
            host,
            secret,
        ])
        .output()
        .expect("bash and curl are installed by `make test`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn reference_shell_client_works_unchanged() {
    let stack = Stack::start(&[loopback_host(seed::HOSTNAME)]).await;
    let api = stack.api.clone();
    let first =
        tokio::task::spawn_blocking(move || reference_client(&api, seed::HOSTNAME, seed::SECRET))
            .await
            .unwrap();
    assert!(
        first.contains("has been updated to 127.0.0.1")
            && first.ends_with(r#",{"status_code":"201"}"#),
        "{first}"
    );
    assert_eq!(stack.record(seed::HOSTNAME, "A").await, vec!["127.0.0.1"]);

    let api = stack.api.clone();
    let second =
        tokio::task::spawn_blocking(move || reference_client(&api, seed::HOSTNAME, seed::SECRET))
            .await
            .unwrap();
    assert!(
        second.contains("matches the current Route53 DNS record")
            && second.ends_with(r#"{"status_code":"200"}"#),
        "{second}"
    );

    let api = stack.api.clone();
    let forged = tokio::task::spawn_blocking(move || {
        reference_client(&api, seed::HOSTNAME, "not-the-shared-secret")
    })
    .await
    .unwrap();
    assert!(
        forged.contains("Validation hashes do not match.")
            && forged.ends_with(r#"{"status_code":"401"}"#),
        "{forged}"
    );
}
