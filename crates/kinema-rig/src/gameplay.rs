//! Gameplay metadata for each rendered frame: the ground pivot, root motion, the body's
//! hurtbox, the striking limb's hitbox on active attack frames, and the motion files'
//! events placed on the frames they fall on.
//!
//! Events are given in motion time (0..=1 per cycle); a frame stands for the stretch of
//! motion time halfway to its neighbours, so every event lands on exactly one frame, the
//! one nearest to it, and an interval (`attack_active`) makes active every frame whose
//! stretch it touches.

use kinema_core::{BoxPx, EventPhase, Frame, FrameEvent, FrameGameplay, Hitbox, Placement};

use crate::motion::{Channel, Pose};
use crate::parts::{Model, Part};
use crate::render::unfolded;
use crate::rig::RigKind;
use crate::text::Plan;
use crate::timeline::FramePose;

/// Opacity from which a pixel counts as part of the body (anti-aliased edges fade).
const SOLID_ALPHA: u8 = 64;

/// Where a frame lies in its step's motion: cycles completed plus the time in the cycle.
fn progress(f: &FramePose) -> f32 {
    f.cycle as f32 + f.time
}

/// The stretch of motion progress each frame of one step stands for.
fn windows(frames: &[FramePose]) -> Vec<(f32, f32)> {
    let p: Vec<f32> = frames.iter().map(progress).collect();
    let n = p.len();
    (0..n)
        .map(|i| {
            let before = (i > 0).then(|| p[i] - p[i - 1]);
            let after = (i + 1 < n).then(|| p[i + 1] - p[i]);
            match (before.or(after), after.or(before)) {
                (Some(b), Some(a)) => (p[i] - b.max(0.0) / 2.0, p[i] + a.max(0.0) / 2.0),
                // A lone frame stands for its whole cycle.
                _ => (p[i] - 0.5, p[i] + 0.5),
            }
        })
        .collect()
}

/// Vertices (image pixels, drawn pose) that follow `joint`'s bone more than any other:
/// the limb that ends at that joint (`hand_right`: the forearm and hand). Underlays are
/// left out: they are hidden behind the body.
pub fn limb_points(model: &Model, pose: &Pose, joint: &str) -> Vec<[f32; 2]> {
    match model.skeleton.index(joint) {
        Some(j) => drawn_points(model, pose, Some(j)),
        None => Vec::new(),
    }
}

/// Every drawn vertex (image pixels) of the visible layers, or only those following
/// joint `only` more than any other.
pub fn drawn_points(model: &Model, pose: &Pose, only: Option<usize>) -> Vec<[f32; 2]> {
    let (_, deformed) = unfolded(model, pose);
    let mut out = Vec::new();
    for (layer, verts) in model.layers.iter().zip(&deformed) {
        if layer.part == Part::Underlay {
            continue;
        }
        for (inf, v) in layer.influences.iter().zip(verts) {
            let keep = only.is_none_or(|j| {
                inf.iter()
                    .filter(|(b, _)| *b as usize == j)
                    .map(|(_, w)| w)
                    .sum::<f32>()
                    >= 0.5
            });
            if keep {
                out.push(*v);
            }
        }
    }
    out
}

/// The feet a kind stands on, for naming which one a footstep comes down on.
fn feet(kind: RigKind) -> &'static [&'static str] {
    match kind {
        RigKind::Humanoid => &["foot_left", "foot_right"],
        RigKind::Quadruped => &[
            "front_near_foot",
            "front_far_foot",
            "hind_near_foot",
            "hind_far_foot",
        ],
        RigKind::BodyChain => &[],
    }
}

/// Image → frame pixels for one frame.
struct ToFrame {
    placement: Placement,
    width: f32,
    mirror: bool,
}

impl ToFrame {
    fn point(&self, p: [f32; 2]) -> [f32; 2] {
        let x = p[0] + self.placement.x as f32;
        [
            if self.mirror { self.width - x } else { x },
            p[1] + self.placement.y as f32,
        ]
    }
}

/// The box of the frame's pixels at least [`SOLID_ALPHA`] opaque.
fn opaque_box(frame: &Frame) -> BoxPx {
    let w = frame.width as usize;
    let mut pts = Vec::new();
    for (i, px) in frame.rgba.chunks_exact(4).enumerate() {
        if px[3] >= SOLID_ALPHA {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            pts.push([x, y]);
            pts.push([x + 1.0, y + 1.0]);
        }
    }
    BoxPx::around(pts)
}

