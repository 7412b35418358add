//! The local stack: every failberry function in one process against the AWS emulator (moto),
//! reached the way AWS reaches it.
//!
//! - `emulator`: the AWS SDK pointed at moto (clients, reset);
//! - `seed`: the demo world (bucket, zone, ddns config document) and, in `seed::links`, the
//!   failover chain per link (alarm, health check, record pair) as the SAM template builds it;
//! - `apigw`, `server`: plain HTTP turned into API Gateway HTTP API (payload 2.0) events and
//!   served to a function;
//! - `stack`: [`Stack::start`], the one way `serve`, the demo, the integration tests and the bench
//!   start all of the above;
//! - `story`: `make demo`'s stories (`story::ddns`, `story::failover`), told through one `Story`
//!   that counts and prints their steps.

pub mod apigw;
pub mod emulator;
pub mod seed;
pub mod server;
pub mod stack;
pub mod story;

pub use stack::{Stack, StackOptions};
