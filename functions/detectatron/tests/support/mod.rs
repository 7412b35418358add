//! Test clips made at test time: the scenes, openh264 encoding and MP4 muxing of
//! `failberry-synthetic` (unwrapped here: a clip that cannot be made fails the test), and
//! camera-like clips from Debian's ffmpeg (libx264, High profile, CABAC). Also a scripted
//! `Labeler`.
#![allow(dead_code, unused_imports)]

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use failberry_detectatron::{Label, LabelError, LabelRequest, Labeler};
pub use failberry_synthetic::{Encoded, Obj, Scene, FPS, FRAMES, GOP, H, W};

pub fn encode(scene: Scene) -> Encoded {
    failberry_synthetic::encode(scene).expect("the scene encodes")
}

pub fn mux_plain(e: &Encoded) -> Vec<u8> {
    failberry_synthetic::mux_plain(e).expect("the clip muxes")
}

pub fn mux_fragmented(e: &Encoded) -> Vec<u8> {
    failberry_synthetic::mux_fragmented(e).expect("the clip muxes")
}

/// A clip from Debian's ffmpeg; panics with its stderr when it fails.
pub fn ffmpeg(args: &[&str], out: &Path) -> Vec<u8> {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .output()
        .expect("ffmpeg runs (scripts/ensure-test-tools installs it)");
    assert!(
        status.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(out).unwrap()
}

/// A static test card with a white box crossing it, 320x240, 10 fps, 4 s.
pub const CAMERA_SCENE: &str =
    "smptebars=size=320x240:rate=10:duration=4[bg];color=c=white:size=40x60:rate=10[box];[bg][box]overlay=x=20+t*60:y=100:shortest=1[out0]";

/// libx264 High profile with CABAC and B-frames, a key frame every 2 s, like a camera.
pub fn x264_clip(dir: &Path, name: &str, fragmented: bool) -> Vec<u8> {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        CAMERA_SCENE,
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-coder",
        "1",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "20",
        "-keyint_min",
        "20",
        "-sc_threshold",
        "0",
    ];
    if fragmented {
        args.extend(["-movflags", "frag_keyframe+empty_moov"]);
    }
    ffmpeg(&args, &dir.join(name))
}

/// Answers scripted labels (whatever the image) and counts calls. A fake because the emulator
/// ignores the image and always answers one canned label, so it cannot exercise the decision.
pub type Answer = Box<dyn FnMut(&[u8]) -> Vec<Label> + Send>;

pub struct ScriptedLabeler {
    pub answer: Mutex<Answer>,
    pub calls: Mutex<Vec<Vec<u8>>>,
}

impl ScriptedLabeler {
    pub fn new(answer: impl FnMut(&[u8]) -> Vec<Label> + Send + 'static) -> Self {
        ScriptedLabeler {
            answer: Mutex::new(Box::new(answer)),
            calls: Mutex::new(vec![]),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl Labeler for ScriptedLabeler {
    async fn labels(&self, jpeg: &[u8], _: &LabelRequest) -> Result<Vec<Label>, LabelError> {
        self.calls.lock().unwrap().push(jpeg.to_vec());
        Ok((self.answer.lock().unwrap())(jpeg))
    }
}
