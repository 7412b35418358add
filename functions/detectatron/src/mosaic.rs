//! Crops of the motion regions (padded, at least 80 px a side) and their tiling into one image
//! for a single DetectLabels call, encoded as JPEG straight from the YUV planes; returned
//! instance boxes are mapped back to their crop and frame. In `frames` mode each crop is its own
//! image and the same mapping applies with one tile. [`Layout::place`] is the mapping the other
//! way, for labelers scripted to answer like Rekognition. Over 400 lines for its table tests.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::decode::Frame;
use crate::motion::Rect;

/// Rekognition's smallest side and largest image.
pub const MIN_SIDE: u32 = 80;
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Grey gutter between tiles, so a box never straddles two crops.
const GUTTER: u32 = 16;

/// The crop around a motion box: padded by a quarter each side, grown to `MIN_SIDE`, inside the
/// frame. Even offsets and sizes keep chroma aligned.
pub fn crop_rect(motion: Rect, frame_w: u32, frame_h: u32) -> Rect {
    let grow = |start: u32, len: u32, limit: u32| {
        let pad = len / 4;
        let want = (len + 2 * pad).max(MIN_SIDE).min(limit);
        let centre = start + len / 2;
        let s = centre.saturating_sub(want / 2).min(limit - want);
        (s & !1, (want & !1).min(limit - (s & !1)) & !1)
    };
    let (x, w) = grow(motion.x, motion.w, frame_w);
    let (y, h) = grow(motion.y, motion.h, frame_h);
    Rect { x, y, w, h }
}

/// A box in coordinates normalised to an image, as Rekognition returns it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NormBox {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Where each crop sits in the mosaic.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    /// Top-left of each crop's tile, in crop order.
    pub origins: Vec<(u32, u32)>,
    pub sizes: Vec<(u32, u32)>,
}

/// Tiles crops row by row, `ceil(sqrt(n))` to a row, each row as tall as its tallest crop.
pub fn layout(sizes: &[(u32, u32)]) -> Layout {
    let per_row = (sizes.len() as f64).sqrt().ceil().max(1.0) as usize;
    let (mut origins, mut width, mut y) = (Vec::new(), 0u32, 0u32);
    for row in sizes.chunks(per_row) {
        let mut x = 0;
        for &(w, _) in row {
            origins.push((x, y));
            x += w + GUTTER;
        }
        width = width.max(x - GUTTER);
        y += row.iter().map(|s| s.1).max().unwrap_or(0) + GUTTER;
    }
    let height = y.saturating_sub(GUTTER);
    Layout {
        width: width.max(MIN_SIDE),
        height: height.max(MIN_SIDE),
        origins,
        sizes: sizes.to_vec(),
    }
}

impl Layout {
    /// The crop a box belongs to (by its centre) and the box in that crop's pixels, clipped to
    /// it; `None` for a box centred on a gutter.
    pub fn map_back(&self, b: &NormBox) -> Option<(usize, Rect)> {
        let (w, h) = (self.width as f32, self.height as f32);
        let (x0, y0) = (b.left * w, b.top * h);
        let (x1, y1) = (x0 + b.width * w, y0 + b.height * h);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        self.origins
            .iter()
            .zip(&self.sizes)
            .enumerate()
            .find_map(|(i, (&(ox, oy), &(tw, th)))| {
                let (ox, oy, tw, th) = (ox as f32, oy as f32, tw as f32, th as f32);
                if cx < ox || cy < oy || cx >= ox + tw || cy >= oy + th {
                    return None;
                }
                let cx0 = (x0 - ox).clamp(0.0, tw);
                let cy0 = (y0 - oy).clamp(0.0, th);
                let cx1 = (x1 - ox).clamp(0.0, tw);
                let cy1 = (y1 - oy).clamp(0.0, th);
                Some((
                    i,
                    Rect {
                        x: cx0.round() as u32,
                        y: cy0.round() as u32,
                        w: (cx1 - cx0).round() as u32,
                        h: (cy1 - cy0).round() as u32,
                    },
                ))
            })
    }
}

