//! The DDNS story: the real `failberry` client keeps `wireless.home.example.com` on the Pi's
//! changing mobile address through the ddns function behind the API Gateway stand-in (Route53 and
//! S3 in moto); a forger and an eavesdropper fail to move it. Each step says what happens,
//! checks it, and shows the record read back from Route53.

use std::sync::{Arc, Mutex};

use failberry_proto::{Clock, Signer};
use lambda_http::{Body, Request};

use super::pi::Pi;
use super::Story;
use crate::seed;
use crate::stack::{Stack, Tap};

/// A request as it crossed the network, kept by the eavesdropper of the story.
#[derive(Clone)]
struct Captured {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What the API saw: copies of the signed updates that arrived.
#[derive(Clone, Default)]
pub struct Wire {
    updates: Arc<Mutex<Vec<Captured>>>,
}

impl Wire {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stack's tap that records every `/v1/update`.
    pub fn tap(&self) -> Tap {
        let wire = self.clone();
        Arc::new(move |req| wire.record(req))
    }

    fn count(&self) -> usize {
        self.updates.lock().unwrap().len()
    }

    fn get(&self, i: usize) -> Option<Captured> {
        self.updates.lock().unwrap().get(i).cloned()
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

/// The A record of the demo host, as Route53 answers it now (`None` when absent or unreadable).
pub async fn a_record(stack: &Stack) -> Option<String> {
    let values = stack.records(seed::HOSTNAME, "A").await.ok()?;
    values.into_iter().next()
}

fn shown(record: &Option<String>) -> String {
    record
        .as_ref()
        .map(|ip| format!("{} A {ip}", seed::HOSTNAME))
        .unwrap_or_else(|| "no A record".into())
}

/// Tells the story: steps 1 to 6.
pub async fn tell(
    story: &mut Story<'_>,
    stack: &Stack,
    moto_url: &str,
    pi: &Pi,
    wire: &Wire,
) -> anyhow::Result<()> {
    story.say("failberry demo: keeping a home reachable on its 4G link");
    story.say(&format!(
        "  API (as API Gateway) on {}, Route53 and S3 emulated by moto at {moto_url}",
        stack.api
    ));
    story.say(&format!(
        "  hosted zone {}. holds {}; the Pi signs with its device secret",
        seed::ZONE,
        seed::HOSTNAME
    ));
    addresses_follow_the_modem(story, stack, pi, wire).await?;
    forged_update_is_refused(story, stack).await?;
    replayed_update_is_refused(story, stack, wire).await
}

/// Steps 1 to 4: the first address, an unchanged one, two changes.
async fn addresses_follow_the_modem(
    story: &mut Story<'_>,
    stack: &Stack,
    pi: &Pi,
    wire: &Wire,
) -> anyhow::Result<()> {
    story.step("The Pi boots. Its 4G modem was given 81.2.69.142 by the carrier.");
    pi.modem_gets("81.2.69.142")?;
    let before = wire.count();
    let ran = pi.update("first update").await?;
    let now = a_record(stack).await;
    story.check(ran, "the failberry client ran `ddns update` and exited 0");
    story.check(wire.count() == before + 1, "it sent one signed update");
    story.check(
        now.as_deref() == Some("81.2.69.142"),
        &format!("Route53 now answers: {}", shown(&now)),
    );

    story.step("A minute later nothing has changed; the Pi checks again.");
    let before = wire.count();
    let ran = pi.update("unchanged").await?;
    story.check(ran, "the client exited 0");
    story.check(
        wire.count() == before,
        "it sent nothing: the address matches what the API acknowledged",
    );
    let now = a_record(stack).await;
    story.check(
        now.as_deref() == Some("81.2.69.142"),
        &format!("Route53 still answers: {}", shown(&now)),
    );

    for (text, ip, step, done) in [
        (
            "The modem reconnects and the carrier hands out a new address: 81.2.69.160.",
            "81.2.69.160",
            "first change",
            "the client noticed the change and updated",
        ),
        (
            "Later the address changes again: 81.2.69.177.",
            "81.2.69.177",
            "second change",
            "the client updated again",
        ),
    ] {
        story.step(text);
        pi.modem_gets(ip)?;
        let ran = pi.update(step).await?;
        let now = a_record(stack).await;
        story.check(ran, done);
        story.check(
            now.as_deref() == Some(ip),
            &format!("Route53 now answers: {}", shown(&now)),
        );
    }
    Ok(())
}

/// Step 5: an update signed with a guessed secret.
async fn forged_update_is_refused(story: &mut Story<'_>, stack: &Stack) -> anyhow::Result<()> {
    story.step("Someone who does not hold the secret tries to point the name at their own server.");
    let body = serde_json::json!({
        "hostname": seed::HOSTNAME, "ipv4": "81.2.69.66",
        "timestamp": stack.clock.unix_secs(), "nonce": format!("{:032x}", fastrand::u128(..)),
    })
    .to_string();
    let forger = Signer::new(seed::HOSTNAME, "a-guessed-secret-of-some-length");
    let headers = forger
        .headers("POST", "/v1/update", body.as_bytes())
        .into_iter()
        .map(|(k, v)| (k.to_string(), v));
    let (status, text) = post_update(stack, headers, body.into_bytes()).await?;
    story.check(
        status == 401 && text.contains("bad_signature"),
        &format!("the API refused it: {status} {text}"),
    );
    let now = a_record(stack).await;
    story.check(
        now.as_deref() == Some("81.2.69.177"),
        &format!("Route53 unchanged: {}", shown(&now)),
    );
    Ok(())
}

/// Step 6: the Pi's own signed update from step 3, replayed byte for byte.
async fn replayed_update_is_refused(
    story: &mut Story<'_>,
    stack: &Stack,
    wire: &Wire,
) -> anyhow::Result<()> {
    story.step(
        "An eavesdropper recorded the Pi's signed update from step 3 and replays it, byte for byte,\n   to drag the name back to the old address.",
    );
    match wire.get(1) {
        Some(captured) => {
            let headers = captured
                .headers
                .into_iter()
                .filter(|(k, _)| k.starts_with("x-failberry") || k == "content-type");
            let (status, text) = post_update(stack, headers, captured.body).await?;
            story.check(
                status == 409 && text.contains("replayed_request"),
                &format!("the API refused it: {status} {text}"),
            );
        }
        None => story.check(false, "a captured update from step 3 to replay"),
    }
    let now = a_record(stack).await;
    story.check(
        now.as_deref() == Some("81.2.69.177"),
        &format!("Route53 unchanged: {}", shown(&now)),
    );
    Ok(())
}

/// POSTs `body` to the stack's `/v1/update` with `headers`; the status and the answer's text.
async fn post_update(
    stack: &Stack,
    headers: impl IntoIterator<Item = (String, String)>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, String)> {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/update", stack.api))
        .body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let answer = request.send().await?;
    let status = answer.status().as_u16();
    Ok((status, answer.text().await.unwrap_or_default()))
}
