//! The scenes: a textured wall drawn in I420 and the objects on it, frame by frame, with what a
//! labeler would call each object. Pure drawing; encoding is `encode`'s.

pub const W: usize = 320;
pub const H: usize = 240;
pub const FPS: u32 = 10;
pub const FRAMES: usize = 40;
pub const GOP: u32 = 20;

/// A rectangle drawn into a scene, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Obj {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
    pub luma: u8,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scene {
    /// A textured background and a bright object (a person) crossing it.
    Moving,
    /// Nothing moves: the brightness flickers and every pixel carries sensor noise.
    Flicker,
    /// A dark car parked in every frame and a person walking up beside it.
    ParkedCarAndPerson,
    /// An object moving only inside the top-left quarter (the camera's ignore zone).
    InIgnoreZone,
    /// A tree whose leaf clusters sway back and forth in the wind; nothing else moves.
    TreesInWind,
    /// The parked car again, and a small cat crossing the bottom of the frame away from it.
    ParkedCarAndCat,
}

/// The tree's leaf clusters (at rest) and its trunk.
const LEAVES: [Obj; 4] = [
    Obj {
        x: 200,
        y: 20,
        w: 40,
        h: 34,
        luma: 45,
    },
    Obj {
        x: 236,
        y: 12,
        w: 44,
        h: 40,
        luma: 50,
    },
    Obj {
        x: 210,
        y: 50,
        w: 46,
        h: 36,
        luma: 40,
    },
    Obj {
        x: 252,
        y: 46,
        w: 40,
        h: 38,
        luma: 48,
    },
];
const TRUNK: Obj = Obj {
    x: 244,
    y: 84,
    w: 12,
    h: 90,
    luma: 60,
};
/// Sideways sway of a leaf cluster, in pixels, through one gust.
const SWAY: [isize; 8] = [0, 5, 9, 5, 0, -5, -9, -5];

impl Scene {
    /// Where the moving object is in frame `i`, if the scene has one that crosses it.
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
            Scene::ParkedCarAndCat => Some(Obj {
                x: 8 + 3 * i,
                y: 196,
                w: 30,
                h: 18,
                luma: 215,
            }),
            Scene::Flicker | Scene::TreesInWind => None,
        }
    }

    pub fn parked_car(self) -> Option<Obj> {
        matches!(self, Scene::ParkedCarAndPerson | Scene::ParkedCarAndCat).then_some(Obj {
            x: 175,
            y: 110,
            w: 120,
            h: 60,
            luma: 40,
        })
    }

    /// The leaf clusters in frame `i` (each sways on its own beat) and the trunk.
    fn tree(self, i: usize) -> Vec<Obj> {
        if self != Scene::TreesInWind {
            return Vec::new();
        }
        let mut parts: Vec<Obj> = LEAVES
            .iter()
            .enumerate()
            .map(|(k, leaf)| Obj {
                x: leaf.x.saturating_add_signed(SWAY[(i + 2 * k) % SWAY.len()]),
                ..*leaf
            })
            .collect();
        parts.push(TRUNK);
        parts
    }

    /// What is drawn in frame `i`, each with the label a labeler would give it (a person, a cat,
    /// a car; a tree as the box around its leaves and trunk).
    pub fn objects(self, i: usize) -> Vec<(&'static str, Obj)> {
        let mut out = Vec::new();
        if let Some(car) = self.parked_car() {
            out.push(("Car", car));
        }
        if let Some(m) = self.mover(i) {
            let name = if self == Scene::ParkedCarAndCat {
                "Cat"
            } else {
                "Person"
            };
            out.push((name, m));
        }
        let tree = self.tree(i);
        if let Some(first) = tree.first() {
            let (x0, y0) = tree
                .iter()
                .fold((first.x, first.y), |(x, y), o| (x.min(o.x), y.min(o.y)));
            let (x1, y1) = tree
                .iter()
                .fold((0, 0), |(x, y), o| (x.max(o.x + o.w), y.max(o.y + o.h)));
            out.push((
                "Tree",
                Obj {
                    x: x0,
                    y: y0,
                    w: x1 - x0,
                    h: y1 - y0,
                    luma: 0,
                },
            ));
        }
        out
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
        let drawn = self
            .parked_car()
            .into_iter()
            .chain(self.tree(i))
            .chain(self.mover(i));
        for o in drawn {
            for y in o.y..(o.y + o.h).min(H) {
                for x in o.x..(o.x + o.w).min(W) {
                    yuv[y * W + x] = o.luma;
                }
            }
        }
        yuv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_name_what_is_drawn_where_it_is() {
        let cases = [
            (Scene::Moving, 3, vec!["Person"]),
            (Scene::Flicker, 3, vec![]),
            (Scene::ParkedCarAndPerson, 3, vec!["Car", "Person"]),
            (Scene::TreesInWind, 3, vec!["Tree"]),
            (Scene::ParkedCarAndCat, 3, vec!["Car", "Cat"]),
        ];
        for (scene, i, want) in cases {
            let objects = scene.objects(i);
            let names: Vec<&str> = objects.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, want, "{scene:?}");
            let frame = scene.render(i);
            for (name, o) in objects.iter().filter(|(n, _)| *n != "Tree") {
                let centre = frame[(o.y + o.h / 2) * W + o.x + o.w / 2];
                assert_eq!(
                    centre, o.luma,
                    "{scene:?}: the {name} is drawn where it is said to be"
                );
            }
        }
    }

    #[test]
    fn the_leaves_sway_and_the_trunk_stays() {
        let (a, b) = (Scene::TreesInWind.render(0), Scene::TreesInWind.render(2));
        let changed = a
            .iter()
            .zip(&b)
            .filter(|(p, q)| p.abs_diff(**q) > 22)
            .count();
        assert!(
            changed > 200,
            "only {changed} pixels changed between frames 0 and 2"
        );
        let trunk = (TRUNK.y + TRUNK.h / 2) * W + TRUNK.x + TRUNK.w / 2;
        assert_eq!((a[trunk], b[trunk]), (TRUNK.luma, TRUNK.luma));
    }

    #[test]
    fn the_cat_crosses_away_from_the_car() {
        let car = Scene::ParkedCarAndCat.parked_car().unwrap();
        for i in 0..FRAMES {
            let cat = Scene::ParkedCarAndCat.mover(i).unwrap();
            assert!(
                cat.y >= car.y + car.h + 20,
                "frame {i}: the cat is below the car"
            );
            assert!(
                cat.x + cat.w <= W && cat.y + cat.h <= H,
                "frame {i}: inside the frame"
            );
        }
    }
}
