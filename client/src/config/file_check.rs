//! `failberry config check`: every problem of a config file, each with its line and key. TOML
//! syntax errors come from the parser (all of them, it recovers), shape errors (unknown keys,
//! wrong types) per section, value errors from the checked configs of each section present;
//! lines are found by walking the parsed document's spans.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::raw::RawConfig;
use super::{ConfigError, DdnsConfig, HealthConfig, Overrides, WatchdogConfig};

/// One problem: where, which key, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: ")?,
            None => f.write_str("(not set): ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The span of `key` (`a.b[2].c`) in the document, or of its nearest present parent.
fn span_of(table: &DeTable, key: &str) -> Option<Range<usize>> {
    let mut best = None;
    let mut current: Option<&DeValue> = None;
    for segment in key.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let table = match current {
            None => table,
            Some(DeValue::Table(t)) => t,
            _ => break,
        };
        let Some((k, v)) = table.get_key_value(name) else {
            break;
        };
        best = Some(k.span());
        let mut value = v;
        if let (Some(i), DeValue::Array(items)) = (index, v.get_ref()) {
            match items.get(i) {
                Some(item) => {
                    best = Some(item.span());
                    value = item;
                }
                None => break,
            }
        }
        current = Some(value.get_ref());
    }
    best
}

fn key_of(error: &ConfigError) -> Option<String> {
    match error {
        ConfigError::Missing { key, .. } | ConfigError::Invalid { key, .. } => {
            Some(key.split(' ').next().unwrap_or(key).to_string())
        }
        ConfigError::InvalidAt { key, .. } => Some(key.clone()),
        _ => None,
    }
}

/// Every problem in `text`; empty when the file is fine.
pub fn check_text(text: &str) -> Vec<Problem> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return syntax
            .iter()
            .map(|e| Problem {
                line: e.span().map(|s| line_of(text, s.start)),
                key: None,
                message: e.message().trim().to_string(),
            })
            .collect();
    }
    let doc = doc.into_inner();
    let mut problems = Vec::new();
    let at = |error: &ConfigError| {
        let key = key_of(error);
        let line = key
            .as_deref()
            .and_then(|k| span_of(&doc, k))
            .map(|s| line_of(text, s.start));
        Problem {
            line,
            key,
            message: error.to_string(),
        }
    };
    // Shape first, one section at a time, so a bad key in one does not hide the others'.
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            return vec![Problem {
                line: e.span().map(|s| line_of(text, s.start)),
                key: None,
                message: e.message().trim().to_string(),
            }]
        }
    };
    let mut good = toml::Table::new();
    for (section, value) in &table {
        let single = toml::Table::from_iter([(section.clone(), value.clone())]);
        match single.try_into::<RawConfig>() {
            Ok(_) => {
                good.insert(section.clone(), value.clone());
            }
            Err(e) => {
                let message = e.message().trim().to_string();
                // serde names the offending key in backquotes: "unknown field `x`, expected ...".
                let field = message.split('`').nth(1).map(str::to_string);
                let key = match &field {
                    Some(f) if section != f => format!("{section}.{f}"),
                    _ => section.to_string(),
                };
                let line = find_key_line(text, section, field.as_deref())
                    .or_else(|| span_of(&doc, section).map(|s| line_of(text, s.start)));
                problems.push(Problem {
                    line,
                    key: Some(key),
                    message,
                });
            }
        }
    }
    let raw = || -> RawConfig { good.clone().try_into().unwrap_or_default() };
    let has = |section: &str| good.contains_key(section);
    let overrides = Overrides::default();
    if has("ddns") {
        if let Err(e) = DdnsConfig::build(raw(), &overrides) {
            problems.push(at(&e));
        }
    }
    if has("health") {
        if let Err(e) = HealthConfig::build(raw(), &overrides) {
            problems.push(at(&e));
        }
    }
    if has("watchdog") {
        if let Err(errors) = WatchdogConfig::build(raw().watchdog) {
            problems.extend(errors.iter().map(at));
        }
    }
    problems.sort_by_key(|p| p.line.unwrap_or(0));
    problems
}

/// The line of `field` inside `[section]` (or of `section.field = `), for shape errors whose
/// key the parser's spans cannot reach (unknown keys inside nested tables).
fn find_key_line(text: &str, section: &str, field: Option<&str>) -> Option<usize> {
    let field = field?;
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim();
            in_section = name == section || name.starts_with(&format!("{section}."));
            continue;
        }
        let key = t.split('=').next().unwrap_or("").trim();
        if in_section && key == field {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_has_its_line_and_key() {
        let text = r#"[api]
url = "ftp://example.com"

[ddns]
hostname = "wireless.home.example.com"
secret = "short"

[health]
listen = "0.0.0.0:9000"
colour = "blue"

[watchdog]
interface = "wwan0"
track_ip = ["1.1.1.1:443", "nonsense"]
count = 0

[[watchdog.recovery]]
name = "redial"
command = []
"#;
        let problems: Vec<String> = check_text(text).iter().map(|p| p.to_string()).collect();
        let want = [
            "line 10: health.colour: unknown field `colour`",
            // The ddns section stops at its first problem (api.url here, before the short secret).
            "line 2: api.url: api.url",
            "line 14: watchdog.track_ip[1]:",
            "line 15: watchdog.count:",
            "line 19: watchdog.recovery[0].command:",
        ];
        for w in want {
            assert!(
                problems.iter().any(|p| p.starts_with(w)),
                "{w:?} not in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), want.len(), "{problems:#?}");
    }

    #[test]
    fn syntax_errors_have_lines_and_a_good_file_has_no_problem() {
        let problems = check_text("[watchdog]\ninterface = \"wwan0\"\ncount = = 3\n");
        assert_eq!(
            problems.first().and_then(|p| p.line),
            Some(3),
            "{problems:?}"
        );
        assert_eq!(check_text("[watchdog]\ninterface = \"wwan0\"\n"), vec![]);
    }
}
