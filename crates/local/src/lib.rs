//! The local stack: every failberry function in one process against the AWS emulator (moto),
//! reached the way AWS reaches it.
//!
//! - `emulator`: the AWS SDK pointed at moto (clients, reset);
//! - `seed`: the demo world (bucket, zone, ddns config document) and, in `seed::links`, the
//!   failover chain per link (alarm, health check, record pair) as the SAM template builds it;
//! - `apigw`, `server` (private): plain HTTP turned into API Gateway HTTP API (payload 2.0)
//!   events and served to a function;
//! - `stack`: [`Stack::start`], the one way `serve`, the demo, the integration tests and the bench
//!   start all of the above;
//! - `story`: `make demo`'s stories (`story::ddns`, `story::failover`), told through one `Story`
//!   that counts and prints their steps;
//! - `clip_queue`: runs detectatron from its SQS queue as the event source mapping would;
//!   `analyse` runs it on one file with a scripted labeler;
//! - `fake_nvr`: Frigate and Unifi Video fakes over HTTP (no NVR runs here), for the demo's
//!   camera story and the connector's tests.

pub mod analyse;
pub mod apigw;
pub mod clip_queue;
pub mod emulator;
pub mod fake_nvr;
pub mod seed;
mod server;
pub mod stack;
pub mod story;

pub use stack::{Stack, StackOptions};
