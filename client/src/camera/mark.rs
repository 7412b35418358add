//! Telling the NVR what matters once a clip's analysis result is in: the verdict read from the
//! result document (`failberry_proto::clips::result`, the type detectatron writes; pure,
//! table-tested), Frigate's sub label and retain and Unifi Video's lock for
//! the interesting clips of those sources, and the `on_result` hook for any other NVR, which gets
//! every result JSON on stdin. A failed mark is logged, never retried forever, never fatal.

use std::ffi::OsStr;
use std::time::Duration;

use failberry_proto::clips::result::ClipResult;

use super::queue::{Job, Origin};
use super::source::frigate::Frigate;
use super::source::unifi::UnifiVideo;
use crate::command::{run_bounded, CommandError};
use crate::config::CameraConfig;

const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// What a result says, as far as marking goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub interesting: bool,
    pub reason: String,
    /// The best interesting label and its confidence (0-1).
    pub label: Option<(String, f32)>,
}

/// Reads the verdict of a result document: the best matched label, its confidence (percent in
/// the document) as 0-1.
pub fn verdict(result: &[u8]) -> Result<Verdict, serde_json::Error> {
    let doc: ClipResult = serde_json::from_slice(result)?;
    let label = doc
        .decision
        .as_ref()
        .and_then(|d| d.best_match())
        .map(|(name, c)| (name.to_string(), c.fraction()));
    Ok(Verdict {
        interesting: doc.interesting,
        reason: doc.reason,
        label,
    })
}

pub struct Marker {
    hook: Option<Vec<String>>,
    frigate: Vec<Frigate>,
    unifi: Vec<UnifiVideo>,
}

impl Marker {
    pub fn new(config: &CameraConfig) -> Self {
        Self {
            hook: config.on_result.clone(),
            frigate: config.frigate.iter().cloned().map(Frigate::new).collect(),
            unifi: config.unifi.iter().cloned().map(UnifiVideo::new).collect(),
        }
    }

    /// Sets the marks the result calls for; returns what was set (for the log).
    pub async fn mark(&self, job: &Job, key: &str, result: &[u8]) -> Vec<String> {
        let mut marks = Vec::new();
        let verdict = match verdict(result) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "result unreadable, no NVR marks");
                Verdict {
                    interesting: false,
                    reason: String::new(),
                    label: None,
                }
            }
        };
        if verdict.interesting {
            let (label, score) = verdict
                .label
                .clone()
                .unwrap_or_else(|| ("interesting".into(), 1.0));
            let outcome = match &job.origin {
                Origin::Folder => Ok(Vec::new()),
                Origin::Frigate { url, event_id } => {
                    match self.frigate.iter().find(|f| f.base().as_str() == url) {
                        Some(f) => f
                            .mark(event_id, &label, score)
                            .await
                            .map_err(|e| e.to_string()),
                        None => Err(format!("no [[camera.frigate]] at {url} any more")),
                    }
                }
                Origin::UnifiVideo { url, recording_id } => {
                    match self.unifi.iter().find(|u| u.base().as_str() == url) {
                        Some(u) if u.locks() => {
                            u.lock(recording_id).await.map_err(|e| e.to_string())
                        }
                        Some(_) => Ok(Vec::new()),
                        None => Err(format!("no [[camera.unifi_video]] at {url} any more")),
                    }
                }
            };
            match outcome {
                Ok(set) => marks.extend(set),
                Err(e) => tracing::warn!(key = %key, error = %e, "NVR mark failed"),
            }
        }
        if let Some(command) = &self.hook {
            match run_hook(command, job, key, &verdict, result).await {
                Ok(()) => marks.push("on_result hook".into()),
                Err(e) => tracing::warn!(key = %key, error = %e, "on_result hook failed"),
            }
        }
        marks
    }
}

/// Runs the hook with the result on stdin and the clip's facts in the environment.
async fn run_hook(
    command: &[String],
    job: &Job,
    key: &str,
    verdict: &Verdict,
    result: &[u8],
) -> Result<(), CommandError> {
    let interesting = verdict.interesting.to_string();
    let env = [
        ("FAILBERRY_CLIP_KEY", OsStr::new(key)),
        ("FAILBERRY_CLIP_PATH", job.path.as_os_str()),
        ("FAILBERRY_CAMERA", OsStr::new(&job.camera)),
        ("FAILBERRY_INTERESTING", OsStr::new(&interesting)),
    ];
    run_bounded(command, &env, Some(result.to_vec()), HOOK_TIMEOUT).await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use failberry_proto::clips::result::{Decision, Mode, Percent, Status};

    use super::*;

    /// A result document as detectatron writes it.
    fn doc(interesting: bool, reason: &str, matched: &[(&str, f32)], error: bool) -> String {
        let mut r = ClipResult::failed(Status::Analysed, String::new(), Mode::Mosaic);
        r.interesting = interesting;
        r.reason = reason.into();
        r.error = None;
        if error {
            r.status = Status::Error;
            r.error = Some("x".into());
        } else {
            r.decision = Some(Decision {
                interesting,
                reason: "r".into(),
                matched: matched
                    .iter()
                    .map(|&(l, c)| (l.to_string(), Percent(c)))
                    .collect(),
                noise: BTreeMap::from([("Tree".to_string(), Percent(90.0))]),
            });
        }
        serde_json::to_string(&r).unwrap()
    }

    #[test]
    fn verdicts() {
        let cases = [
            (
                "interesting, best label",
                doc(
                    true,
                    "person over motion",
                    &[("person", 97.5), ("dog", 60.0)],
                    false,
                ),
                Some((true, Some(("person", 0.975)))),
            ),
            (
                "a low percent is not taken for a fraction",
                doc(true, "faint", &[("person", 0.9)], false),
                Some((true, Some(("person", 0.009)))),
            ),
            (
                "boring",
                doc(false, "only trees", &[], false),
                Some((false, None)),
            ),
            (
                "error result",
                doc(false, "corrupt clip", &[], true),
                Some((false, None)),
            ),
            (
                "not a result document",
                r#"{"interesting":true}"#.to_string(),
                None,
            ),
            ("not json", "nope".to_string(), None),
        ];
        for (name, input, want) in cases {
            let got = verdict(input.as_bytes()).ok();
            let got = got.as_ref().map(|v| {
                (
                    v.interesting,
                    v.label
                        .as_ref()
                        .map(|(l, s)| (l.as_str(), (s * 1000.0).round() / 1000.0)),
                )
            });
            assert_eq!(got, want, "{name}");
        }
    }
}
