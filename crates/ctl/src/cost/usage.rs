//! How much a deployment uses in a month, derived from what it deploys (the SAM template's
//! functions, schedules, alarms, health checks, keys, dashboards), what it is told to do (the ping
//! document's targets) and a home's habits (`HomeProfile`: clips a day, how long, how often the Pi
//! asks for its address). Durations are the figures `make bench` measured, named where they are set.
//! (Over 400 lines through its tests: the code is some 300 lines.)

use failberry_failover::ping::{series, Cadence, Emit, PingConfig};
use serde_norway::Value;

/// One function's month.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUsage {
    pub name: &'static str,
    pub memory_mb: u32,
    pub invocations: f64,
    /// Average billed duration.
    pub duration_ms: f64,
}

impl FunctionUsage {
    pub fn gb_seconds(&self) -> f64 {
        self.invocations * self.duration_ms / 1000.0 * self.memory_mb as f64 / 1024.0
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub functions: Vec<FunctionUsage>,
    pub api_requests: f64,
    pub custom_metric_months: f64,
    pub put_metric_data_requests: f64,
    pub alarms: u32,
    pub composite_alarms: u32,
    pub dashboards: u32,
    pub log_ingest_gb: f64,
    pub log_storage_gb: f64,
    pub health_checks: u32,
    pub dns_queries: f64,
    pub s3_gb_months: f64,
    pub s3_put_requests: f64,
    pub s3_get_requests: f64,
    pub rekognition_images: f64,
    pub kms_keys: u32,
    pub kms_requests: f64,
    pub sqs_requests: f64,
    pub sns_emails: f64,
}

/// A home's habits: the issue's home scale by default.
#[derive(Debug, Clone, Copy)]
pub struct HomeProfile {
    pub clips_per_day: f64,
    pub clip_seconds: f64,
    /// What a home camera records at: 2 Mbit/s is 1080p H.264 at NVR quality.
    pub clip_mbit_per_s: f64,
    /// DetectLabels calls per clip (mosaic mode: at most one, none when nothing moved):
    /// [`MEASURED_CALLS_PER_CLIP`] by default.
    pub rekognition_calls_per_clip: f64,
    /// Days a clip stays in S3 (the lifecycle rule's).
    pub clip_retention_days: f64,
    /// The Pi asks `/v1/myip` once per `ddns.interval_secs`.
    pub myip_interval_secs: f64,
    /// Lookups of the failover name (VPN clients, a few a day, most cached for the TTL).
    pub dns_queries: f64,
    /// Failover emails (a link alarm changing state).
    pub alarm_emails: f64,
    /// Hours a month in which a target answers with a status it does not expect (each such
    /// hour bills its `StatusCode` metric): 1 % of the month by default.
    pub unexpected_status_hours: f64,
}

impl Default for HomeProfile {
    fn default() -> Self {
        HomeProfile {
            clips_per_day: 50.0,
            clip_seconds: 30.0,
            clip_mbit_per_s: 2.0,
            rekognition_calls_per_clip: MEASURED_CALLS_PER_CLIP,
            clip_retention_days: 7.0,
            myip_interval_secs: 60.0,
            dns_queries: 100_000.0,
            alarm_emails: 20.0,
            unexpected_status_hours: 7.2,
        }
    }
}

/// DetectLabels calls per clip as `make bench` measured them (its line "Rekognition calls
/// (Mosaic)": 0.60 per clip over the test scenes, none for the clips where nothing moved).
pub const MEASURED_CALLS_PER_CLIP: f64 = 0.60;

const SECONDS_A_MONTH: f64 = 30.0 * 86_400.0;
const DAYS_A_MONTH: f64 = 30.0;
const HOURS_A_MONTH: f64 = 24.0 * DAYS_A_MONTH;

/// Average billed milliseconds of one invocation, as `make bench` measured them (release
/// bootstraps, warm): ddns answers `/v1/myip` in ~2 ms and an update in ~14 ms (mostly the
/// Route 53 round trips), ping is bounded by its slowest target's timeout (1 s with a hanging
/// target; a home's ten answering targets take ~0.3 s), an upload grant is one presigning.
fn measured_duration_ms(function: &str) -> Option<f64> {
    match function {
        "DdnsFunction" => Some(5.0),
        "PingFunction" => Some(1_000.0),
        "ClipsFunction" => Some(20.0),
        "DetectatronFunction" => Some(600.0),
        _ => None,
    }
}

/// Log bytes a function's own lines take per invocation (its JSON lines, EMF lines included).
fn log_bytes_per_invocation(function: &str, ping_targets: usize) -> f64 {
    match function {
        "PingFunction" => 150.0 + 350.0 * ping_targets as f64,
        "DetectatronFunction" => 1_550.0,
        _ => 250.0,
    }
}

/// The platform's lines of one invocation (START and REPORT as JSON, END in text format).
const PLATFORM_LOG_BYTES: f64 = 450.0;

/// Whether Lambda writes its platform lines for `function`: not when its JSON logs filter system
/// logs at WARN (its own `LoggingConfig`, else the template's `Globals`), since START and REPORT
/// are INFO (the Lambda Developer Guide, "Log-level filtering").
fn writes_platform_lines(template: &Value, function: &Value) -> bool {
    let setting = |key: &str| {
        function["Properties"]["LoggingConfig"][key]
            .as_str()
            .or_else(|| template["Globals"]["Function"]["LoggingConfig"][key].as_str())
    };
    !(setting("LogFormat") == Some("JSON") && setting("SystemLogLevel") == Some("WARN"))
}

/// Metric-months of one series (a target × metric name, or the aggregate) published at `cadence`
/// by a ping that runs `ping_runs` times a month: CloudWatch bills a custom metric for each hour
/// it is published in.
fn metric_months(cadence: Cadence, ping_runs: f64, home: &HomeProfile) -> f64 {
    let hours = match cadence {
        Cadence::EveryRun => ping_runs.min(HOURS_A_MONTH),
        // The run of the first minute of each UTC day.
        Cadence::Daily => DAYS_A_MONTH.min(ping_runs),
        Cadence::WhenUnexpected => home.unexpected_status_hours,
        Cadence::InAggregate | Cadence::Never => 0.0,
    };
    hours / HOURS_A_MONTH
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("the template has no Resources")]
    NoResources,
    #[error("function {0}: no measured duration known for it (add it to cost::usage)")]
    UnknownFunction(String),
}

