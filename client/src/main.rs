//! The `failberry` binary: parses the command line, runs it, and turns a failure into one line
//! on stderr and exit status 1 (a command-line mistake: one line and status 2). Everything else
//! lives in the library.

use std::process::ExitCode;

use failberry::cli::Cli;
use failberry_proto::cli::parse_or_exit;

fn main() -> ExitCode {
    match failberry::run(parse_or_exit::<Cli>("failberry")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("failberry: {error:#}");
            ExitCode::FAILURE
        }
    }
}
