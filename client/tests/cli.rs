//! The command line's mistakes: each is one line on stderr naming what is wrong, with exit
//! status 2; help still prints in full on stdout.

use std::process::{Command, Output};

fn failberry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_failberry"))
        .args(args)
        .output()
        .expect("failberry runs")
}

#[test]
fn a_mistake_is_one_line_and_exit_status_2() {
    let cases: [(&[&str], &str); 2] = [
        (&["ddns", "--bogus"], "unexpected argument '--bogus'"),
        (&["fly"], "unrecognized subcommand 'fly'"),
    ];
    for (args, fragment) in cases {
        let out = failberry(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("failberry: "), "{args:?}: {err}");
        assert!(err.contains(fragment), "{args:?}: {err}");
    }
}

#[test]
fn a_bare_command_shows_its_help() {
    let out = failberry(&["ddns"]);
    assert_eq!(out.status.code(), Some(2));
    let help = String::from_utf8_lossy(&out.stderr);
    assert!(help.contains("Usage: failberry ddns"), "{help}");
}

#[test]
fn help_is_whole_and_succeeds() {
    let out = failberry(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("ddns") && help.lines().count() > 5, "{help}");
}
