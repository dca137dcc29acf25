//! Motion capture onto a drawn character: the performer's joints are projected onto the
//! plane the character is drawn in, each of our bones is turned to point the way the
//! performer's matching bone points there (so our bone lengths never change), the body
//! is raised or lowered so the feet stand on the ground line (or leave it as the
//! performer's do), and the result becomes ordinary keyframes sampled at the clip's fps.

use kinema_core::{Error, Result};

use super::mapping::{auto_resolve, resolve_with, Point};
use super::parse::Bvh;
use super::{MappingChoice, Mocap, PlaneChoice};
use crate::library::{KindMotion, MotionEvent, RootMotion};
use crate::motion::{channels_of, Channel, Ease, Keyframes, Pose, Track};
use crate::parts::Model;
use crate::rig::{RigKind, HUMANOID_JOINTS};
use crate::skin::{Affine, Skeleton};
use crate::view::{Orientation, View};

/// The plane a capture is seen in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plane {
    /// From in front: the performer's left appears on the drawing's right.
    Front,
    /// From the side, the performer facing the way the character does.
    Side,
}

type V3 = [f64; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
fn unit(a: V3) -> V3 {
    let n = norm(a).max(1e-12);
    [a[0] / n, a[1] / n, a[2] / n]
}
fn lerp(a: V3, b: V3, t: f64) -> V3 {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// World positions of the 15 mapped points at a time (seconds), between frames linearly.
fn points_at(bvh: &Bvh, points: &[Point], seconds: f64) -> Vec<V3> {
    let f = (seconds / bvh.frame_time).max(0.0);
    let i = (f.floor() as usize).min(bvh.frames.len() - 1);
    let j = (i + 1).min(bvh.frames.len() - 1);
    let t = f - i as f64;
    let at = |k: usize| {
        let (pos, ends) = bvh.pose(k);
        points
            .iter()
            .map(|p| match *p {
                Point::Joint(x) => pos[x],
                Point::End(x) => ends[x].unwrap_or(pos[x]),
            })
            .collect::<Vec<V3>>()
    };
    let (a, b) = (at(i), at(j));
    a.iter().zip(&b).map(|(p, q)| lerp(*p, *q, t)).collect()
}

/// The rest pose (every channel zero) of the mapped points.
fn rest_points(bvh: &Bvh, points: &[Point]) -> Vec<V3> {
    let zero = Bvh {
        joints: bvh.joints.clone(),
        frame_time: bvh.frame_time,
        frames: vec![vec![0.0; bvh.frames.first().map_or(0, Vec::len)]],
    };
    points_at(&zero, points, 0.0)
}

/// Index of a humanoid joint in [`HUMANOID_JOINTS`].
fn slot(name: &str) -> usize {
    HUMANOID_JOINTS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(0)
}

/// The same joint on the performer's other side.
fn other_side(name: &str) -> String {
    if let Some(s) = name.strip_suffix("_left") {
        format!("{s}_right")
    } else if let Some(s) = name.strip_suffix("_right") {
        format!("{s}_left")
    } else {
        name.to_string()
    }
}

/// The channel that turns each skeleton joint and its sign (screen degrees per unit),
/// found by turning every channel and watching which joint follows.
fn turns(sk: &Skeleton) -> Vec<Option<(Channel, f32)>> {
    let rot = |t: &Affine| t.c.atan2(t.a).to_degrees();
    let mut out = vec![None; sk.names.len()];
    for &c in channels_of(sk.kind) {
        if matches!(
            c,
            Channel::RootX
                | Channel::RootY
                | Channel::RootRot
                | Channel::SquashX
                | Channel::SquashY
        ) {
            continue;
        }
        let mut pose = Pose::default();
        pose.0[c as usize] = 10.0;
        let t = sk.joint_transforms(&pose);
        for (j, slot) in out.iter_mut().enumerate() {
            if let Some(p) = sk.parents[j] {
                let d = rot(&t[j]) - rot(&t[p]);
                if d.abs() > 1e-3 {
                    *slot = Some((c, d / 10.0));
                }
            }
        }
    }
    out
}

fn wrap(deg: f64) -> f64 {
    let mut d = deg % 360.0;
    if d > 180.0 {
        d -= 360.0;
    }
    if d <= -180.0 {
        d += 360.0;
    }
    d
}

/// How a capture was fitted, for `--json` and the tests.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub plane: Plane,
    pub mapping: String,
    /// Our leg length over the performer's: capture units → image pixels.
    pub scale: f64,
    pub samples: usize,
}

/// `mocap` as humanoid keyframes for `model`, drawn as `orientation` says, sampled at
/// `fps` (keys at motion times `i / (n - 1)`, one per frame of a clip of the capture's
/// length at that rate).
pub fn retarget(
    mocap: &Mocap,
    model: &Model,
    orientation: Orientation,
    fps: u32,
) -> Result<(KindMotion, Fit)> {
    let sk = &model.skeleton;
    if sk.kind != RigKind::Humanoid {
        return Err(Error::invalid(
            format!(
                "the motion capture {} drives humanoid rigs, and this character is rigged as a {}",
                mocap.label,
                sk.kind.name()
            ),
            "use it with a two-legged character, or give the motion file a section for this kind",
        ));
    }
    let bvh = &mocap.bvh;
    let resolved = match &mocap.mapping {
        MappingChoice::Auto => auto_resolve(&mocap.label, bvh)?,
        MappingChoice::Table(t) => resolve_with(&mocap.label, bvh, t)?,
    };
    let plane = match mocap.plane {
        PlaneChoice::Front => Plane::Front,
        PlaneChoice::Side => Plane::Side,
        PlaneChoice::Auto => match orientation.view {
            View::Front => Plane::Front,
            View::ThreeQuarter | View::Side => Plane::Side,
        },
    };
    // Which performer side each side of the drawing shows.
    let swap = match plane {
        Plane::Front => true,
        Plane::Side => !orientation.faces_right,
    };
    let performer_of = |ours: &str| -> usize {
        if swap {
            slot(&other_side(ours))
        } else {
            slot(ours)
        }
    };

    // The performer's axes: up from the rest pose, left from the hips in the first frame.
    let rest = rest_points(bvh, &resolved.points);
    let up = {
        let d = sub(rest[slot("neck")], rest[slot("pelvis")]);
        let axis = (0..3)
            .max_by(|&a, &b| d[a].abs().total_cmp(&d[b].abs()))
            .unwrap_or(1);
        let mut u = [0.0; 3];
        u[axis] = d[axis].signum();
        u
    };
    let first = points_at(bvh, &resolved.points, 0.0);
    let lateral = |p: &[V3]| {
        let l = sub(p[slot("hip_left")], p[slot("hip_right")]);
        sub(
            l,
            [up[0] * dot(l, up), up[1] * dot(l, up), up[2] * dot(l, up)],
        )
    };
    let mut left = lateral(&first);
    if norm(left) < 1e-9 {
        left = lateral(&rest);
    }
    let left = unit(left);
    let forward = cross(left, up);
    let x_axis = match plane {
        Plane::Front => left,
        Plane::Side if orientation.faces_right => forward,
        Plane::Side => [-forward[0], -forward[1], -forward[2]],
    };
    let project = |p: V3| [dot(p, x_axis), -dot(p, up)];

    // Lengths: our legs over the performer's.
    let leg = |p: &[V3], side: &str| {
        norm(sub(
            p[slot(&format!("knee_{side}"))],
            p[slot(&format!("hip_{side}"))],
        )) + norm(sub(
            p[slot(&format!("foot_{side}"))],
            p[slot(&format!("knee_{side}"))],
        ))
    };
    let theirs = 0.5 * (leg(&rest, "left") + leg(&rest, "right"));
    let rest2 = |name: &str| sk.index(name).map(|i| sk.rest[i]).unwrap_or([0.0, 0.0]);
    let dist = |a: &str, b: &str| {
        let (p, q) = (rest2(a), rest2(b));
        ((p[0] - q[0]) as f64).hypot((p[1] - q[1]) as f64)
    };
    let ours_leg = 0.5
        * (dist("hip_left", "knee_left")
            + dist("knee_left", "foot_left")
            + dist("hip_right", "knee_right")
            + dist("knee_right", "foot_right"));
    let scale = if theirs > 1e-9 {
        ours_leg / theirs
    } else {
        1.0
    };

    // Samples at the clip's rate over the capture.
    let duration = bvh.duration();
    let n = ((duration * fps.max(1) as f64).round() as usize + 1).max(2);
    let times: Vec<f64> = (0..n)
        .map(|i| duration * i as f64 / (n - 1) as f64)
        .collect();
    let samples: Vec<Vec<V3>> = times
        .iter()
        .map(|&t| points_at(bvh, &resolved.points, t))
        .collect();

    let turn = turns(sk);
    let channels: Vec<Channel> = {
        let mut cs: Vec<Channel> = turn.iter().flatten().map(|(c, _)| *c).collect();
        cs.dedup();
        cs
    };
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(n); Channel::ALL.len()];
    let mut previous_target: Vec<Option<f64>> = vec![None; sk.names.len()];
    let order: Vec<usize> = HUMANOID_JOINTS
        .iter()
        .filter_map(|(name, _)| sk.index(name))
        .collect();
    let mut poses = Vec::with_capacity(n);
    for pts in &samples {
        let mut pose = Pose::default();
        let mut world = vec![0.0f64; sk.names.len()];
        for &j in &order {
            let Some(p) = sk.parents[j] else { continue };
            world[j] = world[p];
            let Some((channel, sign)) = turn[j] else {
                continue;
            };
            let (a, b) = (
                project(pts[performer_of(&sk.names[p])]),
                project(pts[performer_of(&sk.names[j])]),
            );
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let target = if dx.hypot(dy) > 1e-6 * theirs.max(1e-9) {
                dy.atan2(dx).to_degrees()
            } else {
                // Pointing at the camera: keep the last direction seen.
                previous_target[j].unwrap_or(0.0)
            };
            previous_target[j] = Some(target);
            let rest_angle = {
                let (r0, r1) = (sk.rest[p], sk.rest[j]);
                ((r1[1] - r0[1]) as f64)
                    .atan2((r1[0] - r0[0]) as f64)
                    .to_degrees()
            };
            let turn_by = wrap(target - rest_angle - world[p]);
            world[j] = world[p] + turn_by;
            pose.0[channel as usize] = (turn_by / sign as f64) as f32;
        }
        poses.push(pose);
    }
    for pose in &poses {
        for &c in &channels {
            values[c as usize].push(pose.get(c) as f64);
        }
    }
    for &c in &channels {
        let v = &mut values[c as usize];
        for i in 1..v.len() {
            let d = wrap(v[i] - v[i - 1]);
            v[i] = v[i - 1] + d;
        }
    }

    // Feet on the ground line: the lowest foot stands where it stands at rest, raised by
    // the performer's own lift (scaled) when both feet leave the floor.
    let feet = ["foot_left", "foot_right"].map(|f| sk.index(f));
    let height_of = |p: V3| dot(p, up);
    let lowest_foot =
        |pts: &[V3]| height_of(pts[slot("foot_left")]).min(height_of(pts[slot("foot_right")]));
    let floor = samples
        .iter()
        .map(|p| lowest_foot(p))
        .fold(f64::INFINITY, f64::min);
    let rest_low = feet
        .iter()
        .flatten()
        .map(|&f| sk.rest[f][1] as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut root_y = Vec::with_capacity(n);
    for (i, pts) in samples.iter().enumerate() {
        let mut pose = Pose::default();
        for &c in &channels {
            pose.0[c as usize] = values[c as usize][i] as f32;
        }
        let t = sk.joint_transforms(&pose);
        let posed_low = feet
            .iter()
            .flatten()
            .map(|&f| t[f].apply(sk.rest[f])[1] as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        let target = rest_low - (lowest_foot(pts) - floor) * scale;
        root_y.push((posed_low - target) / sk.height as f64);
    }

    // Travel along the way the character faces (none seen from the front).
    let hips = |p: &[V3]| p[slot("pelvis")];
    let travel = match plane {
        Plane::Front => 0.0,
        Plane::Side => {
            dot(sub(hips(&samples[n - 1]), hips(&samples[0])), forward) * scale / sk.height as f64
        }
    };

    // Footsteps: a performer's foot comes down within a twentieth of a leg of the floor.
    let mut events: Vec<MotionEvent> = mocap.events.clone();
    let near = 0.05 * theirs;
    for side in ["left", "right"] {
        let foot = slot(&format!("foot_{side}"));
        let ours = if swap {
            other_side(&format!("foot_{side}"))
        } else {
            format!("foot_{side}")
        };
        let down: Vec<bool> = samples
            .iter()
            .map(|p| height_of(p[foot]) - floor <= near)
            .collect();
        for i in 1..n {
            if down[i] && !down[i - 1] {
                events.push(MotionEvent {
                    name: "footstep".into(),
                    time: (i as f64 / (n - 1) as f64) as f32,
                    end: None,
                    limb: Some(ours.clone()),
                });
            }
        }
    }
    events.sort_by(|a, b| a.time.total_cmp(&b.time));

    let key_times: Vec<f32> = (0..n).map(|i| i as f32 / (n - 1) as f32).collect();
    let mut tracks: Vec<Track> = channels
        .iter()
        .map(|&c| Track {
            channel: c,
            keys: key_times
                .iter()
                .zip(&values[c as usize])
                .map(|(&t, &v)| (t, v as f32))
                .collect(),
        })
        .collect();
    tracks.push(Track {
        channel: Channel::RootY,
        keys: key_times
            .iter()
            .zip(&root_y)
            .map(|(&t, &v)| (t, v as f32))
            .collect(),
    });
    Ok((
        KindMotion {
            kind: RigKind::Humanoid,
            keyframes: Keyframes {
                ease: Ease::Spline,
                tracks,
            },
            root_motion: RootMotion {
                forward: travel as f32,
            },
            events,
            turned: None,
        },
        Fit {
            plane,
            mapping: resolved.table,
            scale,
            samples: n,
        },
    ))
}
