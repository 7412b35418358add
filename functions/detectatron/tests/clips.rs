//! The analysis on clips made here: openh264-encoded scenes muxed plain and fragmented, camera-
//! like libx264 clips from ffmpeg, a truncated file, other codecs. Labels come from a scripted
//! `Labeler` (see `support::ScriptedLabeler` for why).

mod support;

use failberry_detectatron::decode::ClipDecoder;
use failberry_detectatron::demux::demux;
use failberry_detectatron::motion::Rect;
use failberry_detectatron::{
    analyse, find_motion, mosaic, ClipResult, Config, Instance, Label, Mode, NormBox, Status,
};
use failberry_proto::clips::result::Percent;
use support::{encode, mux_fragmented, mux_plain, Obj, Scene, ScriptedLabeler, FPS, FRAMES};

fn rect(o: Obj) -> Rect {
    Rect {
        x: o.x as u32,
        y: o.y as u32,
        w: o.w as u32,
        h: o.h as u32,
    }
}

fn clips(scene: Scene) -> Vec<(&'static str, Vec<u8>)> {
    let e = encode(scene);
    vec![("plain", mux_plain(&e)), ("fragmented", mux_fragmented(&e))]
}

fn zone_config() -> Config {
    Config::parse(br#"{"cameras":{"garden":{"ignore_zones":[[[0,0],[0.5,0],[0.5,0.5],[0,0.5]]]}}}"#)
        .unwrap()
}

/// Every frame chosen for motion has a motion box over the moving object and a crop holding it.
fn assert_motion_on_the_object(
    name: &str,
    scene: Scene,
    r: &ClipResult,
    frame_of_ms: impl Fn(u64) -> usize,
) {
    let with_boxes: Vec<_> = r
        .chosen_frames
        .iter()
        .filter(|c| c.motion_boxes > 0)
        .collect();
    assert!(
        !with_boxes.is_empty(),
        "{name}: no motion found: {:#?}",
        r.chosen_frames
    );
    for c in with_boxes {
        let object = rect(scene.mover(frame_of_ms(c.time_ms)).unwrap());
        let best = r
            .motion
            .iter()
            .filter(|m| m.time_ms == c.time_ms)
            .map(|m| m.rect.intersection(&object) as f64 / object.area() as f64)
            .fold(0.0, f64::max);
        assert!(
            best >= 0.8,
            "{name}: at {} ms the object {object:?} is {best:.2} covered by {:?}",
            c.time_ms,
            r.motion
        );
        assert!(
            r.crops
                .iter()
                .any(|k| k.time_ms == c.time_ms && k.rect.contains(&object)),
            "{name}: no crop at {} ms holds {object:?}: {:?}",
            c.time_ms,
            r.crops
        );
    }
}

fn nothing() -> ScriptedLabeler {
    ScriptedLabeler::new(|_| vec![])
}

/// The demo's scenes: the cat is found where it walks (and the parked car is not motion), the
/// swaying leaves are found inside the tree.
#[tokio::test]
async fn the_demo_scenes_move_where_their_objects_are() {
    for (name, clip) in clips(Scene::ParkedCarAndCat) {
        let r = analyse(&clip, &Config::default(), "yard", &nothing())
            .await
            .unwrap();
        assert_eq!(r.status, Status::Analysed, "{name}: {:?}", r.error);
        assert_motion_on_the_object(name, Scene::ParkedCarAndCat, &r, |ms| {
            (ms * u64::from(FPS) / 1000) as usize
        });
        let car = rect(Scene::ParkedCarAndCat.parked_car().unwrap());
        assert!(
            r.motion.iter().all(|m| m.rect.intersection(&car) == 0),
            "{name}: the parked car is not motion: {:?}",
            r.motion
        );
    }
    for (name, clip) in clips(Scene::TreesInWind) {
        let r = analyse(&clip, &Config::default(), "garden", &nothing())
            .await
            .unwrap();
        assert_eq!(r.status, Status::Analysed, "{name}: {:?}", r.error);
        assert!(!r.motion.is_empty(), "{name}: the leaves move");
        // Where the leaves ever are: a motion box spans a cluster's places in both frames.
        let tree = (0..FRAMES)
            .map(|i| rect(Scene::TreesInWind.objects(i)[0].1))
            .reduce(|a, b| {
                let (x, y) = (a.x.min(b.x), a.y.min(b.y));
                Rect {
                    x,
                    y,
                    w: (a.x + a.w).max(b.x + b.w) - x,
                    h: (a.y + a.h).max(b.y + b.h) - y,
                }
            })
            .unwrap();
        // Motion is found in cells of a few pixels: a cell of slack each side.
        let cell = failberry_detectatron::motion::cell_size(r.width as usize) as u32;
        let tree = Rect {
            x: tree.x - cell,
            y: tree.y - cell,
            w: tree.w + 2 * cell,
            h: tree.h + 2 * cell,
        };
        for m in &r.motion {
            assert!(
                tree.contains(&m.rect),
                "{name}: motion {:?} at {} ms outside the tree {tree:?}",
                m.rect,
                m.time_ms
            );
        }
    }
}

#[tokio::test]
async fn the_moving_object_is_found_in_the_chosen_frames() {
    for (name, clip) in clips(Scene::Moving) {
        let labeler = nothing();
        let r = analyse(&clip, &Config::default(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Analysed, "{name}: {:?}", r.error);
        assert_motion_on_the_object(name, Scene::Moving, &r, |ms| {
            (ms * u64::from(FPS) / 1000) as usize
        });
        assert_eq!(labeler.calls(), 1, "{name}: one mosaic");
        assert!(
            r.frames_decoded < r.frames_total / 2,
            "{name}: decoded {} of {}",
            r.frames_decoded,
            r.frames_total
        );
    }
}

#[tokio::test]
async fn flicker_and_sensor_noise_make_no_rekognition_call() {
    for (name, clip) in clips(Scene::Flicker) {
        let labeler = nothing();
        let r = analyse(&clip, &Config::default(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Analysed, "{name}");
        assert_eq!(labeler.calls(), 0, "{name}: {:#?}", r.chosen_frames);
        assert_eq!(r.rekognition_calls, 0, "{name}");
        assert!(r.motion.is_empty(), "{name}: {:?}", r.motion);
        assert!(
            !r.interesting && r.reason.contains("no motion"),
            "{name}: {}",
            r.reason
        );
        assert!(!r.chosen_frames.is_empty(), "{name}: frames were compared");
    }
}

#[tokio::test]
async fn motion_only_inside_an_ignore_zone_makes_no_call() {
    for (name, clip) in clips(Scene::InIgnoreZone) {
        let labeler = nothing();
        let r = analyse(&clip, &zone_config(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(labeler.calls(), 0, "{name}: {:#?}", r.motion);
        assert!(r.reason.contains("no motion"), "{name}: {}", r.reason);
        assert!(
            r.chosen_frames
                .iter()
                .any(|c| !c.why.contains(" (0 in ignore zones)")),
            "{name}: the zone removed motion"
        );
        // The same clip from a camera without the zone does have motion.
        let other = nothing();
        let r = analyse(&clip, &zone_config(), "porch", &other)
            .await
            .unwrap();
        assert_eq!(
            (other.calls(), r.motion.is_empty()),
            (1, false),
            "{name}: porch has no ignore zone"
        );
    }
}

/// Scripts a DetectLabels answer shaped like the real one: the labels Rekognition would give
/// for what is really in the mosaic, each instance box placed where that object sits in it.
fn answer_for(
    report: &failberry_detectatron::MotionReport,
    objects: &[(&str, f32, Rect)],
) -> Vec<Label> {
    let sizes: Vec<(u32, u32)> = report.crops.iter().map(|(_, r)| (r.w, r.h)).collect();
    let layout = mosaic::layout(&sizes);
    let crops: Vec<Rect> = report.crops.iter().map(|(_, r)| *r).collect();
    let mut labels: Vec<Label> = Vec::new();
    for &(name, confidence, object) in objects {
        let instances: Vec<Instance> = layout
            .place(&crops, &object)
            .into_iter()
            .map(|(_, bbox)| Instance { confidence, bbox })
            .collect();
        if !instances.is_empty() {
            labels.push(Label {
                name: name.into(),
                confidence,
                instances,
            });
        }
    }
    labels.push(Label {
        name: "Tree".into(),
        confidence: 71.0,
        instances: vec![],
    });
    labels
}

#[tokio::test]
async fn the_parked_car_does_not_count_and_the_person_does() {
    let scene = Scene::ParkedCarAndPerson;
    for (name, clip) in clips(scene) {
        let config = Config::default();
        let report = find_motion(&clip, &config, &[]).unwrap();
        assert!(!report.crops.is_empty(), "{name}: the person moves");
        let car = rect(scene.parked_car().unwrap());
        let frame_of = |f: usize| (report.frames[f].time_ms * u64::from(FPS) / 1000) as usize;
        // The person where they are in the frame the crops come from.
        let person = rect(scene.mover(frame_of(report.crops[0].0)).unwrap());
        assert!(
            report.crops.iter().any(|(_, c)| c.intersection(&car) > 0),
            "{name}: some crop shows part of the car, or the test proves nothing: {:?}",
            report.crops
        );

        let car_only = answer_for(&report, &[("Car", 98.0, car)]);
        let labeler = ScriptedLabeler::new(move |_| car_only.clone());
        let r = analyse(&clip, &config, "drive", &labeler).await.unwrap();
        assert!(!r.interesting, "{name}: {}", r.reason);
        assert!(
            r.reason.contains("Car (98%) seen away from the motion"),
            "{name}: {}",
            r.reason
        );
        assert_eq!(
            r.decision.as_ref().unwrap().noise.get("Tree"),
            Some(&Percent(71.0)),
            "{name}: noise recorded"
        );

        let both = answer_for(&report, &[("Car", 98.0, car), ("Person", 93.0, person)]);
        let labeler = ScriptedLabeler::new(move |_| both.clone());
        let r = analyse(&clip, &config, "drive", &labeler).await.unwrap();
        assert!(r.interesting, "{name}: {}", r.reason);
        assert!(
            r.reason.starts_with("Person (93%) where the motion was"),
            "{name}: {}",
            r.reason
        );
        assert_eq!(labeler.calls(), 1, "{name}: one mosaic for all crops");
        // The person's instance box came back to frame coordinates, within a pixel.
        let inst = &r
            .labels
            .iter()
            .find(|l| l.name == "Person")
            .unwrap()
            .instances[0];
        let back = inst.rect;
        assert!(
            back.x.abs_diff(person.x.max(back.x.min(person.x))) <= 1
                && back.intersection(&person) as f64 >= 0.9 * back.area() as f64,
            "{name}: mapped back to {back:?}, the person is at {person:?}"
        );
    }
}

#[tokio::test]
async fn frames_mode_sends_each_crop_and_maps_boxes_the_same() {
    let scene = Scene::ParkedCarAndPerson;
    let clip = mux_plain(&encode(scene));
    let config = Config {
        mode: Mode::Frames,
        ..Config::default()
    };
    let report = find_motion(&clip, &config, &[]).unwrap();
    let crops = report.crops.clone();
    let frame_time: Vec<u64> = report.frames.iter().map(|f| f.time_ms).collect();
    // Each image is one crop: answer with the person's box inside that crop, if it is there.
    let mut call = 0;
    let labeler = ScriptedLabeler::new(move |_| {
        let (f, crop) = crops[call];
        call += 1;
        let person = rect(
            scene
                .mover((frame_time[f] * u64::from(FPS) / 1000) as usize)
                .unwrap(),
        );
        let (x0, y0) = (person.x.max(crop.x), person.y.max(crop.y));
        let (x1, y1) = (
            (person.x + person.w).min(crop.x + crop.w),
            (person.y + person.h).min(crop.y + crop.h),
        );
        if x1 <= x0 || y1 <= y0 {
            return vec![];
        }
        let (w, h) = (crop.w as f32, crop.h as f32);
        vec![Label {
            name: "Person".into(),
            confidence: 90.0,
            instances: vec![Instance {
                confidence: 90.0,
                bbox: NormBox {
                    left: (x0 - crop.x) as f32 / w,
                    top: (y0 - crop.y) as f32 / h,
                    width: (x1 - x0) as f32 / w,
                    height: (y1 - y0) as f32 / h,
                },
            }],
        }]
    });
    let r = analyse(&clip, &config, "drive", &labeler).await.unwrap();
    assert_eq!(labeler.calls(), report.crops.len(), "one call per crop");
    assert_eq!(r.rekognition_calls as usize, report.crops.len());
    assert!(r.interesting, "{}", r.reason);
}

#[tokio::test]
async fn a_truncated_clip_gets_an_error_result() {
    for (name, clip) in clips(Scene::Moving) {
        let cut = &clip[..clip.len() * 6 / 10];
        let labeler = nothing();
        let r = analyse(cut, &Config::default(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Error, "{name}");
        assert!(
            r.error.as_deref().unwrap().contains("truncated")
                || r.error.as_deref().unwrap().contains("corrupt"),
            "{name}: {:?}",
            r.error
        );
        assert!(!r.interesting);
        assert_eq!(labeler.calls(), 0);
    }
}

#[tokio::test]
async fn other_codecs_and_interlaced_video_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let src = ["-f", "lavfi", "-i", support::CAMERA_SCENE];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "MPEG-4 part 2",
            [&src[..], &["-c:v", "mpeg4"]].concat(),
            "codec",
        ),
        (
            "interlaced H.264",
            [
                &src[..],
                &[
                    "-c:v",
                    "libx264",
                    "-flags",
                    "+ildct+ilme",
                    "-x264-params",
                    "interlaced=1",
                ],
            ]
            .concat(),
            "interlaced",
        ),
    ];
    for (name, args, says) in cases {
        let clip = support::ffmpeg(&args, &dir.path().join("clip.mp4"));
        let labeler = nothing();
        let r = analyse(&clip, &Config::default(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Unsupported, "{name}: {:?}", r.error);
        assert!(
            r.error.as_deref().unwrap().contains(says),
            "{name}: {:?}",
            r.error
        );
        assert_eq!(labeler.calls(), 0, "{name}");
    }
}

#[tokio::test]
async fn camera_like_high_profile_cabac_clips_decode_and_show_the_box() {
    let dir = tempfile::tempdir().unwrap();
    for (name, fragmented) in [("x264 plain", false), ("x264 fragmented", true)] {
        let clip = support::x264_clip(dir.path(), &format!("{fragmented}.mp4"), fragmented);
        let track = demux(&clip).unwrap();
        assert_eq!(
            track.sps[0][1], 100,
            "{name}: High profile (profile_idc 100)"
        );
        assert!(pps_uses_cabac(&track), "{name}: CABAC");
        assert_eq!(
            track.samples.iter().filter(|s| s.is_sync).count(),
            2,
            "{name}: two key frames in 4 s"
        );
        // Every frame decodes (the baseline the frame choice is measured against).
        let mut decoder = ClipDecoder::new(&track, &clip).unwrap();
        assert_eq!(
            decoder.decode_all().unwrap(),
            track.samples.len(),
            "{name}: every frame decodes"
        );

        let labeler = nothing();
        let r = analyse(&clip, &Config::default(), "garden", &labeler)
            .await
            .unwrap();
        assert_eq!(r.status, Status::Analysed, "{name}: {:?}", r.error);
        // drawbox: x = 20 + 60 t, y 100, 40x60.
        let scene_box = |ms: u64| {
            let x = 20 + (60 * ms / 1000) as usize;
            Obj {
                x,
                y: 100,
                w: 40,
                h: 60,
                luma: 255,
            }
        };
        let with_boxes: Vec<_> = r
            .chosen_frames
            .iter()
            .filter(|c| c.motion_boxes > 0)
            .collect();
        assert!(!with_boxes.is_empty(), "{name}: {:#?}", r.chosen_frames);
        for c in with_boxes {
            let object = rect(scene_box(c.time_ms));
            let covered = r
                .motion
                .iter()
                .filter(|m| m.time_ms == c.time_ms)
                .map(|m| m.rect.intersection(&object))
                .max()
                .unwrap_or(0);
            assert!(
                covered as f64 >= 0.8 * object.area() as f64,
                "{name}: at {} ms {object:?} vs {:?}",
                c.time_ms,
                r.motion
            );
        }
        assert_eq!(labeler.calls(), 1, "{name}");
    }
}

fn pps_uses_cabac(track: &failberry_detectatron::demux::VideoTrack) -> bool {
    use h264_reader::nal::{pps::PicParameterSet, sps::SeqParameterSet, Nal, RefNal};
    let mut ctx = h264_reader::Context::default();
    ctx.put_seq_param_set(
        SeqParameterSet::from_bits(RefNal::new(&track.sps[0], &[], true).rbsp_bits()).unwrap(),
    );
    PicParameterSet::from_bits(&ctx, RefNal::new(&track.pps[0], &[], true).rbsp_bits())
        .unwrap()
        .entropy_coding_mode_flag
}