/// The month's usage of `template` (SAM YAML, parsed) running `ping` (the ping document).
pub fn from_template(
    template: &Value,
    ping: &PingConfig,
    home: &HomeProfile,
) -> Result<Usage, UsageError> {
    let resources = template["Resources"]
        .as_mapping()
        .ok_or(UsageError::NoResources)?;
    let targets = &ping.targets;
    let by_type = |kind: &str| resources.iter().filter(|(_, r)| r["Type"] == kind).count() as u32;
    let clips_a_month = home.clips_per_day * DAYS_A_MONTH;
    let myip_calls = SECONDS_A_MONTH / home.myip_interval_secs;
    let global_memory = template["Globals"]["Function"]["MemorySize"]
        .as_u64()
        .unwrap_or(128) as u32;

    let mut usage = Usage::default();
    let mut log_bytes = 0.0;
    for (id, resource) in resources {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let id = id.as_str().unwrap_or_default();
        let name: &'static str = match id {
            "DdnsFunction" => "Lambda: ddns",
            "PingFunction" => "Lambda: ping",
            "ClipsFunction" => "Lambda: clips",
            "DetectatronFunction" => "Lambda: detectatron",
            other => return Err(UsageError::UnknownFunction(other.to_string())),
        };
        let duration_ms =
            measured_duration_ms(id).ok_or_else(|| UsageError::UnknownFunction(id.into()))?;
        let memory_mb = resource["Properties"]["MemorySize"]
            .as_u64()
            .map_or(global_memory, |m| m as u32);
        let invocations = match id {
            "PingFunction" => schedule_runs(resource),
            "DdnsFunction" => myip_calls,
            // A grant, a completion (clips over 16 MiB), and the connector asking for the result
            // (first 5 s after the upload, then at doubling waits): about three calls.
            "ClipsFunction" => clips_a_month * 3.0,
            _ => clips_a_month,
        };
        let platform = if writes_platform_lines(template, resource) {
            PLATFORM_LOG_BYTES
        } else {
            0.0
        };
        log_bytes += invocations * (platform + log_bytes_per_invocation(id, targets.len()));
        usage.functions.push(FunctionUsage {
            name,
            memory_mb,
            invocations,
            duration_ms,
        });
    }
    let runs_of = |name: &str| {
        usage
            .functions
            .iter()
            .find(|f| f.name == name)
            .map_or(0.0, |f| f.invocations)
    };
    let ping_runs = runs_of("Lambda: ping");
    let clip_calls = runs_of("Lambda: clips");
    let analysed = runs_of("Lambda: detectatron");
    usage.api_requests = runs_of("Lambda: ddns") + clip_calls;

    // Metrics are prorated by the hour they are published in; the ping document's cadences
    // (failberry_failover::ping::cadence) say which hours.
    usage.custom_metric_months = series(ping)
        .iter()
        .map(|s| metric_months(s.cadence, ping_runs, home))
        .sum();
    if ping.emit == Emit::Api {
        // One call a run carries every target's datums (up to 1,000 a request).
        usage.put_metric_data_requests = ping_runs;
    }
    usage.alarms = by_type("AWS::CloudWatch::Alarm");
    usage.composite_alarms = by_type("AWS::CloudWatch::CompositeAlarm");
    usage.dashboards = by_type("AWS::CloudWatch::Dashboard");
    usage.health_checks = by_type("AWS::Route53::HealthCheck");
    usage.kms_keys = by_type("AWS::KMS::Key");
    usage.log_ingest_gb = log_bytes / 1e9;
    // A log group keeps `RetentionInDays` of ingestion (the longest one set; two weeks when none).
    let retention_days = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Logs::LogGroup")
        .filter_map(|r| r["Properties"]["RetentionInDays"].as_u64())
        .max()
        .unwrap_or(14) as f64;
    usage.log_storage_gb = usage.log_ingest_gb * retention_days.min(DAYS_A_MONTH) / DAYS_A_MONTH;
    usage.dns_queries = home.dns_queries;

    if clip_calls > 0.0 {
        let clip_gb = home.clip_seconds * home.clip_mbit_per_s / 8.0 / 1000.0;
        usage.s3_gb_months = home.clips_per_day * home.clip_retention_days * clip_gb;
        // The clip, its result document and its tag; the analysis reads the clip, the Pi the
        // result.
        usage.s3_put_requests = clips_a_month * 3.0;
        usage.s3_get_requests = clips_a_month * 3.0;
    }
    usage.rekognition_images = analysed * home.rekognition_calls_per_clip;
    // Each config read and write of an encrypted bucket asks KMS (with S3 bucket keys, far fewer).
    if usage.kms_keys > 0 {
        usage.kms_requests = myip_calls / 10.0 + ping_runs / 10.0;
    }
    // Each SQS event source mapping long-polls all month (5 pollers, 20 s waits); each clip is
    // a message sent, received and deleted.
    let pollers = sqs_event_sources(resources) as f64;
    usage.sqs_requests = pollers * 5.0 * 3.0 * SECONDS_A_MONTH / 60.0;
    if pollers > 0.0 {
        usage.sqs_requests += clips_a_month * 3.0;
    }
    if by_type("AWS::SNS::Topic") > 0 {
        usage.sns_emails = home.alarm_emails;
    }
    Ok(usage)
}

