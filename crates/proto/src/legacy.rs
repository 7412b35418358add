//! The client protocol of AWS's reference dynamic DNS solution ("Dynamic DNS via AWS API
//! Gateway, Lambda & Route 53"), kept so its shipped `dyndns.sh` works unchanged when pointed at
//! our API. Its proof of authority is `sha256hex(ip + hostname + shared_secret)`, where the
//! hostname is exactly as the client sent it and the ip is the caller's source address.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The body the reference client POSTs.
#[derive(Debug, Clone, Deserialize)]
pub struct LegacyRequest {
    pub execution_mode: Option<String>,
    pub ddns_hostname: Option<String>,
    pub validation_hash: Option<String>,
}

/// Every reference answer: `{"return_status": "success"|"fail", "return_message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyAnswer {
    pub return_status: String,
    pub return_message: String,
}

impl LegacyAnswer {
    pub fn success(message: impl Into<String>) -> Self {
        Self {
            return_status: "success".into(),
            return_message: message.into(),
        }
    }

    pub fn fail(message: impl Into<String>) -> Self {
        Self {
            return_status: "fail".into(),
            return_message: message.into(),
        }
    }

    /// Rendered with Python's `json.dumps` separators, byte for byte what the reference Lambda
    /// sends: its client scrapes the `get` answer with `egrep -o '[0-9\.]+'`, so the body must
    /// carry no other digits or dots.
    pub fn to_body(&self) -> String {
        format!(
            "{{\"return_status\": {}, \"return_message\": {}}}",
            serde_json::Value::from(self.return_status.as_str()),
            serde_json::Value::from(self.return_message.as_str()),
        )
    }
}

pub fn validation_hash(ip: &str, hostname: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{ip}{hostname}{secret}").as_bytes()))
}

/// Compares a presented hash with the expected one in constant time, case-insensitively.
pub fn hash_matches(presented: &str, ip: &str, hostname: &str, secret: &str) -> bool {
    let expected = validation_hash(ip, hostname, secret);
    let presented = presented.trim().to_ascii_lowercase();
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The reference server's shape check on a hash: 64 hex characters.
pub fn looks_like_sha256(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_reference_vector() {
        // From the reference solution's documentation:
        // echo -n 11.12.13.14www.example.comSuP3R_5eCR3T | shasum -a 256
        assert_eq!(
            validation_hash("11.12.13.14", "www.example.com", "SuP3R_5eCR3T"),
            "0eb3fc760ddbd7dca1702ae359b8f990b8a145d719b9d1014da4aa866022dd70"
        );
    }

    #[test]
    fn hash_checks() {
        let good = validation_hash("81.2.69.142", "wireless.home.example.com", "s");
        let cases = [
            ("exact", good.clone(), true),
            ("upper case", good.to_uppercase(), true),
            (
                "other ip",
                validation_hash("81.2.69.143", "wireless.home.example.com", "s"),
                false,
            ),
            ("truncated", good[..63].to_string(), false),
        ];
        for (name, presented, want) in cases {
            assert_eq!(
                hash_matches(&presented, "81.2.69.142", "wireless.home.example.com", "s"),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn get_body_carries_only_the_ip_digits() {
        let body = LegacyAnswer::success("81.2.69.142").to_body();
        assert_eq!(
            body,
            r#"{"return_status": "success", "return_message": "81.2.69.142"}"#
        );
    }
}
