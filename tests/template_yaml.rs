//! Reading `infra/template.yaml` for the template tests: the parsed YAML, its functions and their
//! policy statements, and the short-form intrinsics (`!Ref`, `!Sub`, `!GetAtt`) taken apart. It
//! judges nothing; `template.rs` and `template_resources.rs` hold the rules.

#![allow(dead_code)] // each test target uses its own share of these readers

use serde_norway::Value;

pub fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

pub fn template() -> Value {
    let text = std::fs::read_to_string(repo("infra/template.yaml")).expect("reading the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

/// The value under a short-form tag (`!Ref X` → `X`), or under its long form (`{Ref: X}`).
pub fn intrinsic<'a>(v: &'a Value, tag: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == tag => Some(&t.value),
        Value::Mapping(m) if m.len() == 1 => m.get(format!("Fn::{tag}")).or_else(|| m.get(tag)),
        _ => None,
    }
}

/// `!Ref X` → `X`.
pub fn ref_target(v: &Value) -> Option<&str> {
    intrinsic(v, "Ref").and_then(Value::as_str)
}

/// `!Sub "text"` → `text` (the one-argument form).
pub fn sub_text(v: &Value) -> Option<&str> {
    intrinsic(v, "Sub").and_then(Value::as_str)
}

/// `!GetAtt X.Arn` → `X`, for the attribute `attr`.
pub fn get_att_of<'a>(v: &'a Value, attr: &str) -> Option<&'a str> {
    let s = intrinsic(v, "GetAtt")?.as_str()?;
    s.strip_suffix(&format!(".{attr}"))
}

pub fn resources(t: &Value) -> &serde_norway::Mapping {
    t["Resources"].as_mapping().expect("Resources")
}

/// `(logical id, resource)` of every resource of `kind`.
pub fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

pub fn functions(t: &Value) -> Vec<(String, &Value)> {
    of_type(t, "AWS::Serverless::Function")
}

/// A property of a function, falling back to `Globals.Function` as SAM does.
pub fn effective<'a>(t: &'a Value, f: &'a Value, key: &str) -> &'a Value {
    match f["Properties"].get(key) {
        Some(v) => v,
        None => &t["Globals"]["Function"][key],
    }
}

pub fn statements(f: &Value) -> Vec<&Value> {
    f["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

/// A string or a list of strings (`Action`, `Resource`) as a list.
pub fn strings(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

pub fn actions(s: &Value) -> Vec<&str> {
    strings(&s["Action"])
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The resources of an `Allow` statement as text: a plain string, the text of a `!Sub`, or
/// `!GetAtt X.Arn` written as `${X.Arn}` (the form `!Sub` would use).
pub fn resource_texts(s: &Value) -> Vec<String> {
    strings(&s["Resource"])
        .into_iter()
        .map(|r| {
            // `as_str` would see through any tag, so the tags are asked first.
            if let Some(id) = get_att_of(r, "Arn") {
                format!("${{{id}.Arn}}")
            } else if let Some(text) = sub_text(r).or_else(|| r.as_str()) {
                text.to_string()
            } else {
                format!("{r:?}")
            }
        })
        .collect()
}

/// The S3 ARN of a bucket as the roles name it: `${X.Arn}`, or the ARN built from its
/// `BucketName` (so a role need not reference the bucket).
pub fn bucket_arns(t: &Value, bucket: &str) -> Vec<String> {
    let mut arns = vec![format!("${{{bucket}.Arn}}")];
    if let Some(name) = sub_text(&t["Resources"][bucket]["Properties"]["BucketName"]) {
        arns.push(format!("arn:${{AWS::Partition}}:s3:::{name}"));
    }
    arns
}

/// `(function, action, resource)` for every S3 action granted on `bucket`'s ARN or its objects;
/// the resource is the part after the bucket (`""` for the bucket, `/results/*` for objects).
pub fn s3_grants(t: &Value, bucket: &str) -> Vec<(String, String, String)> {
    let arns = bucket_arns(t, bucket);
    let mut out = vec![];
    for (name, f) in functions(t) {
        for s in statements(f) {
            for res in resource_texts(s) {
                let Some(rest) = arns.iter().find_map(|a| res.strip_prefix(a.as_str())) else {
                    continue;
                };
                if !(rest.is_empty() || rest.starts_with('/')) {
                    continue; // another bucket whose name starts the same
                }
                for a in actions(s) {
                    out.push((name.clone(), a.to_string(), rest.to_string()));
                }
            }
        }
    }
    out
}
