//! `failberry-ctl status` against the emulator: the failover pair, health checks and alarms that
//! failberry-local creates as the template does, datapoints as the ping function writes them, and
//! the decision from the model (moto evaluates no alarm, so its own state is never trusted).

use failberry_ctl::observe::{observe, Clients, Record};
use failberry_ctl::status::{decide, render};
use failberry_failover::FailoverAnswer;
use failberry_local::seed::links::{seed_pair, LinkSeed};
use failberry_local::seed::{self, HostSeed};
use failberry_tests::{put_availability, Stack};

const NAME: &str = "vpn.home.example.com";

async fn availability(stack: &Stack, target: &str, minutes: &[(i64, f64)]) {
    put_availability(&stack.cloudwatch(), target, minutes).await;
}

#[tokio::test]
async fn status_follows_the_datapoints() {
    let stack = Stack::start(&[HostSeed::default()]).await;
    // Each test writes its own targets: metrics are global in the emulator.
    let tag = format!("{:06x}", fastrand::u32(..0xffffff));
    let wired: &'static str = Box::leak(format!("wired-{tag}").into_boxed_str());
    let wireless: &'static str = Box::leak(format!("wireless-{tag}").into_boxed_str());
    let primary = LinkSeed {
        name: wired,
        alias_of: "wired.home.example.com".into(),
    };
    let secondary = LinkSeed {
        name: wireless,
        alias_of: seed::HOSTNAME.into(),
    };
    seed_pair(
        &stack.sdk,
        &stack.zone_id,
        NAME,
        "81.2.69.10",
        &primary,
        &secondary,
    )
    .await
    .unwrap();
    let clients = Clients {
        route53: stack.route53(),
        cloudwatch: stack.cloudwatch(),
    };

    let now = (failberry_proto::Clock::unix_secs(&failberry_proto::SystemClock) / 60) * 60 - 600;
    let minutes = |range: std::ops::Range<i64>, v: f64| {
        range.map(|m| (now - 60 * m + 5, v)).collect::<Vec<_>>()
    };
    let status = || async {
        decide(
            &observe(
                &clients,
                &Record {
                    zone_id: &stack.zone_id,
                    name: NAME,
                    kind: "A",
                },
                now,
                10,
            )
            .await
            .unwrap(),
            "model",
        )
    };

    availability(&stack, wired, &minutes(0..10, 1.0)).await;
    availability(&stack, wireless, &minutes(0..10, 1.0)).await;
    let s = status().await;
    assert_eq!(s.answer, Some(FailoverAnswer::Primary), "{}", render(&s));
    assert_eq!(
        s.answers_with.as_deref(),
        Some("wired.home.example.com (alias)")
    );
    assert_eq!(s.links.len(), 2);
    let seen =
        |l: &failberry_ctl::status::LinkStatus| l.datapoints.iter().filter(|d| d.is_some()).count();
    assert!(s.links.iter().all(|l| seen(l) >= 9), "{}", render(&s));

    // The wire dies: two zero samples beside each earlier one in its last five minutes (as three
    // probes a minute, two of them failing, would): the averages fall to 1/3, under the threshold.
    availability(&stack, wired, &minutes(0..5, 0.0)).await;
    availability(&stack, wired, &minutes(0..5, 0.0)).await;
    let s = status().await;
    assert!(
        s.links[0]
            .datapoints
            .iter()
            .rev()
            .take(5)
            .all(|d| d.is_some_and(|v| v < 0.5)),
        "{}",
        render(&s)
    );
    assert_eq!(s.answer, Some(FailoverAnswer::Secondary), "{}", render(&s));
    assert_eq!(
        s.answers_with.as_deref(),
        Some("wireless.home.example.com (alias)")
    );

    // Both links dead: Route 53 answers the primary (fail-safe).
    availability(&stack, wireless, &minutes(0..5, 0.0)).await;
    availability(&stack, wireless, &minutes(0..5, 0.0)).await;
    let s = status().await;
    assert_eq!(s.answer, Some(FailoverAnswer::Primary), "{}", render(&s));
    assert!(s.reason.contains("both"), "{}", s.reason);
}
