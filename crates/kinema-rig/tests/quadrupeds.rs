//! Four-legged characters step with their legs in the right phase: in every gait the two
//! legs of a pair (front, hind) swing in opposite phases; a trot moves diagonal legs
//! together.

mod common;

use common::load;
use kinema_core::ClipSpec;
use kinema_rig::{auto_rig, build_model, frame_poses_seen, MotionLibrary, RigKind};

/// Horizontal position of each named foot over one looping clip of `prompt`.
fn feet_x(name: &str, prompt: &str, feet: &[&str]) -> Vec<Vec<f32>> {
    let c = load(name);
    let rig = auto_rig(&c).unwrap();
    assert_eq!(rig.kind, RigKind::Quadruped, "{name}");
    let model = build_model(&c, &rig).unwrap();
    let plan = MotionLibrary::builtin().understand(prompt).unwrap();
    let spec = ClipSpec {
        frames: 24,
        fps: 24,
        seed: 0,
        looping: true,
    };
    let poses = frame_poses_seen(&plan, rig.kind, &model.orientation, &spec);
    feet.iter()
        .map(|foot| {
            let j = model.skeleton.index(foot).unwrap();
            poses
                .iter()
                .map(|fp| {
                    model.skeleton.joint_transforms(&fp.pose)[j].apply(model.skeleton.rest[j])[0]
                })
                .collect()
        })
        .collect()
}

/// Pearson correlation of two series.
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f32 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f32 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt().max(1e-6)
}

#[test]
fn the_feet_of_a_pair_move_in_opposite_phases() {
    for name in ["horse", "dog", "cat"] {
        for gait in ["walk", "trot", "gallop"] {
            let x = feet_x(
                name,
                gait,
                &[
                    "front_near_foot",
                    "front_far_foot",
                    "hind_near_foot",
                    "hind_far_foot",
                ],
            );
            for (a, b, pair) in [(0, 1, "front"), (2, 3, "hind")] {
                let spread = |v: &[f32]| {
                    v.iter().cloned().fold(f32::MIN, f32::max)
                        - v.iter().cloned().fold(f32::MAX, f32::min)
                };
                assert!(
                    spread(&x[a]) > 2.0,
                    "{name}/{gait}: the {pair} feet barely move"
                );
                let r = correlation(&x[a], &x[b]);
                // A gallop's pairs land a tenth of a cycle apart: nearly together, not apart.
                if gait == "gallop" {
                    assert!(r > 0.5, "{name}/{gait}: {pair} feet r = {r:.2}");
                } else {
                    assert!(
                        r < -0.9,
                        "{name}/{gait}: {pair} feet r = {r:.2}, not opposite"
                    );
                }
            }
            if gait == "trot" {
                let r = correlation(&x[0], &x[3]);
                assert!(
                    r > 0.9,
                    "{name}/trot: front near and hind far feet r = {r:.2}"
                );
            }
        }
    }
}
