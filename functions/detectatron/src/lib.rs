//! Detectatron: camera clips dropped under `incoming/` reach this function through SQS; it
//! picks the few frames worth looking at without decoding the whole clip, asks Rekognition about
//! the moving parts only (one mosaic image by default), decides whether the clip matters, writes
//! `results/<clip key>.json` and tags the clip. `main.rs` only wires the runtime; the handler
//! (`handler`) is generic over `ClipStore`, `Labeler` and `ConfigSource`; the decisions
//! (`gop`, `motion`, `decision`) are pure.

pub mod analysis;
pub mod config;
pub mod decision;
pub mod decode;
pub mod demux;
pub mod gop;
pub mod handler;
pub mod labeler;
pub mod mosaic;
pub mod motion;
pub mod result;
pub mod store;

pub use analysis::{analyse, find_motion, MotionReport};
pub use config::{Config, ConfigSource, Mode};
pub use decision::{decide, Decision};
pub use demux::ClipError;
pub use handler::{clip_refs, clip_refs_in, ClipRef, Detectatron, InvocationError, Outcome};
pub use labeler::{Instance, Label, LabelError, LabelRequest, Labeler, RekognitionLabeler};
pub use mosaic::NormBox;
pub use result::{result_key, ClipResult, Status, TAG_KEY};
pub use store::{ClipStore, S3Clips};
