//! The failberry Pi client as a library, so the binary stays thin and the integration tests can
//! drive the commands: `cli` (flags), `config` (file + flags → checked config), and `api` (the
//! ddns HTTP API).

pub mod api;
pub mod cli;
pub mod config;