impl Layout {
    /// The other way round from [`Layout::map_back`]: where an object at `object` (frame pixels)
    /// shows in the mosaic of `crops` (the crops' rects in their frames, in tile order): one box
    /// per crop that shows part of it, with that crop's index, normalised to the mosaic. What a labeler looking at the
    /// mosaic would answer; the demo's scripted labeler places its boxes with it.
    pub fn place(&self, crops: &[Rect], object: &Rect) -> Vec<(usize, NormBox)> {
        let (mw, mh) = (self.width as f32, self.height as f32);
        crops
            .iter()
            .zip(&self.origins)
            .enumerate()
            .filter_map(|(i, (crop, &(ox, oy)))| {
                let (x0, y0) = (object.x.max(crop.x), object.y.max(crop.y));
                let x1 = (object.x + object.w).min(crop.x + crop.w);
                let y1 = (object.y + object.h).min(crop.y + crop.h);
                (x1 > x0 && y1 > y0).then(|| {
                    let b = NormBox {
                        left: (ox + x0 - crop.x) as f32 / mw,
                        top: (oy + y0 - crop.y) as f32 / mh,
                        width: (x1 - x0) as f32 / mw,
                        height: (y1 - y0) as f32 / mh,
                    };
                    (i, b)
                })
            })
            .collect()
    }
}

/// A crop's box moved into its frame's pixels.
pub fn to_frame(crop: &Rect, in_crop: &Rect) -> Rect {
    Rect {
        x: crop.x + in_crop.x,
        y: crop.y + in_crop.y,
        w: in_crop.w,
        h: in_crop.h,
    }
}

