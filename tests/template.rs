//! Checks of `infra/template.yaml` that cfn-lint does not make: it accepts any `Runtime` or
//! `Architectures` string, knows nothing of cargo-lambda binaries, and does not judge least
//! privilege. These parse the template and hold it to the deployment rules of the design.

use serde_norway::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .expect("reading the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

/// `!Ref X` (or `{Ref: X}`) → `X`.
fn ref_target(v: &Value) -> Option<&str> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        Value::Mapping(m) => m.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

/// A property of a function, falling back to `Globals.Function` as SAM does.
fn effective<'a>(t: &'a Value, f: &'a Value, key: &str) -> &'a Value {
    match f["Properties"].get(key) {
        Some(v) => v,
        None => &t["Globals"]["Function"][key],
    }
}

#[test]
fn functions_are_arm64_on_provided_al2023_built_by_cargo_lambda() {
    let t = template();
    assert_eq!(t["Transform"], "AWS::Serverless-2016-10-31");
    let fns = functions(&t);
    assert!(
        !fns.is_empty(),
        "the template deploys at least one function"
    );
    for (name, f) in fns {
        assert_eq!(
            effective(&t, f, "Runtime"),
            "provided.al2023",
            "{name}: an arm64 bootstrap needs glibc 2.30+"
        );
        let arch = effective(&t, f, "Architectures")
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: Architectures"));
        assert_eq!(arch.len(), 1, "{name}: exactly one architecture");
        assert_eq!(arch[0], "arm64", "{name}");
        assert_eq!(effective(&t, f, "Handler"), "bootstrap", "{name}");
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");

        let code_uri = f["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: CodeUri"));
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra")
            .join(code_uri)
            .join("Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{name}: {}: {e}", manifest.display()));
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: Binary"));
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{name}: crate at {code_uri} has no binary {binary}"
        );
    }
}

#[test]
fn deployments_shift_traffic_gradually_and_roll_back_on_alarms() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    for (name, f) in functions(&t) {
        assert!(
            f["Properties"]["AutoPublishAlias"]
                .as_str()
                .is_some_and(|a| !a.is_empty()),
            "{name}: AutoPublishAlias"
        );
        let pref = &f["Properties"]["DeploymentPreference"];
        let kind = pref["Type"].as_str().unwrap_or_default();
        assert!(
            kind.starts_with("Canary") || kind.starts_with("Linear"),
            "{name}: gradual shift, not {kind:?}"
        );
        let alarms = pref["Alarms"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: rollback alarms"));
        assert!(!alarms.is_empty(), "{name}: rollback alarms");
        for alarm in alarms {
            let target =
                ref_target(alarm).unwrap_or_else(|| panic!("{name}: alarm {alarm:?} is not a Ref"));
            let res = resources
                .get(target)
                .unwrap_or_else(|| panic!("{name}: alarm {target} is not in the template"));
            assert_eq!(res["Type"], "AWS::CloudWatch::Alarm", "{name}: {target}");
        }
    }
}

