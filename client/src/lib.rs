//! The failberry Pi client as a library, so the binary stays thin and the integration tests can
//! drive the commands: `cli` (flags), `config` (file + flags → checked config), `api` (the ddns
//! HTTP API), `detect` (address sources) and `state` (the last acknowledged addresses).

pub mod api;
pub mod cli;
pub mod config;
pub mod detect;
pub mod state;
