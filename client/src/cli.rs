//! The command line: flags, environment variables and subcommands, parsed by clap, and the
//! `Overrides` they give. It only shapes input and imports nothing from the layers above it;
//! checking values and merging them with the config file is `config`'s job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use serde::Deserialize;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/failberry/config.toml";

/// The failberry Raspberry Pi client: keeps the wireless DNS name of a home network up to date
/// and answers the link pings.
#[derive(Debug, Parser)]
#[command(name = "failberry", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (TOML). A missing file is fine when flags and environment give every value.
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_CONFIG",
        default_value = DEFAULT_CONFIG_PATH,
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Human
    )]
    pub log_format: LogFormat,

    /// Base URL of the failberry HTTP API, e.g. https://abc.execute-api.eu-west-1.amazonaws.com
    /// [config: api.url]
    #[arg(long, global = true, env = "FAILBERRY_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

// One variant per subcommand, each with its own args struct; `lib::run` hands each to its module
// (`ddns`, `health`, `camera`, `watchdog`), which runs until shutdown (or until done).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish this Pi's wireless address under its DNS name.
    Ddns(DdnsArgs),
    /// The HTTP endpoint the ping function probes.
    Health(HealthArgs),
    /// Upload every finished camera clip through upload grants and mark the interesting ones.
    Camera(CameraArgs),
    /// Check the links from inside, recover the wireless one, guard its data cap, report.
    Watchdog(WatchdogArgs),
    /// The config file.
    Config(ConfigArgs),
}

/// `failberry watchdog`: its settings come from `[watchdog]`; these override a few.
#[derive(Debug, Clone, Default, Args)]
pub struct WatchdogArgs {
    /// Log what would be run and reported, run nothing, send nothing, leave the state file alone.
    #[arg(long)]
    pub dry_run: bool,

    /// The wireless interface to check, recover and count [config: watchdog.interface]
    #[arg(long, env = "FAILBERRY_WATCHDOG_INTERFACE", value_name = "NAME")]
    pub interface: Option<String>,

    /// Where the ladder, the reboots and the month's use are kept [config: watchdog.state_file,
    /// default /var/lib/failberry-watchdog/state.json]
    #[arg(long, env = "FAILBERRY_WATCHDOG_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Stop after this many rounds (tests and measurements); run until stopped by default.
    #[arg(long, value_name = "N", hide = true)]
    pub rounds: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a config file and name every problem with its line and key; exit status 1 if any.
    Check {
        /// The file to check [default: --config]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CameraArgs {
    #[command(flatten)]
    pub settings: CameraSettings,

    #[command(subcommand)]
    pub action: CameraAction,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum CameraAction {
    /// Watch the sources and upload until stopped (SIGTERM or Ctrl-C).
    Watch,
    /// Print the queue: clips waiting, uploading, waiting for their result, failed.
    Status,
}

/// The `[camera]` values most worth overriding (the sources' details live in the file).
#[derive(Debug, Clone, Default, Args)]
pub struct CameraSettings {
    /// Directory of the durable upload queue [config: camera.queue_dir,
    /// default /var/lib/failberry/camera]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_CAMERA_QUEUE_DIR",
        value_name = "PATH"
    )]
    pub queue_dir: Option<PathBuf>,

    /// Uploads at once [config: camera.concurrency, default 4]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_CAMERA_CONCURRENCY",
        value_name = "N"
    )]
    pub concurrency: Option<usize>,

    /// Seconds before the first retry of a failed upload (doubling per failure)
    /// [config: camera.retry_secs, default 5]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_CAMERA_RETRY",
        value_name = "SECS"
    )]
    pub retry_secs: Option<u64>,

    /// A folder to watch, as [CAMERA=]PATH; adds to the file's [[camera.folder]] entries
    #[arg(long = "folder", global = true, value_name = "[CAMERA=]PATH")]
    pub folders: Vec<String>,

    /// How the --folder entries notice finished files
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    pub folder_mode: Option<FolderMode>,
}

#[derive(Debug, Args)]
pub struct DdnsArgs {
    #[command(flatten)]
    pub settings: DdnsSettings,

    #[command(subcommand)]
    pub action: DdnsAction,
}

/// Every `[ddns]` value of the config file, overridable here (flag or environment variable).
#[derive(Debug, Clone, Default, Args)]
pub struct DdnsSettings {
    /// DNS name to update; also the key id of the signed requests [config: ddns.hostname]
    #[arg(long, global = true, env = "FAILBERRY_HOSTNAME", value_name = "FQDN")]
    pub hostname: Option<String>,

