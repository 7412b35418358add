//! MP4 (plain and fragmented) to the video track's samples: sizes, sync flags, times and the
//! avcC parameter sets, through `re_mp4`. Owns the "is this something we can analyse" checks
//! (H.264, progressive) and, in `boxes`, the budget re_mp4 reads within; slice parsing is
//! `gop`'s, decoding `decode`'s.

mod boxes;

pub use boxes::MAX_SAMPLES;

use h264_reader::nal::sps::{FrameMbsFlags, SeqParameterSet};
use h264_reader::nal::{Nal, RefNal};
use re_mp4::{Mp4, StsdBoxContent, TrackKind};

/// Why a clip cannot be analysed; each becomes an error result, never a retry.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClipError {
    #[error("corrupt or truncated MP4: {0}")]
    Corrupt(String),
    #[error("unsupported video: {0}")]
    Unsupported(String),
}

/// One coded frame of the video track.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub offset: usize,
    pub size: usize,
    pub is_sync: bool,
    /// Presentation time in milliseconds from the start of the clip.
    pub time_ms: u64,
}

/// The video track of a clip, ready for ranking and decoding.
#[derive(Debug)]
pub struct VideoTrack {
    pub width: u32,
    pub height: u32,
    /// Samples in decode order.
    pub samples: Vec<Sample>,
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
    /// Bytes of each NAL length prefix (1, 2 or 4).
    pub length_size: usize,
}

impl VideoTrack {
    /// The bytes of one sample (in bounds: checked at demux).
    pub fn sample_bytes<'a>(&self, clip: &'a [u8], i: usize) -> &'a [u8] {
        let s = &self.samples[i];
        &clip[s.offset..s.offset + s.size]
    }

    /// Duration of the clip in milliseconds (last sample's time).
    pub fn duration_ms(&self) -> u64 {
        self.samples.iter().map(|s| s.time_ms).max().unwrap_or(0)
    }
}

/// Demuxes `clip`, keeping its first video track. A panic of the MP4 or H.264 reader on a
/// malformed clip (`re_mp4` indexes its sample tables without checking them against each other)
/// is caught and becomes `Corrupt`, so a bad upload yields an error result instead of killing
/// the invocation (release builds unwind for this: the workspace's release profile).
pub fn demux(clip: &[u8]) -> Result<VideoTrack, ClipError> {
    std::panic::catch_unwind(|| read_track(clip)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(ClipError::Corrupt(format!("the MP4 reader failed: {what}")))
    })
}

