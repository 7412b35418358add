//! The clips function: an HTTP API (API Gateway HTTP API, payload 2.0, beside ddns) that grants
//! a device presigned S3 URLs for its camera clips and answers their analysis. `main.rs` only
//! wires the runtime; the handler lives in `routes`, the decisions in `failberry_proto::clips`,
//! and every AWS call behind the `ClipStore`, `NonceStore` and `DocumentSource` traits.

pub mod error;
pub mod nonces;
pub mod routes;
pub mod store;

use std::time::Duration;

use failberry_aws::{DocumentCache, S3Documents};
pub use failberry_proto::clock::{Clock, SystemClock};
use failberry_proto::hosts::DdnsConfig;

pub use nonces::{NonceError, NonceStore, S3Nonces};
pub use store::{ClipStore, S3ClipStore, StoreError, Upload};

/// Where the function finds its configuration, nonces and clips.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_bucket: String,
    pub config_key: String,
    pub config_max_age: Duration,
    pub replay_prefix: String,
    pub clips_bucket: String,
}

pub struct Clips<S, N, D, K> {
    pub store: S,
    pub nonces: N,
    pub config: DocumentCache<D, DdnsConfig>,
    pub clock: K,
}

/// The deployed shape: S3 and the system clock.
pub type AwsClips<K = SystemClock> = Clips<S3ClipStore, S3Nonces, S3Documents, K>;

impl<K: Clock> AwsClips<K> {
    /// Builds the service from an S3 client made once, outside the handler.
    pub fn from_client(s3: aws_sdk_s3::Client, settings: Settings, clock: K) -> Self {
        let documents = S3Documents::new(s3.clone(), &settings.config_bucket, &settings.config_key);
        Clips {
            store: S3ClipStore::new(s3.clone(), settings.clips_bucket),
            nonces: S3Nonces::new(s3, settings.config_bucket, settings.replay_prefix),
            config: DocumentCache::new(documents, DdnsConfig::parse, settings.config_max_age),
            clock,
        }
    }
}
