//! AWS adapters shared by failberry's functions and the owner's tool: JSON documents kept in S3
//! (read through an ETag-revalidated cache, written with conditional puts) and the jittered
//! retry used around every AWS write, and the SDK configuration with an HTTPS client that trusts
//! only Amazon's roots, and the deferral that builds it beside the runtime's first poll. Domain
//! decisions stay in the function crates.

pub mod deferred;
pub mod document;
pub mod retry;
pub mod tls;

pub use deferred::Deferred;
pub use document::{
    describe, lost_conditional_write, DocumentCache, DocumentError, DocumentSource, Fetched,
    S3Documents,
};

/// A Lambda environment variable that is missing or malformed (read only in `main`); the error
/// names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is not set")]
    Missing(String),
    #[error("{name}={value:?} is not a number of seconds")]
    NotSeconds { name: String, value: String },
}

/// A Lambda's required environment variable; the error names it (read only in `main`).
pub fn required_env(name: &str) -> Result<String, EnvError> {
    std::env::var(name).map_err(|_| EnvError::Missing(name.to_string()))
}
pub use aws_config::SdkConfig;
pub use retry::{describe_attempts, retry, transient, Backoff, SdkRetry, COMMON_RETRYABLE_CODES};
pub use tls::sdk_config;

/// An optional environment variable holding whole seconds; a value that is not one is an error
/// naming it, never silently replaced by the default.
pub fn env_secs(name: &str, default: u64) -> Result<std::time::Duration, EnvError> {
    let secs = match std::env::var(name) {
        Ok(s) => s.trim().parse().map_err(|_| EnvError::NotSeconds {
            name: name.to_string(),
            value: s.clone(),
        })?,
        Err(_) => default,
    };
    Ok(std::time::Duration::from_secs(secs))
}
