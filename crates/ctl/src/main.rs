use std::process::ExitCode;

use clap::{Parser, Subcommand};
use failberry_ctl::observe::{observe, Clients};
use failberry_ctl::status::{decide, render};

/// The owner's tool: where does the home's DNS name point now, and why.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The failover record pair, each health check and its alarm, the last datapoints, and the
    /// answer DNS gives.
    Status {
        /// Hosted zone id of the failover record.
        #[arg(long, env = "FAILBERRY_ZONE_ID")]
        zone_id: String,
        /// The failover name, e.g. vpn.home.example.com.
        #[arg(long, env = "FAILBERRY_FAILOVER_NAME")]
        name: String,
        /// Alarm periods of datapoints to read and show.
        #[arg(long, default_value_t = 10)]
        periods: u32,
        /// Decide as of this Unix time instead of now.
        #[arg(long)]
        at: Option<i64>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("failberry-ctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Status {
        zone_id,
        name,
        periods,
        at,
        json,
    } = cli.command;
    let sdk = aws_config::load_from_env().await;
    let clients = Clients {
        route53: aws_sdk_route53::Client::new(&sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
    };
    let now = at.unwrap_or_else(|| failberry_proto::clock::unix_secs(std::time::SystemTime::now()));
    let observed = observe(&clients, &zone_id, &name, now, periods).await?;
    // The emulator evaluates no alarm and runs no health check: only the model can say.
    let decided_by = if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        "failberry's model of CloudWatch alarms and Route 53 health checks (emulator: it evaluates neither)"
    } else {
        "failberry's model over CloudWatch's datapoints; Route 53's own checkers shown beside it"
    };
    let status = decide(&observed, decided_by);
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status));
    }
    Ok(())
}
