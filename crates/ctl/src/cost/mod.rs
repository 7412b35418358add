//! The monthly bill of a deployment, item by item, from list prices and a usage estimate: once at
//! list price and once after the always-free tiers. Pure arithmetic; `usage` derives the estimate
//! from the template and the config documents, so the bill follows the settings actually deployed.
//! (Just over 400 lines: one `line` call per bill item, and its tests.)

pub mod conditions;
pub mod usage;

use serde::Serialize;

pub use usage::{HomeProfile, Usage, MEASURED_CALLS_PER_CLIP};

/// List prices in USD, us-east-1, arm64 where it matters, as published on the AWS pricing pages
/// (checked for this release; they change rarely, but check again before relying on a cent).
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    pub lambda_gb_second: f64,
    pub lambda_request: f64,
    pub http_api_request: f64,
    pub custom_metric_month: f64,
    pub put_metric_data_request: f64,
    pub alarm_month: f64,
    pub composite_alarm_month: f64,
    pub dashboard_month: f64,
    pub log_ingest_gb: f64,
    pub log_storage_gb_month: f64,
    /// A CLOUDWATCH_METRIC health check, priced as a basic check of an AWS endpoint.
    pub health_check_month: f64,
    pub dns_query: f64,
    pub s3_gb_month: f64,
    pub s3_put_request: f64,
    pub s3_get_request: f64,
    pub rekognition_image: f64,
    pub kms_key_month: f64,
    pub kms_request: f64,
    pub sqs_request: f64,
    pub sns_email: f64,
}

pub const LIST_PRICES: Prices = Prices {
    lambda_gb_second: 0.000_013_333_4,
    lambda_request: 0.20 / 1e6,
    http_api_request: 1.00 / 1e6,
    custom_metric_month: 0.30,
    put_metric_data_request: 0.01 / 1e3,
    alarm_month: 0.10,
    composite_alarm_month: 0.50,
    dashboard_month: 3.00,
    log_ingest_gb: 0.50,
    log_storage_gb_month: 0.03,
    health_check_month: 0.50,
    dns_query: 0.40 / 1e6,
    s3_gb_month: 0.023,
    s3_put_request: 0.005 / 1e3,
    s3_get_request: 0.0004 / 1e3,
    rekognition_image: 0.001,
    kms_key_month: 1.00,
    kms_request: 0.03 / 1e4,
    sqs_request: 0.40 / 1e6,
    sns_email: 2.00 / 1e5,
};

/// The always-free tiers (not the 12-month ones: API Gateway, S3 and Rekognition have only those).
#[derive(Debug, Clone, Copy)]
pub struct FreeTier {
    pub lambda_gb_seconds: f64,
    pub lambda_requests: f64,
    pub custom_metrics: f64,
    pub cloudwatch_api_requests: f64,
    pub alarms: f64,
    pub dashboards: f64,
    pub log_ingest_gb: f64,
    pub log_storage_gb: f64,
    pub kms_requests: f64,
    pub sqs_requests: f64,
    pub sns_emails: f64,
}

pub const ALWAYS_FREE: FreeTier = FreeTier {
    lambda_gb_seconds: 400_000.0,
    lambda_requests: 1e6,
    custom_metrics: 10.0,
    cloudwatch_api_requests: 1e6,
    alarms: 10.0,
    dashboards: 3.0,
    log_ingest_gb: 5.0,
    log_storage_gb: 5.0,
    kms_requests: 20_000.0,
    sqs_requests: 1e6,
    sns_emails: 1_000.0,
};

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub item: &'static str,
    /// The quantity in words, e.g. "43,200 invocations, 2,700 GB-s".
    pub quantity: String,
    pub list_usd: f64,
    pub after_free_tier_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bill {
    pub lines: Vec<Line>,
    pub list_usd: f64,
    pub after_free_tier_usd: f64,
}

/// `units` beyond `free`, at `price` each.
fn charged(units: f64, free: f64, price: f64) -> f64 {
    (units - free).max(0.0) * price
}