/// Encodes the tiles (each `(frame, crop)`) as one JPEG from the YUV planes (YCbCr, no RGB
/// step), lowering quality until it fits Rekognition's 5 MB.
pub fn encode(
    tiles: &[(&Frame, Rect)],
    layout: &Layout,
) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let (w, h) = (layout.width as usize, layout.height as usize);
    let mut ycbcr = vec![0u8; w * h * 3];
    for px in ycbcr.chunks_exact_mut(3) {
        px.copy_from_slice(&[128, 128, 128]);
    }
    for ((frame, crop), &(ox, oy)) in tiles.iter().zip(&layout.origins) {
        let cw = frame.width.div_ceil(2);
        for row in 0..crop.h as usize {
            let fy = crop.y as usize + row;
            let out = ((oy as usize + row) * w + ox as usize) * 3;
            for col in 0..crop.w as usize {
                let fx = crop.x as usize + col;
                let c = (fy / 2) * cw + fx / 2;
                let o = out + col * 3;
                ycbcr[o] = frame.y[fy * frame.width + fx];
                ycbcr[o + 1] = frame.u[c];
                ycbcr[o + 2] = frame.v[c];
            }
        }
    }
    let mut quality = 85;
    loop {
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, quality);
        encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
        encoder.encode(&ycbcr, w as u16, h as u16, ColorType::Ycbcr)?;
        if jpeg.len() <= MAX_IMAGE_BYTES || quality <= 30 {
            return Ok(jpeg);
        }
        quality -= 20;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_boxes_map_back_to_the_object_clipped_to_each_crop() {
        let crops = [
            Rect {
                x: 0,
                y: 0,
                w: 100,
                h: 80,
            },
            Rect {
                x: 150,
                y: 100,
                w: 90,
                h: 90,
            },
        ];
        let l = layout(&[(100, 80), (90, 90)]);
        type Case = (&'static str, Rect, Vec<(usize, Rect)>);
        let cases: Vec<Case> = vec![
            (
                "inside the first crop",
                Rect {
                    x: 10,
                    y: 20,
                    w: 30,
                    h: 40,
                },
                vec![(
                    0,
                    Rect {
                        x: 10,
                        y: 20,
                        w: 30,
                        h: 40,
                    },
                )],
            ),
            (
                "across the second crop's edge",
                Rect {
                    x: 200,
                    y: 150,
                    w: 80,
                    h: 80,
                },
                vec![(
                    1,
                    Rect {
                        x: 50,
                        y: 50,
                        w: 40,
                        h: 40,
                    },
                )],
            ),
            (
                "in no crop",
                Rect {
                    x: 110,
                    y: 0,
                    w: 30,
                    h: 30,
                },
                vec![],
            ),
        ];
        for (name, object, want) in cases {
            let got: Vec<(usize, Rect)> = l
                .place(&crops, &object)
                .iter()
                .map(|(i, b)| {
                    let back = l.map_back(b).expect(name);
                    assert_eq!(back.0, *i, "{name}: the box is in its crop's tile");
                    back
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn crops_are_padded_at_least_80_px_and_inside_the_frame() {
        let cases = [
            (
                "small box grows to 80",
                Rect {
                    x: 100,
                    y: 100,
                    w: 10,
                    h: 10,
                },
                Rect {
                    x: 64,
                    y: 64,
                    w: 80,
                    h: 80,
                },
            ),
            (
                "padded by a quarter",
                Rect {
                    x: 100,
                    y: 100,
                    w: 100,
                    h: 100,
                },
                Rect {
                    x: 74,
                    y: 74,
                    w: 150,
                    h: 150,
                },
            ),
            (
                "at the corner stays inside",
                Rect {
                    x: 0,
                    y: 0,
                    w: 10,
                    h: 10,
                },
                Rect {
                    x: 0,
                    y: 0,
                    w: 80,
                    h: 80,
                },
            ),
            (
                "at the far edge",
                Rect {
                    x: 310,
                    y: 230,
                    w: 10,
                    h: 10,
                },
                Rect {
                    x: 240,
                    y: 160,
                    w: 80,
                    h: 80,
                },
            ),
        ];
        for (name, motion, want) in cases {
            let got = crop_rect(motion, 320, 240);
            assert_eq!(got, want, "{name}");
            assert!(
                Rect {
                    x: 0,
                    y: 0,
                    w: 320,
                    h: 240
                }
                .contains(&got),
                "{name}: inside"
            );
            assert!(got.contains(&motion), "{name}: holds the motion");
        }
    }

    #[test]
    fn boxes_map_back_to_their_crop() {
        // Two crops side by side: 100x80 then 80x120, with the gutter between.
        let l = layout(&[(100, 80), (80, 120)]);
        assert_eq!((l.width, l.height), (196, 120));
        let px = |x: f32, y: f32, w: f32, h: f32| NormBox {
            left: x / 196.0,
            top: y / 120.0,
            width: w / 196.0,
            height: h / 120.0,
        };
        let cases = [
            (
                "inside the first crop",
                px(10.0, 20.0, 30.0, 40.0),
                Some((
                    0,
                    Rect {
                        x: 10,
                        y: 20,
                        w: 30,
                        h: 40,
                    },
                )),
            ),
            (
                "inside the second crop",
                px(126.0, 10.0, 20.0, 100.0),
                Some((
                    1,
                    Rect {
                        x: 10,
                        y: 10,
                        w: 20,
                        h: 100,
                    },
                )),
            ),
            (
                "spilling over is clipped to the crop",
                px(85.0, 0.0, 20.0, 10.0),
                Some((
                    0,
                    Rect {
                        x: 85,
                        y: 0,
                        w: 15,
                        h: 10,
                    },
                )),
            ),
            ("centred on the gutter", px(101.0, 0.0, 12.0, 10.0), None),
            (
                "below the short first crop",
                px(10.0, 90.0, 10.0, 20.0),
                None,
            ),
        ];
        for (name, b, want) in cases {
            assert_eq!(l.map_back(&b), want, "{name}");
        }
        let crop = Rect {
            x: 40,
            y: 60,
            w: 100,
            h: 80,
        };
        assert_eq!(
            to_frame(
                &crop,
                &Rect {
                    x: 10,
                    y: 20,
                    w: 30,
                    h: 40
                }
            ),
            Rect {
                x: 50,
                y: 80,
                w: 30,
                h: 40
            }
        );
    }

    #[test]
    fn mosaic_is_a_jpeg_of_the_layout() {
        let frame = Frame {
            sample: 0,
            time_ms: 0,
            width: 160,
            height: 120,
            y: vec![90; 160 * 120],
            u: vec![100; 80 * 60],
            v: vec![150; 80 * 60],
        };
        let crops = [
            (
                &frame,
                Rect {
                    x: 0,
                    y: 0,
                    w: 80,
                    h: 80,
                },
            ),
            (
                &frame,
                Rect {
                    x: 80,
                    y: 40,
                    w: 80,
                    h: 80,
                },
            ),
        ];
        let l = layout(&[(80, 80), (80, 80)]);
        let jpeg = encode(&crops, &l).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "SOI marker");
        // SOF0: height then width after the 0xFFC0 marker, length and precision.
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        let h = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
        let w = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
        assert_eq!((w, h), (176, 80));
    }
}
