//! `make demo` is part of the promise: its story must keep behaving. This runs the same story
//! with the real client binary (built by `make test` before the tests run).

use failberry_local::story::{self, DemoPaths};
use failberry_tests::moto_url;

#[tokio::test]
async fn the_demo_story_behaves() {
    let client = std::env::var_os("FAILBERRY_CLIENT_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/failberry")
        });
    assert!(
        client.exists(),
        "{} is missing: `make test` builds it first (cargo build --workspace --bins)",
        client.display()
    );
    let workdir = tempfile::tempdir().unwrap();
    let paths = DemoPaths {
        client,
        workdir: workdir.path().to_path_buf(),
    };
    let mut out = Vec::new();
    let ok = story::run(&moto_url(), &paths, &mut out)
        .await
        .expect("the demo runs");
    let text = String::from_utf8(out).unwrap();
    assert!(ok, "some steps did not behave:\n{text}");
    for told in [
        "The labeler is SCRIPTED",
        "Clip 4 of 4",
        "the on_result hook got the result",
        "sub label \"Person\"",
    ] {
        assert!(
            text.contains(told),
            "the camera story tells {told:?}:\n{text}"
        );
    }
    assert!(
        text.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "the demo's last line tells the count:\n{text}"
    );
}
