//! The config documents: the hosts document (JSON, in S3), the ping targets document (JSON, in
//! S3) and the Pi client's TOML file, each parsed and checked as its reader does.
#![no_main]

use std::path::Path;

use failberry::cli::Overrides;
use failberry::config::{DdnsConfig, HealthConfig, RawConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = failberry_proto::hosts::DdnsConfig::parse(data);
    let _ = failberry_ping::PingConfig::parse(data);
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/etc/failberry/config.toml");
    if let Ok(raw) = RawConfig::parse(&text, path) {
        let _ = DdnsConfig::build(raw, &Overrides::default());
        let _ = HealthConfig::build(
            RawConfig::parse(&text, path).unwrap(),
            &Overrides::default(),
        );
    }
});
