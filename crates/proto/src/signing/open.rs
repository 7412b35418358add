//! The one door for signed requests. `/v1/update`, `/v1/report` and the clip endpoints all open
//! a request here, so they refuse the same way: a missing header, a key id that names no host
//! (or is not even a domain name), a malformed or wrong signature all get the one answer
//! `401 bad_signature`, in the same time, so a stranger learns nothing about which names exist.
//! What is checked after the signature holds (the body's shape, its time, its nonce's shape) is
//! checked here too; what each endpoint orders by (replay marks, the nonce store) stays its own.

use serde::de::DeserializeOwned;

use super::{check_timestamp, verify, SignError, TIMESTAMP_WINDOW_SECS};
use crate::hostname::normalize_fqdn;
use crate::hosts::{DdnsConfig, HostConfig};
use crate::update::{valid_nonce, ErrorCode, UpdateRequest, MAX_BODY_BYTES};

/// What an unknown key id's signature is checked against: a key no host holds, so an unknown
/// name costs the same HMAC as a known one with a wrong secret.
const UNKNOWN_KEY_SECRET: &[u8] = b"failberry: no host has this key id";

/// A signed JSON body: every one carries the time it was signed and a single-use nonce.
pub trait Signed: DeserializeOwned {
    /// The body's name in an error message ("an update request").
    const WHAT: &'static str;
    /// The largest body the endpoint reads.
    const MAX_BYTES: usize;
    fn timestamp(&self) -> i64;
    fn nonce(&self) -> &str;
}

// Here rather than in `update`, so that `signing` depends on `update` and not both ways.
impl Signed for UpdateRequest {
    const WHAT: &'static str = "an update request";
    const MAX_BYTES: usize = MAX_BODY_BYTES;
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn nonce(&self) -> &str {
        &self.nonce
    }
}

/// A request as it arrived: the two signing headers (if present) and the exact body bytes.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub key_id: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    /// Reads the two signing headers through `header`, a lookup in the transport's header map.
    pub fn new(
        method: &'a str,
        path: &'a str,
        header: impl Fn(&'static str) -> Option<&'a str>,
        body: &'a [u8],
    ) -> Self {
        Self {
            method,
            path,
            key_id: header(super::KEY_ID_HEADER),
            signature: header(super::SIGNATURE_HEADER),
            body,
        }
    }
}

/// Why a request did not get past the door. Only the logs see a [`Refusal`]; the caller sees one
/// message whatever it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request is not signed: {0} header missing")]
    Unsigned(&'static str),
    #[error("the signature does not match")]
    Refused(Refusal),
    #[error("the timestamp is {skew_secs} s away from the server clock (allowed ±{TIMESTAMP_WINDOW_SECS} s)")]
    StaleTimestamp { skew_secs: i64 },
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Malformed(String),
}

/// The reason behind [`AuthError::Refused`], for the server's log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key id is not a domain name, or no host has it.
    UnknownKey,
    /// The signature header is not 64 hex characters.
    MalformedSignature,
    /// The key id is known; the signature was made with another secret or over other bytes.
    WrongSignature,
}

impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Unsigned(_) | AuthError::Refused(_) | AuthError::StaleTimestamp { .. } => {
                401
            }
            AuthError::TooLarge(_) => 413,
            AuthError::Malformed(_) => 400,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Unsigned(_) => ErrorCode::MissingSignature,
            AuthError::Refused(_) => ErrorCode::BadSignature,
            AuthError::StaleTimestamp { .. } => ErrorCode::StaleTimestamp,
            AuthError::TooLarge(_) => ErrorCode::BodyTooLarge,
            AuthError::Malformed(_) => ErrorCode::MalformedRequest,
        }
    }
}

/// Checks the signature of `req` and returns the host its key id names. The HMAC is computed
/// whether or not the key id names a host.
pub fn authenticate<'h>(
    hosts: &'h DdnsConfig,
    req: &SignedRequest<'_>,
) -> Result<&'h HostConfig, AuthError> {
    let key_id = req
        .key_id
        .ok_or(AuthError::Unsigned(super::KEY_ID_HEADER))?;
    let signature = req
        .signature
        .ok_or(AuthError::Unsigned(super::SIGNATURE_HEADER))?;
    let host = normalize_fqdn(key_id).and_then(|name| hosts.hosts.get(&name));
    let secret = host.map_or(UNKNOWN_KEY_SECRET, |h| h.secret.expose().as_bytes());
    verify(secret, req.method, req.path, key_id, req.body, signature).map_err(|e| {
        AuthError::Refused(match (e, host) {
            (SignError::MalformedSignature, _) => Refusal::MalformedSignature,
            (_, None) => Refusal::UnknownKey,
            (_, Some(_)) => Refusal::WrongSignature,
        })
    })?;
    host.ok_or(AuthError::Refused(Refusal::UnknownKey))
}

