//! Every way a clips request can fail, and the one place they become HTTP answers (the same
//! `ErrorBody` shape and codes as the ddns API).

use failberry_proto::signing::AuthError;
use failberry_proto::{ErrorBody, ErrorCode};
use lambda_http::{Body, Response};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    /// Refused at the door every signed endpoint shares (`proto::signing::open`).
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("this device may not upload clips")]
    ClipsDisabled,
    #[error("the clip is {size} bytes, over this device's cap of {max}")]
    ClipTooLarge { size: u64, max: u64 },
    #[error("this nonce was already used: the request is a replay (sign a new one)")]
    Replayed,
    #[error("a clip already exists at {0}")]
    Exists(String),
    #[error("{0}")]
    Incomplete(String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no such clip")]
    NotFound,
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("configuration unavailable: {0}")]
    ConfigUnavailable(String),
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Malformed(_) | ApiError::Incomplete(_) => 400,
            ApiError::Auth(e) => e.status(),
            ApiError::ClipsDisabled => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Replayed | ApiError::Exists(_) => 409,
            ApiError::ClipTooLarge { .. } | ApiError::TooLarge(_) => 413,
            ApiError::ConfigUnavailable(_) | ApiError::StorageUnavailable(_) => 503,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Malformed(_) => ErrorCode::MalformedRequest,
            ApiError::Auth(e) => e.code(),
            ApiError::ClipsDisabled => ErrorCode::ClipsDisabled,
            ApiError::ClipTooLarge { .. } => ErrorCode::ClipTooLarge,
            ApiError::Replayed => ErrorCode::ReplayedRequest,
            ApiError::Exists(_) => ErrorCode::ClipExists,
            ApiError::Incomplete(_) => ErrorCode::UploadIncomplete,
            ApiError::TooLarge(_) => ErrorCode::BodyTooLarge,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::ConfigUnavailable(_) => ErrorCode::ConfigUnavailable,
            ApiError::StorageUnavailable(_) => ErrorCode::StorageUnavailable,
        }
    }

    pub fn into_response(self, now: i64) -> Response<Body> {
        let body = ErrorBody {
            error: self.code(),
            last_applied: None,
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