pub fn bill(u: &Usage, p: &Prices, free: &FreeTier) -> Bill {
    let gb_seconds: f64 = u.functions.iter().map(|f| f.gb_seconds()).sum();
    let invocations: f64 = u.functions.iter().map(|f| f.invocations).sum();
    // The Lambda free tier is one pool for all functions: share it out in proportion.
    let lambda_line = |f: &usage::FunctionUsage| {
        let list = f.gb_seconds() * p.lambda_gb_second + f.invocations * p.lambda_request;
        let share_gbs = if gb_seconds > 0.0 {
            f.gb_seconds() / gb_seconds
        } else {
            0.0
        };
        let share_req = if invocations > 0.0 {
            f.invocations / invocations
        } else {
            0.0
        };
        let after = charged(gb_seconds, free.lambda_gb_seconds, p.lambda_gb_second) * share_gbs
            + charged(invocations, free.lambda_requests, p.lambda_request) * share_req;
        Line {
            item: f.name,
            quantity: format!(
                "{} invocations x {:.0} ms x {} MB = {} GB-s",
                thousands(f.invocations),
                f.duration_ms,
                f.memory_mb,
                thousands(f.gb_seconds())
            ),
            list_usd: list,
            after_free_tier_usd: after,
        }
    };
    let mut lines: Vec<Line> = u.functions.iter().map(lambda_line).collect();
    let mut line = |item, quantity: String, list: f64, after: f64| {
        lines.push(Line {
            item,
            quantity,
            list_usd: list,
            after_free_tier_usd: after,
        })
    };
    line(
        "API Gateway HTTP API",
        format!("{} requests", thousands(u.api_requests)),
        u.api_requests * p.http_api_request,
        u.api_requests * p.http_api_request,
    );
    line(
        "CloudWatch custom metrics",
        format!("{:.1} metric-months", u.custom_metric_months),
        u.custom_metric_months * p.custom_metric_month,
        charged(
            u.custom_metric_months,
            free.custom_metrics,
            p.custom_metric_month,
        ),
    );
    line(
        "CloudWatch PutMetricData",
        format!("{} requests", thousands(u.put_metric_data_requests)),
        u.put_metric_data_requests * p.put_metric_data_request,
        charged(
            u.put_metric_data_requests,
            free.cloudwatch_api_requests,
            p.put_metric_data_request,
        ),
    );
    let composite = u.composite_alarms as f64 * p.composite_alarm_month;
    line(
        "CloudWatch alarms",
        if u.composite_alarms > 0 {
            format!(
                "{} standard-resolution alarms, {} composite",
                u.alarms, u.composite_alarms
            )
        } else {
            format!("{} standard-resolution alarms", u.alarms)
        },
        u.alarms as f64 * p.alarm_month + composite,
        // The free alarms are standard ones; composite alarms have no free tier.
        charged(u.alarms as f64, free.alarms, p.alarm_month) + composite,
    );
    line(
        "CloudWatch dashboards",
        format!("{}", u.dashboards),
        u.dashboards as f64 * p.dashboard_month,
        charged(u.dashboards as f64, free.dashboards, p.dashboard_month),
    );
    line(
        "CloudWatch Logs",
        format!(
            "{:.2} GB ingested, {:.2} GB stored",
            u.log_ingest_gb, u.log_storage_gb
        ),
        u.log_ingest_gb * p.log_ingest_gb + u.log_storage_gb * p.log_storage_gb_month,
        charged(u.log_ingest_gb, free.log_ingest_gb, p.log_ingest_gb)
            + charged(
                u.log_storage_gb,
                free.log_storage_gb,
                p.log_storage_gb_month,
            ),
    );
    line(
        "Route 53 health checks",
        format!("{} CLOUDWATCH_METRIC checks", u.health_checks),
        u.health_checks as f64 * p.health_check_month,
        u.health_checks as f64 * p.health_check_month,
    );
    line(
        "Route 53 queries",
        format!("{} standard queries", thousands(u.dns_queries)),
        u.dns_queries * p.dns_query,
        u.dns_queries * p.dns_query,
    );
    let s3 = u.s3_gb_months * p.s3_gb_month
        + u.s3_put_requests * p.s3_put_request
        + u.s3_get_requests * p.s3_get_request;
    line(
        "S3",
        format!(
            "{:.2} GB-months, {} PUT, {} GET",
            u.s3_gb_months,
            thousands(u.s3_put_requests),
            thousands(u.s3_get_requests)
        ),
        s3,
        s3,
    );
    line(
        "Rekognition DetectLabels",
        format!("{} images", thousands(u.rekognition_images)),
        u.rekognition_images * p.rekognition_image,
        u.rekognition_images * p.rekognition_image,
    );
    line(
        "KMS",
        format!(
            "{} keys, {} requests",
            u.kms_keys,
            thousands(u.kms_requests)
        ),
        u.kms_keys as f64 * p.kms_key_month + u.kms_requests * p.kms_request,
        u.kms_keys as f64 * p.kms_key_month
            + charged(u.kms_requests, free.kms_requests, p.kms_request),
    );
    line(
        "SQS",
        format!("{} requests", thousands(u.sqs_requests)),
        u.sqs_requests * p.sqs_request,
        charged(u.sqs_requests, free.sqs_requests, p.sqs_request),
    );
    line(
        "SNS email",
        format!("{} emails", thousands(u.sns_emails)),
        u.sns_emails * p.sns_email,
        charged(u.sns_emails, free.sns_emails, p.sns_email),
    );
    let list_usd = lines.iter().map(|l| l.list_usd).sum();
    let after_free_tier_usd = lines.iter().map(|l| l.after_free_tier_usd).sum();
    Bill {
        lines,
        list_usd,
        after_free_tier_usd,
    }
}