    /// Device secret (at least 16 characters); prefer --secret-file or the environment, which
    /// other users cannot read from the process list [config: ddns.secret]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<String>,

    /// File holding the device secret (surrounding whitespace ignored) [config: ddns.secret_file]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_SECRET_FILE",
        value_name = "PATH"
    )]
    pub secret_file: Option<PathBuf>,

    /// Where the IPv4 address comes from [config: ddns.ipv4, default myip]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_IPV4",
        value_enum,
        value_name = "SOURCE"
    )]
    pub ipv4: Option<Ipv4From>,

    /// Interface for IPv4: with `myip` the API requests are bound to it, with `interface` its
    /// address is read [config: ddns.ipv4_interface]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_IPV4_INTERFACE",
        value_name = "NAME"
    )]
    pub ipv4_interface: Option<String>,

    /// File whose first line is the IPv4 address, for `--ipv4 file` [config: ddns.ipv4_file]
    #[arg(long, global = true, env = "FAILBERRY_IPV4_FILE", value_name = "PATH")]
    pub ipv4_file: Option<PathBuf>,

    /// Where the IPv6 address comes from [config: ddns.ipv6, default off]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_IPV6",
        value_enum,
        value_name = "SOURCE"
    )]
    pub ipv6: Option<Ipv6From>,

    /// Interface whose stable global IPv6 address is published [config: ddns.ipv6_interface]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_IPV6_INTERFACE",
        value_name = "NAME"
    )]
    pub ipv6_interface: Option<String>,

    /// The last addresses the API acknowledged [config: ddns.state_file,
    /// default /var/lib/failberry/ddns-state.json]
    #[arg(long, global = true, env = "FAILBERRY_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Send the addresses again after this many days even if unchanged [config: ddns.refresh_days,
    /// default 3]
    #[arg(
        long,
        global = true,
        env = "FAILBERRY_REFRESH_DAYS",
        value_name = "DAYS"
    )]
    pub refresh_days: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum DdnsAction {
    /// Detect the addresses once and send a signed update if they changed.
    Update {
        /// Print what would be sent and exit, without sending or touching the state file.
        #[arg(long)]
        dry_run: bool,
        /// Send even if the addresses match the last acknowledged ones.
        #[arg(long)]
        force: bool,
    },
    /// Keep detecting and updating until stopped (SIGTERM or Ctrl-C).
    Watch {
        /// Seconds between two detections [config: ddns.interval_secs, default 60]
        #[arg(long, env = "FAILBERRY_INTERVAL", value_name = "SECS")]
        interval: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[command(subcommand)]
    pub action: HealthAction,
}

#[derive(Debug, Subcommand)]
pub enum HealthAction {
    /// Answer the pings until stopped (SIGTERM or Ctrl-C): `GET /` is 200, `GET /status` is a
    /// small JSON document (uptime, links, last DDNS update).
    Serve(HealthSettings),
}

/// Every `[health]` value of the config file, overridable here (flag or environment variable).
#[derive(Debug, Clone, Default, Args)]
pub struct HealthSettings {
    /// Address and port to listen on [config: health.listen, default 0.0.0.0:9000]
    #[arg(long, env = "FAILBERRY_HEALTH_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Connections served at once; further ones wait in the kernel's queue
    /// [config: health.max_connections, default 10000]
    #[arg(long, env = "FAILBERRY_HEALTH_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Seconds a connection has to send a complete request head, from its opening or from its
    /// previous response [config: health.header_timeout_secs, default 10]
    #[arg(long, env = "FAILBERRY_HEALTH_HEADER_TIMEOUT", value_name = "SECS")]
    pub header_timeout: Option<u64>,

    /// Seconds a response write may stall before the connection is dropped
    /// [config: health.write_timeout_secs, default 10]
    #[arg(long, env = "FAILBERRY_HEALTH_WRITE_TIMEOUT", value_name = "SECS")]
    pub write_timeout: Option<u64>,

    /// A link shown by /status, as NAME=INTERFACE; repeat it, or separate with commas. Replaces
    /// the config file's links [config: health.links, e.g. { wired = "eth0", wireless = "wwan0" }]
    #[arg(
        long = "link",
        env = "FAILBERRY_HEALTH_LINKS",
        value_delimiter = ',',
        value_name = "NAME=INTERFACE"
    )]
    pub links: Vec<String>,

    /// The ddns state file whose last update /status reports [config: ddns.state_file,
    /// default /var/lib/failberry/ddns-state.json]
    #[arg(long, env = "FAILBERRY_STATE_FILE", value_name = "PATH")]
    pub state_file: Option<PathBuf>,
}

