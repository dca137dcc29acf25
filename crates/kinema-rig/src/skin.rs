//! Forward kinematics and linear-blend skinning: pose → per-joint transforms → vertices.

use crate::motion::{Channel, Pose};
use crate::rig::{Rig, RigKind};

/// `x' = a·x + b·y + tx`, `y' = c·x + d·y + ty` in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Affine {
    pub const IDENTITY: Affine = Affine {
        a: 1.0,
        b: 0.0,
        c: 0.0,
        d: 1.0,
        tx: 0.0,
        ty: 0.0,
    };

    #[inline]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] + self.b * p[1] + self.tx,
            self.c * p[0] + self.d * p[1] + self.ty,
        ]
    }

    /// `self ∘ other`: apply `other` first.
    pub fn then_after(&self, other: &Affine) -> Affine {
        Affine {
            a: self.a * other.a + self.b * other.c,
            b: self.a * other.b + self.b * other.d,
            c: self.c * other.a + self.d * other.c,
            d: self.c * other.b + self.d * other.d,
            tx: self.a * other.tx + self.b * other.ty + self.tx,
            ty: self.c * other.tx + self.d * other.ty + self.ty,
        }
    }

    /// Rotation by `degrees` (clockwise on screen, y down) about `center`.
    pub fn rotation_about(degrees: f32, center: [f32; 2]) -> Affine {
        let (s, c) = degrees.to_radians().sin_cos();
        Affine {
            a: c,
            b: -s,
            c: s,
            d: c,
            tx: center[0] - c * center[0] + s * center[1],
            ty: center[1] - s * center[0] - c * center[1],
        }
    }

    pub fn scale_about(sx: f32, sy: f32, center: [f32; 2]) -> Affine {
        Affine {
            a: sx,
            b: 0.0,
            c: 0.0,
            d: sy,
            tx: center[0] * (1.0 - sx),
            ty: center[1] * (1.0 - sy),
        }
    }

    pub fn translation(x: f32, y: f32) -> Affine {
        Affine {
            tx: x,
            ty: y,
            ..Affine::IDENTITY
        }
    }
}

/// The rig prepared for posing: rest positions, parents and which channel turns which joint.
#[derive(Clone, Debug)]
pub struct Skeleton {
    pub kind: RigKind,
    pub names: Vec<String>,
    pub rest: Vec<[f32; 2]>,
    pub parents: Vec<Option<usize>>,
    /// Joints in an order where parents come before children.
    order: Vec<usize>,
    /// Channel that rotates joint `j` (and its subtree) about its parent, with the sign that
    /// turns "forward swing" into screen rotation.
    turns: Vec<Option<(Channel, f32)>>,
    /// Ground contact point: squash, stretch and falls pivot here.
    pub pivot: [f32; 2],
    /// Character height in pixels: the unit of root moves.
    pub height: f32,
    /// +1, or −1 for a character drawn facing left: the sign of "forward" on screen.
    forward: f32,
}

