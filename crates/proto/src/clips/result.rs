//! The analysis result of a clip, `results/<clip key>.json`: one type that detectatron writes and
//! the client (and the `on_result` hook) reads. What was chosen and why, labels with their best
//! confidence and boxes, the decision in words, timings and the Rekognition calls made; or the
//! error a clip that could not be analysed gets. Producing it is detectatron's.
//!
//! Confidences are [`Percent`], 0 to 100: Rekognition's scale and the one detectatron's
//! thresholds are written in, and the one results already stored hold. A reader that wants 0-1
//! (Frigate's scores) asks for [`Percent::fraction`]; nobody guesses the scale from the value.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The tag every analysed clip gets, `true` or `false`; the bucket's lifecycle reads it.
pub const TAG_KEY: &str = "failberry-interesting";

/// A confidence in percent, 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percent(pub f32);

impl Percent {
    /// The same confidence on a 0-1 scale.
    pub fn fraction(self) -> f32 {
        self.0 / 100.0
    }

    pub fn max(self, other: Percent) -> Percent {
        Percent(self.0.max(other.0))
    }
}

impl fmt::Display for Percent {
    /// Whole percent, `97%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0}%", self.0)
    }
}

/// A rectangle in frame pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }

    pub fn intersection(&self, o: &Rect) -> u64 {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 = (self.x + self.w).min(o.x + o.w);
        let y1 = (self.y + self.h).min(o.y + o.h);
        u64::from(x1.saturating_sub(x0)) * u64::from(y1.saturating_sub(y0))
    }

    pub fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x
            && o.y >= self.y
            && o.x + o.w <= self.x + self.w
            && o.y + o.h <= self.y + self.h
    }
}

/// How crops reach Rekognition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Up to `max_crops` crops tiled into one image: one DetectLabels call per clip.
    Mosaic,
    /// One DetectLabels call per crop: dearer, a little more accurate on small objects.
    Frames,
}

/// Whether the clip matters, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub interesting: bool,
    pub reason: String,
    /// Interesting labels that counted (best confidence each).
    pub matched: BTreeMap<String, Percent>,
    /// Noise labels seen (best confidence each).
    pub noise: BTreeMap<String, Percent>,
}

