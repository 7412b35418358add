//! No-panic properties of every parser in the wire contract that reads network input: update and
//! grant bodies, the hosts config document, dyndns2 addresses and host lists, host names, the
//! reference protocol's hashes, clip names and digests, signatures. Each must return a value or an
//! error for any input. The same parsers are fuzzed by `fuzz/` (`make fuzz`).

use failberry_proto::clips::{
    check_camera, check_name, owns_key, parse_sha256, CompleteRequest, GrantRequest, ResumeRequest,
};
use failberry_proto::dyndns2::{parse_myip, split_hostnames};
use failberry_proto::hostname::{in_zone, normalize_fqdn};
use failberry_proto::hosts::DdnsConfig;
use failberry_proto::legacy::{hash_matches, looks_like_sha256, LegacyRequest};
use failberry_proto::signing::{check_timestamp, verify};
use failberry_proto::UpdateRequest;
use proptest::prelude::*;

/// Text that is mostly JSON-ish, so the parsers get past the first byte often.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,200}",
        r#"\{("[a-z_]{1,12}": ?("[ -~]{0,20}"|-?[0-9]{1,20}|true|null|\{\}|\[\]),? ?){0,8}\}"#,
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn request_bodies_parse_or_fail(text in jsonish()) {
        let _ = serde_json::from_str::<UpdateRequest>(&text);
        let _ = serde_json::from_str::<LegacyRequest>(&text);
        let _ = serde_json::from_str::<GrantRequest>(&text);
        let _ = serde_json::from_str::<ResumeRequest>(&text);
        let _ = serde_json::from_str::<CompleteRequest>(&text);
    }

    #[test]
    fn hosts_documents_parse_or_fail(host in jsonish(), name in "[a-z.]{0,30}") {
        let _ = DdnsConfig::parse(host.as_bytes());
        let _ = DdnsConfig::parse(format!(r#"{{"hosts": {{"{name}": {host}}}}}"#).as_bytes());
    }

    #[test]
    fn dyndns2_fields_parse_or_fail(myip in "[ -~]{0,60}", myipv6 in "[ -~]{0,60}", hosts in "[ -~]{0,300}") {
        let _ = parse_myip(Some(&myip), Some(&myipv6));
        let _ = parse_myip(Some(&myip), None);
        let split = split_hostnames(&hosts);
        prop_assert!(split.iter().all(|h| hosts.contains(h)));
    }

    #[test]
    fn names_and_hashes_never_panic(name in "[ -~]{0,300}", zone in "[ -~]{0,60}", hash in "[ -~]{0,80}") {
        if let Some(n) = normalize_fqdn(&name) {
            prop_assert!(n.len() <= 253, "{n:?} is longer than a DNS name may be");
        }
        let _ = in_zone(&name, &zone);
        let _ = looks_like_sha256(&hash);
        let _ = hash_matches(&hash, &name, &zone, "secret-of-sixteen");
        let _ = check_camera(&name);
        let _ = check_name(&name);
        let _ = parse_sha256(&hash);
        let _ = owns_key(&zone, &name);
    }

    #[test]
    fn signatures_verify_or_fail(
        signature in "[ -~]{0,80}",
        key_id in "[ -~]{0,40}",
        body in any::<Vec<u8>>(),
        timestamp in any::<i64>(),
        now in any::<i64>(),
    ) {
        prop_assert!(verify(b"secret", "POST", "/v1/update", &key_id, &body, &signature).is_err());
        let _ = check_timestamp(timestamp, now);
    }
}
