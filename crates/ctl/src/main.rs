use std::process::ExitCode;

use clap::{Parser, Subcommand};
use failberry_ctl::cost;
use failberry_ctl::observe::{observe, Clients};
use failberry_ctl::status::{decide, render};

/// The owner's tool: where does the home's DNS name point now, and why; what will it cost.
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
    /// The monthly bill of a deployment before deploying it: every item at list price and after
    /// the always-free tiers, from the template's and the ping document's actual settings.
    Cost {
        /// The SAM template to price.
        #[arg(long, default_value = "infra/template.yaml")]
        template: std::path::PathBuf,
        /// The ping targets document it will run.
        #[arg(long, default_value = "infra/ping-home.sample.json")]
        ping: std::path::PathBuf,
        /// Camera clips a day.
        #[arg(long, default_value_t = 50.0)]
        clips_per_day: f64,
        /// Seconds a clip.
        #[arg(long, default_value_t = 30.0)]
        clip_seconds: f64,
        /// Print the bill as a Markdown table (as docs/cost.md shows it).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// Print JSON.
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
    match cli.command {
        Command::Status {
            zone_id,
            name,
            periods,
            at,
            json,
        } => status(&zone_id, &name, periods, at, json).await,
        Command::Cost {
            template,
            ping,
            clips_per_day,
            clip_seconds,
            markdown,
            json,
        } => {
            let home = cost::HomeProfile {
                clips_per_day,
                clip_seconds,
                ..cost::HomeProfile::default()
            };
            let bill = cost::price_files(&template, &ping, &home)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&bill)?);
            } else if markdown {
                print!("{}", cost::markdown(&bill));
            } else {
                print!("{}", cost::table(&bill));
            }
            Ok(())
        }
    }
}

async fn status(
    zone_id: &str,
    name: &str,
    periods: u32,
    at: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    let sdk = aws_config::load_from_env().await;
    let clients = Clients {
        route53: aws_sdk_route53::Client::new(&sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
    };
    let now = at.unwrap_or_else(|| failberry_proto::clock::unix_secs(std::time::SystemTime::now()));
    let observed = observe(&clients, zone_id, name, now, periods).await?;
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
