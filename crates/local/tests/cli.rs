//! `failberry-local`'s command line. Also makes `cargo test --workspace` build the binary, which
//! the client's namespace test runs on the wired provider's side (client/tests/netns.rs).

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_failberry-local"))
        .args(args)
        .output()
        .expect("failberry-local runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn help_names_every_command() {
    let (ok, text) = run(&["--help"]);
    assert!(ok, "{text}");
    for command in ["serve", "demo", "analyse"] {
        assert!(text.contains(command), "--help lacks {command}: {text}");
    }
}

#[test]
fn a_bad_listen_address_is_one_clear_error() {
    let (ok, text) = run(&["serve", "--host", "not-an-address"]);
    assert!(!ok);
    assert!(
        text.contains("invalid value 'not-an-address' for '--host <HOST>'"),
        "{text}"
    );
}