fn read_track(clip: &[u8]) -> Result<VideoTrack, ClipError> {
    // re_mp4 can loop for ever on some damage: its budget first (`boxes`).
    boxes::check(clip)?;
    let mp4 = Mp4::read_bytes(clip).map_err(|e| ClipError::Corrupt(e.to_string()))?;
    let Some(track) = mp4
        .tracks()
        .values()
        .find(|t| t.kind == Some(TrackKind::Video))
    else {
        // A video track in a codec re_mp4 does not know (MPEG-4 part 2, MJPEG...).
        let codec = mp4
            .moov
            .traks
            .iter()
            .find(|t| &t.mdia.hdlr.handler_type.value == b"vide")
            .map(|t| match &t.mdia.minf.stbl.stsd.contents {
                StsdBoxContent::Unknown(fourcc) => {
                    String::from_utf8_lossy(&fourcc.value).into_owned()
                }
                _ => "unknown".into(),
            });
        return Err(ClipError::Unsupported(match codec {
            Some(c) => format!("codec {c}: only H.264 (avc1) is analysed"),
            None => "no video track".into(),
        }));
    };
    let avc = match &track.trak(&mp4).mdia.minf.stbl.stsd.contents {
        StsdBoxContent::Avc1(avc) => &avc.avcc.contents,
        other => {
            let codec = other.codec_string().unwrap_or_else(|| "unknown".into());
            return Err(ClipError::Unsupported(format!(
                "codec {codec}: only H.264 (avc1) is analysed"
            )));
        }
    };
    let sps: Vec<Vec<u8>> = avc
        .sequence_parameter_sets
        .iter()
        .map(|n| n.bytes.clone())
        .collect();
    let pps: Vec<Vec<u8>> = avc
        .picture_parameter_sets
        .iter()
        .map(|n| n.bytes.clone())
        .collect();
    let first_sps = sps
        .first()
        .ok_or_else(|| ClipError::Corrupt("avcC holds no SPS".into()))?;
    if pps.is_empty() {
        return Err(ClipError::Corrupt("avcC holds no PPS".into()));
    }
    let parsed = parse_sps(first_sps)?;
    if let FrameMbsFlags::Fields { .. } = parsed.frame_mbs_flags {
        return Err(ClipError::Unsupported(
            "interlaced H.264 (field coding) is not decoded".into(),
        ));
    }
    let (width, height) = parsed
        .pixel_dimensions()
        .map_err(|e| ClipError::Corrupt(format!("SPS dimensions: {e:?}")))?;
    let timescale = track.timescale.max(1);
    // Times from the first picture shown: re_mp4 shifts plain files so, not fragmented ones
    // (whose B-frame delay then shows as an offset).
    let first = track
        .samples
        .iter()
        .map(|s| s.composition_timestamp)
        .min()
        .unwrap_or(0);
    let mut samples = Vec::with_capacity(track.samples.len());
    for s in &track.samples {
        let end = s
            .offset
            .checked_add(s.size)
            .filter(|&e| e <= clip.len() as u64);
        if end.is_none() {
            return Err(ClipError::Corrupt(format!(
                "sample {} lies past the end of the file ({} bytes): truncated",
                s.id,
                clip.len()
            )));
        }
        samples.push(Sample {
            offset: s.offset as usize,
            size: s.size as usize,
            is_sync: s.is_sync,
            time_ms: ((s.composition_timestamp - first).max(0) as u64) * 1000 / timescale,
        });
    }
    if samples.is_empty() {
        return Err(ClipError::Corrupt("the video track has no samples".into()));
    }
    if !samples[0].is_sync {
        return Err(ClipError::Corrupt(
            "the first sample is not a key frame".into(),
        ));
    }
    Ok(VideoTrack {
        width,
        height,
        samples,
        sps,
        pps,
        length_size: usize::from(avc.length_size_minus_one & 3) + 1,
    })
}

pub(crate) fn parse_sps(nal: &[u8]) -> Result<SeqParameterSet, ClipError> {
    let nal = RefNal::new(nal, &[], true);
    SeqParameterSet::from_bits(nal.rbsp_bits())
        .map_err(|e| ClipError::Corrupt(format!("SPS: {e:?}")))
}

/// The NAL units of an MP4 sample (length-prefixed); stops at a prefix that overruns.
pub fn nal_units(sample: &[u8], length_size: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = sample;
    std::iter::from_fn(move || {
        if rest.len() < length_size {
            return None;
        }
        let len = rest[..length_size]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let body = rest.get(length_size..length_size + len)?;
        rest = &rest[length_size + len..];
        Some(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_nals_split() {
        type Case<'a> = (&'a str, &'a [u8], usize, Vec<&'a [u8]>);
        let cases: &[Case] = &[
            (
                "two 4-byte prefixed",
                &[0, 0, 0, 1, 9, 0, 0, 0, 2, 5, 6],
                4,
                vec![&[9], &[5, 6]],
            ),
            ("2-byte prefix", &[0, 2, 7, 8], 2, vec![&[7, 8]]),
            ("overrunning prefix stops", &[0, 0, 0, 9, 1], 4, vec![]),
            ("empty", &[], 4, vec![]),
        ];
        for (name, sample, size, want) in cases {
            let got: Vec<&[u8]> = nal_units(sample, *size).collect();
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("text", b"this is not an mp4 file at all"),
        ] {
            assert!(demux(bytes).is_err(), "{name}");
        }
    }
}