/// `43200.0` → `43,200`.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The bill of a template file deployed with `parameters` (over its defaults) running a ping
/// document file, for a home like `home`.
pub fn price_files(
    template: &std::path::Path,
    ping: &std::path::Path,
    home: &HomeProfile,
    parameters: &[(String, String)],
) -> anyhow::Result<Bill> {
    use anyhow::Context;
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let template: serde_norway::Value = serde_norway::from_str(&read(template)?)
        .with_context(|| format!("{} is not YAML", template.display()))?;
    let ping = failberry_failover::ping::PingConfig::parse(read(ping)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", ping.display()))?;
    let template = conditions::deployed(&template, parameters)?;
    let usage = usage::from_template(&template, &ping, home)?;
    Ok(bill(&usage, &LIST_PRICES, &ALWAYS_FREE))
}

/// The bill for a terminal.
pub fn table(bill: &Bill) -> String {
    let mut out = format!(
        "{:<28} {:>10} {:>12}  {}\n",
        "item", "list", "free tiers", "usage a month"
    );
    for l in &bill.lines {
        out.push_str(&format!(
            "{:<28} {:>10} {:>12}  {}\n",
            l.item,
            format!("${:.2}", l.list_usd),
            format!("${:.2}", l.after_free_tier_usd),
            l.quantity
        ));
    }
    out.push_str(&format!(
        "{:<28} {:>10} {:>12}\n",
        "total a month",
        format!("${:.2}", bill.list_usd),
        format!("${:.2}", bill.after_free_tier_usd)
    ));
    out
}

/// The bill as a Markdown table (what `docs/cost.md` embeds).
pub fn markdown(bill: &Bill) -> String {
    let mut out = String::from(
        "| item | usage a month | list price | after always-free tiers |\n|---|---|---:|---:|\n",
    );
    for l in &bill.lines {
        out.push_str(&format!(
            "| {} | {} | ${:.2} | ${:.2} |\n",
            l.item, l.quantity, l.list_usd, l.after_free_tier_usd
        ));
    }
    out.push_str(&format!(
        "| **total** | | **${:.2}** | **${:.2}** |\n",
        bill.list_usd, bill.after_free_tier_usd
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charged_only_beyond_the_free_units() {
        let cases = [
            ("under", 5.0, 10.0, 0.0),
            ("at", 10.0, 10.0, 0.0),
            ("over", 12.0, 10.0, 0.6),
            ("no tier", 12.0, 0.0, 3.6),
        ];
        for (name, units, free, want) in cases {
            assert!((charged(units, free, 0.30) - want).abs() < 1e-9, "{name}");
        }
    }

    #[test]
    fn thousands_separators() {
        let cases = [
            (0.0, "0"),
            (999.0, "999"),
            (43_200.0, "43,200"),
            (1_234_567.4, "1,234,567"),
        ];
        for (n, want) in cases {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn each_line_is_its_price_times_its_usage() {
        let usage = Usage {
            custom_metric_months: 12.0,
            alarms: 3,
            health_checks: 2,
            rekognition_images: 1_000.0,
            ..Usage::default()
        };
        let bill = bill(&usage, &LIST_PRICES, &ALWAYS_FREE);
        let line = |item: &str| bill.lines.iter().find(|l| l.item == item).unwrap().clone();
        let metrics = line("CloudWatch custom metrics");
        assert!((metrics.list_usd - 3.60).abs() < 1e-9);
        assert!(
            (metrics.after_free_tier_usd - 0.60).abs() < 1e-9,
            "10 metrics free"
        );
        assert!(
            (line("CloudWatch alarms").after_free_tier_usd).abs() < 1e-9,
            "10 alarms free"
        );
        assert!((line("Route 53 health checks").list_usd - 1.00).abs() < 1e-9);
        assert!((line("Rekognition DetectLabels").after_free_tier_usd - 1.00).abs() < 1e-9);
        assert!((bill.list_usd - (3.60 + 0.30 + 1.00 + 1.00)).abs() < 1e-9);
    }
}
