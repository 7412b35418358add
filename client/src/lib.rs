//! The failberry Pi client as a library, so the binary stays thin and the integration tests can
//! drive the commands: `cli` (flags), `config` (file + flags → checked config), one module per
//! command (`ddns`, `health`), and what they share (`api`, `detect`, `state`, `backoff`,
//! `warnings`), and `camera` (`camera watch`, `camera status`). `watchdog` checks and recovers the
//! links; `config check` is `config::check_text`.

pub mod api;
pub mod backoff;
pub mod camera;
pub mod cli;
pub mod command;
pub mod config;
pub mod ddns;
pub mod detect;
pub mod health;
pub mod logging;
pub mod state;
pub mod warnings;
pub mod watchdog;

use anyhow::Context;
use tracing::info;

use crate::cli::{CameraAction, Cli, Command, ConfigAction, DdnsAction, HealthAction, HealthArgs};
use crate::config::{CameraConfig, DdnsConfig, HealthConfig, RawConfig};

/// Runs the command line: sets up logging, loads the config, runs the subcommand.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    logging::init(cli.log_format);
    match &cli.command {
        Command::Ddns(args) => {
            let config = load_ddns_config(&cli)?;
            let runtime = current_thread()?;
            match args.action {
                DdnsAction::Update { dry_run, force } => {
                    runtime.block_on(ddns::update(&config, ddns::RunOptions { force, dry_run }))
                }
                DdnsAction::Watch { .. } => {
                    runtime.block_on(ddns::watch(&config, shutdown_signal()))
                }
            }
        }
        Command::Health(HealthArgs {
            action: HealthAction::Serve(_),
        }) => {
            let config = HealthConfig::build(load_raw_config(&cli)?, &cli.overrides())?;
            current_thread()?.block_on(health::run(&config, shutdown_signal()))
        }
        Command::Camera(args) => {
            let config = CameraConfig::build(load_raw_config(&cli)?, &cli.overrides())?;
            match args.action {
                CameraAction::Watch => {
                    current_thread()?.block_on(camera::watch(&config, shutdown_signal()))
                }
                CameraAction::Status => {
                    let depth = camera::status(&config)?;
                    println!("{}", serde_json::to_string_pretty(&depth)?);
                    Ok(())
                }
            }
        }
        Command::Watchdog(args) => {
            let raw = load_raw_config(&cli)?;
            let runtime = current_thread()?;
            runtime.block_on(watchdog::system::run(raw, &cli.overrides(), args))
        }
        Command::Config(args) => match &args.action {
            ConfigAction::Check { file } => check_config(file.as_deref().unwrap_or(&cli.config)),
        },
    }
}

/// `failberry config check`: one line per problem on stdout, an error when there is any.
fn check_config(path: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let problems = config::check_text(&text);
    for problem in &problems {
        println!("{}:{problem}", path.display());
    }
    if !problems.is_empty() {
        anyhow::bail!("{}: {} problem(s)", path.display(), problems.len());
    }
    println!("{}: ok", path.display());
    Ok(())
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn load_raw_config(cli: &Cli) -> anyhow::Result<RawConfig> {
    let (raw, existed) = RawConfig::load(&cli.config)?;
    if !existed {
        info!(path = %cli.config.display(), "no config file, using flags and environment only");
    }
    Ok(raw)
}

fn load_ddns_config(cli: &Cli) -> anyhow::Result<DdnsConfig> {
    let config = DdnsConfig::build(load_raw_config(cli)?, &cli.overrides())?;
    info!(
        api_url = %config.device.api_url,
        hostname = %config.device.hostname,
        secret = %config.device.secret,
        ipv4 = ?config.ipv4.to_string(),
        ipv6 = ?config.ipv6.to_string(),
        state_file = %config.state_file.display(),
        interval_secs = config.interval.as_secs(),
        refresh_days = config.refresh_after.as_secs() / 86_400,
        "config loaded"
    );
    Ok(config)
}

/// Completes on Ctrl-C or SIGTERM (what systemd sends to stop a service).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!(signal = "SIGINT", "stopping"),
        () = term => info!(signal = "SIGTERM", "stopping"),
    }
}