/// The sign of "forward" on screen for the model as drawn (+1: toward +x).
fn forward_sign(model: &Model) -> f32 {
    let mut pose = Pose::default();
    pose.0[Channel::RootX as usize] = 1.0;
    model.skeleton.root_transform(&pose).tx.signum()
}

/// Gameplay metadata of every frame of a clip rendered from `poses` (as
/// [`crate::frame_poses`] made them for `plan`) into `frames`.
pub fn clip_gameplay(
    model: &Model,
    plan: &Plan,
    poses: &[FramePose],
    frames: &[Frame],
    placement: Placement,
) -> Vec<FrameGameplay> {
    let width = frames.first().map_or(0.0, |f| f.width as f32);
    let kind = model.skeleton.kind;
    let view = model.orientation.view;
    let forward = forward_sign(model);
    let mut out: Vec<FrameGameplay> = Vec::with_capacity(poses.len());
    let mut travelled = 0.0f32;
    let mut start = 0;
    while start < poses.len() {
        let step = poses[start].step;
        let end = (start..poses.len())
            .find(|&i| poses[i].step != step)
            .unwrap_or(poses.len());
        let these = &poses[start..end];
        let motion = plan.steps.get(step).and_then(|s| s.motion.for_kind(kind));
        // A stand-in section (a quadruped playing body-chain keys) names its own joints.
        let joint = |limb: &Option<String>| -> Option<String> {
            let limb = limb.as_deref()?;
            let section = motion.map_or(kind, |m| m.kind);
            Some(stand_in_joint(section, kind, limb).to_string())
        };
        let wins = windows(these);
        for (k, fp) in these.iter().enumerate() {
            let to = ToFrame {
                placement,
                width,
                mirror: fp.mirror,
            };
            let direction = if fp.mirror { -forward } else { forward };
            if k > 0 {
                let heights = motion.map_or(0.0, |m| {
                    m.root_motion.forward * (progress(fp) - progress(&these[k - 1]))
                });
                travelled += heights * model.skeleton.height * direction;
            }
            let (lo, hi) = wins[k];
            let mut events = Vec::new();
            let mut hitbox = None;
            for e in motion.map(|m| m.events_for(view)).unwrap_or_default() {
                let first = lo.floor() as i64 - 1;
                let last = hi.ceil() as i64 + 1;
                for cycle in first..=last {
                    let at = cycle as f32 + e.time;
                    let in_window = |t: f32| t >= lo && t < hi;
                    let phase = if e.end.is_some() {
                        EventPhase::Start
                    } else {
                        EventPhase::Instant
                    };
                    if in_window(at) {
                        events.push(FrameEvent {
                            name: e.name.clone(),
                            phase,
                            limb: joint(&e.limb),
                        });
                    }
                    if let Some(end) = e.end {
                        let until = cycle as f32 + end;
                        if in_window(until) {
                            events.push(FrameEvent {
                                name: e.name.clone(),
                                phase: EventPhase::End,
                                limb: joint(&e.limb),
                            });
                        }
                        let active = at < hi && until >= lo;
                        if active && e.name == "attack_active" && hitbox.is_none() {
                            if let Some(limb) = joint(&e.limb) {
                                hitbox =
                                    strike_box(model, &fp.pose, &limb, &to).map(|rect| Hitbox {
                                        rect,
                                        limb,
                                        event: e.name.clone(),
                                    });
                            }
                        }
                    }
                }
            }
            // A footstep or landing without a named foot comes down on the lowest one.
            for ev in events.iter_mut() {
                if ev.limb.is_none() && matches!(ev.name.as_str(), "footstep" | "land") {
                    ev.limb = lowest_foot(model, &fp.pose);
                }
            }
            let pivot = to.point([model.skeleton.pivot[0], model.ground]);
            out.push(FrameGameplay {
                pivot,
                root_motion: [travelled, 0.0],
                hurtbox: frames.get(start + k).map(opaque_box).unwrap_or_default(),
                hitbox,
                events,
            });
        }
        start = end;
    }
    out
}

/// The joint of `rig` that stands for joint `limb` of a `section` kind's motion: a
/// quadruped playing body-chain keys strikes with its head where a body chain strikes
/// with its top.
fn stand_in_joint(section: RigKind, rig: RigKind, limb: &str) -> &str {
    match (section, rig, limb) {
        (RigKind::BodyChain, RigKind::Quadruped, "top") => "head",
        (RigKind::BodyChain, RigKind::Quadruped, "body") => "withers",
        (RigKind::BodyChain, RigKind::Quadruped, "base") => "hips",
        _ => limb,
    }
}

