//! The ddns function's figures (the ddns issue): cold start and peak RSS of the release bootstrap
//! beside the echo and SDK floors, and warm latency of a signed update through the handler beside
//! a bare Route53 read on the same moto.

use std::time::{Duration, Instant};

use failberry_local::{apigw, seed, Stack};
use failberry_proto::{paths, Clock, Signer, SystemClock};

use crate::cold_start::{cold_start, ColdStart};
use crate::table::{kb_ratio, mb, median, ms, percentile, ratio, verdict, Table};
use crate::Cli;

/// A ddns answer through the Runtime API is the API Gateway response: it must be a 200.
fn ensure_http_ok(c: &ColdStart, what: &str) -> anyhow::Result<()> {
    let answer: serde_json::Value = serde_json::from_slice(&c.body)?;
    anyhow::ensure!(
        answer["statusCode"] == 200,
        "{what} answered {}",
        String::from_utf8_lossy(&c.body)
    );
    Ok(())
}

/// Each signed change must be newer than the last one applied for the host, and the bench makes
/// many a second: stamps count up from the start of the ±300 s window (room for ~580 changes).
static STAMPS: failberry_proto::Stamps = failberry_proto::Stamps::new();

fn signed_update_event(ipv4: &str, nonce: &str) -> serde_json::Value {
    let stamp = STAMPS.next(SystemClock.unix_secs() - 290);
    let body = serde_json::json!({
        "hostname": seed::HOSTNAME, "ipv4": ipv4, "timestamp": stamp, "nonce": nonce,
    })
    .to_string();
    let signer = Signer::new(seed::HOSTNAME, seed::SECRET);
    let mut headers: Vec<(String, String)> = signer
        .headers("POST", paths::UPDATE, body.as_bytes())
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    let req = apigw::HttpRequest {
        method: "POST",
        path: paths::UPDATE,
        query: None,
        headers,
        body: body.as_bytes(),
        source_ip: "81.2.69.1".parse().unwrap(),
    };
    apigw::event(&req, 0, nonce)
}

fn myip_event() -> serde_json::Value {
    let req = apigw::HttpRequest {
        method: "GET",
        path: paths::MYIP,
        query: None,
        headers: vec![("host".into(), "bench".into())],
        body: b"",
        source_ip: "81.2.69.1".parse().unwrap(),
    };
    apigw::event(&req, 0, "myip")
}

/// The ddns issue's figures: cold start and RSS beside the echo and SDK floors, and warm latency
/// through the handler beside a bare Route53 read.
pub async fn figures(
    cli: &Cli,
    stack: &Stack,
    function_env: &[(&str, String)],
) -> anyhow::Result<()> {
    // Interleave the two binaries so machine noise hits both alike.
    let (mut floor_t, mut floor_rss, mut ddns_t, mut ddns_rss, mut update_t) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut sdk_t, mut sdk_rss) = (vec![], vec![]);
    let echo = serde_json::json!({"hello": "floor"}).to_string();
    for i in 0..cli.runs {
        let f = cold_start(&cli.floor, &[], echo.clone()).await?;
        floor_t.push(f.elapsed);
        floor_rss.push(f.peak_rss_kb);
        let s = cold_start(&cli.sdk_floor, function_env, echo.clone()).await?;
        sdk_t.push(s.elapsed);
        sdk_rss.push(s.peak_rss_kb);
        let d = cold_start(&cli.ddns, function_env, myip_event().to_string()).await?;
        ensure_http_ok(&d, "GET /v1/myip")?;
        ddns_t.push(d.elapsed);
        ddns_rss.push(d.peak_rss_kb);
        let ip = format!("81.2.{}.{}", 70 + i / 200, 1 + i % 200);
        let u = cold_start(
            &cli.ddns,
            function_env,
            signed_update_event(&ip, &format!("{:032x}", fastrand::u128(..))).to_string(),
        )
        .await?;
        ensure_http_ok(&u, "the signed update")?;
        update_t.push(u.elapsed);
    }
    let (floor_ms, ddns_ms, update_ms) = (
        median(&mut floor_t),
        median(&mut ddns_t),
        median(&mut update_t),
    );
    let (floor_kb, ddns_kb) = (median(&mut floor_rss), median(&mut ddns_rss));
    let (sdk_ms, sdk_kb) = (median(&mut sdk_t), median(&mut sdk_rss));

    let table = Table {
        figure: 52,
        value: 12,
        baseline: 14,
    };
    table.header("ddns", "baseline");
    let ratio_floor = ratio(ddns_ms, floor_ms);
    table.row(
        "start → first answer (GET /v1/myip), median",
        ms(ddns_ms),
        ms(floor_ms),
        Some(ratio_floor),
        &format!(
            "≤1.5x and <50 ms: {}",
            verdict(ratio_floor <= 1.5 && ddns_ms < Duration::from_millis(50))
        ),
    );
    table.row(
        "start → first answer vs the SDK floor, median",
        ms(ddns_ms),
        ms(sdk_ms),
        Some(ratio(ddns_ms, sdk_ms)),
        "(second baseline: echo + AWS SDK start-up)",
    );
    table.row(
        "peak RSS after first answer, median",
        mb(ddns_kb),
        mb(floor_kb),
        Some(kb_ratio(ddns_kb, floor_kb)),
        &format!("<20 MB: {}", verdict(ddns_kb < 20 * 1024)),
    );
    table.row(
        "peak RSS vs the SDK floor, median",
        mb(ddns_kb),
        mb(sdk_kb),
        Some(kb_ratio(ddns_kb, sdk_kb)),
        "",
    );
    table.row(
        "start → first signed update answered, median",
        ms(update_ms),
        ms(floor_ms),
        Some(ratio(update_ms, floor_ms)),
        "(context: config read, Route53 read, replay mark, UPSERT)",
    );

    // Warm latency through the handler, in process, against moto.
    let app = &stack.ddns;
    let route53 = stack.route53();
    let (mut handler_t, mut moto_t) = (Vec::new(), Vec::new());
    for i in 0..cli.requests {
        let ip = format!("81.2.{}.{}", 100 + i / 200, 1 + i % 200);
        let event = signed_update_event(&ip, &format!("{:032x}", fastrand::u128(..)));
        let request = apigw::to_lambda_request(&event);
        let t = Instant::now();
        let resp = app.handle(request).await;
        handler_t.push(t.elapsed());
        anyhow::ensure!(
            resp.status() == 200,
            "signed update answered {}",
            resp.status()
        );
        let t = Instant::now();
        route53
            .list_resource_record_sets()
            .hosted_zone_id(&stack.zone_id)
            .max_items(2)
            .send()
            .await?;
        moto_t.push(t.elapsed());
    }
    let (h50, h99) = (
        percentile(&mut handler_t, 0.5),
        percentile(&mut handler_t, 0.99),
    );
    let (m50, m99) = (percentile(&mut moto_t, 0.5), percentile(&mut moto_t, 0.99));
    table.row(
        "signed update through the handler, p50",
        ms(h50),
        ms(m50),
        Some(ratio(h50, m50)),
        "(baseline: one bare Route53 read on moto)",
    );
    table.row(
        "signed update through the handler, p99",
        ms(h99),
        ms(m99),
        Some(ratio(h99, m99)),
        "",
    );
    println!("\nEvery update changes the record (a new address each time), so each one makes three emulator calls.");

    Ok(())
}
