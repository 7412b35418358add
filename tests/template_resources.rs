//! Checks of `infra/template.yaml`'s storage, queue, failover, alarm and dashboard resources:
//! bucket privacy, who may decrypt the config documents, the clip path S3 → SQS → detectatron,
//! the alarms and health checks as Route 53 accepts them, and what the owner is told and shown.
//! The functions themselves are checked in `template.rs`.

mod template_yaml;

use serde_norway::Value;
use template_yaml::{
    actions, get_att_of, intrinsic, of_type, ref_target, resources, s3_grants, sub_text, template,
};

#[test]
fn buckets_are_private_encrypted_and_tls_only() {
    let t = template();
    let buckets = of_type(&t, "AWS::S3::Bucket");
    assert!(buckets.len() >= 2, "the config and the clip buckets");
    let policies = of_type(&t, "AWS::S3::BucketPolicy");
    for (name, b) in buckets {
        let p = &b["Properties"];
        let block = &p["PublicAccessBlockConfiguration"];
        for key in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[key], true, "{name}: {key}");
        }
        assert_eq!(
            p["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced",
            "{name}: no ACLs at all"
        );
        let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"];
        assert!(
            sse == "AES256" || sse == "aws:kms",
            "{name}: encryption {sse:?}"
        );
        let tls_only = policies.iter().any(|(_, pol)| {
            ref_target(&pol["Properties"]["Bucket"]) == Some(name.as_str())
                && pol["Properties"]["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|s| {
                        s["Effect"] == "Deny"
                            && s["Principal"] == "*"
                            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                    })
        });
        assert!(tls_only, "{name}: a policy refuses plain HTTP");
    }
}

/// The config documents hold device secrets: encrypted at rest (SSE-S3: no key to pay for), and
/// the bucket policy denies their objects to every principal but the roles of the functions that
/// read them (found from the roles' grants, not listed here), the account root and the owner.
/// moto stores a bucket policy but never evaluates it (its S3 authorization reads only the
/// caller's identity policies, moto 5.2), so the refusal is checked on the policy itself.
#[test]
fn only_the_config_readers_and_the_owner_can_touch_the_config_documents() {
    let t = template();
    let enc = &t["Resources"]["ConfigBucket"]["Properties"]["BucketEncryption"]
        ["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    assert!(
        t["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .all(|r| r["Type"] != "AWS::KMS::Key"),
        "no customer-managed key ($1 a month)"
    );

    let policy = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| {
            r["Type"] == "AWS::S3::BucketPolicy"
                && ref_target(&r["Properties"]["Bucket"]) == Some("ConfigBucket")
        })
        .expect("the config bucket has a policy");
    let deny = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Effect"] == "Deny" && s["Condition"].get("ArnNotLike").is_some())
        .expect("a statement denying every principal but the listed ones");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(
        sub_text(&deny["Resource"]),
        Some("${ConfigBucket.Arn}/*"),
        "every object of the bucket"
    );
    let acts = actions(deny);
    for needed in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
        assert!(
            acts.iter().any(|a| a
                .strip_suffix('*')
                .map_or(*a == needed, |p| needed.starts_with(p))),
            "{needed} is denied: {acts:?}"
        );
    }

    let mut allowed_roles = vec![];
    let (mut root, mut owner) = (false, false);
    for p in deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        .as_sequence()
        .unwrap()
    {
        if let Some(role) = get_att_of(p, "Arn") {
            allowed_roles.push(role.to_string());
        } else if sub_text(p) == Some("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") {
            root = true;
        } else if let Some(branches) = template_yaml::intrinsic(p, "If") {
            assert_eq!(branches[0], "HasConfigOwner");
            assert_eq!(ref_target(&branches[1]), Some("ConfigOwnerArn"));
            assert_eq!(ref_target(&branches[2]), Some("AWS::NoValue"));
            owner = true;
        } else {
            panic!("an unexpected principal is exempt: {p:?}");
        }
    }
    assert!(root && owner, "the account root and the configured owner");
    allowed_roles.sort();
    // Every function granted an object of the config bucket, and no other.
    let mut readers: Vec<String> = s3_grants(&t, "ConfigBucket")
        .into_iter()
        .filter(|(_, _, r)| r.starts_with('/'))
        .map(|(f, _, _)| format!("{f}Role"))
        .collect();
    readers.sort();
    readers.dedup();
    assert_eq!(allowed_roles, readers);
}

