//! `failberry-local`: `serve` (the local stack until Ctrl-C) and `demo` (the stories), both on
//! `Stack::start`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use failberry_local::{emulator, seed, story, Stack, StackOptions};

/// Runs failberry's functions locally against the AWS emulator (moto), reached as through API Gateway.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The emulator's endpoint.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:5000",
        global = true
    )]
    moto_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seed the demo world and serve the HTTP API until Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "HOST", default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Port to listen on (0 picks a free one).
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Bucket holding the config documents and nonce markers.
        #[arg(long, default_value = "failberry-config")]
        bucket: String,
    },
    /// Tell the DDNS story on the local stack with the real `failberry` client; exit 0 only if
    /// every step behaved.
    Demo {
        /// The `failberry` client binary to drive.
        #[arg(long, default_value = "target/debug/failberry")]
        client: std::path::PathBuf,
        /// Where the client's config, state and logs go.
        #[arg(long, default_value = ".run/demo")]
        workdir: std::path::PathBuf,
    },
    /// Run the detectatron analysis on one clip with a scripted labeler; print the decision and why.
    Analyse {
        /// The MP4 clip.
        file: std::path::PathBuf,
        /// The camera (for its ignore zones).
        #[arg(long, default_value = "local")]
        camera: String,
        /// A detectatron config document (JSON); the defaults otherwise.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// What the scripted labeler answers, LABEL=CONFIDENCE (repeatable), e.g. Person=93.
        #[arg(long, value_parser = failberry_local::analyse::parse_said)]
        say: Vec<(String, f32)>,
        /// Print the whole result document.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logs(&cli) {
        eprintln!("failberry-local: {e:#}");
        return ExitCode::FAILURE;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("failberry-local: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, except for the demo: its story is its output, so the functions' own log
/// lines (JSON, as in Lambda) go to `functions.log` in its fresh working directory.
fn init_logs(cli: &Cli) -> anyhow::Result<()> {
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if let Command::Demo { workdir, .. } = &cli.command {
        let _ = std::fs::remove_dir_all(workdir);
        std::fs::create_dir_all(workdir)
            .with_context(|| format!("creating {}", workdir.display()))?;
        let path = workdir.join(story::FUNCTION_LOG);
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::sync::Mutex::new(file))
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { host, port, bucket } => serve(&cli.moto_url, host, port, &bucket).await,
        Command::Demo { client, workdir } => {
            anyhow::ensure!(
                client.exists(),
                "no client binary at {} (build it with `cargo build -p failberry`)",
                client.display()
            );
            let paths = story::DemoPaths { client, workdir };
            let ok = story::run(&cli.moto_url, &paths, &mut std::io::stdout()).await?;
            anyhow::ensure!(ok, "some demo steps did not behave");
            Ok(())
        }
        Command::Analyse {
            file,
            camera,
            config,
            say,
            json,
        } => {
            let clip =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let config = match config {
                Some(p) => failberry_detectatron::Config::parse(
                    &std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
                )
                .with_context(|| format!("checking {}", p.display()))?,
                None => failberry_detectatron::Config::default(),
            };
            failberry_local::analyse::run(
                &clip,
                &config,
                &camera,
                say,
                json,
                &mut std::io::stdout(),
            )
            .await
        }
    }
}

async fn serve(
    moto_url: &str,
    host: std::net::IpAddr,
    port: u16,
    bucket: &str,
) -> anyhow::Result<()> {
    emulator::reset(moto_url).await.with_context(|| {
        format!("reaching the emulator at {moto_url} (is moto running? `make serve` starts it)")
    })?;
    let stack = Stack::start(
        moto_url,
        StackOptions {
            listen: (host, port).into(),
            bucket: bucket.into(),
            config_max_age: Duration::from_secs(2),
            ..StackOptions::default()
        },
    )
    .await?;
    let addr = stack.addr;
    println!("failberry local stack");
    println!("  API (as API Gateway):  http://{addr}");
    println!("  emulator (moto):       {moto_url}");
    println!(
        "  hosted zone:           {}. (id {})",
        seed::ZONE,
        stack.zone_id
    );
    println!("  host:                  {}", seed::HOSTNAME);
    println!("  signing secret:        {}", seed::SECRET);
    println!("  dyndns2 password:      {}", seed::DYNDNS2_PASSWORD);
    println!(
        "  try: curl -u {}:{} 'http://{addr}/nic/update?hostname={}&myip=81.2.69.142'",
        seed::HOSTNAME,
        seed::DYNDNS2_PASSWORD,
        seed::HOSTNAME
    );
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    stack.stop().await;
    Ok(())
}
