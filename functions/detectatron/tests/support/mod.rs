//! Test clips made at test time: scenes drawn in YUV, encoded with openh264 and muxed into plain
//! or fragmented MP4 with `mp4-atom`; camera-like clips from Debian's ffmpeg (libx264, High
//! profile, CABAC). Also a scripted `Labeler`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use failberry_detectatron::{Label, LabelError, LabelRequest, Labeler};
use mp4_atom::{
    Avc1, Avcc, Dinf, Dref, Encode, Ftyp, Hdlr, Matrix, Mdat, Mdhd, Mdia, Mfhd, Minf, Moof, Moov,
    Mvex, Mvhd, Stbl, Stco, Stsc, StscEntry, Stsd, Stss, Stsz, StszSamples, Stts, SttsEntry, Tfdt,
    Tfhd, Tkhd, Traf, Trak, Trex, Trun, TrunEntry, Url, Visual, Vmhd,
};
use openh264::encoder::{
    Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;

pub const W: usize = 320;
pub const H: usize = 240;
pub const FPS: u32 = 10;
pub const FRAMES: usize = 40;
pub const GOP: u32 = 20;

/// A rectangle drawn into a scene, in pixels.
#[derive(Clone, Copy, Debug)]
pub struct Obj {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
    pub luma: u8,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scene {
    /// A textured background and a bright object crossing it.
    Moving,
    /// Nothing moves: the brightness flickers and every pixel carries sensor noise.
    Flicker,
    /// A dark car parked in every frame and a person walking up beside it.
    ParkedCarAndPerson,
    /// An object moving only inside the top-left quarter (the camera's ignore zone).
    InIgnoreZone,
}

impl Scene {
    /// Where the moving object is in frame `i`, if the scene has one.
    pub fn mover(self, i: usize) -> Option<Obj> {
        match self {
            Scene::Moving => Some(Obj {
                x: 20 + 6 * i,
                y: 100,
                w: 40,
                h: 60,
                luma: 235,
            }),
            Scene::ParkedCarAndPerson => Some(Obj {
                x: 10 + 4 * i,
                y: 100,
                w: 30,
                h: 70,
                luma: 230,
            }),
            Scene::InIgnoreZone => Some(Obj {
                x: 10 + (i % 20) * 4,
                y: 20,
                w: 30,
                h: 40,
                luma: 235,
            }),
            Scene::Flicker => None,
        }
    }

    pub fn parked_car(self) -> Option<Obj> {
        (self == Scene::ParkedCarAndPerson).then_some(Obj {
            x: 175,
            y: 110,
            w: 120,
            h: 60,
            luma: 40,
        })
    }

    /// I420 of frame `i`.
    pub fn render(self, i: usize) -> Vec<u8> {
        let mut yuv = vec![128u8; W * H * 3 / 2];
        let shift: i32 = if self == Scene::Flicker {
            [0, 12, -8, 15, -12][i % 5]
        } else {
            0
        };
        let mut seed = (i as u32).wrapping_mul(2654435761).wrapping_add(12345);
        for y in 0..H {
            for x in 0..W {
                // A smooth pattern with some texture, like a garden wall.
                let base = 70 + ((x / 16 + y / 16) % 2) as i32 * 30 + ((x * 7 + y * 3) % 23) as i32;
                let noise = if self == Scene::Flicker {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed % 13) as i32 - 6
                } else {
                    0
                };
                yuv[y * W + x] = (base + shift + noise).clamp(0, 255) as u8;
            }
        }
        for o in self.parked_car().into_iter().chain(self.mover(i)) {
            for y in o.y..(o.y + o.h).min(H) {
                for x in o.x..(o.x + o.w).min(W) {
                    yuv[y * W + x] = o.luma;
                }
            }
        }
        yuv
    }
}

/// An encoded clip: parameter sets and per-frame NALs without start codes.
pub struct Encoded {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    pub frames: Vec<(bool, Vec<Vec<u8>>)>,
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    &nal[zeros + 1..]
}

/// openh264 (Baseline, CAVLC) at 10 fps, a key frame every 2 s.
pub fn encode(scene: Scene) -> Encoded {
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(GOP))
        .rate_control_mode(RateControlMode::Quality)
        .skip_frames(false);
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config).unwrap();
    let (mut sps, mut pps, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..FRAMES {
        let yuv = YUVBuffer::from_vec(scene.render(i), W, H);
        let bits = encoder.encode(&yuv).unwrap();
        let key = matches!(bits.frame_type(), FrameType::IDR | FrameType::I);
        let stream = bits.to_vec();
        let mut nals = Vec::new();
        for nal in openh264::nal_units(&stream) {
            let nal = strip_start_code(nal);
            match nal[0] & 0x1f {
                7 => sps = nal.to_vec(),
                8 => pps = nal.to_vec(),
                _ => nals.push(nal.to_vec()),
            }
        }
        assert!(!nals.is_empty(), "frame {i} was skipped by the encoder");
        frames.push((key, nals));
    }
    Encoded { sps, pps, frames }
}

fn sample(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out
}

fn enc<T: Encode>(atom: &T, out: &mut Vec<u8>) {
    atom.encode(out).unwrap();
}

const TIMESCALE: u32 = 10_000;