/// ObjectCreated under `incoming/` invokes detectatron's live alias asynchronously (only this
/// account's clip bucket may); a clip that fails is retried twice by Lambda, then its notification
/// is parked in the dead-letter queue for 14 days: nothing dropped, nothing retried forever, no
/// queue to poll.
#[test]
fn clips_reach_the_analysis_by_asynchronous_invocation_with_an_on_failure_queue() {
    use failberry_proto::clips::INCOMING_PREFIX;
    let t = template();
    let r = &t["Resources"];
    let bucket = &r["ClipBucket"]["Properties"];
    let notes = bucket["NotificationConfiguration"]["LambdaConfigurations"]
        .as_sequence()
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert!(bucket["NotificationConfiguration"]
        .get("QueueConfigurations")
        .is_none());
    assert_eq!(notes[0]["Event"], "s3:ObjectCreated:*");
    assert_eq!(
        ref_target(&notes[0]["Function"]),
        Some("DetectatronFunction.Alias")
    );
    let rules = &notes[0]["Filter"]["S3Key"]["Rules"];
    assert_eq!(rules[0]["Name"], "prefix");
    assert_eq!(rules[0]["Value"], INCOMING_PREFIX);

    let bucket_name = sub_text(&bucket["BucketName"]).expect("a name built from the account");
    let permission = &r["DetectatronInvokedByClipBucket"];
    assert_eq!(permission["Type"], "AWS::Lambda::Permission");
    assert_eq!(
        r["ClipBucket"]["DependsOn"], "DetectatronInvokedByClipBucket",
        "S3 checks the permission when the notification is set"
    );
    let p = &permission["Properties"];
    assert_eq!(p["Principal"], "s3.amazonaws.com");
    assert_eq!(p["Action"], "lambda:InvokeFunction");
    assert_eq!(
        ref_target(&p["FunctionName"]),
        Some("DetectatronFunction.Alias")
    );
    assert_eq!(
        sub_text(&p["SourceArn"]),
        Some(format!("arn:${{AWS::Partition}}:s3:::{bucket_name}").as_str())
    );
    assert_eq!(ref_target(&p["SourceAccount"]), Some("AWS::AccountId"));

    let f = &r["DetectatronFunction"]["Properties"];
    assert!(f.get("Events").is_none(), "no event source mapping to poll");
    let invoke = &f["EventInvokeConfig"];
    assert_eq!(
        invoke["MaximumRetryAttempts"].as_u64(),
        Some(u64::from(failberry_local::clip_queue::MAX_RECEIVES) - 1),
        "the local stack's stand-in tries as often"
    );
    assert_eq!(invoke["MaximumEventAgeInSeconds"], 21600);
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        get_att_of(
            &invoke["DestinationConfig"]["OnFailure"]["Destination"],
            "Arn"
        ),
        Some("ClipDeadLetterQueue")
    );
    let dead = &r["ClipDeadLetterQueue"]["Properties"];
    assert_eq!(dead["MessageRetentionPeriod"], 1_209_600, "14 days");
    assert!(
        of_type(&t, "AWS::SQS::Queue").len() == 1,
        "the dead-letter queue is the only queue"
    );
}

/// What each function may do in the clip bucket, by key prefix.
#[test]
fn clip_bucket_grants_follow_the_prefixes() {
    let t = template();
    let grants = s3_grants(&t, "ClipBucket");
    let of = |who: &str| -> Vec<(String, String)> {
        let mut v: Vec<_> = grants
            .iter()
            .filter(|(f, _, _)| f == who)
            .map(|(_, a, r)| (a.clone(), r.clone()))
            .collect();
        v.sort();
        v
    };
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs
            .iter()
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect();
        v.sort();
        v
    };
    // Detectatron reads clips and tags them; it writes only results (and reads its own back).
    assert_eq!(
        of("DetectatronFunction"),
        want(&[
            ("s3:GetObject", "/incoming/*"),
            ("s3:GetObjectTagging", "/incoming/*"),
            ("s3:PutObjectTagging", "/incoming/*"),
            ("s3:PutObject", "/results/*"),
            ("s3:GetObject", "/results/*"),
            ("s3:ListBucket", ""),
        ])
    );
    // Clips presigns uploads under incoming/ and reads results; it writes nothing else.
    assert_eq!(
        of("ClipsFunction"),
        want(&[
            ("s3:PutObject", "/incoming/*"),
            ("s3:GetObject", "/incoming/*"),
            ("s3:ListMultipartUploadParts", "/incoming/*"),
            ("s3:AbortMultipartUpload", "/incoming/*"),
            ("s3:GetObject", "/results/*"),
            ("s3:GetObjectTagging", "/results/*"),
            ("s3:ListBucket", ""),
            ("s3:ListBucketMultipartUploads", ""),
        ])
    );
    assert!(of("DdnsFunction").is_empty() && of("PingFunction").is_empty());
}

