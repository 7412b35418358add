//! The `failberry` binary: parses the command line, runs it, and turns a failure into one line
//! on stderr and exit status 1 (a command-line mistake: one line and status 2). Everything else
//! lives in the library.

use std::process::ExitCode;

use clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
use clap::Parser;
use failberry::cli::Cli;

fn main() -> ExitCode {
    match failberry::run(parse_args()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("failberry: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, or exit: help and version on stdout, a mistake as one line on stderr
/// (clap's message, the text before the blank line that starts its usage block) and status 2.
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version; and a bare command, which clap answers with its help.
        Err(e) if !e.use_stderr() || e.kind() == DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            let text = e.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            eprintln!(
                "failberry: {} (see --help)",
                message.trim_start_matches("error: ")
            );
            std::process::exit(2)
        }
    }
}
