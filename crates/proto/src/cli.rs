//! The command line of both binaries (`failberry`, `failberry-ctl`), parsed the same way: help and
//! version on stdout, a mistake as one line on stderr and exit status 2. Behind the `cli` feature,
//! so the functions never link clap.

use clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
use clap::Parser;

/// Parses the command line of `program`, or exits.
pub fn parse_or_exit<C: Parser>(program: &str) -> C {
    match C::try_parse() {
        Ok(cli) => cli,
        // Help and version; and a bare command, which clap answers with its help.
        Err(e) if !e.use_stderr() || e.kind() == DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            eprintln!(
                "{program}: {} (see --help)",
                one_line(&e.render().to_string())
            );
            std::process::exit(2)
        }
    }
}

/// clap's message, the text before the blank line that starts its usage block, on one line.
fn one_line(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    message.join(" ").trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_the_text_before_the_usage_block() {
        let rendered = "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: failberry [OPTIONS] <COMMAND>\n";
        assert_eq!(one_line(rendered), "unexpected argument '--nope' found");
        let wrapped = "error: invalid value 'x' for '--port <PORT>':\n  invalid digit found in string\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(wrapped),
            "invalid value 'x' for '--port <PORT>': invalid digit found in string"
        );
    }
}
