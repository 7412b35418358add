//! One clip from bytes to a `ClipResult`: demux, rank GOPs, decode the chosen frames, find
//! motion (ignore zones first), crop, label (one mosaic or one call per crop), decide. The
//! steps live in their modules; this one only sequences them and times them.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::config::{Config, Mode, Point};
use crate::decision::{decide, MotionRegion, Observation};
use crate::decode::{ClipDecoder, Frame};
use crate::demux::{demux, ClipError};
use crate::gop;
use crate::labeler::{LabelError, LabelRequest, Labeler};
use crate::mosaic;
use crate::motion::{self, Rect};
use failberry_proto::clips::result::{
    BoxedInstance, ChosenFrame, ClipResult, FrameBox, LabelSummary, Percent, Status, Timings,
};

/// What the frame choice found, before any labelling.
pub struct MotionReport {
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
    pub frames_total: usize,
    pub frames_decoded: usize,
    /// The later frame of each compared pair.
    pub frames: Vec<Frame>,
    pub chosen: Vec<ChosenFrame>,
    pub regions: Vec<MotionRegion>,
    /// At most `max_crops` crops, `(index into frames, rect)`, largest motion first.
    pub crops: Vec<(usize, Rect)>,
    pub demux_ms: u64,
    pub frame_choice_ms: u64,
}

/// The cheap part: which frames, which motion, which crops.
pub fn find_motion(
    clip: &[u8],
    config: &Config,
    zones: &[Vec<Point>],
) -> Result<MotionReport, ClipError> {
    let start = Instant::now();
    let track = demux(clip)?;
    let demux_ms = start.elapsed().as_millis() as u64;
    let coded = gop::coded_frames(&track, clip)?;
    let ranked = gop::rank(&coded);
    let pairs = gop::choose(&ranked, ranked.len(), config.max_gops, config.max_chain);
    let mut decoder = ClipDecoder::new(&track, clip)?;
    let mut keys: HashMap<usize, Frame> = HashMap::new();
    let (mut frames, mut chosen, mut regions) = (Vec::new(), Vec::new(), Vec::new());
    for pair in pairs {
        if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(pair.earlier) {
            slot.insert(decoder.last_of(pair.earlier..pair.earlier + 1)?);
        }
        let later = decoder.last_of(pair.chain.clone())?;
        let earlier = &keys[&pair.earlier];
        if (earlier.width, earlier.height) != (later.width, later.height) {
            return Err(ClipError::Unsupported(
                "the picture size changes within the clip".into(),
            ));
        }
        let cell = motion::cell_size(later.width);
        let a = motion::downscale(&earlier.y, earlier.width, earlier.height, cell);
        let b = motion::downscale(&later.y, later.width, later.height, cell);
        let mask = motion::zone_mask(a.cols, a.rows, zones);
        let found = motion::detect(
            &a,
            &b,
            &mask,
            config.pixel_threshold,
            config.min_motion_cells,
        );
        chosen.push(ChosenFrame {
            sample: later.sample,
            time_ms: later.time_ms,
            compared_with_ms: earlier.time_ms,
            why: format!(
                "{}; {} changed cells ({} in ignore zones), brightness shift {:.1}",
                pair.why, found.changed_cells, found.ignored_cells, found.global_shift
            ),
            motion_boxes: found.boxes.len(),
        });
        if !found.boxes.is_empty() {
            let index = frames.len();
            regions.extend(
                found
                    .boxes
                    .iter()
                    .map(|&rect| MotionRegion { frame: index, rect }),
            );
            frames.push(later);
        }
    }
    let mut by_size: Vec<&MotionRegion> = regions.iter().collect();
    by_size.sort_by_key(|m| std::cmp::Reverse(m.rect.area()));
    let crops = by_size
        .into_iter()
        .take(config.max_crops)
        .map(|m| {
            (
                m.frame,
                mosaic::crop_rect(m.rect, track.width, track.height),
            )
        })
        .collect();
    Ok(MotionReport {
        width: track.width,
        height: track.height,
        duration_ms: track.duration_ms(),
        frames_total: track.samples.len(),
        frames_decoded: decoder.decoded,
        frames,
        chosen,
        regions,
        crops,
        demux_ms,
        frame_choice_ms: start.elapsed().as_millis() as u64,
    })
}

