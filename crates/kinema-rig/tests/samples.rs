//! End to end over every sample × every action: sizes, fidelity of frame 0, motion,
//! no folds, connectedness, loop closure and determinism.

mod common;

use common::{dominant_share, load, mean_abs_diff, psnr, ALL_SAMPLES};
use kinema_core::{ClipSpec, Engine, Job, Progress};
use kinema_rig::{
    auto_rig, build_model, canvas_for, count_flips, drawn_pose, frame_poses, orientation_of,
    understand, MotionLibrary, RigEngine, RigKind, View,
};

fn quiet(_: Progress) {}

#[test]
fn samples_get_the_expected_rig_kind() {
    for (name, kind) in [
        ("femaleAdventurer_idle", RigKind::Humanoid),
        ("alienBlue_front", RigKind::Humanoid),
        ("slimeBlue", RigKind::BodyChain),
        ("ladybug", RigKind::BodyChain),
        ("bee", RigKind::BodyChain),
        ("horse", RigKind::Quadruped),
        ("dog", RigKind::Quadruped),
        ("cat", RigKind::Quadruped),
        ("knight_side", RigKind::Humanoid),
    ] {
        let rig = auto_rig(&load(name)).unwrap();
        assert_eq!(rig.kind, kind, "{name}");
    }
}

/// Front views are told from turned ones, and turned ones face where their feet point.
#[test]
fn samples_are_seen_from_the_expected_side() {
    let turned = [View::ThreeQuarter, View::Side];
    for (name, views, right) in [
        ("femaleAdventurer_idle", &[View::Front][..], None),
        ("alienBlue_front", &[View::Front], None),
        ("slimeBlue", &[View::Front], None),
        ("femaleAdventurer_walk0", &[View::ThreeQuarter], None),
        // A profile standing upright is nearly as symmetric as a three-quarter pose; both
        // are turned views and walk with a stride.
        ("knight_side", &turned, Some(true)),
        ("horse", &[View::Side], Some(true)),
        ("dog", &[View::Side], Some(true)),
        ("cat", &[View::Side], Some(true)),
    ] {
        let c = load(name);
        let o = orientation_of(&c, &auto_rig(&c).unwrap()).unwrap();
        assert!(
            views.contains(&o.view),
            "{name}: {:?}, symmetry {}",
            o.view,
            o.symmetry
        );
        if let Some(r) = right {
            assert_eq!(o.faces_right, r, "{name}");
        }
    }
}

/// The four-legged samples face right: head in front of the withers, the front legs in
/// front of the hind legs, every foot on the ground and the tail behind the hips.
#[test]
fn quadruped_joints_lie_on_their_parts() {
    for name in ["horse", "dog", "cat"] {
        let c = load(name);
        let rig = auto_rig(&c).unwrap();
        let j = |n: &str| rig.joint(n).unwrap();
        assert!(
            j("head")[0] > j("withers")[0] && j("withers")[0] > j("hips")[0],
            "{name}"
        );
        assert!(
            j("tail_tip")[0] < j("hips")[0],
            "{name}: tail {:?}",
            j("tail_tip")
        );
        let ground = c.image.alpha_bounds(127).unwrap().3 as f32;
        for leg in ["front_near", "front_far", "hind_near", "hind_far"] {
            let foot = j(&format!("{leg}_foot"));
            assert!(
                (ground - foot[1]).abs() < 0.06 * c.height() as f32,
                "{name}/{leg}: {foot:?}"
            );
            // Every limb joint lies on an opaque pixel of the character.
            for part in ["top", "knee", "foot"] {
                let p = j(&format!("{leg}_{part}"));
                let a = c.image.pixel(p[0] as u32, p[1] as u32)[3];
                assert!(a > 0, "{name}/{leg}_{part} at {p:?} is off the character");
            }
        }
        let front = j("front_near_foot")[0].min(j("front_far_foot")[0]);
        let hind = j("hind_near_foot")[0].max(j("hind_far_foot")[0]);
        assert!(front > hind, "{name}: front feet behind the hind feet");
    }
}

