//! Frame choice without decoding: each coded frame's size normalised by its slice QP (from
//! `h264-reader` slice headers) says how much changed; GOPs are ranked by it so only the key
//! frames of the few GOPs that matter get decoded. Owns the ranking (pure, table-tested) and
//! the choice of which samples to decode; decoding and differencing are others'.

use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::slice::SliceHeader;
use h264_reader::nal::{Nal, RefNal, UnitType};
use h264_reader::Context;

use crate::demux::{nal_units, parse_sps, ClipError, VideoTrack};

/// What ranking needs to know of a coded frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodedFrame {
    pub bytes: usize,
    pub is_sync: bool,
    /// QP of the first slice, when its header parsed.
    pub qp: Option<i32>,
}

/// A GOP's rank: the samples it spans and its score.
#[derive(Clone, Debug, PartialEq)]
pub struct GopScore {
    /// Index of its key frame in the sample list.
    pub start: usize,
    /// One past its last sample.
    pub end: usize,
    /// Mean QP-normalised size of its predicted frames (bytes at QP 26).
    pub score: f64,
    /// The predicted frame with the largest normalised size, if any.
    pub peak: Option<usize>,
}

/// Bytes a frame would take at QP 26: the quantiser step doubles every 6 QP, and coded size
/// falls roughly in proportion, so a frame coded coarser counts for more.
pub fn normalised_size(bytes: usize, qp: Option<i32>) -> f64 {
    let qp = qp.unwrap_or(26).clamp(0, 51);
    bytes as f64 * 2f64.powf(f64::from(qp - 26) / 6.0)
}

/// Splits frames into GOPs at sync frames and scores each; best first (ties: earlier first).
pub fn rank(frames: &[CodedFrame]) -> Vec<GopScore> {
    let mut gops = Vec::new();
    let mut start = 0;
    for i in 1..=frames.len() {
        if i == frames.len() || frames[i].is_sync {
            let predicted =
                (start + 1..i).map(|j| (j, normalised_size(frames[j].bytes, frames[j].qp)));
            let (mut sum, mut n, mut peak) = (0.0, 0usize, None::<(usize, f64)>);
            for (j, size) in predicted {
                sum += size;
                n += 1;
                if peak.is_none_or(|(_, best)| size > best) {
                    peak = Some((j, size));
                }
            }
            gops.push(GopScore {
                start,
                end: i,
                score: if n == 0 { 0.0 } else { sum / n as f64 },
                peak: peak.map(|(j, _)| j),
            });
            start = i;
        }
    }
    gops.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.start.cmp(&b.start)));
    gops
}

/// A pair of frames to decode and compare: `later` is where crops are taken from.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub earlier: usize,
    pub later: usize,
    /// Samples to feed the decoder for `later` (a key frame alone, or a chain from one).
    pub chain: std::ops::Range<usize>,
    pub why: String,
}

