//! Motion boxes from two decoded pictures: luma downscaled into cells, ignore-zone cells removed
//! first, a global brightness shift (flicker, auto-exposure) subtracted, changed cells grouped
//! into regions and regions under the noise floor dropped. Pure; pictures come from `decode`.

use crate::config::Point;

// Boxes are written into the result document, so the rectangle is the contract's.
pub use failberry_proto::clips::result::Rect;

/// Luma averaged over square cells of `cell` pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Cells {
    pub cols: usize,
    pub rows: usize,
    pub cell: usize,
    pub values: Vec<u8>,
}

/// The cell size that gives about 160 cells across.
pub fn cell_size(width: usize) -> usize {
    width.div_ceil(160).max(1)
}

pub fn downscale(luma: &[u8], width: usize, height: usize, cell: usize) -> Cells {
    let cols = width / cell;
    let rows = height / cell;
    let mut values = vec![0u8; cols * rows];
    let mut sums = vec![0u32; cols];
    for r in 0..rows {
        sums.iter_mut().for_each(|s| *s = 0);
        for y in r * cell..(r + 1) * cell {
            let line = &luma[y * width..y * width + cols * cell];
            for (c, chunk) in line.chunks_exact(cell).enumerate() {
                sums[c] += chunk.iter().map(|&p| u32::from(p)).sum::<u32>();
            }
        }
        let n = (cell * cell) as u32;
        for c in 0..cols {
            values[r * cols + c] = (sums[c] / n) as u8;
        }
    }
    Cells {
        cols,
        rows,
        cell,
        values,
    }
}

/// Cells whose centre lies inside any zone (normalised polygons).
pub fn zone_mask(cols: usize, rows: usize, zones: &[Vec<Point>]) -> Vec<bool> {
    let mut mask = vec![false; cols * rows];
    if zones.is_empty() {
        return mask;
    }
    for r in 0..rows {
        for c in 0..cols {
            let p = [
                (c as f32 + 0.5) / cols as f32,
                (r as f32 + 0.5) / rows as f32,
            ];
            mask[r * cols + c] = zones.iter().any(|z| inside(p, z));
        }
    }
    mask
}

/// Even-odd ray casting.
fn inside(p: Point, poly: &[Point]) -> bool {
    let mut hit = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            hit = !hit;
        }
        j = i;
    }
    hit
}

/// What the differencing found.
#[derive(Clone, Debug, PartialEq)]
pub struct Motion {
    /// Regions over the noise floor, largest first, in frame pixels.
    pub boxes: Vec<Rect>,
    /// Changed cells outside the ignore zones before the noise floor.
    pub changed_cells: usize,
    /// Changed cells inside ignore zones (removed).
    pub ignored_cells: usize,
    /// Mean brightness shift that was compensated.
    pub global_shift: f32,
}

/// Differences two pictures' cells (same grid). `mask` marks ignored cells.
pub fn detect(a: &Cells, b: &Cells, mask: &[bool], threshold: u8, min_cells: usize) -> Motion {
    let n = a.values.len();
    let (mut sum, mut count) = (0i64, 0i64);
    for ((&va, &vb), &ignored) in a.values.iter().zip(&b.values).zip(mask) {
        if !ignored {
            sum += i64::from(vb) - i64::from(va);
            count += 1;
        }
    }
    let shift = if count == 0 {
        0.0
    } else {
        sum as f32 / count as f32
    };
    let mut changed = vec![false; n];
    let (mut changed_cells, mut ignored_cells) = (0, 0);
    for (i, ((&va, &vb), &ignored)) in a.values.iter().zip(&b.values).zip(mask).enumerate() {
        let d = (f32::from(vb) - f32::from(va) - shift).abs();
        if d > f32::from(threshold) {
            if ignored {
                ignored_cells += 1;
            } else {
                changed[i] = true;
                changed_cells += 1;
            }
        }
    }
    let mut boxes: Vec<(usize, Rect)> = regions(&changed, a.cols, a.rows)
        .into_iter()
        .filter(|(cells, _)| *cells >= min_cells)
        .map(|(cells, (c0, r0, c1, r1))| {
            let k = a.cell as u32;
            (
                cells,
                Rect {
                    x: c0 as u32 * k,
                    y: r0 as u32 * k,
                    w: (c1 - c0 + 1) as u32 * k,
                    h: (r1 - r0 + 1) as u32 * k,
                },
            )
        })
        .collect();
    boxes.sort_by(|x, y| y.1.area().cmp(&x.1.area()).then(y.0.cmp(&x.0)));
    Motion {
        boxes: boxes.into_iter().map(|(_, r)| r).collect(),
        changed_cells,
        ignored_cells,
        global_shift: shift,
    }
}

