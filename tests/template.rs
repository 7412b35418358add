//! Checks of `infra/template.yaml`'s functions that cfn-lint, its serverless rules and checkov do
//! not make: cfn-lint accepts any `Runtime` or `Architectures` string, none of them knows the
//! workspace's binaries, routes and environment variables, and none judges least privilege.
//! The storage, queue, failover and alarm resources are checked in `template_resources.rs`.

mod template_yaml;

use serde_norway::Value;
use template_yaml::{
    actions, effective, functions, ref_target, repo, resource_texts, resources, s3_grants,
    statements, template,
};

/// The suite's four functions, each with the crate SAM builds it from.
const FUNCTIONS: [(&str, &str); 4] = [
    ("DdnsFunction", "functions/ddns"),
    ("PingFunction", "functions/ping"),
    ("ClipsFunction", "functions/clips"),
    ("DetectatronFunction", "functions/detectatron"),
];

/// Lambda's runtimes for a custom (Rust) bootstrap that an arm64 build can run on: al2023's glibc
/// (2.34) is new enough for cargo-lambda's default target; provided.al2's (2.26) is not.
const RUNTIMES: [&str; 1] = ["provided.al2023"];
/// The only two values Lambda accepts in `Architectures`.
const ARCHITECTURES: [&str; 2] = ["arm64", "x86_64"];

#[test]
fn the_template_deploys_the_four_functions() {
    let t = template();
    let mut got: Vec<String> = functions(&t).into_iter().map(|(n, _)| n).collect();
    got.sort();
    let mut want: Vec<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn functions_run_on_a_real_runtime_and_architecture_arm64_by_default() {
    let t = template();
    assert_eq!(t["Transform"], "AWS::Serverless-2016-10-31");
    let param = &t["Parameters"]["Architecture"];
    assert_eq!(param["Default"], "arm64", "arm64 by default");
    let allowed: Vec<&str> = param["AllowedValues"]
        .as_sequence()
        .expect("Architecture lists its AllowedValues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(allowed.contains(&"arm64") && allowed.contains(&"x86_64"));
    for a in &allowed {
        assert!(ARCHITECTURES.contains(a), "{a} is no Lambda architecture");
    }
    for (name, f) in functions(&t) {
        let runtime = effective(&t, f, "Runtime").as_str().unwrap_or_default();
        assert!(RUNTIMES.contains(&runtime), "{name}: runtime {runtime:?}");
        let arch = effective(&t, f, "Architectures")
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: Architectures"));
        assert_eq!(arch.len(), 1, "{name}: exactly one architecture");
        assert_eq!(
            ref_target(&arch[0]),
            Some("Architecture"),
            "{name}: follows the parameter"
        );
        assert_eq!(effective(&t, f, "Handler"), "bootstrap", "{name}");
        let memory = effective(&t, f, "MemorySize").as_u64().unwrap_or(0);
        assert!(
            (128..=10_240).contains(&memory),
            "{name}: MemorySize {memory}"
        );
    }
}

/// `cargo metadata` of the workspace: which package lives where, with which binaries.
fn workspace_binaries() -> Vec<(std::path::PathBuf, Vec<String>)> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(repo("Cargo.toml"))
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let dir = std::path::Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .to_path_buf();
            let bins = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            (dir, bins)
        })
        .collect()
}

