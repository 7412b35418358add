//! The ping configuration document (one JSON object in S3): which targets to probe, how, and
//! what counts as up; how many probes run at once and how metrics leave the function. Parsed in
//! two stages: the raw serde shape, then a checked form with real types. Errors name the target
//! and the key. Probing and judging are left to the ping function (`failberry-ping`).
//! (Over 400 lines through its table tests: the code is some 300 lines.)

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use url::Url;

use super::MetricName;

pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
pub const MIN_TIMEOUT_MS: u64 = 100;
pub const MAX_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_CONCURRENCY: usize = 32;
pub const MAX_CONCURRENCY: usize = 256;
/// Probes per target per run. Each becomes one value of the run's datapoint, so the cap stays far
/// below the 100 values an EMF metric array and the 150 a PutMetricData datum may carry.
pub const MAX_PROBES: u32 = crate::link::MAX_PROBES;
/// A target name is a CloudWatch dimension value and appears in alarm names: keep it short and
/// plain.
pub const MAX_NAME_LEN: usize = 64;
/// At most this much of a response body is read by a probe: enough for a substring check, and a
/// huge page cannot exhaust the function's memory. A `body_contains` may be half of it.
pub const BODY_CAP: usize = 64 * 1024;
/// The `Target` dimension value of the one aggregate `Availability` metric that the targets
/// without their own carry (see `cadence`); no target may take this name.
pub const AGGREGATE_TARGET: &str = "sites";

/// Why a ping document is refused: each names what was wrong, a target's own by its index and
/// name (`targets[1] ("blog")`).
#[derive(Debug, thiserror::Error)]
pub enum PingConfigError {
    #[error("not a ping config document: {0}")]
    NotADocument(serde_json::Error),
    #[error("concurrency {0} is outside 1..={MAX_CONCURRENCY}")]
    Concurrency(usize),
    /// One target's key or value; `reason` names the key and the bad value.
    #[error("{target}: {reason}")]
    Target { target: String, reason: String },
    #[error("{target}: the name is listed twice")]
    Duplicate { target: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Kept as JSON values so that a target's own errors can name the target.
    targets: Vec<serde_json::Value>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    emit: Option<Emit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    expect_status: Option<Vec<RawRange>>,
    #[serde(default)]
    body_contains: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    min_cert_days: Option<i64>,
    #[serde(default)]
    probes: Option<u32>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    metrics: Vec<MetricName>,
}

/// `"200-299"`, `"301"` or `301`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRange {
    Code(u16),
    Text(String),
}

/// How the metrics leave the function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Emit {
    /// PutMetricData calls, batched.
    #[default]
    Api,
    /// CloudWatch Embedded Metric Format lines on stdout: no API call on the hot path.
    Emf,
}

/// An inclusive range of acceptable status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    pub fn contains(&self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

/// One probed URL, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The value of the `Target` dimension.
    pub name: String,
    pub url: Url,
    pub method: Method,
    pub expect_status: Vec<StatusRange>,
    pub body_contains: Option<String>,
    pub timeout: Duration,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Only for `https`: fewer days of certificate validity than this marks the target down.
    pub min_cert_days: Option<i64>,
    pub probes: u32,
    /// A failover link: an alarm watches its `Availability`, published every run.
    pub link: bool,
    /// Metrics opted into every run, beyond the cheap defaults (`cadence`).
    pub metrics: Vec<MetricName>,
}

impl Target {
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PingConfig {
    pub targets: Vec<Target>,
    /// Probes in flight at once, across all targets.
    pub concurrency: usize,
    pub emit: Emit,
}

impl PingConfig {
    pub fn parse(bytes: &[u8]) -> Result<Self, PingConfigError> {
        let raw: RawConfig =
            serde_json::from_slice(bytes).map_err(PingConfigError::NotADocument)?;
        let concurrency = raw.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(PingConfigError::Concurrency(concurrency));
        }
        let mut names = HashSet::new();
        let mut targets = Vec::with_capacity(raw.targets.len());
        for (i, value) in raw.targets.into_iter().enumerate() {
            let label = match value.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("targets[{i}] ({name:?})"),
                None => format!("targets[{i}]"),
            };
            let in_target = |reason: String| PingConfigError::Target {
                target: label.clone(),
                reason,
            };
            let raw_target: RawTarget =
                serde_json::from_value(value).map_err(|e| in_target(e.to_string()))?;
            let target = check_target(raw_target).map_err(in_target)?;
            if !names.insert(target.name.clone()) {
                return Err(PingConfigError::Duplicate { target: label });
            }
            targets.push(target);
        }
        Ok(Self {
            targets,
            concurrency,
            emit: raw.emit.unwrap_or_default(),
        })
    }
}

