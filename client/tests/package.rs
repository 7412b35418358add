//! The Debian package as built by `make deb` / `make deb-arm64`, inspected with `dpkg-deb`: the
//! control fields (architecture from the file name's, conffiles, maintainer scripts), the files and
//! their modes, a static binary (no ELF interpreter), a default config that `failberry config
//! check` accepts, and units that `systemd-analyze verify` accepts without a word.
//!
//! `FAILBERRY_DEB` names the package(s) to inspect, separated by spaces. Building a package is a
//! static release build under cargo-deb (minutes), too dear for every `cargo test`, so the test
//! is ignored there, reported as such instead of passing with nothing checked; `make deb-test`
//! builds the package and runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 4] = [
    "failberry-ddns.service",
    "failberry-health.service",
    "failberry-camera.service",
    "failberry-watchdog.service",
];

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether a 64-bit little-endian ELF file asks for a dynamic loader (has a PT_INTERP header).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "an ELF file");
    assert_eq!((elf[4], elf[5]), (2, 1), "64-bit little-endian");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| u32::from_le_bytes(elf[phoff + i * size..][..4].try_into().unwrap()) == 3)
}

fn inspect(deb: &Path) {
    let name = deb.file_name().unwrap().to_str().unwrap();
    let want_arch = name.rsplit('_').next().unwrap().trim_end_matches(".deb");
    let fields = dpkg_deb(&["-f"], deb);
    let field = |key: &str| {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("{key} in {fields}"))
            .to_string()
    };
    assert_eq!(field("Package"), "failberry");
    assert_eq!(field("Architecture"), want_arch, "{name}");

    let listing = dpkg_deb(&["-c"], deb);
    let mode_of = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(".{path}")))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .unwrap_or_else(|| panic!("{path} not in the package:\n{listing}"))
    };
    let mut files = vec![
        ("/usr/bin/failberry", "-rwxr-xr-x"),
        ("/etc/failberry/config.toml", "-rw-r-----"),
        ("/usr/lib/sysusers.d/failberry.conf", "-rw-r--r--"),
        ("/usr/share/doc/failberry/raspberry-pi.md", "-rw-r--r--"),
    ];
    let units: Vec<String> = UNITS
        .iter()
        .map(|u| format!("/usr/lib/systemd/system/{u}"))
        .collect();
    files.extend(units.iter().map(|u| (u.as_str(), "-rw-r--r--")));
    for (path, mode) in files {
        assert_eq!(mode_of(path), mode, "{path} in {name}");
    }

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let control = dir.path().join("control");
    let run = |args: &[&str], to: &Path| {
        let ok = Command::new("dpkg-deb")
            .args(args)
            .arg(deb)
            .arg(to)
            .status()
            .unwrap()
            .success();
        assert!(ok, "dpkg-deb {args:?}");
    };
    run(&["-x"], &root);
    run(&["-e"], &control);
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles"))
            .unwrap()
            .trim(),
        "/etc/failberry/config.toml"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        assert!(path.exists(), "{script} in {name}");
        assert!(
            Command::new("sh")
                .arg("-n")
                .arg(&path)
                .status()
                .unwrap()
                .success(),
            "{script} parses"
        );
    }
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(
        postinst.contains("config check"),
        "the postinst starts only configured units"
    );

    let binary = std::fs::read(root.join("usr/bin/failberry")).unwrap();
    assert!(!has_interpreter(&binary), "{name}: the binary is static");

    // The shipped config is all comments and valid; checked by this build's own binary, since
    // the packaged one may be for another architecture.
    let out = Command::new(env!("CARGO_BIN_EXE_failberry"))
        .args(["config", "check"])
        .arg(root.join("etc/failberry/config.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    verify_units(&root, dir.path());
}

/// `systemd-analyze verify` on copies whose ExecStart points into the extracted tree (it checks
/// that the program exists on this machine). Any output is a failure: unknown keys only warn.
fn verify_units(root: &Path, scratch: &Path) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: unit checks skipped");
        return;
    }
    let binary = root.join("usr/bin/failberry");
    let mut copies: Vec<PathBuf> = Vec::new();
    for unit in UNITS {
        let text = std::fs::read_to_string(root.join("usr/lib/systemd/system").join(unit)).unwrap();
        let copy = scratch.join(unit);
        std::fs::write(
            &copy,
            text.replace("/usr/bin/failberry", binary.to_str().unwrap()),
        )
        .unwrap();
        copies.push(copy);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&copies)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}

#[test]
#[ignore = "needs a built package: `make deb-test` builds one and runs this"]
fn built_packages_have_what_the_pi_needs() {
    let debs = std::env::var("FAILBERRY_DEB")
        .expect("FAILBERRY_DEB names the .deb files to inspect (`make deb-test` sets it)");
    for deb in debs.split_whitespace() {
        inspect(Path::new(deb));
    }
}