/// Event source mappings polling SQS: the `SQS` events of functions and the plain
/// `AWS::Lambda::EventSourceMapping`s (which may poll other sources: counted alike).
fn sqs_event_sources(resources: &serde_norway::Mapping) -> usize {
    let events = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .filter_map(|r| r["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|e| e["Type"] == "SQS")
        .count();
    let mappings = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::EventSourceMapping")
        .count();
    events + mappings
}

/// Runs a month of a function's schedule events (`rate(N minute[s]|hour[s])`).
fn schedule_runs(function: &Value) -> f64 {
    let Some(events) = function["Properties"]["Events"].as_mapping() else {
        return 0.0;
    };
    events
        .values()
        .filter(|e| e["Type"] == "Schedule")
        .filter_map(|e| e["Properties"]["Schedule"].as_str())
        .filter_map(rate_seconds)
        .map(|every| SECONDS_A_MONTH / every)
        .sum()
}

/// `rate(1 minute)` → 60 seconds.
fn rate_seconds(expr: &str) -> Option<f64> {
    let inner = expr.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: f64 = n.parse().ok()?;
    let unit_secs = match unit.trim_end_matches('s') {
        "minute" => 60.0,
        "hour" => 3_600.0,
        "day" => 86_400.0,
        _ => return None,
    };
    Some(n * unit_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    MemorySize: 128
Resources:
  PingFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Every:
          Type: Schedule
          Properties: { Schedule: rate(5 minutes) }
  DetectatronFunction:
    Type: AWS::Serverless::Function
    Properties: { MemorySize: 512 }
  WiredAlarm: { Type: AWS::CloudWatch::Alarm }
  WirelessAlarm: { Type: AWS::CloudWatch::Alarm }
  WiredCheck: { Type: AWS::Route53::HealthCheck }
  ConfigKey: { Type: AWS::KMS::Key }
"#;

    #[test]
    fn usage_follows_the_template_and_the_targets() {
        let template: Value = serde_norway::from_str(TEMPLATE).unwrap();
        let ping = PingConfig::parse(
            br#"{"emit": "api", "targets": [
            {"name": "wired", "url": "http://203.0.113.7:9000/", "link": true},
            {"name": "blog", "url": "https://blog.example.com/"}]}"#,
        )
        .unwrap();
        let home = HomeProfile::default();
        let u = from_template(&template, &ping, &home).unwrap();
        let ping_fn = u
            .functions
            .iter()
            .find(|f| f.name == "Lambda: ping")
            .unwrap();
        assert_eq!((ping_fn.invocations, ping_fn.memory_mb), (8_640.0, 128));
        let detect = u
            .functions
            .iter()
            .find(|f| f.name == "Lambda: detectatron")
            .unwrap();
        assert_eq!((detect.invocations, detect.memory_mb), (1_500.0, 512));
        // Every 5 minutes is still every hour: the link's availability and the aggregate bill
        // all month, the blog's certificate days one hour a day, the status codes their
        // troubled hours.
        let want = 2.0 + 30.0 / 720.0 + 2.0 * 7.2 / 720.0;
        assert!(
            (u.custom_metric_months - want).abs() < 1e-9,
            "{} metric-months, want {want}",
            u.custom_metric_months
        );
        assert_eq!(u.put_metric_data_requests, 8_640.0, "one call a run");
        assert_eq!((u.alarms, u.health_checks, u.kms_keys), (2, 1, 1));
        assert_eq!(u.rekognition_images, 1_500.0 * MEASURED_CALLS_PER_CLIP);

        let emf = PingConfig::parse(br#"{"emit": "emf", "targets": []}"#).unwrap();
        assert_eq!(
            from_template(&template, &emf, &home)
                .unwrap()
                .put_metric_data_requests,
            0.0
        );
        assert_eq!(
            from_template(&template, &emf, &home)
                .unwrap()
                .custom_metric_months,
            0.0,
            "no target, no metric"
        );
        let unknown: Value =
            serde_norway::from_str("Resources: {X: {Type: AWS::Serverless::Function}}").unwrap();
        assert!(matches!(
            from_template(&unknown, &ping, &home),
            Err(UsageError::UnknownFunction(_))
        ));
    }

    #[test]
    fn schedule_rates() {
        let cases = [
            ("rate(1 minute)", Some(60.0)),
            ("rate(5 minutes)", Some(300.0)),
            ("rate(1 hour)", Some(3_600.0)),
            ("cron(0 * * * ? *)", None),
            ("rate(1 fortnight)", None),
        ];
        for (expr, want) in cases {
            assert_eq!(rate_seconds(expr), want, "{expr}");
        }
    }

    #[test]
    fn metric_months_by_cadence() {
        let home = HomeProfile::default();
        let every_minute = 43_200.0;
        let cases = [
            ("every run", Cadence::EveryRun, every_minute, 1.0),
            (
                "every run of an hourly schedule",
                Cadence::EveryRun,
                720.0,
                1.0,
            ),
            (
                "every run of a daily schedule",
                Cadence::EveryRun,
                30.0,
                1.0 / 24.0,
            ),
            (
                "daily: one hour a day",
                Cadence::Daily,
                every_minute,
                1.0 / 24.0,
            ),
            (
                "when unexpected: 1 % of hours",
                Cadence::WhenUnexpected,
                every_minute,
                0.01,
            ),
            ("in the aggregate", Cadence::InAggregate, every_minute, 0.0),
            ("never", Cadence::Never, every_minute, 0.0),
        ];
        for (name, cadence, runs, want) in cases {
            let got = metric_months(cadence, runs, &home);
            assert!((got - want).abs() < 1e-9, "{name}: {got}, want {want}");
        }
    }

    #[test]
    fn the_templates_extra_resources_are_counted() {
        let template: Value = serde_norway::from_str(
            r#"
Resources:
  DetectatronFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Clips: { Type: SQS, Properties: { Queue: !GetAtt ClipQueue.Arn } }
  ClipQueue: { Type: AWS::SQS::Queue }
  Dashboard: { Type: AWS::CloudWatch::Dashboard }
  Topic: { Type: AWS::SNS::Topic }
  Key: { Type: AWS::KMS::Key }
  Rollback: { Type: AWS::CloudWatch::Alarm }
  Both: { Type: AWS::CloudWatch::CompositeAlarm }
  Logs: { Type: AWS::Logs::LogGroup, Properties: { RetentionInDays: 7 } }
"#,
        )
        .unwrap();
        let ping = PingConfig::parse(br#"{"targets": []}"#).unwrap();
        let home = HomeProfile::default();
        let u = from_template(&template, &ping, &home).unwrap();
        assert_eq!(
            (
                u.dashboards,
                u.sns_emails,
                u.kms_keys,
                u.alarms,
                u.composite_alarms
            ),
            (1, home.alarm_emails, 1, 1, 1)
        );
        assert_eq!(
            u.sqs_requests,
            648_000.0 + 1_500.0 * 3.0,
            "polls and messages"
        );
        assert!((u.log_storage_gb - u.log_ingest_gb * 7.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn platform_lines_are_counted_unless_system_logs_are_filtered_at_warn() {
        let ping = PingConfig::parse(br#"{"targets": []}"#).unwrap();
        let ingested = |globals: &str, own: &str| {
            let template: Value = serde_norway::from_str(&format!(
                "Globals: {{ Function: {{ LoggingConfig: {globals} }} }}\nResources:\n  \
                 DdnsFunction: {{ Type: AWS::Serverless::Function, Properties: {{ LoggingConfig: {own} }} }}\n"
            ))
            .unwrap();
            let u = from_template(&template, &ping, &HomeProfile::default()).unwrap();
            u.log_ingest_gb * 1e9 / u.functions[0].invocations
        };
        let cases = [
            ("no setting: INFO", "{}", "{}", 700.0),
            (
                "JSON at WARN",
                "{ LogFormat: JSON, SystemLogLevel: WARN }",
                "{}",
                250.0,
            ),
            ("WARN needs JSON", "{ SystemLogLevel: WARN }", "{}", 700.0),
            (
                "the function's own setting wins",
                "{ LogFormat: JSON, SystemLogLevel: WARN }",
                "{ SystemLogLevel: INFO }",
                700.0,
            ),
        ];
        for (name, globals, own, bytes) in cases {
            assert!(
                (ingested(globals, own) - bytes).abs() < 1e-6,
                "{name}: {}",
                ingested(globals, own)
            );
        }
    }
}
