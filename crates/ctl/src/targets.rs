//! Target edits on the ping document, as pure functions over its JSON: add one target (its
//! options spelled as the document spells them), remove one, list them with what each publishes
//! (`failberry_failover::ping::cadence`, so the owner sees what a target costs). Reading and
//! writing the document is `documents`'s; the checks are the parser the ping function itself uses
//! (`failberry_failover::ping::PingConfig`), run on the whole edited document before it is
//! written.

use failberry_failover::ping::{cadence, Cadence, MetricName, PingConfig};
use serde::Serialize;
use serde_json::{json, Value};

use crate::documents::EditError;

/// A target as `target add` takes it; `None`/empty options stay out of the document (the ping
/// function's defaults apply).
#[derive(Debug, Clone, Default)]
pub struct NewTarget {
    pub name: String,
    pub url: String,
    pub link: bool,
    pub method: Option<String>,
    pub expect_status: Vec<String>,
    pub body_contains: Option<String>,
    pub timeout_ms: Option<u64>,
    pub min_cert_days: Option<i64>,
    pub probes: Option<u32>,
    pub headers: Vec<(String, String)>,
    pub metrics: Vec<MetricName>,
}

impl NewTarget {
    fn to_json(&self) -> Value {
        let mut t = json!({"name": self.name, "url": self.url});
        if self.link {
            t["link"] = json!(true);
        }
        if let Some(m) = &self.method {
            t["method"] = json!(m);
        }
        if !self.expect_status.is_empty() {
            t["expect_status"] = json!(self.expect_status);
        }
        if let Some(b) = &self.body_contains {
            t["body_contains"] = json!(b);
        }
        if let Some(ms) = self.timeout_ms {
            t["timeout_ms"] = json!(ms);
        }
        if let Some(d) = self.min_cert_days {
            t["min_cert_days"] = json!(d);
        }
        if let Some(p) = self.probes {
            t["probes"] = json!(p);
        }
        if !self.headers.is_empty() {
            t["headers"] = self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        if !self.metrics.is_empty() {
            t["metrics"] = json!(self.metrics);
        }
        t
    }
}

fn targets_mut(doc: &mut Value) -> &mut Vec<Value> {
    if !doc["targets"].is_array() {
        doc["targets"] = json!([]);
    }
    doc["targets"].as_array_mut().expect("just made an array")
}

fn position(doc: &Value, name: &str) -> Option<usize> {
    doc["targets"]
        .as_array()?
        .iter()
        .position(|t| t["name"] == name)
}

/// `doc` (or a new document) with `target` appended.
pub fn add(doc: Option<Value>, target: &NewTarget) -> Result<Value, EditError> {
    let mut doc = doc.unwrap_or_else(|| json!({"targets": []}));
    if position(&doc, &target.name).is_some() {
        return Err(EditError::Refused(format!(
            "target {} exists: remove it first to change it",
            target.name
        )));
    }
    targets_mut(&mut doc).push(target.to_json());
    Ok(doc)
}

/// `doc` without the target named `name`.
pub fn remove(doc: Option<Value>, name: &str) -> Result<Value, EditError> {
    let no_such = || EditError::Refused(format!("no target {name} in the ping document"));
    let mut doc = doc.ok_or_else(no_such)?;
    let at = position(&doc, name).ok_or_else(no_such)?;
    targets_mut(&mut doc).remove(at);
    Ok(doc)
}

/// One target as `target list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRow {
    pub name: String,
    pub url: String,
    pub link: bool,
    pub probes: u32,
    /// The metrics it publishes on its own and how often, e.g. `Availability every run`.
    pub publishes: Vec<String>,
}

/// The targets of a checked ping document, in document order.
pub fn list(doc: &[u8]) -> Result<Vec<TargetRow>, failberry_failover::ping::PingConfigError> {
    let config = PingConfig::parse(doc)?;
    Ok(config
        .targets
        .iter()
        .map(|t| TargetRow {
            name: t.name.clone(),
            url: t.url.to_string(),
            link: t.link,
            probes: t.probes,
            publishes: MetricName::ALL
                .iter()
                .filter_map(|m| {
                    let how = match cadence(t, *m) {
                        Cadence::EveryRun => "every run",
                        Cadence::Daily => "daily",
                        Cadence::WhenUnexpected => "when unexpected",
                        Cadence::InAggregate => "in the sites aggregate",
                        Cadence::Never => return None,
                    };
                    Some(format!("{} {how}", m.as_str()))
                })
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::Doc;

    fn check(doc: &Value) -> Result<String, String> {
        Doc::Ping
            .check(&serde_json::to_vec(doc).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_option_lands_in_a_document_the_ping_function_accepts() {
        let t = NewTarget {
            name: "blog".into(),
            url: "https://blog.example.com/".into(),
            method: Some("HEAD".into()),
            expect_status: vec!["200-299".into(), "301".into()],
            timeout_ms: Some(3000),
            min_cert_days: Some(14),
            probes: Some(2),
            headers: vec![("User-Agent".into(), "failberry".into())],
            metrics: vec![MetricName::Latency],
            ..NewTarget::default()
        };
        let doc = add(None, &t).unwrap();
        assert_eq!(check(&doc), Ok("1 target(s)".into()));
        let rows = list(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(
            rows[0].publishes,
            vec![
                "Availability in the sites aggregate",
                "Latency every run",
                "StatusCode when unexpected",
                "CertDaysLeft daily"
            ]
        );
    }

    #[test]
    fn edits_and_their_refusals() {
        let wired = NewTarget {
            name: "wired".into(),
            url: "http://203.0.113.7:9000/".into(),
            link: true,
            probes: Some(3),
            ..NewTarget::default()
        };
        let doc = add(Some(json!({"emit": "emf", "targets": []})), &wired).unwrap();
        assert_eq!(doc["emit"], "emf", "the rest of the document is kept");
        let again = add(Some(doc.clone()), &wired).unwrap_err().to_string();
        assert!(again.contains("target wired exists"), "{again}");
        let bad = NewTarget {
            name: "bad name".into(),
            url: "ftp://x/".into(),
            ..NewTarget::default()
        };
        let edited = add(Some(doc.clone()), &bad).unwrap();
        let refused = check(&edited).unwrap_err();
        assert!(
            refused.contains("bad name"),
            "the parser names the target: {refused}"
        );
        let gone = remove(Some(doc.clone()), "wired").unwrap();
        assert_eq!(check(&gone), Ok("0 target(s)".into()));
        let missing = remove(Some(doc), "nas").unwrap_err().to_string();
        assert_eq!(missing, "no target nas in the ping document");
    }
}
