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
    pub error: ErrorCode,
    pub message: String,
    pub time: i64,
    /// With `replayed_request`: the timestamp of the last change applied for the key, so a
    /// genuine client (a restarted one, or one whose clock was set back) signs past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<i64>,
}

/// The machine codes of [`ErrorBody::error`], one per way a request can be refused. The server
/// picks them and the client matches them: both read this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedRequest,
    NotFqdn,
    MissingSignature,
    BadSignature,
    StaleTimestamp,
    HostMismatch,
    OutsideZone,
    FamilyNotAllowed,
    AddressNotPublic,
    /// A report names a link outside the device's configured `links`.
    LinkNotAllowed,
    /// A signed change not newer than the last one applied for its key: a replay, or a request
    /// that arrived out of order. Signing it again with the current time is the remedy.
    ReplayedRequest,
    BodyTooLarge,
    NotFound,
    MethodNotAllowed,
    DnsUnavailable,
    DnsRejected,
    ConfigUnavailable,
    /// The host may not upload clips (its `clips.enabled` is off).
    ClipsDisabled,
    /// The clip is larger than the host's `clips.max_size`.
    ClipTooLarge,
    /// An object already exists at the clip's key: nothing is overwritten.
    ClipExists,
    /// A completion that does not match the parts S3 holds (missing, short or unknown upload).
    UploadIncomplete,
    /// S3 failed after retries: retry later.
    StorageUnavailable,
    /// A code this build does not know (a newer server): treated by its HTTP status alone.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::NotFqdn => "not_fqdn",
            ErrorCode::MissingSignature => "missing_signature",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::StaleTimestamp => "stale_timestamp",
            ErrorCode::HostMismatch => "host_mismatch",
            ErrorCode::OutsideZone => "outside_zone",
            ErrorCode::FamilyNotAllowed => "family_not_allowed",
            ErrorCode::LinkNotAllowed => "link_not_allowed",
            ErrorCode::AddressNotPublic => "address_not_public",
            ErrorCode::ReplayedRequest => "replayed_request",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::DnsUnavailable => "dns_unavailable",
            ErrorCode::DnsRejected => "dns_rejected",
            ErrorCode::ConfigUnavailable => "config_unavailable",
            ErrorCode::ClipsDisabled => "clips_disabled",
            ErrorCode::ClipTooLarge => "clip_too_large",
            ErrorCode::ClipExists => "clip_exists",
            ErrorCode::UploadIncomplete => "upload_incomplete",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    fn error_codes_round_trip_as_their_wire_names() {
        let all = [
            ErrorCode::MalformedRequest,
            ErrorCode::NotFqdn,
            ErrorCode::MissingSignature,
            ErrorCode::BadSignature,
            ErrorCode::StaleTimestamp,
            ErrorCode::HostMismatch,
            ErrorCode::OutsideZone,
            ErrorCode::FamilyNotAllowed,
            ErrorCode::AddressNotPublic,
            ErrorCode::ReplayedRequest,
            ErrorCode::BodyTooLarge,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::DnsUnavailable,
            ErrorCode::DnsRejected,
            ErrorCode::ConfigUnavailable,
            ErrorCode::ClipsDisabled,
            ErrorCode::ClipTooLarge,
            ErrorCode::ClipExists,
            ErrorCode::UploadIncomplete,
            ErrorCode::StorageUnavailable,
        ];
        for code in all {
            let wire = serde_json::to_string(&code).unwrap();
            assert_eq!(wire, format!("\"{}\"", code.as_str()), "{code:?}");
            assert_eq!(serde_json::from_str::<ErrorCode>(&wire).unwrap(), code);
        }
        assert_eq!(
            serde_json::from_str::<ErrorCode>("\"added_in_a_later_release\"").unwrap(),
            ErrorCode::Unknown
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let body = r#"{"hostname":"a.b","timestamp":1,"nonce":"abcdefghijklmnop","ttl":5}"#;
        assert!(serde_json::from_str::<UpdateRequest>(body).is_err());
    }
}
