//! Real H.264 MP4 clips made on the spot, with no ffmpeg: a [`Scene`] drawn frame by frame in
//! YUV (`scene`), encoded by openh264's encoder (`encode`, Baseline/CAVLC, built from source like
//! detectatron's decoder) and muxed into plain or fragmented MP4 by `mp4-atom` (`mux`).
//!
//! detectatron's tests, `make demo`'s camera story and the bench use it; it knows nothing of the
//! analysis that reads the clips. Scenes say where each drawn object is in every frame and what
//! a labeler would call it, so a scripted labeler can answer like one that sees the picture.

mod encode;
mod mux;
mod scene;

pub use encode::{encode, Encoded};
pub use mux::{mux_fragmented, mux_plain};
pub use scene::{Obj, Scene, FPS, FRAMES, GOP, H, W};

/// Why a clip could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("openh264: {0}")]
    Encoder(String),
    #[error("openh264 skipped frame {0} (skipping is turned off)")]
    Skipped(usize),
    #[error("muxing the MP4: {0}")]
    Mux(String),
}

/// `scene` as a plain MP4 (ftyp, moov, mdat), as a camera's export writes it.
pub fn clip(scene: Scene) -> Result<Vec<u8>, Error> {
    mux_plain(&encode(scene)?)
}
