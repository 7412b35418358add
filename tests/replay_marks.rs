//! The replay guard's marks in S3 (moto): the conditional writes really make each step of a mark
//! happen once, even when the same signed change races itself across Lambda instances.

use failberry_ddns::{Ordered, ReplayGuard, S3ReplayGuard, Stamp};
use failberry_local::emulator;
use failberry_tests::moto_url;

async fn guard() -> S3ReplayGuard {
    let sdk = emulator::sdk_config(&moto_url()).await;
    let s3 = emulator::s3_client(&sdk);
    let bucket = format!("failberry-replay-{:016x}", fastrand::u64(..));
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    S3ReplayGuard::new(s3, bucket, "replay/")
}

const KEY: &str = "wireless.home.example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_racing_itself_is_admitted_exactly_once() {
    let guard = guard().await;
    assert_eq!(
        guard.admit(KEY, Stamp::Signed(1_000)).await.ok(),
        Some(Ordered::Admitted)
    );
    // Eight instances receive the same newer request at once: one takes the step.
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let guard = guard.clone();
        racers.spawn(async move { guard.admit(KEY, Stamp::Signed(1_060)).await.ok() });
    }
    let results = racers.join_all().await;
    let admitted = results
        .iter()
        .filter(|r| **r == Some(Ordered::Admitted))
        .count();
    assert_eq!(admitted, 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(
            r,
            Some(Ordered::Admitted)
                | Some(Ordered::Replayed {
                    last_applied: 1_060
                })
        )),
        "{results:?}"
    );
}

#[tokio::test]
async fn marks_are_kept_per_key_and_moved_by_server_stamps() {
    let guard = guard().await;
    let other = "garage.home.example.com";
    assert_eq!(
        guard.admit(KEY, Stamp::Signed(1_000)).await.ok(),
        Some(Ordered::Admitted)
    );
    assert_eq!(
        guard.admit(other, Stamp::Signed(900)).await.ok(),
        Some(Ordered::Admitted),
        "another key has its own mark"
    );
    assert_eq!(
        guard.admit(KEY, Stamp::Server(1_100)).await.ok(),
        Some(Ordered::Admitted)
    );
    assert_eq!(
        guard.admit(KEY, Stamp::Signed(1_050)).await.ok(),
        Some(Ordered::Replayed {
            last_applied: 1_100
        })
    );
    assert_eq!(
        guard.admit(KEY, Stamp::Signed(1_101)).await.ok(),
        Some(Ordered::Admitted)
    );
}