#[test]
fn uninteresting_clips_expire_and_abandoned_uploads_are_aborted() {
    use failberry_detectatron::TAG_KEY;
    let t = template();
    let rules = t["Resources"]["ClipBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let expire = rules
        .iter()
        .find(|r| r["TagFilters"][0]["Key"] == TAG_KEY && r["TagFilters"][0]["Value"] == "false")
        .expect("a rule for clips tagged uninteresting");
    assert_eq!(expire["Status"], "Enabled");
    let days = ref_target(&expire["ExpirationInDays"]).expect("days are a parameter");
    assert_eq!(t["Parameters"][days]["Type"], "Number");
    assert!(
        rules.iter().any(|r| r["Status"] == "Enabled"
            && r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64() >= Some(1)),
        "incomplete multipart uploads are aborted"
    );
}

/// The link alarms are the ones the failover model reasons about, Route 53 accepts them, and
/// they tell the owner both ways.
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
            metric_math: p.get("Metrics").map(|_| "Metrics".to_string()),
            storage_resolution_secs: None,
        };
        assert_eq!(got, want, "{name} differs from the model's link alarm");
        route53_accepts(&got).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p["Namespace"], link::NAMESPACE);
        assert_eq!(p["MetricName"], link::AVAILABILITY_METRIC);
        assert_eq!(p["Dimensions"][0]["Name"], link::DIMENSION, "{name}");
        let alarm_name = sub_text(&p["AlarmName"])
            .or_else(|| p["AlarmName"].as_str())
            .unwrap_or_default();
        assert!(
            alarm_name.starts_with(link::ALARM_NAME_PREFIX),
            "{name}: {alarm_name:?} is not named by the link contract's rule"
        );
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                ref_target(&p[actions][0]),
                Some("AlarmTopic"),
                "{name}: {actions} tell the owner"
            );
        }
        let text = sub_text(&p["AlarmDescription"]).unwrap_or_default();
        assert!(
            text.contains("ALARM:") && text.contains("OK:") && text.contains("${FailoverName}"),
            "{name}: the description is the mail: what each state means for DNS"
        );
    }
    let checks = of_type(&t, "AWS::Route53::HealthCheck");
    assert_eq!(checks.len(), 2);
    for (name, c) in checks {
        let cfg = &c["Properties"]["HealthCheckConfig"];
        assert_eq!(cfg["Type"], "CLOUDWATCH_METRIC", "{name}");
        let alarm = ref_target(&cfg["AlarmIdentifier"]["Name"]).unwrap();
        assert!(
            alarm.ends_with("LinkAlarm"),
            "{name}: on a link alarm, not {alarm}"
        );
        assert_eq!(
            ref_target(&cfg["AlarmIdentifier"]["Region"]),
            Some("AWS::Region")
        );
        let status = cfg["InsufficientDataHealthStatus"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ["Healthy", "Unhealthy", "LastKnownStatus"].contains(&status),
            "{name}"
        );
    }
}

/// An A pair always; an AAAA pair on the same health checks only when the wired link has an
/// IPv6 address.
#[test]
fn failover_pairs_have_health_checks_and_the_ipv6_pair_is_optional() {
    let t = template();
    let r = &t["Resources"];
    let pairs = [
        ("FailoverPrimary", "FailoverSecondary", "A", None),
        (
            "FailoverPrimaryIpv6",
            "FailoverSecondaryIpv6",
            "AAAA",
            Some("HasWiredIpv6"),
        ),
    ];
    for (primary, secondary, kind, condition) in pairs {
        for (name, role, check, target) in [
            (primary, "PRIMARY", "WiredHealthCheck", "WiredTarget"),
            (
                secondary,
                "SECONDARY",
                "WirelessHealthCheck",
                "WirelessTarget",
            ),
        ] {
            let res = &r[name];
            assert_eq!(res["Condition"].as_str(), condition, "{name}");
            let p = &res["Properties"];
            assert_eq!(p["Type"], kind, "{name}");
            assert_eq!(p["Failover"], role, "{name}");
            assert_eq!(ref_target(&p["Name"]), Some("FailoverName"), "{name}");
            assert_eq!(ref_target(&p["HealthCheckId"]), Some(check), "{name}");
            // The link contract: a failover record's set identifier is its link's ping target.
            assert_eq!(ref_target(&p["SetIdentifier"]), Some(target), "{name}");
        }
    }
    let cond = &t["Conditions"]["HasWiredIpv6"];
    let not = intrinsic(cond, "Not").expect("HasWiredIpv6 is a !Not");
    let equals = intrinsic(&not[0], "Equals").expect("of an !Equals");
    assert_eq!(ref_target(&equals[0]), Some("WiredIpv6"));
    assert_eq!(equals[1], "");
    assert_eq!(t["Parameters"]["WiredIpv6"]["Default"], "");
    assert_eq!(
        ref_target(&r["FailoverPrimaryIpv6"]["Properties"]["ResourceRecords"][0]),
        Some("WiredIpv6")
    );
}

