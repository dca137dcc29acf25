//! Turns a plan into one pose per frame: frame shares, cycles, loop closure, blends
//! between steps, and the seed's small variations.

use kinema_core::ClipSpec;

use crate::library::Motion;
use crate::motion::{smoothstep, Keyframes, Pose};
use crate::rig::RigKind;
use crate::text::{Plan, Step};
use crate::view::{Orientation, View};

/// What to draw for one frame, and where in its motion it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FramePose {
    pub pose: Pose,
    pub mirror: bool,
    /// The plan step the frame belongs to.
    pub step: usize,
    /// Cycles (or repetitions) of the step's motion completed before this frame.
    pub cycle: u32,
    /// Where in the current cycle the frame is, in the motion file's time (0..=1): the
    /// time its keys and events are given in. A one-shot returning to rest after acting
    /// stays at 1.
    pub time: f32,
}

/// A step's pose at one frame, with its motion time.
struct StepFrame {
    pose: Pose,
    cycle: u32,
    time: f32,
}

/// Deterministic 0..1 value from the seed and a salt (SplitMix64).
fn seeded(seed: u64, salt: u64) -> f32 {
    let mut z = seed.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

/// The pose of `def` (its keys `motion` for the rig's kind) at step-local time `t` (0..=1
/// over the step's frames).
#[allow(clippy::too_many_arguments)]
fn step_pose(
    def: &Motion,
    motion: &Keyframes,
    step: &Step,
    t: f32,
    frames: u32,
    fps: u32,
    looping: bool,
    seed: u64,
    index: u64,
) -> StepFrame {
    // The seed varies keyed motions a little; a motion capture plays as performed.
    let variation = if def.mocap.is_some() {
        1.0
    } else {
        0.94 + 0.12 * seeded(seed, index * 2 + 1)
    };
    let amplitude = step.amplitude * variation;
    let (pose, cycle, time) = if def.looping {
        let seconds = frames as f32 / fps.max(1) as f32;
        let natural = (seconds * step.speed / def.seconds).round().max(1.0);
        let cycles = step.repetitions.map_or(natural, |r| r as f32);
        // The seed picks which half of the cycle a loop starts on (authored keys sit at
        // 0 and ½, where motion is slowest, so the seam stays smooth); whole cycles keep
        // loops closed.
        let offset = if looping && seeded(seed, index * 2) >= 0.5 {
            0.5
        } else {
            0.0
        };
        let progress = t * cycles + offset;
        let phase = progress.fract();
        (motion.pose(phase, true), progress.floor() as u32, phase)
    } else {
        let reps = step.repetitions.unwrap_or(1).max(1) as f32;
        let x = t * reps;
        let (rep_t, last) = if x >= reps {
            (1.0, true)
        } else {
            (x.fract(), false)
        };
        let cycle = (x.floor() as u32).min(reps as u32 - 1);
        if looping || reps > 1.0 {
            // Act, then return to rest so the next repetition (or the loop) starts clean.
            let split = 0.65;
            if rep_t < split && !last {
                (motion.pose(rep_t / split, false), cycle, rep_t / split)
            } else if looping || !last {
                let pose = motion
                    .pose(1.0, false)
                    .scaled(1.0 - smoothstep((rep_t - split) / (1.0 - split)));
                (pose, cycle, 1.0)
            } else {
                (motion.pose(1.0, false), cycle, 1.0)
            }
        } else {
            (motion.pose(rep_t, false), cycle, rep_t)
        }
    };
    StepFrame {
        pose: pose.scaled(amplitude),
        cycle,
        time,
    }
}

/// One pose per frame for `plan` under `spec`, for a character drawn from the front.
pub fn frame_poses(plan: &Plan, kind: RigKind, spec: &ClipSpec) -> Vec<FramePose> {
    let front = Orientation {
        view: View::Front,
        faces_right: true,
        symmetry: 1.0,
    };
    frame_poses_seen(plan, kind, &front, spec)
}

/// One pose per frame for `plan` under `spec`, for a character drawn from `view`: turned
/// characters play a motion's `turned` keys where it has them.
///
/// A step whose motion has no keys for `kind` holds the drawn pose; callers refuse such
/// plans first with [`Motion::require_kind`], as the engine does.
pub fn frame_poses_seen(
    plan: &Plan,
    kind: RigKind,
    seen: &Orientation,
    spec: &ClipSpec,
) -> Vec<FramePose> {
    let view = seen.view;
    let shares = plan.split_frames(spec.frames);
    let mut out: Vec<FramePose> = Vec::with_capacity(spec.frames as usize);
    let mut starts = Vec::new();
    let still = Keyframes {
        ease: crate::motion::Ease::Spline,
        tracks: Vec::new(),
    };
    for (k, (step, &n)) in plan.steps.iter().zip(&shares).enumerate() {
        let def = &step.motion;
        let keys = def.for_kind(kind).map_or(&still, |m| m.keyframes_for(view));
        starts.push(out.len());
        for i in 0..n {
            let t = if spec.looping || plan.steps.len() > 1 && k + 1 < plan.steps.len() {
                i as f32 / n as f32
            } else {
                i as f32 / (n.max(2) - 1) as f32
            };
            let frame = step_pose(
                def,
                keys,
                step,
                t,
                n,
                spec.fps,
                spec.looping,
                spec.seed,
                k as u64,
            );
            out.push(FramePose {
                pose: frame.pose,
                mirror: step.facing.mirrors(seen.forward_is_right()),
                step: k,
                cycle: frame.cycle,
                time: frame.time,
            });
        }
    }
    // Blend into each step from the frame before it (wrapping when looping), so steps
    // and loop seams never pop; a non-looping clip eases in from the input pose.
    let raw = out.clone();
    for (k, &start) in starts.iter().enumerate() {
        let len = shares.get(k).copied().unwrap_or(0) as usize;
        if len == 0 {
            continue;
        }
        let from = if start == 0 {
            if spec.looping {
                raw.last().map(|f| f.pose)
            } else {
                Some(Pose::default())
            }
        } else {
            Some(raw[start - 1].pose)
        };
        let Some(from) = from else { continue };
        let one_shot_start = plan.steps.get(k).is_some_and(|s| !s.motion.looping);
        if start == 0 && !spec.looping && one_shot_start {
            continue; // one-shots already begin at rest
        }
        if start == 0 && spec.looping && starts.len() == 1 {
            continue; // a single step loops by itself
        }
        let blend = (len / 4).clamp(1, 6);
        for j in 0..blend.min(len) {
            let w = smoothstep(j as f32 / blend as f32);
            out[start + j].pose = from.lerp(&raw[start + j].pose, w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::Channel;
    use crate::text::understand;

    fn spec(frames: u32, looping: bool) -> ClipSpec {
        ClipSpec {
            frames,
            fps: 24,
            seed: 7,
            looping,
        }
    }

    #[test]
    fn non_looping_starts_at_rest() {
        for prompt in ["walk", "wave", "idle", "run then die", "hover"] {
            let f = frame_poses(
                &understand(prompt).unwrap(),
                RigKind::Humanoid,
                &spec(16, false),
            );
            assert_eq!(f.len(), 16);
            assert!(f[0].pose.is_rest(), "{prompt}: {:?}", f[0].pose);
        }
    }

    #[test]
    fn loops_close_without_a_duplicated_seam() {
        for prompt in ["walk", "attack", "idle", "walk then jump"] {
            let f = frame_poses(
                &understand(prompt).unwrap(),
                RigKind::Humanoid,
                &spec(24, true),
            );
            let d = |a: &Pose, b: &Pose| {
                a.0.iter()
                    .zip(b.0.iter())
                    .map(|(x, y)| (x - y).abs())
                    .sum::<f32>()
            };
            let seam = d(&f[23].pose, &f[0].pose);
            let mean: f32 = f.windows(2).map(|w| d(&w[0].pose, &w[1].pose)).sum::<f32>() / 23.0;
            assert!(
                seam <= 1.5 * mean + 1e-3,
                "{prompt}: seam {seam} vs mean step {mean}"
            );
            assert!(
                d(&f[1].pose, &f[0].pose) > 0.0,
                "{prompt}: no duplicate first frame"
            );
        }
    }

    #[test]
    fn one_shot_ends_in_its_final_pose_without_looping() {
        let f = frame_poses(
            &understand("die").unwrap(),
            RigKind::Humanoid,
            &spec(20, false),
        );
        assert!(f[19].pose.get(Channel::RootRot) < -60.0);
    }

    #[test]
    fn seed_varies_but_repeats() {
        let p = understand("idle").unwrap();
        let a = frame_poses(
            &p,
            RigKind::Humanoid,
            &ClipSpec {
                seed: 1,
                ..spec(12, true)
            },
        );
        let b = frame_poses(
            &p,
            RigKind::Humanoid,
            &ClipSpec {
                seed: 1,
                ..spec(12, true)
            },
        );
        assert_eq!(a, b);
        let differs = (2..20).any(|s| {
            frame_poses(
                &p,
                RigKind::Humanoid,
                &ClipSpec {
                    seed: s,
                    ..spec(12, true)
                },
            ) != a
        });
        assert!(differs);
    }

    #[test]
    fn frames_know_their_cycle_and_motion_time() {
        // Two walk cycles (1 s each) over 24 frames: time runs 0..1 twice.
        let f = frame_poses(
            &understand("walk").unwrap(),
            RigKind::Humanoid,
            &ClipSpec {
                fps: 12,
                seed: 0,
                ..spec(24, true)
            },
        );
        assert!(f.iter().all(|f| f.step == 0));
        let cycles: Vec<u32> = f.iter().map(|f| f.cycle).collect();
        assert_eq!(cycles.iter().filter(|&&c| c == 0).count(), 12, "{cycles:?}");
        assert_eq!(cycles.last(), Some(&1));
        assert!(f
            .windows(2)
            .all(|w| w[1].time > w[0].time || w[1].cycle > w[0].cycle));
        // A one-shot after a cycle: step 1, ending at motion time 1.
        let f = frame_poses(
            &understand("walk then jump").unwrap(),
            RigKind::Humanoid,
            &spec(20, false),
        );
        let last = f.last().unwrap();
        assert_eq!((last.step, last.cycle, last.time), (1, 0, 1.0));
        assert_eq!((f[0].step, f[0].time), (0, 0.0));
    }

    #[test]
    fn left_facing_mirrors() {
        let f = frame_poses(
            &understand("walk left").unwrap(),
            RigKind::Humanoid,
            &spec(4, false),
        );
        assert!(f.iter().all(|f| f.mirror));
    }
}
