//! `failberry-ctl`: parses the command line (`cli`), finds the documents, runs the command from
//! the library and prints its answer; errors end as one line on stderr and a non-zero exit.

mod cli;

use std::process::ExitCode;

use cli::{Cli, Command, ConfigCommand, HostCommand, TargetCommand, Where};
use failberry_ctl::commands;
use failberry_ctl::cost;
use failberry_ctl::documents::{Location, S3Store};
use failberry_ctl::hosts::NewHost;
use failberry_ctl::observe::{observe, Clients, Record};
use failberry_ctl::stack::{self, Overrides};
use failberry_ctl::status::{decide, render};
use failberry_ctl::targets::NewTarget;
use failberry_proto::cli::parse_or_exit;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(parse_or_exit::<Cli>("failberry-ctl")).await {
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
            stack,
            zone_id,
            name,
            record_type,
            periods,
            at,
            json,
        } => {
            let sdk = aws_config::load_from_env().await;
            let facts = match &stack {
                Some(stack) => {
                    Some(stack::describe(&aws_sdk_cloudformation::Client::new(&sdk), stack).await?)
                }
                None => None,
            };
            let (zone_id, name) = stack::failover_record(facts.as_ref(), zone_id, name)?;
            let record = Record {
                zone_id: &zone_id,
                name: &name,
                kind: &record_type,
            };
            status(&sdk, &record, periods, at, json).await
        }
        Command::Cost {
            template,
            ping,
            parameters,
            clips_per_day,
            clip_seconds,
            calls_per_clip,
            markdown,
            json,
        } => {
            let home = cost::HomeProfile {
                clips_per_day,
                clip_seconds,
                rekognition_calls_per_clip: calls_per_clip,
                ..cost::HomeProfile::default()
            };
            let bill = cost::price_files(&template, &ping, &home, &parameters)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&bill)?);
            } else if markdown {
                print!("{}", cost::markdown(&bill));
            } else {
                print!("{}", cost::table(&bill));
            }
            Ok(())
        }
        Command::Host { at, command } => {
            let (sdk, store, location, api_url) = open(&at).await?;
            // Checked before anything is written: the settings printed once must be usable.
            let api_url = api_url.as_ref().map(stack::ApiUrl::usable).transpose()?;
            let out = match command {
                HostCommand::Add {
                    name,
                    zone,
                    zone_id,
                    dyndns2_user,
                    clips,
                } => {
                    let zone_id = match zone_id {
                        Some(id) => id,
                        None => zone_id_of(&sdk, &zone).await?,
                    };
                    let host = NewHost {
                        name,
                        zone,
                        zone_id,
                        dyndns2_user,
                        clips,
                    };
                    commands::host_add(&store, &location, &host, api_url).await?
                }
                HostCommand::List => commands::host_list(&store, &location).await?,
                HostCommand::Rotate {
                    name,
                    secret,
                    password,
                } => {
                    commands::host_rotate(&store, &location, &name, secret, password, api_url)
                        .await?
                }
                HostCommand::Remove { name } => {
                    commands::host_remove(&store, &location, &name).await?
                }
            };
            print!("{out}");
            Ok(())
        }
        Command::Target { at, command } => {
            let (_, store, location, _) = open(&at).await?;
            let out = match command {
                TargetCommand::Add {
                    name,
                    url,
                    link,
                    metrics,
                    method,
                    expect_status,
                    body_contains,
                    timeout_ms,
                    min_cert_days,
                    probes,
                    headers,
                } => {
                    let target = NewTarget {
                        name,
                        url,
                        link,
                        method,
                        expect_status,
                        body_contains,
                        timeout_ms,
                        min_cert_days,
                        probes,
                        headers,
                        metrics,
                    };
                    commands::target_add(&store, &location, &target).await?
                }
                TargetCommand::List => commands::target_list(&store, &location).await?,
                TargetCommand::Remove { name } => {
                    commands::target_remove(&store, &location, &name).await?
                }
            };
            print!("{out}");
            Ok(())
        }
        Command::Config { at, command } => {
            let (_, store, location, _) = open(&at).await?;
            match command {
                ConfigCommand::Check { doc, file } => {
                    print!(
                        "{}",
                        commands::config_check(&store, &location, doc, file.as_deref()).await?
                    );
                }
                ConfigCommand::Pull { doc, file } => {
                    let (note, document) =
                        commands::config_pull(&store, &location, doc, file.as_deref()).await?;
                    eprint!("{note}");
                    use std::io::Write;
                    std::io::stdout().write_all(&document)?;
                }
                ConfigCommand::Push {
                    doc,
                    file,
                    if_match,
                } => {
                    print!(
                        "{}",
                        commands::config_push(&store, &location, doc, &file, if_match.as_deref())
                            .await?
                    );
                }
            }
            Ok(())
        }
    }
}

/// The SDK, the document store and where the documents are (the stack's, unless flags say).
async fn open(
    at: &Where,
) -> anyhow::Result<(
    aws_config::SdkConfig,
    S3Store,
    Location,
    Option<stack::ApiUrl>,
)> {
    let sdk = aws_config::load_from_env().await;
    let facts = match &at.stack {
        Some(name) => {
            Some(stack::describe(&aws_sdk_cloudformation::Client::new(&sdk), name).await?)
        }
        None => None,
    };
    let flags = Overrides {
        bucket: at.config_bucket.clone(),
        hosts_key: at.hosts_key.clone(),
        ping_key: at.ping_key.clone(),
        api_url: at.api_url.clone(),
    };
    let (location, api_url) = stack::resolve(facts.as_ref(), &flags)?;
    // Path-style, so that the emulator on 127.0.0.1 answers too.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let store = S3Store {
        client: s3,
        bucket: location.bucket.clone(),
    };
    Ok((sdk, store, location, api_url))
}

/// The hosted zone id of `zone`, by its exact name.
async fn zone_id_of(sdk: &aws_config::SdkConfig, zone: &str) -> anyhow::Result<String> {
    let wanted = format!("{}.", zone.trim_end_matches('.').to_ascii_lowercase());
    let out = aws_sdk_route53::Client::new(sdk)
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "looking up zone {zone}: {}",
                aws_sdk_route53::error::DisplayErrorContext(e)
            )
        })?;
    let ids: Vec<&str> = out
        .hosted_zones()
        .iter()
        .filter(|z| z.name().eq_ignore_ascii_case(&wanted))
        .map(|z| z.id().trim_start_matches("/hostedzone/"))
        .collect();
    match ids.as_slice() {
        [id] => Ok(id.to_string()),
        [] => anyhow::bail!("no hosted zone named {zone} in Route 53; pass --zone-id"),
        _ => anyhow::bail!(
            "several hosted zones are named {zone} (private and public?); pass --zone-id"
        ),
    }
}

async fn status(
    sdk: &aws_config::SdkConfig,
    record: &Record<'_>,
    periods: u32,
    at: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    let clients = Clients {
        route53: aws_sdk_route53::Client::new(sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
    };
    let now = at.unwrap_or_else(|| failberry_proto::clock::unix_secs(std::time::SystemTime::now()));
    let observed = observe(&clients, record, now, periods).await?;
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
