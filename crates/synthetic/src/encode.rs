//! A scene through openh264's encoder: Baseline, CAVLC, 10 fps, a key frame every `GOP` frames,
//! every frame kept, rate control off (the quality mode warns on stderr when skipping is off); the
//! parameter sets taken out of the stream for the MP4's `avcC`.

use openh264::encoder::{
    Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;

use crate::scene::{Scene, FPS, FRAMES, GOP, H, W};
use crate::Error;

/// An encoded clip: parameter sets and per-frame NALs (key frame or not) without start codes.
pub struct Encoded {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    pub frames: Vec<(bool, Vec<Vec<u8>>)>,
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    &nal[(zeros + 1).min(nal.len())..]
}

/// `FRAMES` frames of `scene`.
pub fn encode(scene: Scene) -> Result<Encoded, Error> {
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(GOP))
        .rate_control_mode(RateControlMode::Off)
        .skip_frames(false);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| Error::Encoder(e.to_string()))?;
    let (mut sps, mut pps, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..FRAMES {
        let yuv = YUVBuffer::from_vec(scene.render(i), W, H);
        let bits = encoder
            .encode(&yuv)
            .map_err(|e| Error::Encoder(e.to_string()))?;
        let key = matches!(bits.frame_type(), FrameType::IDR | FrameType::I);
        let stream = bits.to_vec();
        let mut nals = Vec::new();
        for nal in openh264::nal_units(&stream) {
            let nal = strip_start_code(nal);
            match nal.first().map(|b| b & 0x1f) {
                Some(7) => sps = nal.to_vec(),
                Some(8) => pps = nal.to_vec(),
                Some(_) => nals.push(nal.to_vec()),
                None => {}
            }
        }
        if nals.is_empty() {
            return Err(Error::Skipped(i));
        }
        frames.push((key, nals));
    }
    Ok(Encoded { sps, pps, frames })
}
