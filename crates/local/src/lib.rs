//! The local stack: every failberry function in one process, reached the way AWS reaches it.
//! `apigw` turns plain HTTP into API Gateway HTTP API (payload 2.0) events, `server` serves them,
//! `emulator` points the AWS SDK at moto, and `seed` creates the demo zone, bucket and config;
//! `clip_queue` runs detectatron from its SQS queue and `analyse` runs it on one file.

pub mod analyse;
pub mod apigw;
pub mod clip_queue;
pub mod demo;
pub mod emulator;
pub mod failover;
pub mod failover_story;
pub mod picture;
pub mod seed;
pub mod server;
