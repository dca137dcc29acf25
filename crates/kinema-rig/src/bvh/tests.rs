//! Retargeting checked on a synthetic capture whose 2-D result is known by hand: a
//! Mixamo-named stick performer, y up, facing +z, its left side toward +x.

use super::*;
use crate::motion::Pose;
use crate::parts::{build_model, Model};
use crate::skeleton::{auto_rig, tests::stick_figure};
use crate::view::{Orientation, View};

/// Channel columns: Hips 0–5 (position, then Z X Y rotation); every other joint three
/// (Z, X, Y) in the order written below.
const COLUMNS: usize = 45;
const LEFT_ARM: usize = 9;
const LEFT_UP_LEG: usize = 27;
const LEFT_LEG: usize = 30;
const RIGHT_UP_LEG: usize = 36;
const RIGHT_LEG: usize = 39;

fn hierarchy() -> String {
    let limb = |name: &str, x: f64, y: f64, inner: &str| {
        format!("JOINT {name}\n{{\nOFFSET {x} {y} 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n{inner}\n}}\n")
    };
    let end = |x: f64, y: f64, z: f64| format!("End Site\n{{\nOFFSET {x} {y} {z}\n}}");
    let arm = |side: &str, x: f64| {
        limb(
            &format!("{side}Arm"),
            x,
            45.0,
            &limb(
                &format!("{side}ForeArm"),
                0.0,
                -25.0,
                &limb(&format!("{side}Hand"), 0.0, -25.0, &end(0.0, -5.0, 0.0)),
            ),
        )
    };
    let leg = |side: &str, x: f64| {
        limb(
            &format!("{side}UpLeg"),
            x,
            0.0,
            &limb(
                &format!("{side}Leg"),
                0.0,
                -45.0,
                &limb(&format!("{side}Foot"), 0.0, -45.0, &end(0.0, 0.0, 10.0)),
            ),
        )
    };
    format!(
        "HIERARCHY\nROOT Hips\n{{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n{}{}{}{}{}}}\n",
        limb("Head", 0.0, 50.0, &end(0.0, 20.0, 0.0)),
        arm("Left", 10.0),
        arm("Right", -10.0),
        leg("Left", 8.0),
        leg("Right", -8.0),
    )
}