/// Joints lie on the limbs they move, also where arms touch the torso (alienBlue): every
/// arm and leg joint is on an opaque pixel, and the hands are outside the torso's middle.
#[test]
fn humanoid_limb_joints_lie_on_the_limbs() {
    for name in ["femaleAdventurer_idle", "alienBlue_front"] {
        let c = load(name);
        let rig = auto_rig(&c).unwrap();
        let model = build_model(&c, &rig).unwrap();
        for joint in [
            "elbow_left",
            "hand_left",
            "elbow_right",
            "hand_right",
            "knee_left",
            "foot_left",
            "knee_right",
            "foot_right",
        ] {
            let p = rig.joint(joint).unwrap();
            let (x, y) = (p[0] as u32, p[1] as u32);
            assert!(
                c.image.pixel(x, y)[3] > 0,
                "{name}/{joint} at {p:?} is off the character"
            );
            // ...and on its own limb's layer, not on the body.
            let part = model.part_map[(y * c.width() + x) as usize];
            assert!(
                part > 1,
                "{name}/{joint} at {p:?} lies on the body (part {part})"
            );
        }
    }
}

/// femaleAdventurer's hands hang beside her legs, so rows near the feet read hand, leg, leg,
/// hand. The leg bones must sit in the legs: on the hands, the legs claimed strips of the
/// hands that stayed behind (ghost outlines) whenever the arms moved.
#[test]
fn legs_are_found_between_hanging_hands() {
    let c = load("femaleAdventurer_idle");
    let rig = auto_rig(&c).unwrap();
    let x = |name: &str| rig.joints.iter().find(|j| j.name == name).unwrap().x;
    let mid = c.width() as f32 / 2.0;
    for (hand, foot) in [("hand_left", "foot_left"), ("hand_right", "foot_right")] {
        let (hx, fx) = (x(hand), x(foot));
        assert!(
            (fx - mid).abs() < (hx - mid).abs() - 6.0,
            "{foot} at x {fx} is not inside {hand} at x {hx} (middle {mid})"
        );
    }
}

