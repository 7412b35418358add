//! The decision, pure: a clip is interesting when a label of the interesting set reaches its
//! threshold with an instance box over a region where motion was (the car parked in every clip
//! does not count); noise labels are recorded as such. The reason comes back in words.

use std::collections::BTreeMap;

// The decision's shape is the result document's, so it lives in the contract.
pub use failberry_proto::clips::result::Decision;
use failberry_proto::clips::result::Percent;

use crate::motion::Rect;

/// A label as seen in one crop, its box (when it has one) in frame pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub label: String,
    pub confidence: f32,
    /// Which chosen frame the crop came from.
    pub frame: usize,
    pub frame_box: Option<Rect>,
}

/// A motion region of a chosen frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionRegion {
    pub frame: usize,
    pub rect: Rect,
}

/// Share of an instance box that must lie over motion for it to count.
const MIN_OVERLAP: f64 = 0.25;

fn overlaps_motion(o: &Observation, motion: &[MotionRegion]) -> bool {
    let Some(b) = o.frame_box else { return false };
    let area = b.area().max(1) as f64;
    motion
        .iter()
        .filter(|m| m.frame == o.frame)
        .any(|m| m.rect.intersection(&b) as f64 / area >= MIN_OVERLAP)
}

fn best(map: &mut BTreeMap<String, Percent>, label: &str, confidence: f32) {
    let confidence = Percent(confidence);
    let e = map.entry(label.to_string()).or_insert(confidence);
    *e = e.max(confidence);
}

pub fn decide(
    observations: &[Observation],
    motion: &[MotionRegion],
    interesting: &BTreeMap<String, f32>,
    noise: &[String],
) -> Decision {
    let (mut matched, mut noise_seen, mut elsewhere, mut weak) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    for o in observations {
        if noise.iter().any(|n| n.eq_ignore_ascii_case(&o.label)) {
            best(&mut noise_seen, &o.label, o.confidence);
        }
        let Some((name, &threshold)) = interesting
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(&o.label))
        else {
            continue;
        };
        if o.confidence < threshold {
            best(&mut weak, name, o.confidence);
        } else if overlaps_motion(o, motion) {
            best(&mut matched, name, o.confidence);
        } else {
            best(&mut elsewhere, name, o.confidence);
        }
    }
    let list = |m: &BTreeMap<String, Percent>| {
        m.iter()
            .map(|(l, c)| format!("{l} ({c})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let reason = if motion.is_empty() {
        "no motion outside the ignore zones above the noise floor: nothing was sent for labelling"
            .to_string()
    } else if !matched.is_empty() {
        format!("{} where the motion was", list(&matched))
    } else {
        let mut parts = vec!["no interesting label where the motion was".to_string()];
        if !elsewhere.is_empty() {
            parts.push(format!(
                "{} seen away from the motion (not counted)",
                list(&elsewhere)
            ));
        }
        if !weak.is_empty() {
            parts.push(format!("{} under the threshold", list(&weak)));
        }
        if !noise_seen.is_empty() {
            parts.push(format!("noise: {}", list(&noise_seen)));
        }
        parts.join("; ")
    };
    Decision {
        interesting: !matched.is_empty(),
        reason,
        matched,
        noise: noise_seen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(
        label: &str,
        confidence: f32,
        frame: usize,
        b: Option<(u32, u32, u32, u32)>,
    ) -> Observation {
        Observation {
            label: label.into(),
            confidence,
            frame,
            frame_box: b.map(|(x, y, w, h)| Rect { x, y, w, h }),
        }
    }

    #[test]
    fn decisions() {
        let interesting: BTreeMap<String, f32> =
            [("Person".to_string(), 80.0), ("Car".to_string(), 80.0)].into();
        let noise = vec!["Tree".to_string(), "Rain".to_string()];
        let walk = [MotionRegion {
            frame: 0,
            rect: Rect {
                x: 100,
                y: 100,
                w: 50,
                h: 100,
            },
        }];
        type Case<'a> = (&'a str, Vec<Observation>, &'a [MotionRegion], bool, &'a str);
        let cases: Vec<Case> = vec![
            ("no motion", vec![], &[], false, "no motion"),
            (
                "person over the motion",
                vec![obs("Person", 95.0, 0, Some((105, 110, 40, 80)))],
                &walk,
                true,
                "Person (95%) where the motion was",
            ),
            (
                "person under threshold",
                vec![obs("Person", 70.0, 0, Some((105, 110, 40, 80)))],
                &walk,
                false,
                "Person (70%) under the threshold",
            ),
            (
                "parked car away from the motion",
                vec![obs("Car", 99.0, 0, Some((400, 300, 200, 100)))],
                &walk,
                false,
                "Car (99%) seen away from the motion",
            ),
            (
                "car box barely touching the motion",
                vec![obs("Car", 99.0, 0, Some((140, 180, 200, 100)))],
                &walk,
                false,
                "away from the motion",
            ),
            (
                "person in another frame than the motion",
                vec![obs("Person", 95.0, 1, Some((105, 110, 40, 80)))],
                &walk,
                false,
                "away from the motion",
            ),
            (
                "person without a box",
                vec![obs("Person", 95.0, 0, None)],
                &walk,
                false,
                "away from the motion",
            ),
            (
                "only trees",
                vec![obs("Tree", 88.0, 0, None), obs("Tree", 91.0, 0, None)],
                &walk,
                false,
                "noise: Tree (91%)",
            ),
            (
                "label case differs",
                vec![obs("person", 95.0, 0, Some((105, 110, 40, 80)))],
                &walk,
                true,
                "Person (95%)",
            ),
            (
                "uninteresting label",
                vec![obs("Mobile Phone", 99.0, 0, Some((105, 110, 40, 80)))],
                &walk,
                false,
                "no interesting label",
            ),
        ];
        for (name, observations, motion, want, reason) in cases {
            let got = decide(&observations, motion, &interesting, &noise);
            assert_eq!(got.interesting, want, "{name}: {}", got.reason);
            assert!(
                got.reason.contains(reason),
                "{name}: {:?} lacks {reason:?}",
                got.reason
            );
        }
    }

    #[test]
    fn noise_is_recorded_beside_a_match() {
        let interesting: BTreeMap<String, f32> = [("Dog".to_string(), 75.0)].into();
        let motion = [MotionRegion {
            frame: 0,
            rect: Rect {
                x: 0,
                y: 0,
                w: 100,
                h: 100,
            },
        }];
        let got = decide(
            &[
                obs("Dog", 90.0, 0, Some((10, 10, 50, 50))),
                obs("Tree", 80.0, 0, None),
            ],
            &motion,
            &interesting,
            &["Tree".to_string()],
        );
        assert!(got.interesting);
        assert_eq!(got.noise.get("Tree"), Some(&Percent(80.0)));
        assert_eq!(got.matched.get("Dog"), Some(&Percent(90.0)));
    }
}