fn statements(f: &Value) -> Vec<&Value> {
    f["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

fn actions(s: &Value) -> Vec<&str> {
    match &s["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Sequence(v) => v.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

#[test]
fn iam_is_least_privilege() {
    let t = template();
    for (name, f) in functions(&t) {
        for s in statements(f) {
            for a in actions(s) {
                assert!(!a.contains('*'), "{name}: wildcard action {a}");
            }
            if s["Resource"] == "*" {
                // Only for actions that take no resource, pinned by a condition instead.
                assert_eq!(
                    actions(s),
                    vec!["cloudwatch:PutMetricData"],
                    "{name}: wildcard resource"
                );
                assert_eq!(
                    s["Condition"]["StringEquals"]["cloudwatch:namespace"],
                    failberry_failover::link::NAMESPACE,
                    "{name}"
                );
            }
            if actions(s).contains(&"route53:ChangeResourceRecordSets") {
                let cond = &s["Condition"]["ForAllValues:StringEquals"];
                assert!(
                    ref_target(&cond["route53:ChangeResourceRecordSetsNormalizedRecordNames"])
                        .is_some(),
                    "{name}: record names bound"
                );
                let types: Vec<_> = cond["route53:ChangeResourceRecordSetsRecordTypes"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(types, vec!["A", "AAAA"], "{name}");
                let acts: Vec<_> = cond["route53:ChangeResourceRecordSetsActions"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(acts, vec!["UPSERT"], "{name}: never DELETE or CREATE");
            }
        }
    }
}

#[test]
fn ddns_routes_match_the_handler() {
    let t = template();
    let ddns = &t["Resources"]["DdnsFunction"];
    let mut routes: Vec<(String, String)> = ddns["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|e| {
            (
                e["Properties"]["Method"].as_str().unwrap().to_string(),
                e["Properties"]["Path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    routes.sort();
    let want = [
        ("GET", "/"),
        ("GET", "/nic/update"),
        ("GET", "/v1/myip"),
        ("POST", "/"),
        ("POST", "/v1/update"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(routes, want);
}

/// Lambda's own log controls make the functions' logs JSON: their tracing initialisation
/// (`lambda_runtime::tracing`) follows `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`, which
/// Lambda sets from `LoggingConfig`.
#[test]
fn every_function_logs_json_through_logging_config() {
    let t = template();
    for (name, f) in functions(&t) {
        let logging = effective(&t, f, "LoggingConfig");
        assert_eq!(
            logging["LogFormat"], "JSON",
            "{name}: LoggingConfig.LogFormat"
        );
        let level = logging["ApplicationLogLevel"].as_str();
        assert!(
            level
                .is_some_and(|l| ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].contains(&l)),
            "{name}: ApplicationLogLevel {level:?}"
        );
    }
}

/// The link alarms are the ones the failover model reasons about, and Route 53 accepts them.
#[test]
fn link_alarms_are_the_modelled_ones_and_route53_accepts_them() {
    use failberry_failover::{link, link_alarm_definition, route53_accepts, AlarmDefinition};
    let t = template();
    let want = link_alarm_definition();
    for name in ["WiredLinkAlarm", "WirelessLinkAlarm"] {
        let p = &t["Resources"][name]["Properties"];
        let got = AlarmDefinition {
            period_secs: p["Period"].as_u64().unwrap() as u32,
            evaluation_periods: p["EvaluationPeriods"].as_u64().unwrap() as u32,
            datapoints_to_alarm: p
                .get("DatapointsToAlarm")
                .and_then(Value::as_u64)
                .map(|d| d as u32),
            threshold: p["Threshold"].as_f64().unwrap(),
            comparison: p["ComparisonOperator"].as_str().unwrap().parse().unwrap(),
            statistic: Some(p["Statistic"].as_str().unwrap().parse().unwrap()),
            extended_statistic: None,
            treat_missing_data: Some(p["TreatMissingData"].as_str().unwrap().parse().unwrap()),
            metric_math: None,
            storage_resolution_secs: None,
        };
        assert_eq!(got, want, "{name} differs from the model's link alarm");
        route53_accepts(&got).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p["Namespace"], link::NAMESPACE);
        assert_eq!(p["MetricName"], link::AVAILABILITY_METRIC);
        assert_eq!(p["Dimensions"][0]["Name"], link::DIMENSION, "{name}");
        let alarm_name = match &p["AlarmName"] {
            Value::Tagged(t) if t.tag == "Sub" => t.value.as_str().unwrap_or_default(),
            other => other.as_str().unwrap_or_default(),
        };
        assert!(
            alarm_name.starts_with(link::ALARM_NAME_PREFIX),
            "{name}: {alarm_name:?} is not named by the link contract's rule"
        );
    }
    for name in ["FailoverPrimary", "FailoverSecondary"] {
        let p = &t["Resources"][name]["Properties"];
        assert!(
            ref_target(&p["HealthCheckId"]).is_some(),
            "{name}: a failover record needs its health check"
        );
    }
    assert_eq!(
        t["Resources"]["FailoverPrimary"]["Properties"]["Failover"],
        "PRIMARY"
    );
    assert_eq!(
        t["Resources"]["FailoverSecondary"]["Properties"]["Failover"],
        "SECONDARY"
    );
}

/// The ddns function's replay marks live under one prefix: the one its environment names, the only
/// keys it may write, and the one a lifecycle rule expires.
#[test]
fn replay_marks_are_writable_only_under_their_prefix_and_expire() {
    let t = template();
    let ddns = &t["Resources"]["DdnsFunction"];
    let prefix = ddns["Properties"]["Environment"]["Variables"]["REPLAY_PREFIX"]
        .as_str()
        .expect("REPLAY_PREFIX is set");
    let writes: Vec<String> = statements(ddns)
        .into_iter()
        .filter(|s| actions(s).contains(&"s3:PutObject"))
        .map(|s| match &s["Resource"] {
            Value::Tagged(sub) if sub.tag == "Sub" => sub.value.as_str().unwrap().to_string(),
            other => panic!("PutObject resource {other:?} is not a !Sub of the bucket"),
        })
        .collect();
    assert_eq!(writes, vec![format!("${{ConfigBucket.Arn}}/{prefix}*")]);
    let rules = t["Resources"]["ConfigBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    assert!(
        rules.iter().any(|r| r["Prefix"] == prefix
            && r["Status"] == "Enabled"
            && r["ExpirationInDays"] == 1),
        "a lifecycle rule expires {prefix}"
    );
}
