//! A real capture (`samples/bvh/wave_hello.bvh`, Meta's AnimatedDrawings, MIT; z up,
//! Mixamo names) fitted to every humanoid sample through a motion file that names it:
//! the plane follows each character's view, bones keep their lengths, the feet stay on
//! the ground line, a hand rises to the shoulder and drops (it is a wave), and the clip renders.

mod common;

use std::path::Path;

use kinema_core::{ClipSpec, Engine, Job};
use kinema_rig::bvh::{load_mocap, retarget, MappingChoice, Plane, PlaneChoice};
use kinema_rig::{
    auto_rig, build_model, orientation_of, MotionLibrary, Pose, RigEngine, RigKind, View,
};

fn capture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/bvh/wave_hello.bvh")
}

#[test]
fn the_wave_capture_fits_every_humanoid_sample() {
    let mocap = load_mocap(&capture(), PlaneChoice::Auto, MappingChoice::Auto).unwrap();
    let mut fitted_any = 0;
    for name in ["femaleAdventurer_idle", "alienBlue_front", "knight_side"] {
        let c = common::load(name);
        let rig = auto_rig(&c).unwrap();
        assert_eq!(rig.kind, RigKind::Humanoid, "{name}");
        let model = build_model(&c, &rig).unwrap();
        let o = orientation_of(&c, &rig).unwrap();
        let (fitted, fit) = retarget(&mocap, &model, o, 12).unwrap();
        assert_eq!(fit.mapping, "mixamo");
        let want = if o.view == View::Front {
            Plane::Front
        } else {
            Plane::Side
        };
        assert_eq!(fit.plane, want, "{name}");
        let sk = &model.skeleton;
        let index = |n: &str| sk.index(n).unwrap();
        let rest_low = ["foot_left", "foot_right"]
            .map(|f| sk.rest[index(f)][1])
            .into_iter()
            .fold(f32::NEG_INFINITY, f32::max);
        // The performer raises a hand to shoulder height in front, waves, and drops it.
        let mut spread = [(f32::MAX, f32::MIN); 2];
        for k in 0..fit.samples {
            let mut pose = Pose::default();
            for t in &fitted.keyframes.tracks {
                pose.0[t.channel as usize] = t.keys[k].1;
            }
            let t = sk.joint_transforms(&pose);
            let at = |n: &str| t[index(n)].apply(sk.rest[index(n)]);
            for (j, p) in sk.parents.iter().enumerate() {
                let Some(p) = *p else { continue };
                let (a, b) = (t[p].apply(sk.rest[p]), t[j].apply(sk.rest[j]));
                let want = (sk.rest[j][0] - sk.rest[p][0]).hypot(sk.rest[j][1] - sk.rest[p][1]);
                let got = (b[0] - a[0]).hypot(b[1] - a[1]);
                assert!(
                    (got - want).abs() < 1e-2,
                    "{name}: bone {} stretched",
                    sk.names[j]
                );
            }
            let low = at("foot_left")[1].max(at("foot_right")[1]);
            assert!(
                (low - rest_low).abs() < 0.02 * sk.height,
                "{name} sample {k}: lowest foot at {low}, ground {rest_low}"
            );
            // How high each hand is against its shoulder, in arm lengths.
            for (i, side) in ["left", "right"].iter().enumerate() {
                let (s, h) = (at(&format!("shoulder_{side}")), at(&format!("hand_{side}")));
                let (e0, e1) = (
                    sk.rest[index(&format!("elbow_{side}"))],
                    sk.rest[index(&format!("shoulder_{side}"))],
                );
                let arm = 2.0 * (e0[0] - e1[0]).hypot(e0[1] - e1[1]);
                let v = (s[1] - h[1]) / arm;
                spread[i] = (spread[i].0.min(v), spread[i].1.max(v));
            }
        }
        assert!(
            spread.iter().any(|(lo, hi)| hi - lo > 0.4),
            "{name}: no hand rose and fell by 0.4 of an arm: {spread:?}"
        );
        fitted_any += 1;
    }
    assert_eq!(fitted_any, 3);
}

#[test]
fn a_motion_file_naming_the_capture_renders_it_and_refuses_other_kinds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/mocap");
    let lib = MotionLibrary::load(&dir).unwrap();
    let wave = lib.get("mocapwave").unwrap();
    assert!(
        wave.mocap.is_some() && (wave.seconds - 3.47).abs() < 0.05,
        "{}",
        wave.seconds
    );
    let engine = RigEngine::new().with_motions(lib.clone());
    let spec = ClipSpec {
        frames: 8,
        fps: 6,
        seed: 0,
        looping: false,
    };
    let c = common::load("femaleAdventurer_idle");
    let g = engine
        .generate(
            Job {
                character: &c,
                prompt: "mocapwave",
                spec: &spec,
            },
            &|_| {},
        )
        .unwrap();
    assert_eq!(g.clip.frames.len(), 8);
    assert_ne!(
        g.clip.frames[0], g.clip.frames[4],
        "the capture moves the character"
    );
    let slime = common::load("slimeBlue");
    let e = engine
        .generate(
            Job {
                character: &slime,
                prompt: "mocapwave",
                spec: &spec,
            },
            &|_| {},
        )
        .err()
        .unwrap();
    assert!(e.message.contains("drives humanoid rigs"), "{e}");
}
