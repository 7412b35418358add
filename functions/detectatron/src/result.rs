//! The `results/<clip key>.json` document: what was chosen and why, labels with their best
//! confidence and boxes, the decision in words, timings and the Rekognition calls made; also
//! the error result a clip gets when it cannot be analysed. Building it is `analysis`'s.

use serde::{Deserialize, Serialize};

use crate::config::Mode;
use crate::decision::Decision;
use crate::motion::Rect;

/// The tag every analysed clip gets.
pub const TAG_KEY: &str = "failberry-interesting";

/// Where the result of a clip goes.
pub fn result_key(clip_key: &str) -> String {
    format!("results/{clip_key}.json")
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
    pub confidence: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelSummary {
    pub name: String,
    pub best_confidence: f32,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub interesting: bool,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
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

    #[test]
    fn result_keys_keep_the_clip_key() {
        assert_eq!(
            result_key("incoming/pi/door/1700000000-a b.mp4"),
            "results/incoming/pi/door/1700000000-a b.mp4.json"
        );
    }

    #[test]
    fn error_results_round_trip_and_name_the_error() {
        let r = ClipResult::failed(
            Status::Error,
            "corrupt or truncated MP4: x".into(),
            Mode::Mosaic,
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""status":"error""#), "{json}");
        assert!(json.contains(r#""interesting":false"#), "{json}");
        assert_eq!(serde_json::from_str::<ClipResult>(&json).unwrap(), r);
    }
}