impl Skeleton {
    /// `faces_right`: which way the character moves forward (for a character drawn from the
    /// front, by convention the image's right).
    pub fn new(rig: &Rig, pivot: [f32; 2], height: f32, faces_right: bool) -> Skeleton {
        let parents = rig.parents();
        let names: Vec<String> = rig.joints.iter().map(|j| j.name.clone()).collect();
        let mut order = Vec::with_capacity(names.len());
        let mut placed = vec![false; names.len()];
        while order.len() < names.len() {
            let before = order.len();
            for j in 0..names.len() {
                if !placed[j] && parents[j].is_none_or(|p| placed[p]) {
                    placed[j] = true;
                    order.push(j);
                }
            }
            if order.len() == before {
                // A cycle (impossible after validation); treat the rest as roots.
                for (j, done) in placed.iter_mut().enumerate() {
                    if !*done {
                        *done = true;
                        order.push(j);
                    }
                }
            }
        }
        // A character facing left moves forward toward −x: every rotation and root move
        // turns round with it, so one motion file serves both facings.
        let forward = if faces_right { 1.0 } else { -1.0 };
        let quadruped = rig.kind == RigKind::Quadruped;
        let turns = names
            .iter()
            .map(|n| {
                Some(match n.as_str() {
                    "withers" => (Channel::Spine, forward),
                    "head" if quadruped => (Channel::Neck, forward),
                    "tail_tip" => (Channel::Tail, forward),
                    "front_near_knee" => (Channel::FrontNear, -forward),
                    "front_near_foot" => (Channel::FrontNearKnee, -forward),
                    "front_far_knee" => (Channel::FrontFar, -forward),
                    "front_far_foot" => (Channel::FrontFarKnee, -forward),
                    "hind_near_knee" => (Channel::HindNear, -forward),
                    "hind_near_foot" => (Channel::HindNearKnee, -forward),
                    "hind_far_knee" => (Channel::HindFar, -forward),
                    "hind_far_foot" => (Channel::HindFarKnee, -forward),
                    _ if quadruped => return None,
                    "neck" | "body" => (Channel::Spine, forward),
                    "head" | "top" => (Channel::Neck, forward),
                    "elbow_left" => (Channel::ArmL, -forward),
                    "hand_left" => (Channel::ElbowL, -forward),
                    "elbow_right" => (Channel::ArmR, -forward),
                    "hand_right" => (Channel::ElbowR, -forward),
                    "knee_left" => (Channel::LegL, -forward),
                    "foot_left" => (Channel::KneeL, -forward),
                    "knee_right" => (Channel::LegR, -forward),
                    "foot_right" => (Channel::KneeR, -forward),
                    _ => return None,
                })
            })
            .collect();
        let rest = rig.joints.iter().map(|j| [j.x, j.y]).collect();
        Skeleton {
            kind: rig.kind,
            names,
            rest,
            parents,
            order,
            turns,
            pivot,
            height: height.max(1.0),
            forward,
        }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The whole-body transform: squash/stretch and tilt about the ground pivot, then move.
    pub fn root_transform(&self, pose: &Pose) -> Affine {
        let sy = (1.0 + pose.get(Channel::SquashY)).max(0.05);
        let sx = (1.0 + pose.get(Channel::SquashX) - 0.5 * pose.get(Channel::SquashY)).max(0.05);
        let squash = Affine::scale_about(sx, sy, self.pivot);
        let tilt = Affine::rotation_about(pose.get(Channel::RootRot) * self.forward, self.pivot);
        let shift = Affine::translation(
            pose.get(Channel::RootX) * self.height * self.forward,
            -pose.get(Channel::RootY) * self.height,
        );
        shift.then_after(&tilt.then_after(&squash))
    }

    /// World transform of every joint's bone (the bone from its parent to it).
    pub fn joint_transforms(&self, pose: &Pose) -> Vec<Affine> {
        let root = self.root_transform(pose);
        let mut out = vec![root; self.rest.len()];
        for &j in &self.order {
            if let Some(p) = self.parents[j] {
                let angle = self.turns[j].map_or(0.0, |(c, sign)| pose.get(c) * sign);
                let local = if angle == 0.0 {
                    Affine::IDENTITY
                } else {
                    Affine::rotation_about(angle, self.rest[p])
                };
                out[j] = out[p].then_after(&local);
            }
        }
        out
    }

    /// Bones as `(parent joint, child joint)`; a bone moves with its child's transform.
    pub fn bones(&self) -> Vec<(usize, usize)> {
        (0..self.rest.len())
            .filter_map(|j| self.parents[j].map(|p| (p, j)))
            .collect()
    }
}

/// Up to four `(joint transform index, weight)` pairs per vertex, weights summing to 1.
pub type Influences = [(u16, f32); 4];

/// Smooth weights: inverse fourth power of the distance to each candidate bone, so each
/// vertex follows its own bone rigidly and blends only near joints.
pub fn bone_weights(
    vertices: &[[f32; 2]],
    candidates: &[(usize, usize)],
    rest: &[[f32; 2]],
    falloff: f32,
) -> Vec<Influences> {
    let eps = falloff * falloff;
    vertices
        .iter()
        .map(|&v| {
            let mut ws: Vec<(u16, f32)> = candidates
                .iter()
                .map(|&(p, c)| {
                    let d = crate::contour::segment_distance(v, rest[p], rest[c]);
                    (c as u16, 1.0 / (d * d + eps).powi(2))
                })
                .collect();
            ws.sort_by(|a, b| b.1.total_cmp(&a.1));
            ws.truncate(4);
            let total: f32 = ws.iter().map(|w| w.1).sum();
            let mut inf = [(0u16, 0.0f32); 4];
            for (slot, w) in inf.iter_mut().zip(ws.iter()) {
                *slot = (w.0, if total > 0.0 { w.1 / total } else { 0.0 });
            }
            if total <= 0.0 {
                inf[0].1 = 1.0;
            }
            inf
        })
        .collect()
}

/// Blends the joint transforms per vertex.
pub fn skin(
    vertices: &[[f32; 2]],
    influences: &[Influences],
    transforms: &[Affine],
    out: &mut Vec<[f32; 2]>,
) {
    out.clear();
    out.extend(vertices.iter().zip(influences).map(|(&v, inf)| {
        let mut acc = [0.0f32; 2];
        for &(j, w) in inf {
            if w > 0.0 {
                let p = transforms[j as usize].apply(v);
                acc[0] += w * p[0];
                acc[1] += w * p[1];
            }
        }
        acc
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::{Joint, RIG_VERSION};

    fn chain_rig() -> Rig {
        let j = |n: &str, x: f32, y: f32, p: Option<&str>| Joint {
            name: n.into(),
            x,
            y,
            parent: p.map(String::from),
        };
        Rig {
            version: RIG_VERSION,
            kind: RigKind::BodyChain,
            width: 20,
            height: 40,
            joints: vec![
                j("base", 10.0, 38.0, None),
                j("body", 10.0, 20.0, Some("base")),
                j("top", 10.0, 4.0, Some("body")),
            ],
        }
    }

    #[test]
    fn rotation_turns_clockwise_on_screen() {
        let r = Affine::rotation_about(90.0, [0.0, 0.0]);
        let p = r.apply([1.0, 0.0]);
        assert!((p[0]).abs() < 1e-6 && (p[1] - 1.0).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn rest_pose_is_identity_and_lean_moves_the_top_forward() {
        let rig = chain_rig();
        let sk = Skeleton::new(&rig, [10.0, 40.0], 40.0, true);
        for t in sk.joint_transforms(&Pose::default()) {
            assert_eq!(t.apply([3.0, 7.0]), [3.0, 7.0]);
        }
        let mut pose = Pose::default();
        pose.0[Channel::Spine as usize] = 20.0;
        let t = sk.joint_transforms(&pose);
        let top = t[2].apply(sk.rest[2]);
        assert!(top[0] > 13.0, "lean forward moves +x: {top:?}");
        assert_eq!(t[0].apply(sk.rest[0]), sk.rest[0]);
    }

    #[test]
    fn squash_keeps_the_ground_point() {
        let sk = Skeleton::new(&chain_rig(), [10.0, 40.0], 40.0, true);
        let mut pose = Pose::default();
        pose.0[Channel::SquashY as usize] = -0.3;
        let root = sk.root_transform(&pose);
        assert_eq!(root.apply([10.0, 40.0]), [10.0, 40.0]);
        let top = root.apply([10.0, 0.0]);
        assert!((top[1] - 12.0).abs() < 1e-4, "{top:?}");
    }

    #[test]
    fn weights_sum_to_one_and_follow_the_nearest_bone() {
        let rig = chain_rig();
        let sk = Skeleton::new(&rig, [10.0, 40.0], 40.0, true);
        let verts = vec![[10.0, 36.0], [10.0, 20.0], [12.0, 5.0]];
        let w = bone_weights(&verts, &sk.bones(), &sk.rest, 2.0);
        for inf in &w {
            let s: f32 = inf.iter().map(|x| x.1).sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
        assert_eq!(w[0][0].0, 1);
        assert!(w[0][0].1 > 0.95);
        assert_eq!(w[2][0].0, 2);
        // At the joint the two bones share.
        assert!(w[1][0].1 < 0.6);
    }
}
