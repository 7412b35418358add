//! The `failberry` binary: parses the command line, runs it, and turns a failure into one line
//! on stderr and exit status 1. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use failberry::cli::Cli;

fn main() -> ExitCode {
    match failberry::run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("failberry: {error:#}");
            ExitCode::FAILURE
        }
    }
}