/// Authenticates `req`, then parses its body as `T` and checks its time and nonce shape.
pub fn open<'h, T: Signed>(
    hosts: &'h DdnsConfig,
    req: &SignedRequest<'_>,
    now: i64,
) -> Result<(&'h HostConfig, T), AuthError> {
    if req.body.len() > T::MAX_BYTES {
        return Err(AuthError::TooLarge(T::MAX_BYTES));
    }
    let host = authenticate(hosts, req)?;
    let body: T = serde_json::from_slice(req.body)
        .map_err(|e| AuthError::Malformed(format!("body is not {}: {e}", T::WHAT)))?;
    check_timestamp(body.timestamp(), now).map_err(|e| match e {
        SignError::StaleTimestamp { skew_secs } => AuthError::StaleTimestamp { skew_secs },
        other => AuthError::Malformed(other.to_string()),
    })?;
    if !valid_nonce(body.nonce()) {
        return Err(AuthError::Malformed(
            "nonce must be 16-64 characters of A-Z a-z 0-9 - _".into(),
        ));
    }
    Ok((host, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Signer;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Probe {
        timestamp: i64,
        nonce: String,
    }

    impl Signed for Probe {
        const WHAT: &'static str = "a probe";
        const MAX_BYTES: usize = 256;
        fn timestamp(&self) -> i64 {
            self.timestamp
        }
        fn nonce(&self) -> &str {
            &self.nonce
        }
    }

    const NOW: i64 = 1_700_000_000;
    const HOST: &str = "pi.home.example.com";
    const SECRET: &str = "correct horse battery staple";

    fn hosts() -> DdnsConfig {
        let doc = format!(
            r#"{{"hosts": {{"{HOST}": {{"secret": "{SECRET}", "zone_id": "Z1", "zone": "home.example.com"}}}}}}"#
        );
        DdnsConfig::parse(doc.as_bytes()).expect("test config parses")
    }

    fn body(timestamp: i64, nonce: &str) -> Vec<u8> {
        format!(r#"{{"timestamp": {timestamp}, "nonce": "{nonce}"}}"#).into_bytes()
    }

    const NONCE: &str = "0123456789abcdef";

    /// Signs `body` as `key_id` with `secret`, then opens it with the given header overrides.
    fn try_open(
        key_id: Option<&str>,
        secret: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<String, AuthError> {
        let hosts = hosts();
        let signed = Signer::new(key_id.unwrap_or(HOST), secret).sign("POST", "/v1/x", body);
        let req = SignedRequest {
            method: "POST",
            path: "/v1/x",
            key_id,
            signature: Some(signature.unwrap_or(&signed)),
            body,
        };
        open::<Probe>(&hosts, &req, NOW).map(|(host, probe)| {
            assert_eq!(probe.timestamp, NOW);
            host.name.clone()
        })
    }

    #[test]
    fn the_door_table() {
        let good = body(NOW, NONCE);
        let refused = |r| Err(AuthError::Refused(r));
        type Opened = Result<String, AuthError>;
        let rows: Vec<(&str, Opened, Opened)> = vec![
            (
                "signed right",
                try_open(Some(HOST), SECRET, None, &good),
                Ok(HOST.into()),
            ),
            (
                "key id in another spelling",
                try_open(Some("PI.home.example.com."), SECRET, None, &good),
                Ok(HOST.into()),
            ),
            (
                "no key id header",
                try_open(None, SECRET, None, &good),
                Err(AuthError::Unsigned(super::super::KEY_ID_HEADER)),
            ),
            (
                "wrong secret",
                try_open(Some(HOST), "guess", None, &good),
                refused(Refusal::WrongSignature),
            ),
            (
                "unknown host",
                try_open(Some("other.example.com"), SECRET, None, &good),
                refused(Refusal::UnknownKey),
            ),
            (
                "key id not a domain name",
                try_open(Some("not a name"), SECRET, None, &good),
                refused(Refusal::UnknownKey),
            ),
            (
                "signature not hex",
                try_open(Some(HOST), SECRET, Some("zz"), &good),
                refused(Refusal::MalformedSignature),
            ),
            (
                "stale",
                try_open(Some(HOST), SECRET, None, &body(NOW - 301, NONCE)),
                Err(AuthError::StaleTimestamp { skew_secs: -301 }),
            ),
            (
                "short nonce",
                try_open(Some(HOST), SECRET, None, &body(NOW, "short")),
                Err(AuthError::Malformed(
                    "nonce must be 16-64 characters of A-Z a-z 0-9 - _".into(),
                )),
            ),
            (
                "too large",
                try_open(Some(HOST), SECRET, None, &vec![b' '; 257]),
                Err(AuthError::TooLarge(256)),
            ),
        ];
        for (what, got, want) in rows {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_signed_body_that_is_not_json_is_malformed_not_unauthenticated() {
        let got = try_open(Some(HOST), SECRET, None, b"not json");
        match got {
            Err(AuthError::Malformed(m)) => assert!(m.starts_with("body is not a probe"), "{m}"),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn every_refusal_reads_the_same() {
        let answers: Vec<(u16, ErrorCode, String)> = [
            Refusal::UnknownKey,
            Refusal::MalformedSignature,
            Refusal::WrongSignature,
        ]
        .into_iter()
        .map(|r| {
            let e = AuthError::Refused(r);
            (e.status(), e.code(), e.to_string())
        })
        .collect();
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        assert_eq!(answers[0].0, 401);
    }
}
