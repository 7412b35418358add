//! The camera story's clips: what each one shows, where it comes from (the folder or Frigate),
//! what the scripted labeler says when it sees each drawn object, and what the decision should
//! be; and the labeler itself, scripted for the clip being analysed.

use std::sync::{Arc, Mutex};

use failberry_detectatron::motion::Rect;
use failberry_detectatron::{Label, LabelError, LabelRequest, Labeler};
use failberry_synthetic::{Obj, Scene, FPS};

use crate::analyse::Said;

/// Answers with the labels scripted for the clip being analysed (one clip at a time).
#[derive(Clone, Default)]
pub struct ScriptedNow(Arc<Mutex<Vec<Label>>>);

impl ScriptedNow {
    pub fn set(&self, labels: Vec<Label>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = labels;
    }
}

#[async_trait::async_trait]
impl Labeler for ScriptedNow {
    async fn labels(&self, _jpeg: &[u8], _: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

pub enum Source {
    Folder,
    Frigate { event: &'static str },
}

pub struct Clip {
    /// The file name in the folder (Frigate names its clips after the event).
    pub name: &'static str,
    pub what: &'static str,
    pub scene: Scene,
    pub said: Vec<Said>,
    pub from: Source,
    /// Whether the decision should be "interesting", and the label that should decide it.
    pub want: Option<&'static str>,
}

fn said(label: &'static str, confidence: f32, boxed: bool) -> Said {
    Said {
        label,
        confidence,
        boxed,
    }
}

pub fn clips() -> Vec<Clip> {
    vec![
        Clip {
            name: "person-walking.mp4",
            what: "a person walking across the garden",
            scene: Scene::Moving,
            said: vec![said("Person", 96.0, true)],
            from: Source::Folder,
            want: Some("Person"),
        },
        Clip {
            name: "trees-in-wind.mp4",
            what: "trees moving in the wind, nobody there",
            scene: Scene::TreesInWind,
            said: vec![said("Tree", 91.0, false), said("Plant", 84.0, false)],
            from: Source::Folder,
            want: None,
        },
        Clip {
            name: "car-and-cat.mp4",
            what: "a parked car, and a cat crossing the bottom of the frame away from it",
            scene: Scene::ParkedCarAndCat,
            said: vec![said("Car", 97.0, true), said("Cat", 88.0, true)],
            from: Source::Folder,
            want: Some("Cat"),
        },
        Clip {
            name: "1795000000.5-porch1.mp4",
            what: "a person at the door, recorded by Frigate as event 1795000000.5-porch1",
            scene: Scene::ParkedCarAndPerson,
            said: vec![said("Person", 93.0, true), said("Car", 98.0, true)],
            from: Source::Frigate {
                event: "1795000000.5-porch1",
            },
            want: Some("Person"),
        },
    ]
}

pub fn rect(o: Obj) -> Rect {
    Rect {
        x: o.x as u32,
        y: o.y as u32,
        w: o.w as u32,
        h: o.h as u32,
    }
}

/// What the scene has drawn at `time_ms`.
pub fn objects_at(scene: Scene, time_ms: u64) -> Vec<(String, Rect)> {
    let frame = (time_ms * u64::from(FPS) / 1000) as usize;
    scene
        .objects(frame)
        .into_iter()
        .map(|(name, o)| (name.to_string(), rect(o)))
        .collect()
}
