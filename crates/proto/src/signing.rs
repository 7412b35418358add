//! Request signing for the Pi-facing APIs: HMAC-SHA256 over a canonical string that binds the
//! method, the path, the key id and the exact body bytes (which carry the addresses, the
//! timestamp and the nonce). Verification is constant-time; freshness and replay checks on the
//! body's timestamp and nonce are done by the server after the signature holds.

use std::sync::atomic::{AtomicI64, Ordering};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Names the secret the request was signed with (for ddns, the hostname it is allowed to update).
pub const KEY_ID_HEADER: &str = "x-failberry-key-id";
/// Lowercase hex HMAC-SHA256 of the canonical string.
pub const SIGNATURE_HEADER: &str = "x-failberry-signature";
/// First line of every canonical string; a new scheme gets a new name, never a silent change.
pub const SCHEME: &str = "FAILBERRY1-HMAC-SHA256";
/// How far a request's timestamp may stray from the server's clock, either way.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// Where the replay defence lives in the config bucket, unless the functions' `REPLAY_PREFIX`
/// names another: ddns's ordering marks (`<prefix><key id>/last-applied.json`) and clips's
/// single-use nonces (`<prefix><key id>/nonces/<nonce>`). The template's lifecycle rule and
/// grants name the same prefix.
pub const REPLAY_PREFIX: &str = "replay/";

mod open;
pub use open::{authenticate, open, AuthError, Refusal, Signed, SignedRequest};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the signature is not 64 hex characters")]
    MalformedSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the timestamp is {skew_secs} s away from the server clock (allowed ±{TIMESTAMP_WINDOW_SECS} s)")]
    StaleTimestamp { skew_secs: i64 },
}

/// The exact text that is signed, one field per line.
pub fn canonical_string(method: &str, path: &str, key_id: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!(
        "{SCHEME}\n{}\n{path}\n{key_id}\n{body_hash}",
        method.to_ascii_uppercase()
    )
}

fn mac(secret: &[u8], canonical: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(canonical.as_bytes());
    mac
}