/// Sends the crops (one mosaic, or one image each) and maps every instance back to its frame.
pub async fn label<L: Labeler>(
    report: &MotionReport,
    config: &Config,
    labeler: &L,
) -> Result<(Vec<Observation>, u32), LabelError> {
    let request = LabelRequest {
        min_confidence: config.min_confidence,
        include: config.include_labels.clone(),
        exclude: config.exclude_labels.clone(),
    };
    let groups: Vec<Vec<usize>> = match config.mode {
        Mode::Mosaic if !report.crops.is_empty() => vec![(0..report.crops.len()).collect()],
        Mode::Mosaic => vec![],
        Mode::Frames => (0..report.crops.len()).map(|i| vec![i]).collect(),
    };
    let (mut observations, mut calls) = (Vec::new(), 0);
    for group in groups {
        let tiles: Vec<(&Frame, Rect)> = group
            .iter()
            .map(|&i| (&report.frames[report.crops[i].0], report.crops[i].1))
            .collect();
        let layout = mosaic::layout(&tiles.iter().map(|(_, r)| (r.w, r.h)).collect::<Vec<_>>());
        let jpeg = mosaic::encode(&tiles, &layout)
            .map_err(|e| LabelError::Refused(format!("JPEG: {e}")))?;
        calls += 1;
        for l in labeler.labels(&jpeg, &request).await? {
            let mapped: Vec<Observation> = l
                .instances
                .iter()
                .filter_map(|inst| {
                    let (tile, in_crop) = layout.map_back(&inst.bbox)?;
                    let (frame, crop) = report.crops[group[tile]];
                    Some(Observation {
                        label: l.name.clone(),
                        confidence: inst.confidence,
                        frame,
                        frame_box: Some(mosaic::to_frame(&crop, &in_crop)),
                    })
                })
                .collect();
            if mapped.is_empty() {
                // Seen, but not placed on any crop (no instances, or boxes over the gutters):
                // recorded, and never counted as being where the motion was.
                observations.push(Observation {
                    label: l.name.clone(),
                    confidence: l.confidence,
                    frame: report.crops[group[0]].0,
                    frame_box: None,
                });
            }
            observations.extend(mapped);
        }
    }
    Ok((observations, calls))
}

/// The whole analysis of one clip. Clip problems become an error result; only a retryable
/// labelling failure is an `Err`.
pub async fn analyse<L: Labeler>(
    clip: &[u8],
    config: &Config,
    camera: &str,
    labeler: &L,
) -> Result<ClipResult, LabelError> {
    let start = Instant::now();
    let report = match find_motion(clip, config, config.zones(camera)) {
        Ok(r) => r,
        Err(e) => {
            let status = if matches!(e, ClipError::Unsupported(_)) {
                Status::Unsupported
            } else {
                Status::Error
            };
            let mut r = ClipResult::failed(status, e.to_string(), config.mode);
            r.camera = camera.to_string();
            r.timings.total_ms = start.elapsed().as_millis() as u64;
            return Ok(r);
        }
    };
    let label_start = Instant::now();
    let (observations, calls) = match label(&report, config, labeler).await {
        Ok(x) => x,
        Err(LabelError::Refused(e)) => {
            let mut r = ClipResult::failed(
                Status::Error,
                format!("labelling refused the image: {e}"),
                config.mode,
            );
            r.camera = camera.to_string();
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    let labelling_ms = label_start.elapsed().as_millis() as u64;
    let decision = decide(
        &observations,
        &report.regions,
        &config.interesting,
        &config.noise,
    );
    let time_of = |frame: usize| report.frames[frame].time_ms;
    let mut labels: BTreeMap<String, LabelSummary> = BTreeMap::new();
    for o in &observations {
        let s = labels
            .entry(o.label.clone())
            .or_insert_with(|| LabelSummary {
                name: o.label.clone(),
                best_confidence: Percent(0.0),
                instances: vec![],
            });
        s.best_confidence = s.best_confidence.max(Percent(o.confidence));
        if let Some(rect) = o.frame_box {
            s.instances.push(BoxedInstance {
                time_ms: time_of(o.frame),
                rect,
                confidence: Percent(o.confidence),
            });
        }
    }
    Ok(ClipResult {
        bucket: String::new(),
        key: String::new(),
        etag: String::new(),
        camera: camera.to_string(),
        status: Status::Analysed,
        error: None,
        interesting: decision.interesting,
        reason: decision.reason.clone(),
        decision: Some(decision),
        mode: config.mode,
        width: report.width,
        height: report.height,
        duration_ms: report.duration_ms,
        frames_total: report.frames_total,
        frames_decoded: report.frames_decoded,
        chosen_frames: report.chosen.clone(),
        motion: report
            .regions
            .iter()
            .map(|m| FrameBox {
                time_ms: time_of(m.frame),
                rect: m.rect,
            })
            .collect(),
        crops: report
            .crops
            .iter()
            .map(|&(f, rect)| FrameBox {
                time_ms: time_of(f),
                rect,
            })
            .collect(),
        labels: labels.into_values().collect(),
        rekognition_calls: calls,
        timings: Timings {
            demux_ms: report.demux_ms,
            frame_choice_ms: report.frame_choice_ms,
            labelling_ms,
            total_ms: start.elapsed().as_millis() as u64,
        },
    })
}
