//! The analysis settings: a raw serde document (`deny_unknown_fields`) checked into `Config`
//! with real types. Owns the defaults (K crops, thresholds, label sets, ignore zones per
//! camera); reading the document from S3 or a file is left to the callers.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

// The mode is recorded in each result, so the enum is the contract's.
pub use failberry_proto::clips::result::Mode;

/// A point in frame coordinates normalised to 0..1 (x right, y down).
pub type Point = [f32; 2];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    mode: Option<Mode>,
    max_clip_bytes: Option<u64>,
    max_crops: Option<usize>,
    max_gops: Option<usize>,
    max_chain: Option<usize>,
    pixel_threshold: Option<u8>,
    min_motion_cells: Option<usize>,
    min_confidence: Option<f32>,
    interesting: Option<BTreeMap<String, f32>>,
    noise: Option<Vec<String>>,
    #[serde(default)]
    include_labels: Vec<String>,
    #[serde(default)]
    exclude_labels: Vec<String>,
    #[serde(default)]
    cameras: BTreeMap<String, RawCamera>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    #[serde(default)]
    ignore_zones: Vec<Vec<Point>>,
}

/// The checked settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub mode: Mode,
    /// Larger clips get an error result without being read.
    pub max_clip_bytes: u64,
    /// Crops per clip (and per mosaic).
    pub max_crops: usize,
    /// GOPs whose key frames are decoded, best ranked first.
    pub max_gops: usize,
    /// Frames decoded after a key frame when no later key frame exists.
    pub max_chain: usize,
    /// Luma difference (0..255, after flicker compensation) that counts as change.
    pub pixel_threshold: u8,
    /// Changed cells a region needs to count as motion: the noise floor.
    pub min_motion_cells: usize,
    /// DetectLabels' MinConfidence.
    pub min_confidence: f32,
    /// Interesting labels and the confidence each must reach.
    pub interesting: BTreeMap<String, f32>,
    /// Labels recorded as noise.
    pub noise: Vec<String>,
    /// `Settings.GeneralLabels` inclusion filters (empty: all labels).
    pub include_labels: Vec<String>,
    /// `Settings.GeneralLabels` exclusion filters.
    pub exclude_labels: Vec<String>,
    /// Ignore zones per camera (the third segment of `incoming/<device>/<camera>/...`).
    pub ignore_zones: BTreeMap<String, Vec<Vec<Point>>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("config is not valid JSON for detectatron: {0}")]
    Parse(String),
    #[error("{key}={value} is out of range ({range})")]
    Range {
        key: &'static str,
        value: String,
        range: &'static str,
    },
    #[error("camera {camera}: ignore zone {index} needs at least 3 points inside 0..1")]
    Zone { camera: String, index: usize },
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(b"{}").expect("the defaults are valid")
    }
}

const INTERESTING: &[(&str, f32)] = &[
    ("Person", 80.0),
    ("Cat", 75.0),
    ("Dog", 75.0),
    ("Car", 80.0),
    ("Bicycle", 75.0),
    ("Motorcycle", 75.0),
    ("Truck", 80.0),
];
const NOISE: &[&str] = &[
    "Tree", "Plant", "Sky", "Cloud", "Insect", "Rain", "Grass", "Shadow", "Light", "Night",
];

