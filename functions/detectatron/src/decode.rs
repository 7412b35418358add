//! H.264 decoding of the few chosen samples with openh264 (built from its bundled source):
//! MP4's length-prefixed NALs become Annex-B with the avcC's SPS/PPS in front, and each decoded
//! picture is copied out as tightly packed I420 planes. Which samples to decode is `gop`'s.

use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;

use crate::demux::{nal_units, ClipError, VideoTrack};

/// A decoded picture, I420 planes without padding.
#[derive(Clone, Debug)]
pub struct Frame {
    pub sample: usize,
    pub time_ms: u64,
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Frame {
    fn copy(yuv: &DecodedYUV<'_>, sample: usize, time_ms: u64) -> Frame {
        let (width, height) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let rows = |plane: &[u8], stride: usize, w: usize, h: usize| {
            let mut out = Vec::with_capacity(w * h);
            for r in 0..h {
                out.extend_from_slice(&plane[r * stride..r * stride + w]);
            }
            out
        };
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Frame {
            sample,
            time_ms,
            width,
            height,
            y: rows(yuv.y(), sy, width, height),
            u: rows(yuv.u(), su, cw, ch),
            v: rows(yuv.v(), sv, cw, ch),
        }
    }
}

/// Decodes runs of samples of one clip; one decoder reused across runs.
pub struct ClipDecoder<'a> {
    track: &'a VideoTrack,
    clip: &'a [u8],
    decoder: Decoder,
    /// Frames decoded so far (the cost measure).
    pub decoded: usize,
}

impl<'a> ClipDecoder<'a> {
    pub fn new(track: &'a VideoTrack, clip: &'a [u8]) -> Result<Self, ClipError> {
        let config = openh264::decoder::DecoderConfig::new()
            .flush_after_decode(openh264::decoder::Flush::NoFlush);
        let decoder = Decoder::with_api_config(openh264::OpenH264API::from_source(), config)
            .map_err(|e| ClipError::Unsupported(format!("decoder: {e}")))?;
        Ok(ClipDecoder {
            track,
            clip,
            decoder,
            decoded: 0,
        })
    }

    /// Decodes `run` (which must start at a sync sample) and returns its last picture in
    /// presentation order, stamped with the latest presentation time in the run.
    pub fn last_of(&mut self, run: std::ops::Range<usize>) -> Result<Frame, ClipError> {
        let time_ms = run
            .clone()
            .map(|i| self.track.samples[i].time_ms)
            .max()
            .unwrap_or(0);
        let sample = run.end - 1;
        let mut last = None;
        for i in run {
            let annexb = self.annexb(i, i == 0 || self.track.samples[i].is_sync);
            self.decoded += 1;
            let out = self
                .decoder
                .decode(&annexb)
                .map_err(|e| ClipError::Corrupt(format!("sample {i} does not decode: {e}")))?;
            if let Some(yuv) = out {
                last = Some(Frame::copy(&yuv, sample, time_ms));
            }
        }
        let rest = self
            .decoder
            .flush_remaining()
            .map_err(|e| ClipError::Corrupt(format!("flushing the decoder: {e}")))?;
        if let Some(yuv) = rest.last() {
            last = Some(Frame::copy(yuv, sample, time_ms));
        }
        last.ok_or_else(|| ClipError::Corrupt(format!("sample {sample} gave no picture")))
    }

    /// Decodes every sample (the baseline the frame choice is measured against); returns how
    /// many pictures came out.
    pub fn decode_all(&mut self) -> Result<usize, ClipError> {
        let mut pictures = 0;
        for i in 0..self.track.samples.len() {
            let annexb = self.annexb(i, i == 0);
            self.decoded += 1;
            if self
                .decoder
                .decode(&annexb)
                .map_err(|e| ClipError::Corrupt(format!("sample {i} does not decode: {e}")))?
                .is_some()
            {
                pictures += 1;
            }
        }
        pictures += self.decoder.flush_remaining().map(|f| f.len()).unwrap_or(0);
        Ok(pictures)
    }

    fn annexb(&self, i: usize, with_parameter_sets: bool) -> Vec<u8> {
        const START: [u8; 4] = [0, 0, 0, 1];
        let sample = self.track.sample_bytes(self.clip, i);
        let mut out = Vec::with_capacity(sample.len() + 64);
        if with_parameter_sets {
            for ps in self.track.sps.iter().chain(&self.track.pps) {
                out.extend_from_slice(&START);
                out.extend_from_slice(ps);
            }
        }
        for nal in nal_units(sample, self.track.length_size) {
            out.extend_from_slice(&START);
            out.extend_from_slice(nal);
        }
        out
    }
}