/// Connected regions (8-neighbour, bridging one-cell gaps): (cells, (c0, r0, c1, r1)).
fn regions(
    changed: &[bool],
    cols: usize,
    rows: usize,
) -> Vec<(usize, (usize, usize, usize, usize))> {
    let mut seen = vec![false; changed.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..changed.len() {
        if !changed[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut cells, mut c0, mut r0, mut c1, mut r1) = (0, cols, rows, 0, 0);
        while let Some(i) = stack.pop() {
            let (r, c) = (i / cols, i % cols);
            cells += 1;
            (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
            for dr in -2i64..=2 {
                for dc in -2i64..=2 {
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
                        continue;
                    }
                    let j = nr as usize * cols + nc as usize;
                    if changed[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push((cells, (c0, r0, c1, r1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(cols: usize, rows: usize, base: u8, set: &[(usize, usize, u8)]) -> Cells {
        let mut values = vec![base; cols * rows];
        for &(c, r, v) in set {
            values[r * cols + c] = v;
        }
        Cells {
            cols,
            rows,
            cell: 4,
            values,
        }
    }

    fn block(c0: usize, r0: usize, n: usize, v: u8) -> Vec<(usize, usize, u8)> {
        (0..n * n).map(|i| (c0 + i % n, r0 + i / n, v)).collect()
    }

    #[test]
    fn differencing_cases() {
        let still = grid(20, 20, 100, &[]);
        type Case = (&'static str, Cells, Vec<Vec<Point>>, Vec<Rect>);
        let cases: Vec<Case> = vec![
            ("nothing changed", grid(20, 20, 100, &[]), vec![], vec![]),
            (
                "uniform flicker is compensated",
                grid(20, 20, 160, &[]),
                vec![],
                vec![],
            ),
            (
                "a 3x3 object",
                grid(20, 20, 100, &block(5, 6, 3, 220)),
                vec![],
                vec![Rect {
                    x: 20,
                    y: 24,
                    w: 12,
                    h: 12,
                }],
            ),
            (
                "a 2x2 speck is under the noise floor",
                grid(20, 20, 100, &block(5, 6, 2, 220)),
                vec![],
                vec![],
            ),
            (
                "an object inside an ignore zone",
                grid(20, 20, 100, &block(1, 1, 3, 220)),
                vec![vec![[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]],
                vec![],
            ),
            (
                "flicker plus an object",
                {
                    let mut g = grid(20, 20, 130, &block(12, 12, 4, 250));
                    g.values[0] = 131;
                    g
                },
                vec![],
                vec![Rect {
                    x: 48,
                    y: 48,
                    w: 16,
                    h: 16,
                }],
            ),
        ];
        for (name, now, zones, want) in cases {
            let mask = zone_mask(20, 20, &zones);
            let got = detect(&still, &now, &mask, 22, 6);
            assert_eq!(got.boxes, want, "{name}");
        }
    }

    #[test]
    fn downscale_averages_cells() {
        let mut luma = vec![0u8; 8 * 4];
        for y in 0..4 {
            for x in 4..8 {
                luma[y * 8 + x] = 200;
            }
        }
        let c = downscale(&luma, 8, 4, 4);
        assert_eq!((c.cols, c.rows, c.values.clone()), (2, 1, vec![0, 200]));
    }

    #[test]
    fn rect_geometry() {
        let a = Rect {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let b = Rect {
            x: 5,
            y: 5,
            w: 10,
            h: 10,
        };
        assert_eq!(a.intersection(&b), 25);
        assert_eq!(
            a.intersection(&Rect {
                x: 10,
                y: 0,
                w: 5,
                h: 5
            }),
            0
        );
        assert!(a.contains(&Rect {
            x: 2,
            y: 2,
            w: 3,
            h: 3
        }));
        assert!(!a.contains(&b));
    }
}