impl Decision {
    /// The best label that counted, with its confidence.
    pub fn best_match(&self) -> Option<(&str, Percent)> {
        self.matched
            .iter()
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(name, c)| (name.as_str(), *c))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Analysed,
    /// Not H.264, or interlaced: recognised and left alone.
    Unsupported,
    /// Corrupt, truncated, too large, or refused by the labeller.
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChosenFrame {
    pub sample: usize,
    pub time_ms: u64,
    /// The frame it was compared with.
    pub compared_with_ms: u64,
    pub why: String,
    pub motion_boxes: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameBox {
    pub time_ms: u64,
    pub rect: Rect,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoxedInstance {
    pub time_ms: u64,
    pub rect: Rect,
    pub confidence: Percent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSummary {
    pub name: String,
    pub best_confidence: Percent,
    pub instances: Vec<BoxedInstance>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub demux_ms: u64,
    pub frame_choice_ms: u64,
    pub labelling_ms: u64,
    pub total_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipResult {
    pub bucket: String,
    pub key: String,
    /// The object version analysed: a redelivery of the same ETag is not analysed again.
    pub etag: String,
    pub camera: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub interesting: bool,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub mode: Mode,
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
    pub frames_total: usize,
    pub frames_decoded: usize,
    pub chosen_frames: Vec<ChosenFrame>,
    pub motion: Vec<FrameBox>,
    pub crops: Vec<FrameBox>,
    pub labels: Vec<LabelSummary>,
    pub rekognition_calls: u32,
    pub timings: Timings,
}

impl ClipResult {
    /// The result of a clip that could not be analysed: not interesting, the error in words.
    pub fn failed(status: Status, error: String, mode: Mode) -> ClipResult {
        ClipResult {
            bucket: String::new(),
            key: String::new(),
            etag: String::new(),
            camera: String::new(),
            status,
            reason: error.clone(),
            error: Some(error),
            interesting: false,
            decision: None,
            mode,
            width: 0,
            height: 0,
            duration_ms: 0,
            frames_total: 0,
            frames_decoded: 0,
            chosen_frames: vec![],
            motion: vec![],
            crops: vec![],
            labels: vec![],
            rekognition_calls: 0,
            timings: Timings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysed() -> ClipResult {
        let rect = Rect {
            x: 10,
            y: 20,
            w: 30,
            h: 40,
        };
        ClipResult {
            bucket: "b".into(),
            key: "incoming/pi/door/1-a.mp4".into(),
            etag: "\"e\"".into(),
            camera: "door".into(),
            status: Status::Analysed,
            error: None,
            interesting: true,
            reason: "Person (97%) over motion".into(),
            decision: Some(Decision {
                interesting: true,
                reason: "Person (97%) over motion".into(),
                matched: BTreeMap::from([
                    ("Person".into(), Percent(97.5)),
                    ("Dog".into(), Percent(60.0)),
                ]),
                noise: BTreeMap::from([("Tree".into(), Percent(90.0))]),
            }),
            mode: Mode::Mosaic,
            width: 320,
            height: 240,
            duration_ms: 4000,
            frames_total: 40,
            frames_decoded: 3,
            chosen_frames: vec![ChosenFrame {
                sample: 20,
                time_ms: 2000,
                compared_with_ms: 0,
                why: "largest GOP".into(),
                motion_boxes: 1,
            }],
            motion: vec![FrameBox {
                time_ms: 2000,
                rect,
            }],
            crops: vec![FrameBox {
                time_ms: 2000,
                rect,
            }],
            labels: vec![LabelSummary {
                name: "Person".into(),
                best_confidence: Percent(97.5),
                instances: vec![BoxedInstance {
                    time_ms: 2000,
                    rect,
                    confidence: Percent(97.5),
                }],
            }],
            rekognition_calls: 1,
            timings: Timings {
                demux_ms: 1,
                frame_choice_ms: 2,
                labelling_ms: 3,
                total_ms: 6,
            },
        }
    }

    #[test]
    fn results_round_trip_with_confidences_in_percent() {
        let cases = [
            ("analysed", analysed()),
            (
                "error",
                ClipResult::failed(
                    Status::Error,
                    "corrupt or truncated MP4: x".into(),
                    Mode::Mosaic,
                ),
            ),
        ];
        for (name, result) in cases {
            let json = serde_json::to_value(&result).unwrap();
            assert_eq!(
                serde_json::from_value::<ClipResult>(json.clone()).unwrap(),
                result,
                "{name}"
            );
            assert_eq!(json["interesting"], result.interesting, "{name}");
        }
        // The wire holds plain percent numbers, as results already stored do.
        let json = serde_json::to_value(analysed()).unwrap();
        assert_eq!(json["decision"]["matched"]["Person"], 97.5);
        assert_eq!(json["labels"][0]["best_confidence"], 97.5);
        assert_eq!(json["status"], "analysed");
        assert_eq!(json["mode"], "mosaic");
    }

    #[test]
    fn error_results_name_the_error_and_leave_the_decision_out() {
        let r = ClipResult::failed(Status::Error, "corrupt".into(), Mode::Frames);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""status":"error""#), "{json}");
        assert!(json.contains(r#""error":"corrupt""#), "{json}");
        assert!(!json.contains("decision"), "{json}");
    }

    #[test]
    fn the_best_match_and_its_fraction() {
        let decision = analysed().decision.unwrap();
        let (label, c) = decision.best_match().unwrap();
        assert_eq!((label, c), ("Person", Percent(97.5)));
        assert!((c.fraction() - 0.975).abs() < 1e-6);
        assert_eq!(c.to_string(), "98%");
        let none = Decision {
            matched: BTreeMap::new(),
            ..decision
        };
        assert_eq!(none.best_match(), None);
    }
}
