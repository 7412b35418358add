//! Detectatron: camera clips dropped under `incoming/` reach this function through SQS; it
//! picks the few frames worth looking at without decoding the whole clip, asks Rekognition about
//! the moving parts only (one mosaic image by default), decides whether the clip matters, writes
//! `results/<clip key>.json` and tags the clip. `main.rs` only wires the runtime; the handler
//! (`handler`) is generic over `ClipStore`, `Labeler` and `ConfigSource`; the decisions
//! (`gop`, `motion`, `decision`) are pure. The key and the result document are the contract's
//! (`failberry_proto::clips`), shared with the clips function and the client.

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
pub mod store;

pub use analysis::{analyse, find_motion, MotionReport};
pub use config::{Config, ConfigSource, Mode};
pub use decision::{decide, Decision};
pub use demux::ClipError;
pub use failberry_proto::clips::result::{ClipResult, Status, TAG_KEY};
pub use failberry_proto::clips::result_key;
pub use handler::{clip_refs, clip_refs_in, ClipRef, Detectatron, InvocationError, Outcome};
pub use labeler::{Instance, Label, LabelError, LabelRequest, Labeler, RekognitionLabeler};
pub use mosaic::NormBox;
pub use store::{ClipStore, S3Clips};