/// Values from flags or environment variables, as clap parsed them; each one set wins over the
/// file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub api_url: Option<String>,
    pub ddns: DdnsSettings,
    /// `ddns watch --interval`.
    pub interval_secs: Option<u64>,
    pub health: HealthSettings,
    pub camera: CameraSettings,
}

impl Cli {
    /// The values given on the command line or in the environment, to lay over the config file.
    pub fn overrides(&self) -> Overrides {
        let mut overrides = Overrides {
            api_url: self.api_url.clone(),
            ..Overrides::default()
        };
        match &self.command {
            Command::Ddns(args) => {
                overrides.ddns = args.settings.clone();
                if let DdnsAction::Watch { interval } = &args.action {
                    overrides.interval_secs = *interval;
                }
            }
            Command::Health(HealthArgs {
                action: HealthAction::Serve(settings),
            }) => overrides.health = settings.clone(),
            Command::Camera(args) => overrides.camera = args.settings.clone(),
            Command::Watchdog(_) | Command::Config(_) => {}
        }
        overrides
    }
}

// The value enums the config file spells the same way as the flags; `config::raw` re-exports
// them, so the dependency stays one-way (config -> cli).

/// `ddns.ipv4` / `--ipv4`: where the IPv4 address to publish comes from. One spelling for the
/// file and the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ipv4From {
    /// Ask the API's `/v1/myip`.
    #[value(name = "myip")]
    MyIp,
    /// Read the interface's address.
    Interface,
    /// Read the first line of a file.
    File,
    Off,
}

/// `ddns.ipv6` / `--ipv6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ipv6From {
    /// The interface's stable global address.
    Interface,
    Off,
}

/// `camera.folder.mode` / `--folder-mode`: how a folder notices finished files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ValueEnum)]
pub enum FolderMode {
    /// inotify `CLOSE_WRITE` and `MOVED_TO`.
    #[default]
    #[serde(rename = "inotify")]
    #[value(name = "inotify")]
    Notify,
    /// A file is finished once its size and mtime held still for `stable_secs` (SMB, NFS, FUSE
    /// send no events).
    #[serde(rename = "poll")]
    Poll,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_after_the_subcommand_reach_the_overrides() {
        let cli = Cli::try_parse_from([
            "failberry",
            "ddns",
            "update",
            "--api-url",
            "http://127.0.0.1:1",
            "--hostname",
            "wireless.home.example.com",
            "--ipv4",
            "file",
            "--ipv4-file",
            "/tmp/ip",
            "--dry-run",
        ])
        .expect("parses");
        let o = cli.overrides();
        assert_eq!(o.api_url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            o.ddns.hostname.as_deref(),
            Some("wireless.home.example.com")
        );
        assert_eq!(o.ddns.ipv4, Some(Ipv4From::File));
        assert_eq!(o.ddns.ipv4_file, Some(PathBuf::from("/tmp/ip")));
        assert!(matches!(
            cli.command,
            Command::Ddns(DdnsArgs {
                action: DdnsAction::Update {
                    dry_run: true,
                    force: false
                },
                ..
            })
        ));
    }

    #[test]
    fn watch_interval_is_an_override() {
        let cli = Cli::try_parse_from(["failberry", "ddns", "watch", "--interval", "15"])
            .expect("parses");
        assert_eq!(cli.overrides().interval_secs, Some(15));
    }

    #[test]
    fn health_serve_flags_reach_the_overrides() {
        let cli = Cli::try_parse_from([
            "failberry",
            "health",
            "serve",
            "--listen",
            "127.0.0.1:9001",
            "--max-connections",
            "50",
            "--link",
            "wired=eth0",
            "--link",
            "wireless=wwan0,spare=usb0",
            "--state-file",
            "/tmp/s.json",
        ])
        .expect("parses");
        let o = cli.overrides();
        let h = &o.health;
        assert_eq!(h.listen.as_deref(), Some("127.0.0.1:9001"));
        assert_eq!(h.max_connections, Some(50));
        assert_eq!(h.links, ["wired=eth0", "wireless=wwan0", "spare=usb0"]);
        assert_eq!(h.state_file, Some(PathBuf::from("/tmp/s.json")));
        assert_eq!(h.header_timeout, None);
        assert_eq!(
            o.ddns.state_file, None,
            "the health command's flags stay its own"
        );
    }

    #[test]
    fn unknown_ipv4_source_is_refused() {
        let err = Cli::try_parse_from(["failberry", "ddns", "update", "--ipv4", "dhcp"])
            .expect_err("dhcp is not a source");
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }
}