/// CloudWatch accepts almost any dimension value; ours also name alarms and files, so they keep
/// to letters, digits, `.`, `_` and `-`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "name {name:?} must be 1 to {MAX_NAME_LEN} characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "name {name:?} contains {c:?}; use letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

fn check_range(raw: &RawRange) -> Result<StatusRange, String> {
    let code = |s: &str| -> Result<u16, String> {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("expect_status: {s:?} is not a status code 100..=599"))
    };
    let (low, high) = match raw {
        RawRange::Code(c) => {
            let c = code(&c.to_string())?;
            (c, c)
        }
        RawRange::Text(t) => match t.split_once('-') {
            Some((a, b)) => (code(a)?, code(b)?),
            None => {
                let c = code(t)?;
                (c, c)
            }
        },
    };
    if low > high {
        return Err(format!("expect_status: range {low}-{high} is empty"));
    }
    Ok(StatusRange { low, high })
}

/// Headers the probe sets itself: it sends no body and closes the connection after one request.
const RESERVED_HEADERS: &[&str] = &["content-length", "transfer-encoding", "connection"];

fn check_target(raw: RawTarget) -> Result<Target, String> {
    check_name(&raw.name)?;
    if raw.name == AGGREGATE_TARGET {
        return Err(format!(
            "name {AGGREGATE_TARGET:?} is the aggregate availability's; choose another"
        ));
    }
    let url = Url::parse(&raw.url).map_err(|e| format!("url {:?}: {e}", raw.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "url {:?}: the scheme must be http or https",
            raw.url
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("url {:?}: no host", raw.url));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "url {:?}: credentials in the URL are refused; use headers",
            raw.url
        ));
    }
    let method = match raw.method.as_deref().unwrap_or("GET") {
        "GET" => Method::GET,
        "HEAD" => Method::HEAD,
        "OPTIONS" => Method::OPTIONS,
        "POST" => Method::POST,
        other => {
            return Err(format!(
                "method {other:?} is not GET, HEAD, OPTIONS or POST"
            ))
        }
    };
    let expect_status = match &raw.expect_status {
        None => vec![StatusRange {
            low: 200,
            high: 299,
        }],
        Some(list) if list.is_empty() => return Err("expect_status is empty".into()),
        Some(list) => list.iter().map(check_range).collect::<Result<_, _>>()?,
    };
    if let Some(body) = &raw.body_contains {
        if body.is_empty() {
            return Err("body_contains is empty".into());
        }
        if body.len() > BODY_CAP / 2 {
            return Err(format!(
                "body_contains is longer than {} bytes",
                BODY_CAP / 2
            ));
        }
        if method == Method::HEAD {
            return Err("body_contains cannot be checked with method HEAD".into());
        }
    }
    let timeout_ms = raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(format!(
            "timeout_ms {timeout_ms} is outside {MIN_TIMEOUT_MS}..={MAX_TIMEOUT_MS}"
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers.unwrap_or_default() {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("headers: {name:?} is not a header name"))?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(format!("headers: {name:?} is set by the probe itself"));
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("headers: the value of {name:?} is not a header value"))?;
        headers.push((header, value));
    }
    let min_cert_days = match raw.min_cert_days {
        None => None,
        Some(_) if url.scheme() != "https" => {
            return Err("min_cert_days is only meaningful for an https url".into())
        }
        Some(d) if !(0..=3650).contains(&d) => {
            return Err(format!("min_cert_days {d} is outside 0..=3650"))
        }
        Some(d) => Some(d),
    };
    // A link's alarm is sized for the link model's probes a run; a site needs one.
    let default_probes = if raw.link {
        crate::link::PROBES_PER_RUN as u32
    } else {
        1
    };
    let probes = raw.probes.unwrap_or(default_probes);
    if !(1..=MAX_PROBES).contains(&probes) {
        return Err(format!("probes {probes} is outside 1..={MAX_PROBES}"));
    }
    Ok(Target {
        name: raw.name,
        url,
        method,
        expect_status,
        body_contains: raw.body_contains,
        timeout: Duration::from_millis(timeout_ms),
        headers,
        min_cert_days,
        probes,
        link: raw.link,
        metrics: raw.metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(target: &str) -> String {
        format!(r#"{{"targets": [{target}]}}"#)
    }

    #[test]
    fn documents() {
        let cases: Vec<(&str, String, Result<(), &str>)> = vec![
            (
                "minimal target",
                doc(r#"{"name": "wired", "url": "http://203.0.113.7:9000/"}"#),
                Ok(()),
            ),
            (
                "every key",
                doc(
                    r#"{"name": "blog", "url": "https://blog.example.com/health", "method": "HEAD",
                    "expect_status": ["200-299", "301", 302], "timeout_ms": 3000,
                    "headers": {"User-Agent": "failberry", "x-probe": "1"}, "min_cert_days": 14, "probes": 3}"#,
                ),
                Ok(()),
            ),
            (
                "no targets key",
                "{}".into(),
                Err("missing field `targets`"),
            ),
            ("not json", "{".into(), Err("not a ping config document")),
            (
                "unknown document key",
                r#"{"targets": [], "concurency": 3}"#.into(),
                Err("unknown field `concurency`"),
            ),
            (
                "unknown target key names the target",
                doc(r#"{"name": "wired", "url": "http://a.example/", "timeout": 5}"#),
                Err("targets[0] (\"wired\"): unknown field `timeout`"),
            ),
            (
                "missing url names the target",
                doc(r#"{"name": "wired"}"#),
                Err("targets[0] (\"wired\"): missing field `url`"),
            ),
            (
                "missing name names the index",
                doc(r#"{"url": "http://a.example/"}"#),
                Err("targets[0]: missing field `name`"),
            ),
            (
                "name with a space",
                doc(r#"{"name": "my link", "url": "http://a.example/"}"#),
                Err("contains ' '"),
            ),
            (
                "name too long",
                doc(&format!(
                    r#"{{"name": "{}", "url": "http://a.example/"}}"#,
                    "x".repeat(65)
                )),
                Err("1 to 64 characters"),
            ),
            (
                "ftp url",
                doc(r#"{"name": "f", "url": "ftp://a.example/"}"#),
                Err("scheme must be http or https"),
            ),
            (
                "relative url",
                doc(r#"{"name": "f", "url": "/health"}"#),
                Err("url \"/health\""),
            ),
            (
                "credentials in url",
                doc(r#"{"name": "f", "url": "http://u:p@a.example/"}"#),
                Err("credentials in the URL"),
            ),
            (
                "unknown method",
                doc(r#"{"name": "f", "url": "http://a.example/", "method": "BREW"}"#),
                Err("method \"BREW\""),
            ),
            (
                "bad status",
                doc(r#"{"name": "f", "url": "http://a.example/", "expect_status": ["2xx"]}"#),
                Err("expect_status: \"2xx\""),
            ),
            (
                "status out of range",
                doc(r#"{"name": "f", "url": "http://a.example/", "expect_status": [600]}"#),
                Err("not a status code"),
            ),
            (
                "empty status range",
                doc(r#"{"name": "f", "url": "http://a.example/", "expect_status": ["299-200"]}"#),
                Err("range 299-200 is empty"),
            ),
            (
                "timeout too long",
                doc(r#"{"name": "f", "url": "http://a.example/", "timeout_ms": 30001}"#),
                Err("timeout_ms 30001"),
            ),
            (
                "timeout too short",
                doc(r#"{"name": "f", "url": "http://a.example/", "timeout_ms": 5}"#),
                Err("timeout_ms 5"),
            ),
            (
                "cert days on http",
                doc(r#"{"name": "f", "url": "http://a.example/", "min_cert_days": 7}"#),
                Err("min_cert_days is only meaningful"),
            ),
            (
                "body with HEAD",
                doc(
                    r#"{"name": "f", "url": "http://a.example/", "method": "HEAD", "body_contains": "ok"}"#,
                ),
                Err("cannot be checked with method HEAD"),
            ),
            (
                "reserved header",
                doc(
                    r#"{"name": "f", "url": "http://a.example/", "headers": {"Connection": "keep-alive"}}"#,
                ),
                Err("\"Connection\" is set by the probe"),
            ),
            (
                "bad header name",
                doc(r#"{"name": "f", "url": "http://a.example/", "headers": {"bad header": "x"}}"#),
                Err("not a header name"),
            ),
            (
                "too many probes",
                doc(r#"{"name": "f", "url": "http://a.example/", "probes": 11}"#),
                Err("probes 11"),
            ),
            (
                "zero probes",
                doc(r#"{"name": "f", "url": "http://a.example/", "probes": 0}"#),
                Err("probes 0"),
            ),
            (
                "duplicate names",
                doc(
                    r#"{"name": "f", "url": "http://a.example/"}, {"name": "f", "url": "http://b.example/"}"#,
                ),
                Err("targets[1] (\"f\"): the name is listed twice"),
            ),
            (
                "the aggregate's name",
                doc(r#"{"name": "sites", "url": "http://a.example/"}"#),
                Err("aggregate availability"),
            ),
            (
                "unknown metric opt-in",
                doc(r#"{"name": "f", "url": "http://a.example/", "metrics": ["Jitter"]}"#),
                Err("unknown variant `Jitter`"),
            ),
            (
                "link and opt-ins",
                doc(
                    r#"{"name": "f", "url": "https://a.example/", "link": true, "metrics": ["Latency", "CertDaysLeft"]}"#,
                ),
                Ok(()),
            ),
            (
                "zero concurrency",
                r#"{"targets": [], "concurrency": 0}"#.into(),
                Err("concurrency 0"),
            ),
            (
                "unknown emit",
                r#"{"targets": [], "emit": "statsd"}"#.into(),
                Err("unknown variant `statsd`"),
            ),
            (
                "partial document",
                r#"{"targets": [{"name": "wired", "url": "http://203.0.113.7:9000/"#.into(),
                Err("not a ping config document"),
            ),
        ];
        for (name, input, want) in cases {
            let got = PingConfig::parse(input.as_bytes());
            match (got, want) {
                (Ok(_), Ok(())) => {}
                (Err(e), Err(fragment)) => {
                    let e = e.to_string();
                    assert!(e.contains(fragment), "{name}: {e:?} lacks {fragment:?}")
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn defaults() {
        let cfg = PingConfig::parse(
            doc(r#"{"name": "wired", "url": "http://203.0.113.7:9000/"}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (cfg.concurrency, cfg.emit),
            (DEFAULT_CONCURRENCY, Emit::Api)
        );
        let t = &cfg.targets[0];
        assert_eq!(t.method, Method::GET);
        assert_eq!(
            t.expect_status,
            vec![StatusRange {
                low: 200,
                high: 299
            }]
        );
        assert_eq!(t.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!((t.probes, t.min_cert_days, t.is_https()), (1, None, false));
        assert_eq!((t.link, t.metrics.len()), (false, 0), "no link, no opt-in");
    }

    #[test]
    fn a_link_probes_as_often_as_the_link_model_chose() {
        let probes =
            |target: &str| PingConfig::parse(doc(target).as_bytes()).unwrap().targets[0].probes;
        let link = r#"{"name": "wired", "url": "http://203.0.113.7:9000/", "link": true}"#;
        assert_eq!(probes(link), crate::link::LinkPolicy::CHOSEN.probes_per_run);
        let own =
            r#"{"name": "wired", "url": "http://203.0.113.7:9000/", "link": true, "probes": 2}"#;
        assert_eq!(probes(own), 2, "a link's own count wins");
    }

    #[test]
    fn ranges_and_emit() {
        let cfg = PingConfig::parse(
            br#"{"emit": "emf", "concurrency": 4, "targets": [{"name": "s", "url": "https://a.example/",
                "expect_status": ["200-204", 301, " 418 "]}]}"#,
        )
        .unwrap();
        assert_eq!((cfg.emit, cfg.concurrency), (Emit::Emf, 4));
        let ranges = &cfg.targets[0].expect_status;
        let accepted: Vec<u16> = [199, 200, 204, 205, 301, 302, 418]
            .into_iter()
            .filter(|s| ranges.iter().any(|r| r.contains(*s)))
            .collect();
        assert_eq!(accepted, vec![200, 204, 301, 418]);
    }

    #[test]
    fn the_shipped_sample_parses() {
        let cfg = PingConfig::parse(include_bytes!(
            "../../../../functions/ping/ping.example.json"
        ))
        .expect("sample is valid");
        assert!(cfg.targets.iter().any(|t| t.name == "wired"));
    }
}
