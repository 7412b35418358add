//! An [`Encoded`] clip into MP4 with `mp4-atom`: plain (ftyp, moov with sample tables, one
//! mdat), as exports are written, or fragmented (an empty moov, then one moof + mdat per GOP), as
//! NVRs record.

use mp4_atom::{
    Avc1, Avcc, Dinf, Dref, Encode, Ftyp, Hdlr, Matrix, Mdat, Mdhd, Mdia, Mfhd, Minf, Moof, Moov,
    Mvex, Mvhd, Stbl, Stco, Stsc, StscEntry, Stsd, Stss, Stsz, StszSamples, Stts, SttsEntry, Tfdt,
    Tfhd, Tkhd, Traf, Trak, Trex, Trun, TrunEntry, Url, Visual, Vmhd,
};

use crate::encode::Encoded;
use crate::scene::{FPS, H, W};
use crate::Error;

fn sample(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out
}

fn enc<T: Encode>(atom: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    atom.encode(out).map_err(|e| Error::Mux(e.to_string()))
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
pub fn mux_plain(e: &Encoded) -> Result<Vec<u8>, Error> {
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
    enc(&ftyp(), &mut head)?;
    let mut moov = Vec::new();
    enc(&build(0), &mut moov)?;
    let offset = (head.len() + moov.len() + 8) as u32;
    enc(&build(offset), &mut head)?;
    enc(
        &Mdat {
            data: samples.concat(),
        },
        &mut head,
    )?;
    Ok(head)
}

/// ftyp, an empty moov with mvex, then one moof + mdat per GOP (as NVRs write).
pub fn mux_fragmented(e: &Encoded) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    enc(&ftyp(), &mut out)?;
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
    enc(&moov, &mut out)?;
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
        enc(&moof(0), &mut probe)?;
        enc(&moof(probe.len() as i32 + 8), &mut out)?;
        enc(
            &Mdat {
                data: samples.concat(),
            },
            &mut out,
        )?;
        start = end;
        seq += 1;
    }
    Ok(out)
}
