//! `failberry-local analyse FILE`: the detectatron analysis of one clip on this machine, with a
//! scripted labeler instead of Rekognition (the emulator's DetectLabels ignores the image), and
//! the decision printed with its reasons: frames chosen and why, motion, crops, calls, timings.
//! [`labels_seeing`] scripts a labeler that answers like one seeing what a scene has drawn (the
//! demo's camera story uses it).

use std::io::Write;

use failberry_detectatron::motion::Rect;
use failberry_detectatron::{
    analyse, find_motion, mosaic, Config, Instance, Label, LabelError, LabelRequest, Labeler, Mode,
    MotionReport, NormBox,
};

/// Answers every image with the labels it was given, each with one instance box over the first
/// crop of the image (so the label lands where the largest motion was).
pub struct ScriptedLabeler {
    pub labels: Vec<(String, f32)>,
    /// The first crop's box in the image, normalised.
    pub first_crop: NormBox,
}

#[async_trait::async_trait]
impl Labeler for ScriptedLabeler {
    async fn labels(&self, _jpeg: &[u8], _: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        Ok(self
            .labels
            .iter()
            .map(|(name, confidence)| Label {
                name: name.clone(),
                confidence: *confidence,
                instances: vec![Instance {
                    confidence: *confidence,
                    bbox: self.first_crop,
                }],
            })
            .collect())
    }
}

/// A label a scripted labeler gives when its object shows in the image: the name Rekognition
/// would use, the confidence, and whether Rekognition boxes it (people, pets and cars; not trees).
#[derive(Clone, Debug)]
pub struct Said {
    pub label: &'static str,
    pub confidence: f32,
    pub boxed: bool,
}

/// What a labeler that recognised every drawn object would answer for the mosaic of `report`'s
/// crops: each `said` label whose object (`objects_at(time_ms)`: name and rect in the frame at
/// that time) shows in a crop, boxed where it shows when `boxed`. Mosaic mode (one image for all
/// crops), the detectatron default.
pub fn labels_seeing(
    report: &MotionReport,
    objects_at: impl Fn(u64) -> Vec<(String, Rect)>,
    said: &[Said],
) -> Vec<Label> {
    let crops: Vec<Rect> = report.crops.iter().map(|(_, r)| *r).collect();
    let sizes: Vec<(u32, u32)> = crops.iter().map(|r| (r.w, r.h)).collect();
    let layout = mosaic::layout(&sizes);
    let mut labels = Vec::new();
    for s in said {
        let mut seen = false;
        let mut instances = Vec::new();
        for (i, (frame, _)) in report.crops.iter().enumerate() {
            let Some(f) = report.frames.get(*frame) else {
                continue;
            };
            for (name, rect) in objects_at(f.time_ms) {
                if name != s.label {
                    continue;
                }
                for (tile, bbox) in layout.place(&crops, &rect) {
                    if tile == i {
                        seen = true;
                        if s.boxed {
                            instances.push(Instance {
                                confidence: s.confidence,
                                bbox,
                            });
                        }
                    }
                }
            }
        }
        if seen {
            labels.push(Label {
                name: s.label.to_string(),
                confidence: s.confidence,
                instances,
            });
        }
    }
    labels
}

/// `LABEL=CONFIDENCE`, e.g. `Person=93`.
pub fn parse_said(s: &str) -> Result<(String, f32), String> {
    let (label, conf) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected LABEL=CONFIDENCE"))?;
    let conf: f32 = conf
        .parse()
        .map_err(|_| format!("{s:?}: {conf:?} is not a confidence"))?;
    Ok((label.to_string(), conf))
}

pub async fn run(
    clip: &[u8],
    config: &Config,
    camera: &str,
    said: Vec<(String, f32)>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Where the first crop sits in the image the labeler will see.
    let report = find_motion(clip, config, config.zones(camera)).ok();
    let first_crop = match report.as_ref().filter(|r| !r.crops.is_empty()) {
        Some(r) => {
            let sizes: Vec<(u32, u32)> = match config.mode {
                Mode::Mosaic => r.crops.iter().map(|(_, c)| (c.w, c.h)).collect(),
                Mode::Frames => vec![(r.crops[0].1.w, r.crops[0].1.h)],
            };
            let l = mosaic::layout(&sizes);
            let (w, h) = (l.width as f32, l.height as f32);
            NormBox {
                left: 0.0,
                top: 0.0,
                width: sizes[0].0 as f32 / w,
                height: sizes[0].1 as f32 / h,
            }
        }
        None => NormBox {
            left: 0.0,
            top: 0.0,
            width: 1.0,
            height: 1.0,
        },
    };
    let labeler = ScriptedLabeler {
        labels: said,
        first_crop,
    };
    let result = analyse(clip, config, camera, &labeler).await?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &result)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "decision:    {}",
        if result.interesting {
            "INTERESTING"
        } else {
            "not interesting"
        }
    )?;
    writeln!(out, "why:         {}", result.reason)?;
    if let Some(e) = &result.error {
        writeln!(out, "error:       {e}")?;
    }
    writeln!(
        out,
        "clip:        {}x{}, {} frames, {} ms; {} decoded",
        result.width, result.height, result.frames_total, result.duration_ms, result.frames_decoded
    )?;
    for c in &result.chosen_frames {
        writeln!(
            out,
            "frame {:>6} ms vs {:>6} ms: {} motion box(es) — {}",
            c.time_ms, c.compared_with_ms, c.motion_boxes, c.why
        )?;
    }
    for m in &result.motion {
        writeln!(out, "motion at {:>6} ms: {:?}", m.time_ms, m.rect)?;
    }
    for l in &result.labels {
        writeln!(
            out,
            "label {} best {} ({} boxes)",
            l.name,
            l.best_confidence,
            l.instances.len()
        )?;
    }
    writeln!(out, "rekognition calls: {} (scripted labeler: labels as given with --say, boxes on the first crop)", result.rekognition_calls)?;
    writeln!(
        out,
        "timings: demux {} ms, frame choice {} ms, labelling {} ms, total {} ms",
        result.timings.demux_ms,
        result.timings.frame_choice_ms,
        result.timings.labelling_ms,
        result.timings.total_ms
    )?;
    Ok(())
}
