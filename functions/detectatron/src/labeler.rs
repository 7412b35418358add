//! The `Labeler` capability (an image in, labels with instance boxes out) and its Rekognition
//! DetectLabels implementation with MinConfidence and `Settings.GeneralLabels` filters. What
//! the labels mean is `decision`'s.

use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{
    DetectLabelsFeatureName, DetectLabelsSettings, GeneralLabelsSettings, Image,
};

use crate::mosaic::NormBox;

/// One detected instance of a label, its box normalised to the image sent.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub confidence: f32,
    pub bbox: NormBox,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Label {
    pub name: String,
    pub confidence: f32,
    #[serde(default)]
    pub instances: Vec<Instance>,
}

/// What to ask for besides the image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelRequest {
    pub min_confidence: f32,
    /// `Settings.GeneralLabels.LabelInclusionFilters` (empty: every label).
    pub include: Vec<String>,
    /// `Settings.GeneralLabels.LabelExclusionFilters`.
    pub exclude: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// Worth another delivery (throttling, a network error, a 5xx).
    #[error("labelling failed, retryable: {0}")]
    Retryable(String),
    /// The image itself was refused: retrying the same clip will not help.
    #[error("labelling refused the image: {0}")]
    Refused(String),
}

/// Labels one JPEG image (one call, one image's price).
#[async_trait::async_trait]
pub trait Labeler: Send + Sync {
    async fn labels(&self, jpeg: &[u8], request: &LabelRequest) -> Result<Vec<Label>, LabelError>;
}

/// Rekognition DetectLabels.
pub struct RekognitionLabeler {
    client: aws_sdk_rekognition::Client,
}

impl RekognitionLabeler {
    pub fn new(client: aws_sdk_rekognition::Client) -> Self {
        RekognitionLabeler { client }
    }
}

#[async_trait::async_trait]
impl Labeler for RekognitionLabeler {
    async fn labels(&self, jpeg: &[u8], request: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        let mut call = self
            .client
            .detect_labels()
            .image(Image::builder().bytes(Blob::new(jpeg.to_vec())).build())
            .min_confidence(request.min_confidence)
            .features(DetectLabelsFeatureName::GeneralLabels);
        if !request.include.is_empty() || !request.exclude.is_empty() {
            let general = GeneralLabelsSettings::builder()
                .set_label_inclusion_filters(
                    (!request.include.is_empty()).then(|| request.include.clone()),
                )
                .set_label_exclusion_filters(
                    (!request.exclude.is_empty()).then(|| request.exclude.clone()),
                )
                .build();
            call = call.settings(
                DetectLabelsSettings::builder()
                    .general_labels(general)
                    .build(),
            );
        }
        let out = call.send().await.map_err(|e| {
            let code = aws_sdk_rekognition::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("")
                .to_string();
            let text = failberry_aws::describe(&e);
            match code.as_str() {
                "InvalidImageFormatException"
                | "ImageTooLargeException"
                | "InvalidParameterException" => LabelError::Refused(text),
                _ => LabelError::Retryable(text),
            }
        })?;
        Ok(out
            .labels()
            .iter()
            .map(|l| Label {
                name: l.name().unwrap_or_default().to_string(),
                confidence: l.confidence().unwrap_or(0.0),
                instances: l
                    .instances()
                    .iter()
                    .filter_map(|i| {
                        let b = i.bounding_box()?;
                        Some(Instance {
                            confidence: i.confidence().unwrap_or(0.0),
                            bbox: NormBox {
                                left: b.left().unwrap_or(0.0),
                                top: b.top().unwrap_or(0.0),
                                width: b.width().unwrap_or(0.0),
                                height: b.height().unwrap_or(0.0),
                            },
                        })
                    })
                    .collect(),
            })
            .collect())
    }
}