impl Config {
    pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let range = |key, ok: bool, value: String, range| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Range { key, value, range })
            }
        };
        let max_crops = raw.max_crops.unwrap_or(4);
        range(
            "max_crops",
            (1..=16).contains(&max_crops),
            max_crops.to_string(),
            "1..=16",
        )?;
        let max_gops = raw.max_gops.unwrap_or(2);
        range(
            "max_gops",
            (1..=16).contains(&max_gops),
            max_gops.to_string(),
            "1..=16",
        )?;
        let min_confidence = raw.min_confidence.unwrap_or(60.0);
        range(
            "min_confidence",
            (0.0..=100.0).contains(&min_confidence),
            min_confidence.to_string(),
            "0..=100",
        )?;
        let interesting = raw.interesting.unwrap_or_else(|| {
            INTERESTING
                .iter()
                .map(|(l, t)| (l.to_string(), *t))
                .collect()
        });
        for (label, t) in &interesting {
            range(
                "interesting",
                (0.0..=100.0).contains(t),
                format!("{label}:{t}"),
                "0..=100",
            )?;
        }
        let mut ignore_zones = BTreeMap::new();
        for (camera, cam) in raw.cameras {
            for (index, zone) in cam.ignore_zones.iter().enumerate() {
                let inside = zone
                    .iter()
                    .all(|p| (0.0..=1.0).contains(&p[0]) && (0.0..=1.0).contains(&p[1]));
                if zone.len() < 3 || !inside {
                    return Err(ConfigError::Zone { camera, index });
                }
            }
            ignore_zones.insert(camera, cam.ignore_zones);
        }
        Ok(Config {
            mode: raw.mode.unwrap_or(Mode::Mosaic),
            max_clip_bytes: raw.max_clip_bytes.unwrap_or(200 * 1024 * 1024),
            max_crops,
            max_gops,
            max_chain: raw.max_chain.unwrap_or(12),
            pixel_threshold: raw.pixel_threshold.unwrap_or(22),
            min_motion_cells: raw.min_motion_cells.unwrap_or(6),
            min_confidence,
            interesting,
            noise: raw
                .noise
                .unwrap_or_else(|| NOISE.iter().map(|s| s.to_string()).collect()),
            include_labels: raw.include_labels,
            exclude_labels: raw.exclude_labels,
            ignore_zones,
        })
    }

    /// The ignore zones of a camera (none when it has no entry).
    pub fn zones(&self, camera: &str) -> &[Vec<Point>] {
        self.ignore_zones.get(camera).map_or(&[], |z| z.as_slice())
    }
}

/// Where the handler gets its config for each batch.
#[async_trait::async_trait]
pub trait ConfigSource: Send + Sync {
    async fn config(&self) -> Result<Arc<Config>, failberry_aws::DocumentError>;
}

/// A fixed config (the defaults, or one read once from a file).
#[async_trait::async_trait]
impl ConfigSource for Arc<Config> {
    async fn config(&self) -> Result<Arc<Config>, failberry_aws::DocumentError> {
        Ok(self.clone())
    }
}

#[async_trait::async_trait]
impl ConfigSource for Box<dyn ConfigSource> {
    async fn config(&self) -> Result<Arc<Config>, failberry_aws::DocumentError> {
        self.as_ref().config().await
    }
}

/// The config document in S3, revalidated by ETag.
#[async_trait::async_trait]
impl<D: failberry_aws::DocumentSource> ConfigSource for failberry_aws::DocumentCache<D, Config> {
    async fn config(&self) -> Result<Arc<Config>, failberry_aws::DocumentError> {
        self.get().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_checked() {
        let cases: &[(&str, &str, Result<(), ()>)] = &[
            ("empty takes the defaults", "{}", Ok(())),
            ("frames mode", r#"{"mode":"frames"}"#, Ok(())),
            ("unknown key", r#"{"mdoe":"frames"}"#, Err(())),
            ("zero crops", r#"{"max_crops":0}"#, Err(())),
            ("confidence over 100", r#"{"min_confidence":101}"#, Err(())),
            (
                "a zone of two points",
                r#"{"cameras":{"drive":{"ignore_zones":[[[0,0],[1,1]]]}}}"#,
                Err(()),
            ),
            (
                "a zone outside the frame",
                r#"{"cameras":{"drive":{"ignore_zones":[[[0,0],[2,0],[0,1]]]}}}"#,
                Err(()),
            ),
            (
                "a triangle",
                r#"{"cameras":{"drive":{"ignore_zones":[[[0,0],[1,0],[0,1]]]}}}"#,
                Ok(()),
            ),
        ];
        for (name, doc, want) in cases {
            let got = Config::parse(doc.as_bytes()).map(|_| ()).map_err(|_| ());
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn defaults_are_mosaic_of_four_with_person_interesting() {
        let c = Config::default();
        assert_eq!(c.mode, Mode::Mosaic);
        assert_eq!(c.max_crops, 4);
        assert!(c.interesting.contains_key("Person"));
        assert!(c.zones("nowhere").is_empty());
    }
}
