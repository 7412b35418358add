//! Request and response bodies of the ddns HTTP API (`/v1/myip`, `/v1/update`).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Largest body the API accepts; anything bigger is refused before parsing.
pub const MAX_BODY_BYTES: usize = 4096;

/// `GET /v1/myip`: the caller's source address as the API saw it, and the server's clock, which a
/// Pi without a real-time clock uses to correct its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyIpResponse {
    pub ip: std::net::IpAddr,
    pub time: i64,
}

/// `POST /v1/update`. An omitted address means "use the caller's source address" for its family;
/// both omitted means "the source address", whichever family it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Unix seconds when the request was signed.
    pub timestamp: i64,
    /// Single-use token, 16 to 64 characters of `[A-Za-z0-9_-]`.
    pub nonce: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStatus {
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateResponse {
    pub status: UpdateStatus,
    pub hostname: String,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    pub time: i64,
}

/// Every error answer of the JSON APIs: a stable machine code, a sentence for people, and the
/// server's clock so a client with a wrong clock can correct itself after a `stale_timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub time: i64,
}

/// Checks the nonce's shape; its freshness is the server's business.
pub fn valid_nonce(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_shapes() {
        let cases = [
            ("hex 32", "0123456789abcdef0123456789abcdef", true),
            ("16 chars", "abcdefghijklmnop", true),
            ("too short", "abc", false),
            ("too long", &"a".repeat(65), false),
            ("slash", "abcdefghijklmnop/", false),
            ("dot dot", "abcdefghijklmnop..", false),
        ];
        for (name, nonce, want) in cases {
            assert_eq!(valid_nonce(nonce), want, "{name}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let body = r#"{"hostname":"a.b","timestamp":1,"nonce":"abcdefghijklmnop","ttl":5}"#;
        assert!(serde_json::from_str::<UpdateRequest>(body).is_err());
    }
}