/// A capture of `frames` (each a list of `(column, value)` set on top of standing with
/// the hips 90 units up), at `fps`.
fn capture(frames: &[Vec<(usize, f64)>], fps: f64) -> Mocap {
    let mut text = hierarchy();
    text.push_str(&format!(
        "MOTION\nFrames: {}\nFrame Time: {}\n",
        frames.len(),
        1.0 / fps
    ));
    for f in frames {
        let mut v = vec![0.0; COLUMNS];
        v[1] = 90.0;
        for &(c, x) in f {
            v[c] = x;
        }
        let line: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    Mocap {
        label: "synthetic.bvh".into(),
        bvh: parse_bvh("synthetic.bvh", &text).unwrap(),
        plane: PlaneChoice::Auto,
        mapping: MappingChoice::Auto,
        events: Vec::new(),
    }
}

fn model() -> Model {
    let c = stick_figure();
    build_model(&c, &auto_rig(&c).unwrap()).unwrap()
}

fn view(view: View, faces_right: bool) -> Orientation {
    Orientation {
        view,
        faces_right,
        symmetry: 0.5,
    }
}

/// Posed joint positions (image pixels) at key `k` of the fitted motion.
fn joints_at(model: &Model, fitted: &crate::library::KindMotion, k: usize) -> Vec<[f32; 2]> {
    let mut pose = Pose::default();
    for t in &fitted.keyframes.tracks {
        pose.0[t.channel as usize] = t.keys[k].1;
    }
    let sk = &model.skeleton;
    let t = sk.joint_transforms(&pose);
    (0..sk.names.len())
        .map(|j| t[j].apply(sk.rest[j]))
        .collect()
}

fn direction(p: &[[f32; 2]], model: &Model, from: &str, to: &str) -> [f32; 2] {
    let sk = &model.skeleton;
    let (a, b) = (p[sk.index(from).unwrap()], p[sk.index(to).unwrap()]);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let n = dx.hypot(dy);
    [dx / n, dy / n]
}

fn close(a: [f32; 2], b: [f32; 2]) -> bool {
    (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3
}

#[test]
fn a_thigh_swung_forward_30_degrees_points_30_degrees_forward_seen_from_the_side() {
    let model = model();
    let mocap = capture(&[vec![], vec![(LEFT_UP_LEG + 1, -30.0)]], 12.0);
    let (fitted, fit) = retarget(&mocap, &model, view(View::Side, true), 12).unwrap();
    assert_eq!(
        (fit.plane, fit.mapping.as_str(), fit.samples),
        (Plane::Side, "mixamo", 2)
    );
    let rest = joints_at(&model, &fitted, 0);
    let moved = joints_at(&model, &fitted, 1);
    // By hand: a thigh of length L turned 30° forward from hanging straight down ends at
    // hip + L·(sin 30°, cos 30°) in image axes (x toward the way it faces, y down).
    let (s, c) = 30f32.to_radians().sin_cos();
    assert!(close(
        direction(&moved, &model, "hip_left", "knee_left"),
        [s, c]
    ));
    // Everything else hangs or stands straight, as the performer does.
    for (a, b, d) in [
        ("hip_right", "knee_right", [0.0, 1.0]),
        ("knee_left", "foot_left", [s, c]),
        ("shoulder_left", "elbow_left", [0.0, 1.0]),
        ("pelvis", "neck", [0.0, -1.0]),
    ] {
        assert!(close(direction(&moved, &model, a, b), d), "{a}→{b}");
        assert!(
            close(
                direction(&rest, &model, a, b),
                if d[1] < 0.0 { d } else { [0.0, 1.0] }
            ),
            "{a}→{b} at rest"
        );
    }
    // Our bone lengths, never the performer's.
    let sk = &model.skeleton;
    for (j, p) in sk.parents.iter().enumerate() {
        let Some(p) = *p else { continue };
        let len = |q: &[[f32; 2]]| (q[j][0] - q[p][0]).hypot(q[j][1] - q[p][1]);
        let want = (sk.rest[j][0] - sk.rest[p][0]).hypot(sk.rest[j][1] - sk.rest[p][1]);
        assert!((len(&moved) - want).abs() < 1e-3, "{}", sk.names[j]);
    }
}

#[test]
fn facing_left_mirrors_the_plane_and_the_near_side() {
    let model = model();
    let mocap = capture(&[vec![], vec![(LEFT_UP_LEG + 1, -30.0)]], 12.0);
    let (fitted, _) = retarget(&mocap, &model, view(View::Side, false), 12).unwrap();
    let moved = joints_at(&model, &fitted, 1);
    // Facing left, forward is −x, and the performer's left leg is the near (right) one.
    let (s, c) = 30f32.to_radians().sin_cos();
    assert!(close(
        direction(&moved, &model, "hip_right", "knee_right"),
        [-s, c]
    ));
    assert!(close(
        direction(&moved, &model, "hip_left", "knee_left"),
        [0.0, 1.0]
    ));
}

#[test]
fn seen_from_the_front_a_raised_left_arm_is_on_the_drawings_right() {
    let model = model();
    let mocap = capture(&[vec![], vec![(LEFT_ARM, 90.0)]], 12.0);
    let (fitted, fit) = retarget(&mocap, &model, view(View::Front, true), 12).unwrap();
    assert_eq!(fit.plane, Plane::Front);
    let moved = joints_at(&model, &fitted, 1);
    assert!(close(
        direction(&moved, &model, "shoulder_right", "elbow_right"),
        [1.0, 0.0]
    ));
    assert!(close(
        direction(&moved, &model, "shoulder_left", "elbow_left"),
        [0.0, 1.0]
    ));
    // `--bvh-plane side` overrides the view: the raised arm points at the camera there,
    // so it shows no swing.
    let side = Mocap {
        plane: PlaneChoice::Side,
        ..mocap
    };
    let (fitted, fit) = retarget(&side, &model, view(View::Front, true), 12).unwrap();
    assert_eq!(fit.plane, Plane::Side);
    let moved = joints_at(&model, &fitted, 1);
    assert!(close(
        direction(&moved, &model, "shoulder_right", "elbow_right"),
        [0.0, 1.0]
    ));
}

#[test]
fn a_crouch_keeps_the_feet_on_the_ground_and_a_hop_leaves_it() {
    let model = model();
    let crouch = vec![
        (1, 45.0),
        (LEFT_UP_LEG + 1, -60.0),
        (LEFT_LEG + 1, 120.0),
        (RIGHT_UP_LEG + 1, -60.0),
        (RIGHT_LEG + 1, 120.0),
    ];
    let hop = vec![(1, 100.0)];
    let mocap = capture(&[vec![], crouch, hop], 12.0);
    let (fitted, fit) = retarget(&mocap, &model, view(View::Side, true), 12).unwrap();
    let sk = &model.skeleton;
    let lowest = |k: usize| {
        let mut pose = Pose::default();
        for t in &fitted.keyframes.tracks {
            pose.0[t.channel as usize] = t.keys[k].1;
        }
        let root = sk.root_transform(&pose);
        let t = sk.joint_transforms(&pose);
        let _ = root;
        ["foot_left", "foot_right"]
            .map(|f| {
                let j = sk.index(f).unwrap();
                t[j].apply(sk.rest[j])[1]
            })
            .into_iter()
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let ground = lowest(0);
    assert!(
        (lowest(1) - ground).abs() < 1e-3,
        "{} vs {ground}",
        lowest(1)
    );
    // Hopping 10 units (of a 90-unit leg) lifts the feet by 10 × our leg / theirs.
    let lift = ground - lowest(2);
    assert!((lift as f64 - 10.0 * fit.scale).abs() < 1e-2, "lift {lift}");
}

#[test]
fn captures_are_resampled_at_the_clips_rate() {
    let model = model();
    // One second at 60 fps, the left thigh swinging forward 1° a frame.
    let frames: Vec<Vec<(usize, f64)>> = (0..61)
        .map(|i| vec![(LEFT_UP_LEG + 1, -(i as f64))])
        .collect();
    let mocap = capture(&frames, 60.0);
    let (fitted, fit) = retarget(&mocap, &model, view(View::Side, true), 12).unwrap();
    assert_eq!(fit.samples, 13);
    for k in 0..13 {
        let p = joints_at(&model, &fitted, k);
        let (s, c) = (5.0 * k as f32).to_radians().sin_cos();
        assert!(
            close(direction(&p, &model, "hip_left", "knee_left"), [s, c]),
            "key {k}"
        );
    }
    let times: Vec<f32> = fitted.keyframes.tracks[0]
        .keys
        .iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(times.len(), 13);
    assert!((times[6] - 0.5).abs() < 1e-6);
}

#[test]
fn footsteps_are_found_where_a_foot_comes_down() {
    let model = model();
    // The left foot lifts (knee bent back) for frames 1–2 and is down again at 3.
    let lift = vec![(LEFT_LEG + 1, 60.0)];
    let mocap = capture(&[vec![], lift.clone(), lift, vec![], vec![]], 12.0);
    let (fitted, _) = retarget(&mocap, &model, view(View::Side, true), 12).unwrap();
    let steps: Vec<(f32, Option<&str>)> = fitted
        .events
        .iter()
        .map(|e| (e.time, e.limb.as_deref()))
        .collect();
    assert_eq!(steps, [(0.75, Some("foot_left"))]);
}

#[test]
fn other_kinds_of_rig_are_refused_by_name() {
    let c = crate::skeleton::tests::disc();
    let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
    let e = retarget(
        &capture(&[vec![]], 12.0),
        &model,
        view(View::Front, true),
        12,
    )
    .unwrap_err();
    assert!(e.message.contains("drives humanoid rigs"), "{e}");
}

#[test]
fn file_names_become_action_names() {
    assert_eq!(
        motion_name(Path::new("mocap/Walk Cycle 02.bvh")),
        "walk-cycle-02"
    );
    assert_eq!(motion_name(Path::new("01_01.bvh")), "mocap-01-01");
    assert_eq!(motion_name(Path::new("wave_hello.bvh")), "wave-hello");
}
