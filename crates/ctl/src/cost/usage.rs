//! How much a deployment uses in a month, derived from what it deploys (the SAM template's
//! functions, schedules, alarms, health checks, keys, dashboards), what it is told to do (the ping
//! document's targets) and a home's habits (`HomeProfile`: clips a day, how long, how often the Pi
//! asks for its address). Durations are the figures `make bench` measured, named where they are set.

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
    /// DetectLabels calls per clip (mosaic mode: at most one, none when nothing moved).
    pub rekognition_calls_per_clip: f64,
    /// Days a clip stays in S3 (the lifecycle rule's).
    pub clip_retention_days: f64,
    /// The Pi asks `/v1/myip` once per `ddns.interval_secs`.
    pub myip_interval_secs: f64,
    /// Lookups of the failover name (VPN clients, a few a day, most cached for the TTL).
    pub dns_queries: f64,
    /// Failover emails (a link alarm changing state).
    pub alarm_emails: f64,
}

impl Default for HomeProfile {
    fn default() -> Self {
        HomeProfile {
            clips_per_day: 50.0,
            clip_seconds: 30.0,
            clip_mbit_per_s: 2.0,
            rekognition_calls_per_clip: 1.0,
            clip_retention_days: 7.0,
            myip_interval_secs: 60.0,
            dns_queries: 100_000.0,
            alarm_emails: 20.0,
        }
    }
}

const SECONDS_A_MONTH: f64 = 30.0 * 86_400.0;
const DAYS_A_MONTH: f64 = 30.0;

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

/// Log bytes a function writes per invocation (the platform's START/END/REPORT lines and its own
/// JSON lines, EMF lines included).
fn log_bytes_per_invocation(function: &str, ping_targets: usize) -> f64 {
    match function {
        "PingFunction" => 600.0 + 350.0 * ping_targets as f64,
        "DetectatronFunction" => 2_000.0,
        _ => 700.0,
    }
}

/// The metrics a ping target publishes, per its document entry: `Availability` always,
/// `Latency` and `StatusCode` when a response comes, `CertDaysLeft` for https.
fn metrics_of_target(target: &serde_json::Value) -> f64 {
    let https = target["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://"));
    if https {
        4.0
    } else {
        3.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("the template has no Resources")]
    NoResources,
    #[error("the ping document has no targets list")]
    NoTargets,
    #[error("function {0}: no measured duration known for it (add it to cost::usage)")]
    UnknownFunction(String),
}

/// The month's usage of `template` (SAM YAML, parsed) running `ping` (the ping document).
pub fn from_template(
    template: &Value,
    ping: &serde_json::Value,
    home: &HomeProfile,
) -> Result<Usage, UsageError> {
    let resources = template["Resources"]
        .as_mapping()
        .ok_or(UsageError::NoResources)?;
    let targets = ping["targets"].as_array().ok_or(UsageError::NoTargets)?;
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
            // A grant, and the connector asking for the result until it is there.
            "ClipsFunction" => clips_a_month * 3.0,
            _ => clips_a_month,
        };
        log_bytes += invocations * log_bytes_per_invocation(id, targets.len());
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

    // Metrics are prorated by the hour published; the ping publishes every run, so all month.
    usage.custom_metric_months = targets.iter().map(metrics_of_target).sum();
    if ping["emit"] != "emf" {
        // One call a run carries every target's datums (up to 1,000 a request).
        usage.put_metric_data_requests = ping_runs;
    }
    usage.alarms = by_type("AWS::CloudWatch::Alarm");
    usage.dashboards = by_type("AWS::CloudWatch::Dashboard");
    usage.health_checks = by_type("AWS::Route53::HealthCheck");
    usage.kms_keys = by_type("AWS::KMS::Key");
    usage.log_ingest_gb = log_bytes / 1e9;
    // Retention of two weeks keeps about half a month's ingestion stored.
    usage.log_storage_gb = usage.log_ingest_gb / 2.0;
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
    if analysed > 0.0 {
        // The event source mapping's long polls (5 pollers, 20 s waits) plus one message a clip.
        usage.sqs_requests = 5.0 * 3.0 * SECONDS_A_MONTH / 60.0 + clips_a_month * 2.0;
    }
    if by_type("AWS::SNS::Topic") > 0 {
        usage.sns_emails = home.alarm_emails;
    }
    Ok(usage)
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
        let ping = serde_json::json!({"emit": "api", "targets": [
            {"name": "wired", "url": "http://203.0.113.7:9000/"},
            {"name": "blog", "url": "https://blog.example.com/"}]});
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
        assert_eq!(
            u.custom_metric_months,
            3.0 + 4.0,
            "http target 3, https target 4"
        );
        assert_eq!(u.put_metric_data_requests, 8_640.0, "one call a run");
        assert_eq!((u.alarms, u.health_checks, u.kms_keys), (2, 1, 1));
        assert_eq!(u.rekognition_images, 1_500.0);

        let emf = serde_json::json!({"emit": "emf", "targets": []});
        assert_eq!(
            from_template(&template, &emf, &home)
                .unwrap()
                .put_metric_data_requests,
            0.0
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
}