/// Custom domain resources exist only when both the name and the certificate are given.
#[test]
fn the_custom_domain_is_optional() {
    let t = template();
    for (name, res) in [
        ("ApiDomain", "AWS::ApiGatewayV2::DomainName"),
        ("ApiDomainMapping", "AWS::ApiGatewayV2::ApiMapping"),
    ] {
        assert_eq!(t["Resources"][name]["Type"], res);
        assert_eq!(t["Resources"][name]["Condition"], "HasDomain", "{name}");
    }
    let both = intrinsic(&t["Conditions"]["HasDomain"], "And").expect("HasDomain is an !And");
    let mut params: Vec<&str> = both
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|c| intrinsic(c, "Not"))
        .filter_map(|n| intrinsic(&n[0], "Equals"))
        .filter_map(|e| ref_target(&e[0]))
        .collect();
    params.sort();
    assert_eq!(params, ["CertificateArn", "DomainName"]);
    for p in params {
        assert_eq!(t["Parameters"][p]["Default"], "", "{p} is empty by default");
    }
    let api = &t["Resources"]["HttpApi"]["Properties"];
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].as_f64() > Some(0.0));
    assert!(api["DefaultRouteSettings"]["ThrottlingBurstLimit"].as_u64() > Some(0));
}

/// Each alarm is $0.10 a month: the two link alarms, one per function, one for the API.
#[test]
fn alarms_are_few_and_all_tell_the_owner() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let functions = template_yaml::functions(&t).len();
    assert_eq!(
        alarms.len(),
        2 + functions + 1,
        "{:?}",
        alarms.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    for (name, a) in alarms {
        assert_eq!(
            ref_target(&a["Properties"]["AlarmActions"][0]),
            Some("AlarmTopic"),
            "{name}"
        );
    }
    let sub = &t["Resources"]["AlarmEmailSubscription"];
    assert_eq!(sub["Condition"], "HasAlarmEmail");
    assert_eq!(sub["Properties"]["Protocol"], "email");
    assert!(
        t["Resources"]["AlarmTopic"].get("Condition").is_none(),
        "the topic always exists"
    );
}

/// The dashboard's body is JSON once CloudFormation substitutes it, and shows what the issue
/// asks: per-target availability and latency, both link alarms, clips interesting or not,
/// every function's errors and durations.
#[test]
fn the_dashboard_shows_targets_links_clips_and_functions() {
    let t = template();
    let body = sub_text(&t["Resources"]["OwnerDashboard"]["Properties"]["DashboardBody"])
        .expect("the body is a !Sub");
    // Every ${...} names a parameter, a resource (or its attribute) or a pseudo parameter.
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("${") {
        substituted.push_str(&rest[..at]);
        let end = rest[at..].find('}').unwrap() + at;
        let name = &rest[at + 2..end];
        let base = name.split('.').next().unwrap();
        assert!(
            base.starts_with("AWS::") || resources(&t).contains_key(base),
            "dashboard names {name}, which is not in the template"
        );
        substituted.push('x');
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let json: serde_json::Value =
        serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    let widgets = json["widgets"].as_array().unwrap();
    let text = |w: &serde_json::Value| w.to_string();
    let has = |needle: &str| widgets.iter().any(|w| text(w).contains(needle));
    for metric in ["Availability", "Latency"] {
        assert!(
            has(&format!("MetricName=\\\"{metric}\\\"")),
            "{metric} per target"
        );
    }
    assert!(
        has("clip analysed") && has("interesting"),
        "clips interesting or not"
    );
    let alarms = widgets
        .iter()
        .find(|w| w["type"] == "alarm")
        .expect("an alarm widget");
    assert_eq!(alarms["properties"]["alarms"].as_array().unwrap().len(), 2);
    assert!(body.contains("${WiredLinkAlarm.Arn}") && body.contains("${WirelessLinkAlarm.Arn}"));
    for (name, _) in template_yaml::functions(&t) {
        for metric in ["\"Errors\"", "\"Duration\""] {
            assert!(
                body.lines()
                    .any(|l| l.contains(metric) && l.contains(&format!("${{{name}}}"))),
                "{name}: {metric} on the dashboard"
            );
        }
    }
}
