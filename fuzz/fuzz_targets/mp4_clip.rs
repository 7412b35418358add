//! The clip analysis's MP4/H.264 reading (`demux`): any bytes must give a track or a
//! `ClipError`. `demux` catches a panic of the MP4 reader and turns it into `Corrupt`; the hook
//! that libFuzzer installs would abort on it first, so this target keeps the default hook: a
//! panic that escapes `demux` still reaches libFuzzer's harness and is a crash.
#![no_main]

use failberry_detectatron::demux::{demux, nal_units};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: {
    std::panic::set_hook(Box::new(|_| {}));
}, |data: &[u8]| {
    if let Ok(track) = demux(data) {
        for i in 0..track.samples.len() {
            for nal in nal_units(track.sample_bytes(data, i), track.length_size) {
                std::hint::black_box(nal);
            }
        }
    }
});
