//! No-panic properties of the clip reading (`demux`): arbitrary bytes, and real clips (plain and
//! fragmented, made by `support`) with bytes overwritten, cut short or box sizes changed. Every
//! case must come back as a track or a `ClipError`, never a panic: a panic in Lambda would kill
//! the invocation instead of writing an error result.

mod support;

use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use failberry_detectatron::demux::{demux, ClipError};
use proptest::prelude::*;
use support::{encode, mux_fragmented, mux_plain, Scene};

/// One plain and one fragmented clip, encoded once for all cases.
fn clips() -> &'static [Vec<u8>; 2] {
    static CLIPS: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    CLIPS.get_or_init(|| {
        let e = encode(Scene::Moving);
        [mux_plain(&e), mux_fragmented(&e)]
    })
}

/// A damaged copy of a real clip: `edits` bytes overwritten at positions scaled to the clip's
/// length, then cut to `keep` thousandths of it.
fn damage(clip: &[u8], edits: &[(u16, u8)], keep: u16) -> Vec<u8> {
    let mut out = clip.to_vec();
    for &(at, byte) in edits {
        let i = at as usize * out.len() / (u16::MAX as usize + 1);
        out[i] = byte;
    }
    let keep = out.len() * (keep.min(1000) as usize) / 1000;
    out.truncate(keep);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = demux(&bytes);
    }

    // Each case also ends: re_mp4 0.5 loops for ever on a box of size 0 inside a container and
    // builds up to 2³² samples from an unbounded count (the regression seeds below); demux
    // checks the boxes first (`demux::boxes`).
    #[test]
    fn damaged_clips_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..16),
        keep in 0u16..1100,
    ) {
        let clip = damage(&clips()[which], &edits, keep);
        let _ = demux(&clip);
    }
}

/// `demux(clip)` on a thread of its own, given `deadline` to answer: a regression that loops
/// fails here instead of hanging the suite.
fn demux_within(clip: &'static [u8], deadline: Duration) -> Result<usize, ClipError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(demux(clip).map(|t| t.samples.len()));
    });
    rx.recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("demux did not answer within {deadline:?}"))
}

#[test]
fn the_damage_that_made_re_mp4_loop_is_refused_at_once() {
    // Both are fuzz seeds (fuzz/seeds/mp4_clip), each one edit of a seed clip away:
    // `vmhd` renamed to a type re_mp4 skips and its size set to 0 (re_mp4 seeks back to the same
    // header for ever), and a `trun` without per-sample fields declaring 2³²-1 samples (re_mp4
    // builds them all).
    let cases: [(&str, &'static [u8], &str); 2] = [
        (
            "a box of size 0 inside minf",
            include_bytes!("../../../fuzz/seeds/mp4_clip/zero-size-box.mp4"),
            "size 0",
        ),
        (
            "an unbounded trun",
            include_bytes!("../../../fuzz/seeds/mp4_clip/unbounded-trun.mp4"),
            "samples",
        ),
    ];
    for (name, clip, why) in cases {
        match demux_within(clip, Duration::from_secs(10)) {
            Err(ClipError::Corrupt(m)) => assert!(m.contains(why), "{name}: {m}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn the_undamaged_clips_demux() {
    // The property above is only worth something if the clips it damages are readable.
    for clip in clips() {
        let track = demux(clip).expect("an intact clip demuxes");
        assert!(!track.samples.is_empty());
    }
}
