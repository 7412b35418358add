//! `make demo`: the DDNS story told on the local stack. The real `failberry` client binary runs
//! against the ddns function behind the API Gateway stand-in; Route53 and S3 are moto. Each step
//! says what happens, checks it, and shows the record read back from Route53.
//!
//! On loopback every request comes from 127.0.0.1, so the Pi here reads its mobile address from a
//! file (its `ipv4 = "file"` source, which a modem script fills on a real Pi) instead of asking
//! `/v1/myip`; everything after detection is the real path.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use failberry_ddns::SystemClock;
use failberry_proto::Signer;
use lambda_http::{Body, Request};

use crate::seed::{self, HostSeed};
use crate::{emulator, server};

/// A request as it crossed the network, kept by the eavesdropper of the story.
#[derive(Clone)]
struct Captured {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What the API saw: how many signed updates arrived, and copies of them.
#[derive(Default)]
struct Wire {
    updates: Mutex<Vec<Captured>>,
}

impl Wire {
    fn count(&self) -> usize {
        self.updates.lock().unwrap().len()
    }

    fn record(&self, req: &Request) {
        if req.uri().path() != "/v1/update" {
            return;
        }
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect();
        let body = match req.body() {
            Body::Text(t) => t.as_bytes().to_vec(),
            Body::Binary(b) => b.clone(),
            _ => Vec::new(),
        };
        self.updates
            .lock()
            .unwrap()
            .push(Captured { headers, body });
    }
}

struct Story<'a, W: Write> {
    out: &'a mut W,
    passed: usize,
    failed: usize,
}

impl<W: Write> Story<'_, W> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
            self.say(&format!("   ✓ {what}"));
        } else {
            self.failed += 1;
            self.say(&format!("   ✗ {what}  <-- NOT AS EXPECTED"));
        }
    }
}

pub struct DemoPaths {
    pub client: PathBuf,
    pub workdir: PathBuf,
}