/// cargo-lambda builds `Metadata.BuildProperties.Binary` of the crate at `CodeUri` and ships it
/// as `bootstrap`: that binary must exist there, or `sam build` fails only at deploy time.
#[test]
fn each_function_is_a_binary_of_its_crate_built_by_cargo_lambda() {
    let t = template();
    let packages = workspace_binaries();
    for (name, dir) in FUNCTIONS {
        let f = &t["Resources"][name];
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let code_uri = f["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let code_dir = repo("infra").join(code_uri).canonicalize().unwrap();
        assert_eq!(
            code_dir,
            repo(dir).canonicalize().unwrap(),
            "{name}: CodeUri"
        );
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: BuildProperties.Binary"));
        let (_, bins) = packages
            .iter()
            .find(|(d, _)| d.canonicalize().unwrap() == code_dir)
            .unwrap_or_else(|| panic!("{name}: no workspace package at {code_uri}"));
        assert!(
            bins.iter().any(|b| b == binary),
            "{name}: the crate at {code_uri} has binaries {bins:?}, not {binary}"
        );
    }
}

/// The environment variables a function's `main.rs` reads: `(name, required)`.
fn env_reads(main_rs: &str) -> Vec<(String, bool)> {
    let mut out = vec![];
    for (opener, required) in [
        ("required_env(\"", true),
        ("env::var(\"", false),
        ("env_secs(\"", false),
    ] {
        for (at, _) in main_rs.match_indices(opener) {
            let rest = &main_rs[at + opener.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            out.push((name.to_string(), required));
        }
    }
    out
}

/// Every variable a function requires is set, and every variable set is one it reads (a
/// misspelt name would silently fall back to a default).
#[test]
fn environment_variables_are_the_ones_each_function_reads() {
    let t = template();
    for (name, dir) in FUNCTIONS {
        let main_rs = std::fs::read_to_string(repo(dir).join("src/main.rs")).unwrap();
        let reads = env_reads(&main_rs);
        assert!(!reads.is_empty(), "{name}: found no environment reads");
        let set = &t["Resources"][name]["Properties"]["Environment"]["Variables"];
        let set: Vec<&str> = set
            .as_mapping()
            .map(|m| m.keys().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (var, required) in &reads {
            if *required {
                assert!(set.contains(&var.as_str()), "{name}: {var} is required");
            }
        }
        for var in set {
            // RUST_LOG is read by tracing-subscriber's EnvFilter, not by name in main.rs.
            let read = reads.iter().any(|(r, _)| r == var)
                || (var == "RUST_LOG" && main_rs.contains("from_default_env"));
            assert!(read, "{name}: sets {var}, which it never reads");
        }
    }
}

#[test]
fn deployments_shift_traffic_gradually_and_roll_back_on_their_own_alarm() {
    let t = template();
    let resources = resources(&t);
    for (name, f) in functions(&t) {
        assert_eq!(f["Properties"]["AutoPublishAlias"], "live", "{name}");
        let pref = &f["Properties"]["DeploymentPreference"];
        let kind = pref["Type"].as_str().unwrap_or_default();
        assert!(
            kind.starts_with("Canary") || kind.starts_with("Linear"),
            "{name}: gradual shift, not {kind:?}"
        );
        let alarms = pref["Alarms"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: rollback alarms"));
        let mut watches_itself = false;
        for alarm in alarms {
            let id = ref_target(alarm).unwrap_or_else(|| panic!("{name}: {alarm:?} is not a Ref"));
            let res = resources
                .get(id)
                .unwrap_or_else(|| panic!("{name}: alarm {id} is not in the template"));
            assert_eq!(res["Type"], "AWS::CloudWatch::Alarm", "{name}: {id}");
            let p = &res["Properties"];
            let dims = p["Dimensions"].as_sequence().unwrap();
            let dim = |key: &str| dims.iter().find(|d| d["Name"] == key).map(|d| &d["Value"]);
            if p["Namespace"] == "AWS/Lambda" {
                assert_eq!(
                    dim("FunctionName").and_then(ref_target),
                    Some(name.as_str())
                );
                let alias = dim("Resource").and_then(template_yaml::sub_text);
                assert_eq!(alias, Some(format!("${{{name}}}:live").as_str()), "{id}");
                watches_itself = true;
            }
        }
        assert!(watches_itself, "{name}: no alarm on its own errors");
    }
}

#[test]
fn every_function_logs_json_to_a_log_group_with_retention() {
    // The values CloudWatch Logs accepts for RetentionInDays.
    const RETENTIONS: [u64; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    let t = template();
    let groups = template_yaml::of_type(&t, "AWS::Logs::LogGroup");
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
        let want = format!("/aws/lambda/${{{name}}}");
        let (_, group) = groups
            .iter()
            .find(|(_, g)| template_yaml::sub_text(&g["Properties"]["LogGroupName"]) == Some(&want))
            .unwrap_or_else(|| panic!("{name}: no log group named {want}"));
        let days = group["Properties"]["RetentionInDays"].as_u64().unwrap_or(0);
        assert!(RETENTIONS.contains(&days), "{name}: RetentionInDays {days}");
    }
}

fn routes(t: &Value, function: &str) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = t["Resources"][function]["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|e| e["Type"] == "HttpApi")
        .map(|e| {
            assert_eq!(ref_target(&e["Properties"]["ApiId"]), Some("HttpApi"));
            (
                e["Properties"]["Method"].as_str().unwrap().to_string(),
                e["Properties"]["Path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    routes.sort();
    routes
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn routes_are_the_paths_the_handlers_serve() {
    use failberry_proto::paths;
    let t = template();
    let ddns = owned(&[
        ("GET", paths::LEGACY_ROOT),
        ("POST", paths::LEGACY_ROOT),
        ("GET", paths::NIC_UPDATE),
        ("GET", paths::MYIP),
        ("POST", paths::UPDATE),
        // The Pi's reports, served by the ddns function (DESIGN.md: report endpoint).
        ("POST", "/v1/report"),
    ]);
    assert_eq!(routes(&t, "DdnsFunction"), ddns);
    let result = format!("{}{{key+}}", paths::CLIP_RESULT_PREFIX);
    let clips = owned(&[
        ("POST", paths::CLIPS),
        ("POST", paths::CLIPS_RESUME),
        ("POST", paths::CLIPS_COMPLETE),
        ("GET", &result),
    ]);
    assert_eq!(routes(&t, "ClipsFunction"), clips);
}

/// Actions that take no resource in IAM, so `Resource: "*"` is the only form; each with the
/// condition that narrows it, when the service has one.
const RESOURCELESS: [(&str, Option<(&str, &str)>); 2] = [
    (
        "cloudwatch:PutMetricData",
        Some(("cloudwatch:namespace", failberry_failover::link::NAMESPACE)),
    ),
    // DetectLabels on image bytes in the request: no collection, no resource, no condition key.
    ("rekognition:DetectLabels", None),
];

#[test]
fn iam_is_least_privilege() {
    let t = template();
    for (name, f) in functions(&t) {
        for s in statements(f) {
            assert_eq!(s["Effect"], "Allow", "{name}");
            for a in actions(s) {
                assert!(!a.contains('*'), "{name}: wildcard action {a}");
            }
            if s["Resource"] == "*" {
                let acts = actions(s);
                assert_eq!(acts.len(), 1, "{name}: one resourceless action a statement");
                let (_, cond) = RESOURCELESS
                    .iter()
                    .find(|(a, _)| *a == acts[0])
                    .unwrap_or_else(|| panic!("{name}: {} on every resource", acts[0]));
                if let Some((key, value)) = cond {
                    assert_eq!(s["Condition"]["StringEquals"][*key], *value, "{name}");
                }
            }
            if actions(s).contains(&"route53:ChangeResourceRecordSets") {
                let cond = &s["Condition"]["ForAllValues:StringEquals"];
                assert!(
                    ref_target(&cond["route53:ChangeResourceRecordSetsNormalizedRecordNames"])
                        .is_some(),
                    "{name}: record names bound"
                );
                let list = |k: &str| -> Vec<&str> {
                    cond[k]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .filter_map(Value::as_str)
                        .collect()
                };
                assert_eq!(
                    list("route53:ChangeResourceRecordSetsRecordTypes"),
                    ["A", "AAAA"]
                );
                assert_eq!(
                    list("route53:ChangeResourceRecordSetsActions"),
                    ["UPSERT"],
                    "{name}: never DELETE or CREATE"
                );
                for r in resource_texts(s) {
                    assert!(r.contains(":route53:::hostedzone/"), "{name}: {r}");
                }
            }
        }
    }
}

/// Only ddns and clips touch Route 53 or the device secrets; only ping publishes metrics.
#[test]
fn each_service_is_reached_only_by_the_function_that_needs_it() {
    let t = template();
    let uses = |prefix: &str| -> Vec<String> {
        functions(&t)
            .into_iter()
            .filter(|(_, f)| {
                statements(f)
                    .iter()
                    .any(|s| actions(s).iter().any(|a| a.starts_with(prefix)))
            })
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(uses("route53:"), ["DdnsFunction"]);
    assert_eq!(uses("cloudwatch:"), ["PingFunction"]);
    assert_eq!(uses("rekognition:"), ["DetectatronFunction"]);
    let mut config_readers: Vec<String> = s3_grants(&t, "ConfigBucket")
        .into_iter()
        .filter(|(_, a, r)| a == "s3:GetObject" && r == "/${ConfigKey}")
        .map(|(f, _, _)| f)
        .collect();
    config_readers.sort();
    assert_eq!(
        config_readers,
        ["ClipsFunction", "DdnsFunction"],
        "device secrets"
    );
}

/// The replay marks live under one prefix: the one the functions' environment names, the only
/// keys of the config bucket they may write, and the one a lifecycle rule expires.
#[test]
fn replay_marks_are_writable_only_under_their_prefix_and_expire() {
    let t = template();
    let mut prefixes = vec![];
    for name in ["DdnsFunction", "ClipsFunction"] {
        let prefix = t["Resources"][name]["Properties"]["Environment"]["Variables"]
            ["REPLAY_PREFIX"]
            .as_str()
            .expect("REPLAY_PREFIX is set");
        prefixes.push(prefix.to_string());
        let writes: Vec<String> = s3_grants(&t, "ConfigBucket")
            .into_iter()
            .filter(|(f, a, _)| f == name && a == "s3:PutObject")
            .map(|(_, _, r)| r)
            .collect();
        assert!(!writes.is_empty(), "{name} writes its marks");
        for w in writes {
            assert!(w.starts_with(&format!("/{prefix}")), "{name} writes {w}");
        }
    }
    let grants = s3_grants(&t, "ConfigBucket");
    let nobody_else = grants
        .iter()
        .filter(|(_, a, _)| a == "s3:PutObject")
        .all(|(f, _, _)| f == "DdnsFunction" || f == "ClipsFunction");
    assert!(
        nobody_else,
        "only the signed-request functions write the config bucket"
    );
    let rules = t["Resources"]["ConfigBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    for prefix in prefixes {
        assert!(
            rules.iter().any(|r| r["Prefix"] == prefix.as_str()
                && r["Status"] == "Enabled"
                && r["ExpirationInDays"] == 1),
            "a lifecycle rule expires {prefix}"
        );
    }
}