/// For the best `max_gops` GOPs: the key frame against the next key frame, or (for the last
/// GOP) against the frame reached by a chain of at most `max_chain` frames toward the peak.
pub fn choose(
    ranked: &[GopScore],
    total_gops: usize,
    max_gops: usize,
    max_chain: usize,
) -> Vec<Pair> {
    let median = {
        let mut s: Vec<f64> = ranked.iter().map(|g| g.score).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    let mut pairs = Vec::new();
    for (rank, g) in ranked.iter().take(max_gops).enumerate() {
        let why = format!(
            "GOP at sample {} ranked {} of {} by QP-normalised P-frame size ({:.0} bytes at QP 26, median {:.0})",
            g.start,
            rank + 1,
            total_gops,
            g.score,
            median
        );
        let next_key = ranked.iter().map(|o| o.start).find(|&s| s == g.end);
        if let Some(next) = next_key {
            pairs.push(Pair {
                earlier: g.start,
                later: next,
                chain: next..next + 1,
                why,
            });
        } else if g.end - g.start > 1 {
            let target = g.peak.unwrap_or(g.end - 1).max(g.start + 1);
            let later = target.min(g.start + max_chain).min(g.end - 1);
            pairs.push(Pair {
                earlier: g.start,
                later,
                chain: g.start..later + 1,
                why,
            });
        }
    }
    pairs
}

/// Reads each sample's first slice header for its QP (none when it does not parse).
pub fn coded_frames(track: &VideoTrack, clip: &[u8]) -> Result<Vec<CodedFrame>, ClipError> {
    let mut ctx = Context::default();
    for sps in &track.sps {
        ctx.put_seq_param_set(parse_sps(sps)?);
    }
    for pps in &track.pps {
        let nal = RefNal::new(pps, &[], true);
        let pps = PicParameterSet::from_bits(&ctx, nal.rbsp_bits())
            .map_err(|e| ClipError::Corrupt(format!("PPS: {e:?}")))?;
        ctx.put_pic_param_set(pps);
    }
    Ok((0..track.samples.len())
        .map(|i| {
            let bytes = track.sample_bytes(clip, i);
            CodedFrame {
                bytes: bytes.len(),
                is_sync: track.samples[i].is_sync,
                qp: slice_qp(&ctx, bytes, track.length_size),
            }
        })
        .collect())
}

fn slice_qp(ctx: &Context, sample: &[u8], length_size: usize) -> Option<i32> {
    for nal in nal_units(sample, length_size) {
        let nal = RefNal::new(nal, &[], true);
        let header = nal.header().ok()?;
        if !matches!(
            header.nal_unit_type(),
            UnitType::SliceLayerWithoutPartitioningNonIdr
                | UnitType::SliceLayerWithoutPartitioningIdr
        ) {
            continue;
        }
        let (slice, _, pps) =
            SliceHeader::from_bits(ctx, &mut nal.rbsp_bits(), header, None).ok()?;
        return Some(26 + pps.pic_init_qp_minus26 + slice.slice_qp_delta);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(bytes: usize, is_sync: bool, qp: i32) -> CodedFrame {
        CodedFrame {
            bytes,
            is_sync,
            qp: Some(qp),
        }
    }

    #[test]
    fn normalising_by_qp() {
        let cases = [
            ("QP 26 is the unit", 1000, Some(26), 1000.0),
            ("six QP coarser doubles", 1000, Some(32), 2000.0),
            ("six QP finer halves", 1000, Some(20), 500.0),
            ("unknown QP counts as 26", 1000, None, 1000.0),
        ];
        for (name, bytes, qp, want) in cases {
            assert!((normalised_size(bytes, qp) - want).abs() < 1e-6, "{name}");
        }
    }

    #[test]
    fn gops_rank_by_normalised_predicted_size() {
        // Three GOPs; the second has big P-frames, the third small ones coded coarser
        // (QP 38: four times the step of 26), which makes them count as the largest.
        let frames = [
            f(9000, true, 26),
            f(100, false, 26),
            f(120, false, 26),
            f(9000, true, 26),
            f(900, false, 26),
            f(2000, false, 26),
            f(9000, true, 26),
            f(700, false, 38),
            f(600, false, 38),
        ];
        let ranked = rank(&frames);
        let order: Vec<usize> = ranked.iter().map(|g| g.start).collect();
        assert_eq!(order, vec![6, 3, 0]);
        assert_eq!(ranked[1].peak, Some(5), "the peak of the second GOP");
        assert_eq!((ranked[0].start, ranked[0].end), (6, 9));
    }

    #[test]
    fn choice_pairs_key_frames_or_chains_to_the_peak() {
        let frames = [
            f(9000, true, 26),
            f(100, false, 26),
            f(100, false, 26),
            f(9000, true, 26),
            f(900, false, 26),
            f(3000, false, 26),
            f(100, false, 26),
        ];
        let ranked = rank(&frames);
        let pairs = choose(&ranked, ranked.len(), 2, 12);
        let got: Vec<(usize, usize, std::ops::Range<usize>)> = pairs
            .iter()
            .map(|p| (p.earlier, p.later, p.chain.clone()))
            .collect();
        assert_eq!(got, vec![(3, 5, 3..6), (0, 3, 3..4)]);
        let capped = choose(&ranked, ranked.len(), 1, 1);
        assert_eq!(
            (capped[0].later, capped[0].chain.clone()),
            (4, 3..5),
            "chain capped"
        );
        assert!(pairs[0].why.contains("ranked 1 of 2"));
    }

    #[test]
    fn a_single_key_frame_gives_nothing_to_compare() {
        let ranked = rank(&[f(9000, true, 26)]);
        assert!(choose(&ranked, 1, 2, 12).is_empty());
    }
}
