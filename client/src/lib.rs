//! The failberry Pi client as a library, so the binary stays thin and the integration tests can
//! drive the commands: `cli` (flags) and `config` (file + flags → checked config).

pub mod cli;
pub mod config;