#[test]
fn every_sample_does_every_action() {
    let engine = RigEngine::new();
    for name in ALL_SAMPLES {
        let c = load(name);
        let single_blob = name != "bee";
        let (cw, ch, place) = canvas_for(&c);
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        for a in MotionLibrary::builtin().motions() {
            if a.for_kind(model.skeleton.kind).is_none() {
                continue; // an animal's gait on a person, say
            }
            let spec = ClipSpec {
                frames: 8,
                fps: 12,
                seed: 3,
                looping: false,
            };
            let generation = engine
                .generate(
                    Job {
                        character: &c,
                        prompt: &a.name,
                        spec: &spec,
                    },
                    &quiet,
                )
                .unwrap();
            let clip = &generation.clip;
            let label = format!("{name}/{}", a.name);
            assert_eq!(clip.len(), 8, "{label}");
            assert_eq!(
                (clip.width(), clip.height(), clip.placement),
                (cw, ch, place),
                "{label}"
            );
            let first = clip.frames[0].crop(place.x as i64, place.y as i64, c.width(), c.height());
            // Compare what is seen: colours of fully transparent input pixels do not matter.
            let p = psnr(
                &first.over_color([128, 128, 128]),
                &c.image.over_color([128, 128, 128]),
            );
            // A one-shot starts from the input pose; a cycle is a loop and starts on its
            // first key (the loop tests check its seam instead).
            assert!(a.looping || p > 40.0, "{label}: frame 0 PSNR {p:.1} dB");
            assert!(
                clip.looping == a.looping,
                "{label}: looping {}",
                clip.looping
            );
            let moved = clip
                .frames
                .iter()
                .map(|f| mean_abs_diff(f, &clip.frames[0]))
                .fold(0.0, f64::max);
            if a.name == "idle" {
                assert!(moved < 3.0, "{label}: idle moves too much ({moved:.2})");
                assert!(moved > 0.005, "{label}: idle is frozen ({moved:.4})");
            } else {
                assert!(moved > 0.3, "{label}: barely moves ({moved:.3})");
            }
            // Nothing reaches the canvas border, i.e. nothing is cut off (a fall once sank
            // half the body below the ground line).
            for (i, f) in clip.frames.iter().enumerate() {
                let (w, h) = (f.width, f.height);
                let border = (0..w)
                    .flat_map(|x| [(x, 0), (x, h - 1)])
                    .chain((0..h).flat_map(|y| [(0, y), (w - 1, y)]));
                for (x, y) in border {
                    let a = f.pixel(x, y)[3];
                    assert!(
                        a <= 8,
                        "{label} frame {i}: pixel ({x},{y}) on the canvas border has alpha {a}"
                    );
                }
            }
            if single_blob {
                for (i, f) in clip.frames.iter().enumerate() {
                    let share = dominant_share(f);
                    assert!(
                        share > 0.95,
                        "{label} frame {i}: body split, main part {share:.3}"
                    );
                }
            }
            let plan = understand(&a.name).unwrap();
            for (i, fp) in frame_poses(&plan, model.skeleton.kind, &spec)
                .iter()
                .enumerate()
            {
                // What is drawn never folds (NaN counts as folded) and keeps most of the motion.
                let drawn = drawn_pose(&model, &fp.pose);
                assert_eq!(count_flips(&model, &drawn), 0, "{label} frame {i}");
                let kept = drawn.0.iter().map(|v| v.abs()).sum::<f32>()
                    / fp.pose.0.iter().map(|v| v.abs()).sum::<f32>().max(1e-6);
                assert!(
                    fp.pose.is_rest() || kept > 0.5,
                    "{label} frame {i}: only {kept:.2} of the pose survives"
                );
            }
        }
    }
}

#[test]
fn loops_close_on_the_samples() {
    let engine = RigEngine::new();
    for name in ["femaleAdventurer_idle", "slimeBlue"] {
        let c = load(name);
        for prompt in [
            "idle", "walk", "run", "attack", "die", "dance", "hover", "bounce", "wave",
        ] {
            let spec = ClipSpec {
                frames: 12,
                fps: 12,
                seed: 5,
                looping: true,
            };
            let clip = engine
                .generate(
                    Job {
                        character: &c,
                        prompt,
                        spec: &spec,
                    },
                    &quiet,
                )
                .unwrap()
                .clip;
            assert!(clip.looping);
            let n = clip.len();
            let mean = (1..n)
                .map(|i| mean_abs_diff(&clip.frames[i], &clip.frames[i - 1]))
                .sum::<f64>()
                / (n - 1) as f64;
            let seam = mean_abs_diff(&clip.frames[n - 1], &clip.frames[0]);
            // A sine-like cycle's fastest step is π/2 ≈ 1.57× its mean step, so a seam that
            // lands there legitimately reaches ~1.57×; a broken loop is far above.
            assert!(
                seam <= 1.6 * mean + 0.05,
                "{name}/{prompt}: seam {seam:.3} vs mean {mean:.3}"
            );
        }
    }
}

#[test]
fn same_seed_same_frames() {
    let engine = RigEngine::new();
    let c = load("femaleAdventurer_idle");
    let spec = ClipSpec {
        frames: 6,
        fps: 12,
        seed: 9,
        looping: true,
    };
    let job = Job {
        character: &c,
        prompt: "walk then wave",
        spec: &spec,
    };
    let a = engine.generate(job, &quiet).unwrap().clip;
    let b = engine.generate(job, &quiet).unwrap().clip;
    assert_eq!(a.frames, b.frames);
    let other = ClipSpec {
        seed: 10,
        ..spec.clone()
    };
    let c2 = engine
        .generate(
            Job {
                spec: &other,
                ..job
            },
            &quiet,
        )
        .unwrap()
        .clip;
    assert_ne!(a.frames, c2.frames);
}