/// Signs requests on behalf of one key id.
#[derive(Clone)]
pub struct Signer {
    key_id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Signer {
    pub fn new(key_id: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        Self {
            key_id: key_id.into(),
            secret: secret.as_ref().to_vec(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The value of the signature header for this request.
    pub fn sign(&self, method: &str, path: &str, body: &[u8]) -> String {
        let canonical = canonical_string(method, path, &self.key_id, body);
        hex::encode(mac(&self.secret, &canonical).finalize().into_bytes())
    }

    /// `(header name, value)` pairs to attach to the request.
    pub fn headers(&self, method: &str, path: &str, body: &[u8]) -> [(&'static str, String); 2] {
        [
            (KEY_ID_HEADER, self.key_id.clone()),
            (SIGNATURE_HEADER, self.sign(method, path, body)),
        ]
    }
}

/// Checks a signature in constant time.
pub fn verify(
    secret: &[u8],
    method: &str,
    path: &str,
    key_id: &str,
    body: &[u8],
    signature_hex: &str,
) -> Result<(), SignError> {
    let signature = hex::decode(signature_hex.trim()).map_err(|_| SignError::MalformedSignature)?;
    if signature.len() != 32 {
        return Err(SignError::MalformedSignature);
    }
    let canonical = canonical_string(method, path, key_id, body);
    mac(secret, &canonical)
        .verify_slice(&signature)
        .map_err(|_| SignError::BadSignature)
}

/// Refuses a timestamp outside the window around `now`.
pub fn check_timestamp(timestamp: i64, now: i64) -> Result<(), SignError> {
    let skew_secs = timestamp.saturating_sub(now);
    if skew_secs.saturating_abs() > TIMESTAMP_WINDOW_SECS {
        return Err(SignError::StaleTimestamp { skew_secs });
    }
    Ok(())
}

/// Timestamps for signed requests that only move forward. The server refuses a change that is not
/// newer than the last one it applied for the key, so two changes signed within one second, or
/// either side of a clock corrected backwards, must still come out in order.
#[derive(Debug)]
pub struct Stamps(AtomicI64);

impl Stamps {
    pub const fn new() -> Self {
        Stamps(AtomicI64::new(i64::MIN))
    }

    /// `now`, or one second past the previous stamp when that is later.
    pub fn next(&self, now: i64) -> i64 {
        let step = |last: i64| now.max(last.saturating_add(1));
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(step(last))
            })
            .expect("the closure always returns Some");
        step(previous)
    }
}

impl Default for Stamps {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stamps_only_move_forward() {
        let stamps = Stamps::new();
        let cases = [
            ("first", 100, 100),
            ("same second", 100, 101),
            ("same second again", 100, 102),
            ("clock set back", 50, 103),
            ("clock caught up", 200, 200),
        ];
        for (name, now, want) in cases {
            assert_eq!(stamps.next(now), want, "{name}");
        }
    }

    /// One vector block of `docs/protocol.md`: `key: value` lines between ```vector fences.
    struct Vector {
        secret: String,
        method: String,
        path: String,
        key_id: String,
        body: String,
        canonical: String,
        signature: String,
    }

    fn vectors_from_protocol_doc() -> Vec<Vector> {
        let doc = include_str!("../../../docs/protocol.md");
        let mut vectors = Vec::new();
        let mut lines = doc.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "```vector" {
                continue;
            }
            let mut fields = std::collections::HashMap::new();
            let mut canonical = Vec::new();
            let mut in_canonical = false;
            for line in lines.by_ref() {
                if line.trim() == "```" {
                    break;
                }
                if in_canonical {
                    if let Some(rest) = line.strip_prefix("  ") {
                        canonical.push(rest.to_string());
                        continue;
                    }
                    in_canonical = false;
                }
                let (key, value) = line.split_once(':').expect("vector line is key: value");
                if key == "canonical" {
                    in_canonical = true;
                } else {
                    fields.insert(key.to_string(), value.trim().to_string());
                }
            }
            let field = |k: &str| {
                fields
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| panic!("vector lacks {k}"))
            };
            vectors.push(Vector {
                secret: field("secret"),
                method: field("method"),
                path: field("path"),
                key_id: field("key_id"),
                body: field("body"),
                canonical: canonical.join("\n"),
                signature: field("signature"),
            });
        }
        vectors
    }

    #[test]
    fn protocol_doc_vectors_hold() {
        let vectors = vectors_from_protocol_doc();
        assert!(
            vectors.len() >= 2,
            "docs/protocol.md should carry test vectors"
        );
        for v in vectors {
            let canonical = canonical_string(&v.method, &v.path, &v.key_id, v.body.as_bytes());
            assert_eq!(canonical, v.canonical, "canonical string of {}", v.body);
            let signer = Signer::new(&v.key_id, &v.secret);
            assert_eq!(
                signer.sign(&v.method, &v.path, v.body.as_bytes()),
                v.signature
            );
            verify(
                v.secret.as_bytes(),
                &v.method,
                &v.path,
                &v.key_id,
                v.body.as_bytes(),
                &v.signature,
            )
            .expect("vector verifies");
        }
    }

    #[test]
    fn verification_table() {
        let signer = Signer::new("wireless.home.example.com", "s3cret");
        let body =
            br#"{"hostname":"wireless.home.example.com","timestamp":1,"nonce":"abcdefghijklmnop"}"#;
        let good = signer.sign("POST", "/v1/update", body);
        type Case<'a> = (
            &'a str,
            &'a [u8],
            &'a str,
            &'a str,
            &'a str,
            Result<(), SignError>,
        );
        let cases: [Case; 6] = [
            ("good", b"s3cret", "POST", "/v1/update", &good, Ok(())),
            (
                "wrong secret",
                b"other",
                "POST",
                "/v1/update",
                &good,
                Err(SignError::BadSignature),
            ),
            (
                "moved to another path",
                b"s3cret",
                "POST",
                "/v1/clips",
                &good,
                Err(SignError::BadSignature),
            ),
            (
                "other method",
                b"s3cret",
                "PUT",
                "/v1/update",
                &good,
                Err(SignError::BadSignature),
            ),
            (
                "not hex",
                b"s3cret",
                "POST",
                "/v1/update",
                "zz",
                Err(SignError::MalformedSignature),
            ),
            (
                "truncated",
                b"s3cret",
                "POST",
                "/v1/update",
                &good[..62],
                Err(SignError::MalformedSignature),
            ),
        ];
        for (name, secret, method, path, sig, want) in cases {
            let got = verify(secret, method, path, signer.key_id(), body, sig);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn timestamp_window() {
        let cases = [
            ("same second", 1000, 1000, true),
            ("300 s early", 700, 1000, true),
            ("301 s early", 699, 1000, false),
            ("300 s late", 1300, 1000, true),
            ("301 s late", 1301, 1000, false),
            ("absurd", i64::MIN, 1000, false),
        ];
        for (name, ts, now, ok) in cases {
            assert_eq!(check_timestamp(ts, now).is_ok(), ok, "{name}");
        }
    }

    proptest! {
        #[test]
        fn any_body_change_breaks_the_signature(body in proptest::collection::vec(any::<u8>(), 1..256), flip in 0usize..256) {
            let signer = Signer::new("k", "secret");
            let sig = signer.sign("POST", "/v1/update", &body);
            let mut tampered = body.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert_eq!(verify(b"secret", "POST", "/v1/update", "k", &tampered, &sig), Err(SignError::BadSignature));
            prop_assert_eq!(verify(b"secret", "POST", "/v1/update", "k", &body, &sig), Ok(()));
        }
    }
}