fn trak(e: &Encoded, stbl: Stbl, duration: u64) -> Trak {
    Trak {
        tkhd: Tkhd {
            track_id: 1,
            enabled: true,
            width: (W as u16).into(),
            height: (H as u16).into(),
            ..Default::default()
        },
        edts: None,
        meta: None,
        mdia: Mdia {
            mdhd: Mdhd {
                timescale: TIMESCALE,
                duration,
                language: "und".into(),
                ..Default::default()
            },
            hdlr: Hdlr {
                handler: b"vide".into(),
                name: "video".into(),
            },
            minf: Minf {
                vmhd: Some(Vmhd::default()),
                dinf: Dinf {
                    dref: Dref {
                        urls: vec![Url::default()],
                    },
                },
                stbl: Stbl {
                    stsd: Stsd {
                        codecs: vec![Avc1 {
                            visual: Visual {
                                width: W as u16,
                                height: H as u16,
                                ..Default::default()
                            },
                            avcc: Avcc {
                                configuration_version: 1,
                                avc_profile_indication: e.sps[1],
                                profile_compatibility: e.sps[2],
                                avc_level_indication: e.sps[3],
                                length_size: 4,
                                sequence_parameter_sets: vec![e.sps.clone()],
                                picture_parameter_sets: vec![e.pps.clone()],
                                ext: None,
                            },
                            btrt: None,
                            colr: None,
                            pasp: None,
                            taic: None,
                            fiel: None,
                        }
                        .into()],
                    },
                    ..stbl
                },
                ..Default::default()
            },
        },
        senc: None,
        udta: None,
    }
}

fn mvhd() -> Mvhd {
    Mvhd {
        creation_time: 0,
        modification_time: 0,
        timescale: 1000,
        duration: 0,
        rate: 1.into(),
        volume: 1.into(),
        matrix: Matrix::default(),
        next_track_id: 2,
    }
}

fn ftyp() -> Ftyp {
    Ftyp {
        major_brand: b"isom".into(),
        minor_version: 512,
        compatible_brands: vec![b"isom".into(), b"avc1".into()],
    }
}

/// ftyp, moov (sample tables), mdat.
pub fn mux_plain(e: &Encoded) -> Vec<u8> {
    let samples: Vec<Vec<u8>> = e.frames.iter().map(|(_, n)| sample(n)).collect();
    let delta = TIMESCALE / FPS;
    let build = |offset: u32| {
        let stbl = Stbl {
            stts: Stts {
                entries: vec![SttsEntry {
                    sample_count: samples.len() as u32,
                    sample_delta: delta,
                }],
            },
            stss: Some(Stss {
                entries: e
                    .frames
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.0)
                    .map(|(i, _)| i as u32 + 1)
                    .collect(),
            }),
            stsc: Stsc {
                entries: vec![StscEntry {
                    first_chunk: 1,
                    samples_per_chunk: samples.len() as u32,
                    sample_description_index: 1,
                }],
            },
            stsz: Stsz {
                samples: StszSamples::Different {
                    sizes: samples.iter().map(|s| s.len() as u32).collect(),
                },
            },
            stco: Some(Stco {
                entries: vec![offset],
            }),
            ..Default::default()
        };
        Moov {
            mvhd: mvhd(),
            meta: None,
            mvex: None,
            trak: vec![trak(e, stbl, u64::from(delta) * samples.len() as u64)],
            udta: None,
        }
    };
    let mut head = Vec::new();
    enc(&ftyp(), &mut head);
    let mut moov = Vec::new();
    enc(&build(0), &mut moov);
    let offset = (head.len() + moov.len() + 8) as u32;
    enc(&build(offset), &mut head);
    enc(
        &Mdat {
            data: samples.concat(),
        },
        &mut head,
    );
    head
}

/// ftyp, an empty moov with mvex, then one moof + mdat per GOP (as NVRs write).
pub fn mux_fragmented(e: &Encoded) -> Vec<u8> {
    let mut out = Vec::new();
    enc(&ftyp(), &mut out);
    let moov = Moov {
        mvhd: mvhd(),
        meta: None,
        mvex: Some(Mvex {
            mehd: None,
            trex: vec![Trex {
                track_id: 1,
                default_sample_description_index: 1,
                ..Default::default()
            }],
        }),
        trak: vec![trak(
            e,
            Stbl {
                stco: Some(Stco::default()),
                ..Default::default()
            },
            0,
        )],
        udta: None,
    };
    enc(&moov, &mut out);
    let delta = TIMESCALE / FPS;
    let mut start = 0;
    let mut seq = 1;
    while start < e.frames.len() {
        let end = (start + 1..e.frames.len())
            .find(|&i| e.frames[i].0)
            .unwrap_or(e.frames.len());
        let samples: Vec<Vec<u8>> = e.frames[start..end]
            .iter()
            .map(|(_, n)| sample(n))
            .collect();
        let entries: Vec<TrunEntry> = e.frames[start..end]
            .iter()
            .zip(&samples)
            .map(|((key, _), s)| TrunEntry {
                duration: Some(delta),
                size: Some(s.len() as u32),
                flags: Some(if *key { 0x0200_0000 } else { 0x0101_0000 }),
                cts: None,
            })
            .collect();
        let moof = |data_offset: i32| Moof {
            mfhd: Mfhd {
                sequence_number: seq,
            },
            traf: vec![Traf {
                tfhd: Tfhd {
                    track_id: 1,
                    ..Default::default()
                },
                tfdt: Some(Tfdt {
                    base_media_decode_time: start as u64 * u64::from(delta),
                }),
                trun: vec![Trun {
                    data_offset: Some(data_offset),
                    entries: entries.clone(),
                }],
                ..Default::default()
            }],
        };
        let mut probe = Vec::new();
        enc(&moof(0), &mut probe);
        enc(&moof(probe.len() as i32 + 8), &mut out);
        enc(
            &Mdat {
                data: samples.concat(),
            },
            &mut out,
        );
        start = end;
        seq += 1;
    }
    out
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