#[test]
fn edited_rig_is_used_and_checked() {
    let c = load("slimeBlue");
    let mut rig = auto_rig(&c).unwrap();
    rig.joints[2].y -= 5.0;
    let text = rig.to_json();
    let edited = kinema_rig::Rig::from_json(&text).unwrap();
    let spec = ClipSpec {
        frames: 4,
        fps: 12,
        seed: 0,
        looping: false,
    };
    let ok = RigEngine::with_rig(edited.clone()).generate(
        Job {
            character: &c,
            prompt: "jump",
            spec: &spec,
        },
        &quiet,
    );
    assert!(ok.is_ok());
    let other = load("alienBlue_front");
    let err = RigEngine::with_rig(edited)
        .generate(
            Job {
                character: &other,
                prompt: "jump",
                spec: &spec,
            },
            &quiet,
        )
        .unwrap_err();
    assert!(err.message.contains("rig was made for"), "{err}");
}

#[test]
fn engine_reports_the_plan_and_rejects_unknown_actions() {
    let engine = RigEngine::new();
    assert_eq!(engine.name(), "rig");
    let v = engine.understand("走两步然后挥手").unwrap();
    assert_eq!(v["steps"][0]["action"], "walk");
    assert_eq!(v["steps"][1]["action"], "wave");
    let c = load("ladybug");
    let spec = ClipSpec {
        frames: 4,
        fps: 12,
        seed: 0,
        looping: false,
    };
    let e = engine
        .generate(
            Job {
                character: &c,
                prompt: "moonwalk backwards",
                spec: &spec,
            },
            &quiet,
        )
        .unwrap_err();
    assert!(e.message.contains("not a supported action"), "{e}");
}

/// Writes contact strips to target/rig-strips for eyeballing:
/// `cargo test -p kinema-rig --test samples -- --ignored strips`. Every drawn sample (the
/// Kenney characters and ours) × every built-in action, 12 frames shown 2× on light grey. Narrow it with `KINEMA_STRIPS=sample1,sample2:action1,action2` (either side may
/// be empty for all).
#[test]
#[ignore]
fn strips() {
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/rig-strips");
    std::fs::create_dir_all(&out).unwrap();
    let filter = std::env::var("KINEMA_STRIPS").unwrap_or_default();
    let (samples, wanted) = filter.split_once(':').unwrap_or((filter.as_str(), ""));
    let pick = |list: &str, name: &str| list.is_empty() || list.split(',').any(|n| n == name);
    let engine = RigEngine::new();
    for name in ALL_SAMPLES.into_iter().filter(|n| pick(samples, n)) {
        let c = load(name);
        let rig = auto_rig(&c).unwrap();
        let overlay = kinema_rig::draw_overlay(&c, &rig);
        common::write_strip(
            &out.join(format!("{name}_overlay.png")),
            &[common::upscale(&overlay, 4)],
        );
        for a in MotionLibrary::builtin().motions() {
            if !pick(wanted, &a.name) {
                continue;
            }
            let spec = ClipSpec {
                frames: 12,
                fps: 12,
                seed: 1,
                looping: false,
            };
            let Ok(generation) = engine.generate(
                Job {
                    character: &c,
                    prompt: &a.name,
                    spec: &spec,
                },
                &quiet,
            ) else {
                continue; // a motion without keys for this kind of rig
            };
            let big: Vec<_> = generation
                .clip
                .frames
                .iter()
                .map(|f| common::upscale(f, 2))
                .collect();
            common::write_strip(&out.join(format!("{name}_{}.png", a.name)), &big);
        }
    }
}
