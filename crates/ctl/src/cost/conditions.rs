//! Which of the template's resources a deploy creates: its `Conditions` evaluated with the
//! parameters' values (the template's defaults, overridden as `sam deploy --parameter-overrides`
//! would), so the bill follows the settings. Conditions may use what CloudFormation allows in them
//! on parameters: `Equals`, `Not`, `And`, `Or`, `Condition` and `Ref`, in the short (`!Equals`)
//! and the long (`Fn::Equals`) forms; anything else is an error, never a guess.

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConditionError {
    #[error("--parameter {0}: the template has no such parameter")]
    UnknownParameter(String),
    #[error("{0:?} is not KEY=VALUE")]
    NotKeyValue(String),
    #[error("parameter {0} has no default: give it with --parameter {0}=VALUE")]
    NoValue(String),
    #[error("condition {0}: {1}")]
    Unsupported(String, String),
    #[error("condition {0} refers to itself")]
    Cycle(String),
}

/// `KEY=VALUE` as given on the command line.
pub fn parse_override(text: &str) -> Result<(String, String), ConditionError> {
    text.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| ConditionError::NotKeyValue(text.to_string()))
}

/// The template with only the resources a deploy with `overrides` creates.
pub fn deployed(template: &Value, overrides: &[(String, String)]) -> Result<Value, ConditionError> {
    let parameters = parameter_values(template, overrides)?;
    let conditions = evaluate_all(template, &parameters)?;
    let mut out = template.clone();
    if let Some(resources) = out.get_mut("Resources").and_then(Value::as_mapping_mut) {
        resources.retain(|_, resource| {
            resource
                .get("Condition")
                .and_then(Value::as_str)
                .is_none_or(|name| conditions.get(name).copied().unwrap_or(false))
        });
    }
    Ok(out)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every parameter's value: the override, else the default. A parameter without either is an
/// error only when a condition needs it.
fn parameter_values(
    template: &Value,
    overrides: &[(String, String)],
) -> Result<HashMap<String, Option<String>>, ConditionError> {
    let declared = template
        .get("Parameters")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let mut values: HashMap<String, Option<String>> = declared
        .iter()
        .filter_map(|(k, p)| Some((k.as_str()?.to_string(), p.get("Default").and_then(scalar))))
        .collect();
    for (key, value) in overrides {
        let slot = values
            .get_mut(key)
            .ok_or_else(|| ConditionError::UnknownParameter(key.clone()))?;
        *slot = Some(value.clone());
    }
    Ok(values)
}

fn evaluate_all(
    template: &Value,
    parameters: &HashMap<String, Option<String>>,
) -> Result<HashMap<String, bool>, ConditionError> {
    let empty = Mapping::new();
    let defined = template
        .get("Conditions")
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let mut done = HashMap::new();
    for name in defined.keys().filter_map(Value::as_str) {
        let mut visiting = Vec::new();
        condition(name, defined, parameters, &mut done, &mut visiting)?;
    }
    Ok(done)
}

fn condition(
    name: &str,
    defined: &Mapping,
    parameters: &HashMap<String, Option<String>>,
    done: &mut HashMap<String, bool>,
    visiting: &mut Vec<String>,
) -> Result<bool, ConditionError> {
    if let Some(value) = done.get(name) {
        return Ok(*value);
    }
    if visiting.iter().any(|v| v == name) {
        return Err(ConditionError::Cycle(name.to_string()));
    }
    let body = defined.get(name).ok_or_else(|| {
        ConditionError::Unsupported(name.to_string(), "no such condition".to_string())
    })?;
    visiting.push(name.to_string());
    let value = Eval {
        name,
        defined,
        parameters,
    }
    .truth(body, done, visiting)?;
    visiting.pop();
    done.insert(name.to_string(), value);
    Ok(value)
}

/// One condition being evaluated (its name is in every error).
struct Eval<'a> {
    name: &'a str,
    defined: &'a Mapping,
    parameters: &'a HashMap<String, Option<String>>,
}

