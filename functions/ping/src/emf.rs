//! The `MetricSink` that writes CloudWatch Embedded Metric Format: one JSON line per target on
//! stdout, which Lambda's log pipeline turns into the same metrics PutMetricData would make,
//! without an API call on the hot path. The line layout follows "Specification: Embedded metric
//! format" (CloudWatch user guide); the tests check lines against it.
//! (Over 400 lines through its tests: the code is some 120 lines.)

use std::io::Write;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use serde_json::{json, Map, Value};

use crate::metrics::{
    Delivery, Lost, MetricName, MetricSink, RunMetrics, TargetMetrics, DIMENSION, NAMESPACE,
};

fn timestamp_ms(run: &RunMetrics) -> u64 {
    run.timestamp
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One target's line, or `None` when it has no sample.
fn emf_line(t: &TargetMetrics, timestamp_ms: u64) -> Option<String> {
    let mut root = Map::new();
    let mut definitions = Vec::new();
    for metric in MetricName::ALL {
        let value = match t.values(metric) {
            [] => continue,
            [one] => json!(one),
            many => json!(many),
        };
        definitions.push(json!({"Name": metric.as_str(), "Unit": metric.unit().as_str()}));
        root.insert(metric.as_str().into(), value);
    }
    if definitions.is_empty() {
        return None;
    }
    root.insert(DIMENSION.into(), json!(t.target));
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    Some(Value::Object(root).to_string())
}

/// Writes EMF lines to `W` (stdout in Lambda), a whole line per write so that lines from the
/// log subscriber never interleave with them.
pub struct EmfSink<W = std::io::Stdout> {
    out: Mutex<W>,
}

impl Default for EmfSink<std::io::Stdout> {
    fn default() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write + Send> EmfSink<W> {
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl<W: Write + Send> MetricSink for EmfSink<W> {
    async fn publish(&self, run: &RunMetrics, _deadline: Instant) -> Delivery {
        let timestamp = timestamp_ms(run);
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let mut delivery = Delivery::default();
        let mut lost = Lost::default();
        for target in &run.targets {
            let Some(mut line) = emf_line(target, timestamp) else {
                continue;
            };
            line.push('\n');
            match out.write_all(line.as_bytes()) {
                Ok(()) => {
                    delivery.lines += 1;
                    delivery.datapoints += target.datapoints();
                }
                Err(e) => {
                    lost.datapoints += target.datapoints();
                    lost.targets.push(target.target.clone());
                    lost.reason = e.to_string();
                }
            }
        }
        let _ = out.flush();
        if lost.datapoints > 0 {
            tracing::error!(
                lost_datapoints = lost.datapoints,
                targets = %lost.targets.join(","),
                reason = %lost.reason,
                "metrics lost: EMF lines could not be written"
            );
            delivery.lost = Some(lost);
        }
        delivery
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::TargetMetrics;

    /// The lines for a run, one per target with at least one sample.
    fn emf_lines(run: &RunMetrics) -> Vec<String> {
        let timestamp = timestamp_ms(run);
        run.targets
            .iter()
            .filter_map(|t| emf_line(t, timestamp))
            .collect()
    }

    /// The CloudWatch units an EMF MetricDefinition may name.
    const UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    fn only_members(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
        match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("{what} has the undefined member {k:?}")),
            None => Ok(()),
        }
    }

    fn name_string(v: &Value, what: &str) -> Result<String, String> {
        match v.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 255 => Ok(s.to_string()),
            _ => Err(format!(
                "{what} must be a string of 1 to 255 characters, got {v}"
            )),
        }
    }

    /// An embedded metric format validator written from the specification: the root is one
    /// JSON object on one line; `_aws` holds an integer `Timestamp` and `CloudWatchMetrics`, an
    /// array of MetricDirectives with exactly `Namespace`, `Dimensions` (DimensionSets of at
    /// most 30 keys) and `Metrics` (at most 100 MetricDefinitions of `Name` and an optional
    /// valid `Unit`); every referenced dimension is a root member with a string value, every
    /// referenced metric a root member that is a number or an array of at most 100 numbers.
    fn check_emf(line: &str) -> Result<(), String> {
        if line.contains('\n') {
            return Err("a log event is one line".into());
        }
        if line.len() > 256 * 1024 {
            return Err("larger than a log event may be".into());
        }
        let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let root = root.as_object().ok_or("the root is not an object")?;
        let aws = root
            .get("_aws")
            .and_then(Value::as_object)
            .ok_or("no _aws metadata object")?;
        only_members(aws, &["Timestamp", "CloudWatchMetrics"], "_aws")?;
        let ts = aws.get("Timestamp").ok_or("no Timestamp")?;
        if !(ts.is_u64() || ts.is_i64()) {
            return Err(format!("Timestamp must be integer milliseconds, got {ts}"));
        }
        let directives = aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .ok_or("CloudWatchMetrics is not an array")?;
        if directives.is_empty() {
            return Err("no MetricDirective".into());
        }
        for d in directives {
            let d = d.as_object().ok_or("a MetricDirective is not an object")?;
            only_members(
                d,
                &["Namespace", "Dimensions", "Metrics"],
                "MetricDirective",
            )?;
            name_string(d.get("Namespace").ok_or("no Namespace")?, "Namespace")?;
            let sets = d
                .get("Dimensions")
                .and_then(Value::as_array)
                .ok_or("Dimensions is not an array")?;
            if sets.is_empty() {
                return Err("Dimensions holds no DimensionSet".into());
            }
            for set in sets {
                let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
                if keys.len() > 30 {
                    return Err("a DimensionSet has more than 30 keys".into());
                }
                for key in keys {
                    let key = name_string(key, "a dimension reference")?;
                    match root.get(&key) {
                        Some(Value::String(_)) => {}
                        Some(other) => {
                            return Err(format!("dimension {key:?} is not a string: {other}"))
                        }
                        None => return Err(format!("dimension {key:?} is not a root member")),
                    }
                }
            }
            let metrics = d
                .get("Metrics")
                .and_then(Value::as_array)
                .ok_or("Metrics is not an array")?;
            if metrics.len() > 100 {
                return Err("more than 100 MetricDefinitions".into());
            }
            for m in metrics {
                let m = m.as_object().ok_or("a MetricDefinition is not an object")?;
                only_members(
                    m,
                    &["Name", "Unit", "StorageResolution"],
                    "MetricDefinition",
                )?;
                let name = name_string(m.get("Name").ok_or("no Name")?, "Name")?;
                if let Some(unit) = m.get("Unit") {
                    if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
                        return Err(format!("{name}: {unit} is not a CloudWatch unit"));
                    }
                }
                match root.get(&name) {
                    Some(Value::Number(_)) => {}
                    Some(Value::Array(values)) => {
                        if values.len() > 100 {
                            return Err(format!("{name}: more than 100 values"));
                        }
                        if !values.iter().all(Value::is_number) {
                            return Err(format!("{name}: a value is not a number"));
                        }
                    }
                    Some(other) => return Err(format!("{name}: {other} is not numeric")),
                    None => return Err(format!("metric {name:?} is not a root member")),
                }
            }
        }
        Ok(())
    }

    fn run() -> RunMetrics {
        RunMetrics {
            timestamp: SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_764_000_000_123),
            targets: vec![
                TargetMetrics {
                    target: "wired".into(),
                    availability: vec![1.0, 0.0, 1.0],
                    latency_ms: vec![12.5, 14.25],
                    status_code: vec![200.0, 200.0],
                    cert_days_left: vec![],
                },
                TargetMetrics {
                    target: "blog".into(),
                    availability: vec![1.0],
                    latency_ms: vec![80.0],
                    status_code: vec![200.0],
                    cert_days_left: vec![61.0],
                },
                TargetMetrics {
                    target: "down".into(),
                    availability: vec![0.0],
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn lines_meet_the_specification() {
        let lines = emf_lines(&run());
        assert_eq!(lines.len(), 3, "one line per target");
        for line in &lines {
            check_emf(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
    }

    #[test]
    fn lines_carry_the_run_time_the_target_and_only_its_metrics() {
        let lines: Vec<Value> = emf_lines(&run())
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let wired = &lines[0];
        assert_eq!(wired["_aws"]["Timestamp"], 1_764_000_000_123u64);
        assert_eq!(
            wired["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Failberry/Ping"
        );
        assert_eq!(wired["Target"], "wired");
        assert_eq!(wired["Availability"], json!([1.0, 0.0, 1.0]));
        assert_eq!(wired["Latency"], json!([12.5, 14.25]));
        assert!(wired.get("CertDaysLeft").is_none());
        assert_eq!(lines[1]["CertDaysLeft"], json!(61.0));
        let down = &lines[2];
        assert_eq!(down["Availability"], json!(0.0));
        assert!(
            down.get("Latency").is_none(),
            "no latency without a response"
        );
        let defined: Vec<&str> = down["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(defined, vec!["Availability"]);
        let latency_unit = &lines[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][1];
        assert_eq!(
            latency_unit,
            &json!({"Name": "Latency", "Unit": "Milliseconds"})
        );
    }

    #[test]
    fn the_validator_rejects_what_the_specification_forbids() {
        let good = emf_lines(&run()).remove(0);
        let mutate = |f: &dyn Fn(&mut Value)| {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            f(&mut v);
            v.to_string()
        };
        let cases: Vec<(&str, String)> = vec![
            (
                "no _aws",
                mutate(&|v| {
                    v.as_object_mut().unwrap().remove("_aws");
                }),
            ),
            (
                "string timestamp",
                mutate(&|v| v["_aws"]["Timestamp"] = json!("1764000000123")),
            ),
            (
                "missing dimension member",
                mutate(&|v| {
                    v.as_object_mut().unwrap().remove("Target");
                }),
            ),
            ("numeric dimension", mutate(&|v| v["Target"] = json!(7))),
            (
                "missing metric member",
                mutate(&|v| {
                    v.as_object_mut().unwrap().remove("Latency");
                }),
            ),
            ("string metric", mutate(&|v| v["Latency"] = json!("12"))),
            (
                "101 values",
                mutate(&|v| v["Latency"] = json!(vec![1.0; 101])),
            ),
            (
                "bad unit",
                mutate(&|v| {
                    v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Days")
                }),
            ),
            (
                "extra directive member",
                mutate(&|v| v["_aws"]["CloudWatchMetrics"][0]["Extra"] = json!(1)),
            ),
            (
                "101 metric definitions",
                mutate(&|v| {
                    v["_aws"]["CloudWatchMetrics"][0]["Metrics"] =
                        json!(vec![json!({"Name": "Availability"}); 101])
                }),
            ),
            ("two lines", format!("{good}\n{good}")),
        ];
        for (name, line) in cases {
            assert!(check_emf(&line).is_err(), "{name} passed: {line}");
        }
    }

    #[tokio::test]
    async fn the_sink_writes_one_line_per_target() {
        let sink = EmfSink::new(Vec::new());
        let delivery = sink.publish(&run(), Instant::now()).await;
        assert_eq!(
            (delivery.lines, delivery.datapoints, delivery.requests),
            (3, 12, 0)
        );
        assert!(delivery.lost.is_none());
        let out = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(out.lines().count(), 3);
        assert!(out.ends_with('\n'));
        for line in out.lines() {
            check_emf(line).unwrap();
        }
    }
}
