//! Every way a ddns request can fail, and the one place they become HTTP answers.

use std::net::IpAddr;

use failberry_proto::dyndns2::Answer;
use failberry_proto::signing::AuthError;
use failberry_proto::{ErrorBody, ErrorCode};
use lambda_http::{Body, Response};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0:?} is not a fully qualified domain name")]
    NotFqdn(String),
    /// Refused at the door every signed endpoint shares (`proto::signing::open`).
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("key {key_id:?} may not update {hostname:?}")]
    HostMismatch { key_id: String, hostname: String },
    #[error("{hostname:?} is outside its configured zone {zone:?}")]
    OutsideZone { hostname: String, zone: String },
    #[error("{0}")]
    LinkNotAllowed(String),
    #[error("{0} records are not allowed for this host")]
    FamilyNotAllowed(&'static str),
    #[error("{ip} is {reason}, which this host may not publish")]
    AddressNotPublic { ip: IpAddr, reason: &'static str },
    #[error("a change stamped {last_applied} or later was already applied for this host: this request is a replay or arrived out of order (sign it again with the current time)")]
    Replayed { last_applied: i64 },
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no such endpoint")]
    NotFound,
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("{0}")]
    DnsUnavailable(String),
    #[error("{0}")]
    DnsRejected(String),
    #[error("configuration unavailable: {0}")]
    ConfigUnavailable(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Malformed(_) | ApiError::NotFqdn(_) => 400,
            ApiError::Auth(e) => e.status(),
            ApiError::HostMismatch { .. }
            | ApiError::OutsideZone { .. }
            | ApiError::FamilyNotAllowed(_)
            | ApiError::LinkNotAllowed(_)
            | ApiError::AddressNotPublic { .. } => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Replayed { .. } => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::DnsRejected(_) => 502,
            ApiError::DnsUnavailable(_) | ApiError::ConfigUnavailable(_) => 503,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Malformed(_) => ErrorCode::MalformedRequest,
            ApiError::NotFqdn(_) => ErrorCode::NotFqdn,
            ApiError::Auth(e) => e.code(),
            ApiError::HostMismatch { .. } => ErrorCode::HostMismatch,
            ApiError::OutsideZone { .. } => ErrorCode::OutsideZone,
            ApiError::FamilyNotAllowed(_) => ErrorCode::FamilyNotAllowed,
            ApiError::LinkNotAllowed(_) => ErrorCode::LinkNotAllowed,
            ApiError::AddressNotPublic { .. } => ErrorCode::AddressNotPublic,
            ApiError::Replayed { .. } => ErrorCode::ReplayedRequest,
            ApiError::TooLarge(_) => ErrorCode::BodyTooLarge,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::DnsUnavailable(_) => ErrorCode::DnsUnavailable,
            ApiError::DnsRejected(_) => ErrorCode::DnsRejected,
            ApiError::ConfigUnavailable(_) => ErrorCode::ConfigUnavailable,
        }
    }

    /// The dyndns2 line for this failure.
    pub fn dyndns2(&self) -> Answer {
        match self {
            ApiError::NotFqdn(_) => Answer::NotFqdn,
            ApiError::OutsideZone { .. } => Answer::NoHost,
            ApiError::Auth(_) | ApiError::HostMismatch { .. } => Answer::BadAuth,
            ApiError::FamilyNotAllowed(_)
            | ApiError::AddressNotPublic { .. }
            | ApiError::Malformed(_) => Answer::DnsErr,
            _ => Answer::ServerError,
        }
    }

    pub fn into_response(self, now: i64) -> Response<Body> {
        let body = ErrorBody {
            error: self.code(),
            last_applied: match self {
                ApiError::Replayed { last_applied } => Some(last_applied),
                _ => None,
            },
            message: self.to_string(),
            time: now,
        };
        json_response(self.status(), &body)
    }
}

pub fn json_response(status: u16, body: &impl serde::Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).expect("answer types serialise");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(text))
        .expect("static status and header are valid")
}

pub fn text_response(status: u16, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(text))
        .expect("static status and header are valid")
}
