//! The command line's mistakes: each is one line on stderr, naming what is wrong, with exit
//! status 2; help still prints in full on stdout.

use std::process::{Command, Output};

fn ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_failberry-ctl"))
        .args(args)
        .env_remove("FAILBERRY_STACK")
        .output()
        .expect("failberry-ctl runs")
}

#[test]
fn a_mistake_is_one_line_and_exit_status_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["status", "--bogus"], "unexpected argument '--bogus'"),
        (&["target", "add"], "not provided: <NAME> <URL>"),
        (&["status", "--record-type", "MX"], "invalid value 'MX'"),
        (&["launch"], "unrecognized subcommand 'launch'"),
    ];
    for (args, fragment) in cases {
        let out = ctl(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("failberry-ctl: "), "{args:?}: {err}");
        assert!(err.contains(fragment), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_is_whole_and_succeeds() {
    let out = ctl(&["status", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--stack") && help.contains("--record-type"),
        "{help}"
    );
    assert!(help.lines().count() > 5, "{help}");
}