/// Runs the story; `Ok(true)` when every step behaved.
pub async fn run(moto_url: &str, paths: &DemoPaths, out: &mut impl Write) -> anyhow::Result<bool> {
    let sdk = emulator::sdk_config(moto_url).await;
    let bucket = format!("failberry-demo-{:08x}", fastrand::u32(..));
    let seeded = seed::seed(&sdk, &bucket, &[HostSeed::default()])
        .await
        .context("seeding the emulator")?;
    let app = Arc::new(emulator::ddns(
        &sdk,
        &bucket,
        Duration::from_secs(2),
        SystemClock,
    ));
    let wire = Arc::new(Wire::default());
    let ddns = server::ddns_function(app);
    let tap = wire.clone();
    let function: server::Function = Arc::new(move |req| {
        tap.record(&req);
        ddns(req)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, function, async {
        let _ = stopped.await;
    }));

    std::fs::create_dir_all(&paths.workdir)?;
    let ip_file = paths.workdir.join("modem-ip");
    let config = paths.workdir.join("config.toml");
    std::fs::write(paths.workdir.join("secret"), seed::SECRET)?;
    std::fs::write(
        &config,
        format!(
            "[api]\nurl = \"{api}\"\n\n[ddns]\nhostname = \"{host}\"\nsecret_file = \"{secret}\"\nipv4 = \"file\"\nipv4_file = \"{ip}\"\nstate_file = \"{state}\"\n",
            host = seed::HOSTNAME,
            secret = paths.workdir.join("secret").display(),
            ip = ip_file.display(),
            state = paths.workdir.join("ddns-state.json").display(),
        ),
    )?;
    let route53 = emulator::route53_client(&sdk);
    let record = || async {
        let out = route53
            .list_resource_record_sets()
            .hosted_zone_id(&seeded.zone_id)
            .send()
            .await
            .ok()?;
        out.resource_record_sets()
            .iter()
            .find(|s| s.name() == format!("{}.", seed::HOSTNAME) && s.r#type().as_str() == "A")
            .and_then(|s| s.resource_records().first().map(|r| r.value().to_string()))
    };

    let mut story = Story {
        out,
        passed: 0,
        failed: 0,
    };
    story.say("failberry demo: keeping a home reachable on its 4G link");
    story.say(&format!(
        "  API (as API Gateway) on {api}, Route53 and S3 emulated by moto at {moto_url}"
    ));
    story.say(&format!(
        "  hosted zone {}. holds {}; the Pi signs with its device secret\n",
        seed::ZONE,
        seed::HOSTNAME
    ));

    let client = |step: &'static str| run_client(&paths.client, &config, step);
    let shown = |r: Option<String>| {
        r.map(|ip| format!("{} A {ip}", seed::HOSTNAME))
            .unwrap_or_else(|| "no A record".into())
    };

    story.say("1. The Pi boots. Its 4G modem was given 81.2.69.142 by the carrier.");
    std::fs::write(&ip_file, "81.2.69.142\n")?;
    let before = wire.count();
    let ran = client("first update").await?;
    let now = record().await;
    story.check(
        ran.success,
        "the failberry client ran `ddns update` and exited 0",
    );
    story.check(wire.count() == before + 1, "it sent one signed update");
    story.check(
        now.as_deref() == Some("81.2.69.142"),
        &format!("Route53 now answers: {}", shown(now.clone())),
    );

    story.say("\n2. A minute later nothing has changed; the Pi checks again.");
    let before = wire.count();
    let ran = client("unchanged").await?;
    story.check(ran.success, "the client exited 0");
    story.check(
        wire.count() == before,
        "it sent nothing: the address matches what the API acknowledged",
    );
    let now = record().await;
    story.check(
        now.as_deref() == Some("81.2.69.142"),
        &format!("Route53 still answers: {}", shown(now)),
    );

    story.say("\n3. The modem reconnects and the carrier hands out a new address: 81.2.69.160.");
    std::fs::write(&ip_file, "81.2.69.160\n")?;
    let ran = client("first change").await?;
    let now = record().await;
    story.check(ran.success, "the client noticed the change and updated");
    story.check(
        now.as_deref() == Some("81.2.69.160"),
        &format!("Route53 now answers: {}", shown(now)),
    );

    story.say("\n4. Later the address changes again: 81.2.69.177.");
    std::fs::write(&ip_file, "81.2.69.177\n")?;
    let ran = client("second change").await?;
    let now = record().await;
    story.check(ran.success, "the client updated again");
    story.check(
        now.as_deref() == Some("81.2.69.177"),
        &format!("Route53 now answers: {}", shown(now)),
    );

    story.say(
        "\n5. Someone who does not hold the secret tries to point the name at their own server.",
    );
    let http = reqwest::Client::new();
    let forged_body = serde_json::json!({
        "hostname": seed::HOSTNAME, "ipv4": "81.2.69.66",
        "timestamp": failberry_ddns::Clock::unix_secs(&SystemClock), "nonce": format!("{:032x}", fastrand::u128(..)),
    })
    .to_string();
    let forger = Signer::new(seed::HOSTNAME, "a-guessed-secret-of-some-length");
    let mut forged = http
        .post(format!("{api}/v1/update"))
        .body(forged_body.clone());
    for (k, v) in forger.headers("POST", "/v1/update", forged_body.as_bytes()) {
        forged = forged.header(k, v);
    }
    let answer = forged.send().await?;
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    story.check(
        status == 401 && text.contains("bad_signature"),
        &format!("the API refused it: {status} {text}"),
    );
    let now = record().await;
    story.check(
        now.as_deref() == Some("81.2.69.177"),
        &format!("Route53 unchanged: {}", shown(now)),
    );

    story.say("\n6. An eavesdropper recorded the Pi's signed update from step 3 and replays it, byte for byte,");
    story.say("   to drag the name back to the old address.");
    let captured = wire.updates.lock().unwrap().get(1).cloned();
    match captured {
        Some(captured) => {
            let mut replay = http
                .post(format!("{api}/v1/update"))
                .body(captured.body.clone());
            for (k, v) in &captured.headers {
                if k.starts_with("x-failberry") || k == "content-type" {
                    replay = replay.header(k, v);
                }
            }
            let answer = replay.send().await?;
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            story.check(
                status == 409 && text.contains("replayed_request"),
                &format!("the API refused it: {status} {text}"),
            );
        }
        None => story.check(false, "a captured update from step 3 to replay"),
    }
    let now = record().await;
    story.check(
        now.as_deref() == Some("81.2.69.177"),
        &format!("Route53 unchanged: {}", shown(now)),
    );

    let story_ctx = crate::failover_story::StoryContext {
        sdk: &sdk,
        bucket: &bucket,
        zone_id: &seeded.zone_id,
        client: &paths.client,
        workdir: &paths.workdir,
    };
    let (ip_file, config, record) = (&ip_file, &config, &record);
    let set_ip = |ip: &'static str| async move {
        std::fs::write(ip_file, format!("{ip}\n"))?;
        run_client(&paths.client, config, "failover: new mobile address").await?;
        Ok(record().await)
    };
    let failover = crate::failover_story::run(&story_ctx, story.out, set_ip).await?;
    for (ok, _) in &failover.checks {
        if *ok {
            story.passed += 1;
        } else {
            story.failed += 1;
        }
    }
    story.say(&format!(
        "\nA picture of the failover story: {}",
        failover.svg.display()
    ));

    let _ = stop.send(());
    let _ = serving.await;
    let total = story.passed + story.failed;
    story.say(&format!(
        "\n{} of {total} checks behaved. Client logs and config are in {}.",
        story.passed,
        paths.workdir.display()
    ));
    story.say(&format!("{} passed, {} failed", story.passed, story.failed));
    Ok(story.failed == 0)
}

struct ClientRun {
    success: bool,
}

/// Runs `failberry ddns update` with the demo config, keeping its log beside the config.
async fn run_client(client: &Path, config: &Path, step: &str) -> anyhow::Result<ClientRun> {
    let out = tokio::process::Command::new(client)
        .arg("--config")
        .arg(config)
        .args(["ddns", "update"])
        .env_remove("FAILBERRY_API_URL")
        .output()
        .await
        .with_context(|| format!("running {}", client.display()))?;
    let log = config.with_file_name("client.log");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    writeln!(file, "--- {step}")?;
    file.write_all(&out.stderr)?;
    Ok(ClientRun {
        success: out.status.success(),
    })
}