impl Eval<'_> {
    fn unsupported(&self, what: String) -> ConditionError {
        ConditionError::Unsupported(self.name.to_string(), what)
    }

    /// The intrinsic function `value` is, as (name without `!` or `Fn::`, argument).
    fn function<'v>(&self, value: &'v Value) -> Option<(String, &'v Value)> {
        match value {
            Value::Tagged(tagged) => Some((
                tagged.tag.to_string().trim_start_matches('!').to_string(),
                &tagged.value,
            )),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.iter().next()?;
                let k = k.as_str()?;
                Some((k.strip_prefix("Fn::").unwrap_or(k).to_string(), v))
            }
            _ => None,
        }
    }

    fn truth(
        &self,
        value: &Value,
        done: &mut HashMap<String, bool>,
        visiting: &mut Vec<String>,
    ) -> Result<bool, ConditionError> {
        let (function, argument) = self
            .function(value)
            .ok_or_else(|| self.unsupported(format!("{value:?} is not a condition function")))?;
        let list = || {
            argument
                .as_sequence()
                .ok_or_else(|| self.unsupported(format!("{function} takes a list")))
        };
        match function.as_str() {
            "Equals" => match list()?.as_slice() {
                [a, b] => Ok(self.string(a)? == self.string(b)?),
                _ => Err(self.unsupported("Equals takes two values".into())),
            },
            "Not" => match list()?.as_slice() {
                [inner] => Ok(!self.truth(inner, done, visiting)?),
                _ => Err(self.unsupported("Not takes one condition".into())),
            },
            "And" | "Or" => {
                let mut values = Vec::new();
                for inner in list()? {
                    values.push(self.truth(inner, done, visiting)?);
                }
                Ok(if function == "And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Condition" => {
                let other = argument
                    .as_str()
                    .ok_or_else(|| self.unsupported("Condition takes a name".into()))?;
                condition(other, self.defined, self.parameters, done, visiting)
            }
            other => Err(self.unsupported(format!("{other} is not evaluated here"))),
        }
    }

    /// A value compared by `Equals`: a literal, or `Ref` of a parameter.
    fn string(&self, value: &Value) -> Result<String, ConditionError> {
        if let Some(s) = scalar(value) {
            return Ok(s);
        }
        match self.function(value) {
            Some((f, Value::String(parameter))) if f == "Ref" => self
                .parameters
                .get(parameter)
                .ok_or_else(|| self.unsupported(format!("Ref {parameter}: no such parameter")))?
                .clone()
                .ok_or_else(|| ConditionError::NoValue(parameter.clone())),
            _ => Err(self.unsupported(format!("{value:?} is not a value or a Ref"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Email: { Type: String, Default: "" }
  Dashboard: { Type: String, Default: "no" }
  Days: { Type: Number, Default: 7 }
  Required: { Type: String }
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  HasDashboard: !Equals [!Ref Dashboard, "yes"]
  Both: { "Fn::And": [{ Condition: HasEmail }, !Condition HasDashboard] }
  Either: !Or [!Condition HasEmail, !Condition HasDashboard]
  Week: !Equals [!Ref Days, 7]
Resources:
  Always: { Type: AWS::SNS::Topic }
  Subscription: { Type: AWS::SNS::Subscription, Condition: HasEmail }
  Board: { Type: AWS::CloudWatch::Dashboard, Condition: HasDashboard }
  Pair: { Type: AWS::SNS::Topic, Condition: Both }
  One: { Type: AWS::SNS::Topic, Condition: Either }
  Weekly: { Type: AWS::SNS::Topic, Condition: Week }
"#;

    fn kept(overrides: &[(&str, &str)]) -> Result<Vec<String>, ConditionError> {
        let template: Value = serde_norway::from_str(TEMPLATE).unwrap();
        let overrides: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let out = deployed(&template, &overrides)?;
        Ok(out["Resources"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect())
    }

    #[test]
    fn resources_follow_the_parameters() {
        type Case = (
            &'static str,
            Vec<(&'static str, &'static str)>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            ("defaults", vec![], vec!["Always", "Weekly"]),
            (
                "an email",
                vec![("Email", "me@example.com")],
                vec!["Always", "Subscription", "One", "Weekly"],
            ),
            (
                "both",
                vec![("Email", "me@example.com"), ("Dashboard", "yes")],
                vec!["Always", "Subscription", "Board", "Pair", "One", "Weekly"],
            ),
            ("a number compared", vec![("Days", "30")], vec!["Always"]),
        ];
        for (what, overrides, want) in cases {
            assert_eq!(kept(&overrides).unwrap(), want, "{what}");
        }
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(
            kept(&[("Emial", "x")]),
            Err(ConditionError::UnknownParameter("Emial".into()))
        );
        assert_eq!(
            parse_override("CreateDashboard"),
            Err(ConditionError::NotKeyValue("CreateDashboard".into()))
        );
        assert_eq!(
            parse_override("A=b=c"),
            Ok(("A".to_string(), "b=c".to_string()))
        );
        let needs_required = r#"
Parameters: { Required: { Type: String } }
Conditions: { X: !Equals [!Ref Required, "a"] }
Resources: {}
"#;
        let template: Value = serde_norway::from_str(needs_required).unwrap();
        assert_eq!(
            deployed(&template, &[]),
            Err(ConditionError::NoValue("Required".into()))
        );
        let cycle = "Conditions: { A: !Not [!Condition B], B: !Not [!Condition A] }\nResources: {}";
        let template: Value = serde_norway::from_str(cycle).unwrap();
        assert!(matches!(
            deployed(&template, &[]),
            Err(ConditionError::Cycle(_))
        ));
        let unknown = "Conditions: { A: !If [X, a, b] }\nResources: {}";
        let template: Value = serde_norway::from_str(unknown).unwrap();
        assert!(matches!(
            deployed(&template, &[]),
            Err(ConditionError::Unsupported(name, _)) if name == "A"
        ));
    }
}
