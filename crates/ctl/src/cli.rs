//! The command line of `failberry-ctl` (clap): its commands, their flags and the parsing of
//! flag values; validation of documents and edits is left to the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use failberry_ctl::documents::Doc;
use failberry_failover::ping::MetricName;

/// The owner's tool: where does the home's DNS name point now, and why; what will it cost; the
/// hosts and ping targets it runs.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the config documents are: found from the stack by name, or given.
#[derive(Args, Clone)]
pub struct Where {
    /// The CloudFormation stack (its ConfigBucketName and ApiUrl outputs, its key parameters).
    #[arg(long, env = "FAILBERRY_STACK")]
    pub stack: Option<String>,
    /// The config bucket, instead of the stack's output.
    #[arg(long, env = "FAILBERRY_CONFIG_BUCKET")]
    pub config_bucket: Option<String>,
    /// Key of the hosts document (default: the stack's ConfigKey, else ddns.json).
    #[arg(long)]
    pub hosts_key: Option<String>,
    /// Key of the ping document (default: the stack's PingConfigKey, else ping.json).
    #[arg(long)]
    pub ping_key: Option<String>,
    /// The API's base URL for the printed settings (default: the stack's ApiUrl output).
    #[arg(long)]
    pub api_url: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// The failover record pair, each health check and its alarm, the last datapoints, and the
    /// answer DNS gives.
    Status {
        /// The CloudFormation stack whose FailoverZoneId and FailoverName parameters name the
        /// record.
        #[arg(long, env = "FAILBERRY_STACK")]
        stack: Option<String>,
        /// Hosted zone id of the failover record (instead of the stack's).
        #[arg(long, env = "FAILBERRY_ZONE_ID")]
        zone_id: Option<String>,
        /// The failover name, e.g. vpn.home.example.com (instead of the stack's).
        #[arg(long, env = "FAILBERRY_FAILOVER_NAME")]
        name: Option<String>,
        /// Which pair to read: the IPv4 (A) or the IPv6 (AAAA) one.
        #[arg(long, value_parser = ["A", "AAAA"], default_value = "A")]
        record_type: String,
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
        template: PathBuf,
        /// The ping targets document it will run.
        #[arg(long, default_value = "infra/ping-home.sample.json")]
        ping: PathBuf,
        /// A template parameter as the deploy would set it (repeat), e.g. CreateDashboard=yes;
        /// the template's defaults otherwise. Conditional resources follow.
        #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = parse_parameter)]
        parameters: Vec<(String, String)>,
        /// Camera clips a day.
        #[arg(long, default_value_t = 50.0)]
        clips_per_day: f64,
        /// Seconds a clip.
        #[arg(long, default_value_t = 30.0)]
        clip_seconds: f64,
        /// DetectLabels calls a clip (0 to 1): by default the rate `make bench` measured.
        #[arg(long, default_value_t = failberry_ctl::cost::MEASURED_CALLS_PER_CLIP, value_parser = parse_calls_per_clip)]
        calls_per_clip: f64,
        /// Print the bill as a Markdown table (as docs/cost.md shows it).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The devices in the hosts document: their records, secrets and dyndns2 passwords.
    Host {
        #[command(flatten)]
        at: Where,
        #[command(subcommand)]
        command: HostCommand,
    },
    /// The ping function's targets.
    Target {
        #[command(flatten)]
        at: Where,
        #[command(subcommand)]
        command: TargetCommand,
    },
    /// Whole documents: check, pull into a file, push back.
    Config {
        #[command(flatten)]
        at: Where,
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
pub enum HostCommand {
    /// Adds a host with a new device secret (256 bits) and dyndns2 password (144 bits), and
    /// prints them once: the Pi's config snippet, the ddclient and router settings.
    Add {
        /// The record the host updates, e.g. wireless.home.example.com.
        name: String,
        /// The Route 53 zone holding it.
        #[arg(long)]
        zone: String,
        /// The zone's id (default: looked up by the zone's name in Route 53).
        #[arg(long)]
        zone_id: Option<String>,
        /// The dyndns2 user name (default: the host name).
        #[arg(long)]
        dyndns2_user: Option<String>,
        /// Lets the host upload camera clips.
        #[arg(long)]
        clips: bool,
    },
    /// The hosts, without their secrets.
    List,
    /// New credentials for a host, printed once (both unless one is named).
    Rotate {
        name: String,
        #[arg(long)]
        secret: bool,
        #[arg(long)]
        password: bool,
    },
    /// Removes a host: its secret and password stop working.
    Remove { name: String },
}

#[derive(Subcommand)]
pub enum TargetCommand {
    /// Adds a target. Cheap by default: its up/down joins the sites aggregate, its status code
    /// is published only when unexpected, certificate days once a day; opt in to more.
    Add {
        name: String,
        url: String,
        /// A failover link: an alarm watches its Availability, published every run.
        #[arg(long)]
        link: bool,
        /// Metrics published every run (repeat): Availability, Latency, StatusCode, CertDaysLeft.
        #[arg(long = "metric", value_parser = parse_metric)]
        metrics: Vec<MetricName>,
        #[arg(long)]
        method: Option<String>,
        /// Accepted status codes or ranges (repeat), e.g. 200-299, 401.
        #[arg(long)]
        expect_status: Vec<String>,
        #[arg(long)]
        body_contains: Option<String>,
        #[arg(long)]
        timeout_ms: Option<u64>,
        #[arg(long)]
        min_cert_days: Option<i64>,
        #[arg(long)]
        probes: Option<u32>,
        /// A request header (repeat), NAME:VALUE.
        #[arg(long = "header", value_parser = parse_header)]
        headers: Vec<(String, String)>,
    },
    /// The targets and what each publishes.
    List,
    Remove {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Checks a document (a FILE, else the stored one) as the function reading it would.
    Check { doc: Doc, file: Option<PathBuf> },
    /// Writes the stored document into FILE (created, mode 0600); the ping document may go to
    /// stdout.
    Pull { doc: Doc, file: Option<PathBuf> },
    /// Checks FILE and writes it over the version `pull` read (--if-match), or creates it.
    Push {
        doc: Doc,
        file: PathBuf,
        /// The ETag `config pull` printed.
        #[arg(long)]
        if_match: Option<String>,
    },
}

fn parse_metric(s: &str) -> Result<MetricName, String> {
    MetricName::ALL
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("{s:?} is not Availability, Latency, StatusCode or CertDaysLeft"))
}

fn parse_parameter(s: &str) -> Result<(String, String), String> {
    failberry_ctl::cost::conditions::parse_override(s).map_err(|e| e.to_string())
}

/// A share of clips: a finite number from 0 to 1 (mosaic mode makes at most one call a clip).
fn parse_calls_per_clip(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("{s:?} is not a number from 0 to 1")),
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not NAME:VALUE"))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}