/// The striking limb's box in frame pixels.
fn strike_box(model: &Model, pose: &Pose, limb: &str, to: &ToFrame) -> Option<BoxPx> {
    let points = limb_points(model, pose, limb);
    if points.is_empty() {
        return None;
    }
    Some(BoxPx::around(points.into_iter().map(|p| to.point(p))))
}

/// The foot whose lowest point is lowest on screen, if the kind has feet.
fn lowest_foot(model: &Model, pose: &Pose) -> Option<String> {
    feet(model.skeleton.kind)
        .iter()
        .filter_map(|f| {
            let y = limb_points(model, pose, f)
                .iter()
                .map(|p| p[1])
                .fold(f32::NEG_INFINITY, f32::max);
            y.is_finite().then_some((*f, y))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::build_model;
    use crate::render::{canvas_for, render_pose};
    use crate::skeleton::{auto_rig, tests::stick_figure};
    use crate::text::understand;
    use crate::timeline::frame_poses;
    use kinema_core::ClipSpec;

    fn clip(prompt: &str, frames: u32, looping: bool) -> (Model, Plan, Vec<FrameGameplay>) {
        let c = stick_figure();
        let rig = auto_rig(&c).unwrap();
        let model = build_model(&c, &rig).unwrap();
        let plan = understand(prompt).unwrap();
        let spec = ClipSpec {
            frames,
            fps: 12,
            seed: 0,
            looping,
        };
        let poses = frame_poses(&plan, rig.kind, &spec);
        let (w, h, place) = canvas_for(&c);
        let rendered: Vec<Frame> = poses
            .iter()
            .map(|p| render_pose(&model, &p.pose, w, h, place, p.mirror))
            .collect();
        let g = clip_gameplay(&model, &plan, &poses, &rendered, place);
        (model, plan, g)
    }

    #[test]
    fn each_footstep_lands_once_per_step_on_a_named_foot() {
        // Two walk cycles of four steps at 12 fps over 24 frames.
        let (_, _, g) = clip("walk", 24, true);
        let steps: Vec<&FrameEvent> = g.iter().flat_map(|f| &f.events).collect();
        assert_eq!(steps.len(), 4, "{steps:?}");
        assert!(steps
            .iter()
            .all(|e| e.name == "footstep" && e.phase == EventPhase::Instant));
        assert!(steps.iter().all(|e| e.limb.is_some()));
        // The walk travels forward (+x) steadily and never strikes.
        assert!(g
            .windows(2)
            .all(|w| w[1].root_motion[0] > w[0].root_motion[0]));
        assert_eq!(g[0].root_motion, [0.0, 0.0]);
        assert!(g.iter().all(|f| f.hitbox.is_none()));
    }

    #[test]
    fn a_strike_opens_and_closes_with_hitboxes_between() {
        let (_, _, g) = clip("attack", 24, false);
        let starts: Vec<usize> = (0..g.len())
            .filter(|&i| g[i].events.iter().any(|e| e.phase == EventPhase::Start))
            .collect();
        let ends: Vec<usize> = (0..g.len())
            .filter(|&i| g[i].events.iter().any(|e| e.phase == EventPhase::End))
            .collect();
        assert_eq!((starts.len(), ends.len()), (1, 1));
        let (s, e) = (starts[0], ends[0]);
        assert!(s < e);
        for (i, f) in g.iter().enumerate() {
            assert_eq!(f.hitbox.is_some(), (s..=e).contains(&i), "frame {i}");
            // The pivot stays on the ground line, under the body.
            assert_eq!(f.pivot, g[0].pivot);
            assert!(f.hurtbox.w > 0.0 && f.hurtbox.contains([f.pivot[0], f.hurtbox.y]));
        }
        let hb = g[s].hitbox.as_ref().unwrap();
        assert_eq!(hb.limb, "hand_right");
        assert!(hb.rect.w * hb.rect.h < g[s].hurtbox.w * g[s].hurtbox.h);
    }

    #[test]
    fn left_facing_clips_travel_left() {
        let (_, _, g) = clip("walk left", 12, false);
        assert!(g.last().unwrap().root_motion[0] < 0.0);
    }
}
