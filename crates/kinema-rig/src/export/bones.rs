//! The rig as a bone tree of an animation tool, and any drawn frame as local transforms of
//! those bones.
//!
//! Our skeleton gives every joint a world transform: the whole-body transform (squash,
//! tilt and move about the ground point) for the root joint, then for each other joint its
//! parent's transform turned about the parent joint. An animation tool wants a tree of
//! bones with local transforms instead, so:
//!
//! - `root` sits at the origin, which is the ground point under the character (the pivot
//!   of the gameplay metadata), and never moves;
//! - `whole_body` (child of `root`, at the origin) carries the whole-body transform, plus
//!   the lift that keeps a falling body on the ground and the mirror of a left-facing step;
//! - one bone per rig joint, named after it, placed where it turns: the root joint at
//!   itself, every other joint at its parent joint, pointing at itself, so `elbow_left` is
//!   the upper arm (it turns with `arm_l`, as motion files say: a bone turns with the
//!   channel of the joint it ends at);
//! - one `flap_N` bone per flapping appendage, at the point where it meets the body.
//!
//! Every frame's local transforms are computed, not assumed: a joint's world transform in
//! the tool's axes is conjugated from ours and divided by its parent's, so whatever the
//! skeleton does, the tool's bones reproduce it.

use crate::motion::{Channel, Pose};
use crate::parts::Model;
use crate::render::unfolded;
use crate::skin::Affine;
use crate::timeline::FramePose;

/// A 2-D affine map in f64: `x' = a·x + b·y + tx`, `y' = c·x + d·y + ty`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct M {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    pub tx: f64,
    pub ty: f64,
}

impl M {
    pub const I: M = M {
        a: 1.0,
        b: 0.0,
        c: 0.0,
        d: 1.0,
        tx: 0.0,
        ty: 0.0,
    };

    pub fn translation(x: f64, y: f64) -> M {
        M {
            tx: x,
            ty: y,
            ..M::I
        }
    }

    /// Rotation by `radians` (x axis toward y axis).
    pub fn rotation(radians: f64) -> M {
        let (s, c) = radians.sin_cos();
        M {
            a: c,
            b: -s,
            c: s,
            d: c,
            tx: 0.0,
            ty: 0.0,
        }
    }

    /// `self ∘ o`: apply `o` first.
    pub fn mul(&self, o: &M) -> M {
        M {
            a: self.a * o.a + self.b * o.c,
            b: self.a * o.b + self.b * o.d,
            c: self.c * o.a + self.d * o.c,
            d: self.c * o.b + self.d * o.d,
            tx: self.a * o.tx + self.b * o.ty + self.tx,
            ty: self.c * o.tx + self.d * o.ty + self.ty,
        }
    }

    pub fn inverse(&self) -> M {
        let det = self.a * self.d - self.b * self.c;
        let det = if det.abs() < 1e-12 { 1e-12 } else { det };
        let (a, b, c, d) = (self.d / det, -self.b / det, -self.c / det, self.a / det);
        M {
            a,
            b,
            c,
            d,
            tx: -(a * self.tx + b * self.ty),
            ty: -(c * self.tx + d * self.ty),
        }
    }

    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        [
            self.a * p[0] + self.b * p[1] + self.tx,
            self.c * p[0] + self.d * p[1] + self.ty,
        ]
    }

    fn from_affine(t: &Affine) -> M {
        M {
            a: t.a as f64,
            b: t.b as f64,
            c: t.c as f64,
            d: t.d as f64,
            tx: t.tx as f64,
            ty: t.ty as f64,
        }
    }
}

/// A bone's local transform as tools store it: translate, rotate, scale (no shear).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Local {
    pub x: f64,
    pub y: f64,
    /// Radians, x axis toward y axis in the tool's axes.
    pub rotation: f64,
    pub scale_x: f64,
    pub scale_y: f64,
}

impl Local {
    /// Splits `m = T·R·S`. Our transforms never shear, so this is exact.
    pub fn of(m: &M) -> Local {
        let rotation = m.c.atan2(m.a);
        let scale_x = m.a.hypot(m.c);
        let det = m.a * m.d - m.b * m.c;
        Local {
            x: m.tx,
            y: m.ty,
            rotation,
            scale_x,
            scale_y: if scale_x > 1e-12 { det / scale_x } else { 1.0 },
        }
    }

    pub fn matrix(&self) -> M {
        let r = M::rotation(self.rotation);
        let s = M {
            a: self.scale_x,
            d: self.scale_y,
            ..M::I
        };
        M::translation(self.x, self.y).mul(&r.mul(&s))
    }
}

/// The tool's axes: its origin is the ground point; `y_up` flips y (Spine), otherwise y
/// points down as in images (Godot).
#[derive(Clone, Copy, Debug)]
pub struct Axes {
    pub origin: [f32; 2],
    pub y_up: bool,
}

impl Axes {
    /// For a model: origin at its ground point.
    pub fn of(model: &Model, y_up: bool) -> Axes {
        Axes {
            origin: [model.skeleton.pivot[0], model.ground],
            y_up,
        }
    }

    /// Image pixels → tool coordinates, as a map.
    fn to_tool(self) -> M {
        let (ox, oy) = (self.origin[0] as f64, self.origin[1] as f64);
        if self.y_up {
            M {
                d: -1.0,
                tx: -ox,
                ty: oy,
                ..M::I
            }
        } else {
            M::translation(-ox, -oy)
        }
    }

    pub fn point(&self, p: [f32; 2]) -> [f64; 2] {
        self.to_tool().apply([p[0] as f64, p[1] as f64])
    }

    /// An image-space map seen in tool coordinates.
    fn conjugate(&self, m: &M) -> M {
        let c = self.to_tool();
        c.mul(m).mul(&c.inverse())
    }
}

/// What a bone follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Follows {
    /// Nothing: the static `root`.
    Nothing,
    /// The whole-body transform.
    WholeBody,
    /// The transform of skeleton joint `j`.
    Joint(usize),
    /// Joint `joint`'s transform after the flap of layer `layer`.
    Flap { layer: usize, joint: usize },
}

#[derive(Clone, Debug)]
pub struct BoneDef {
    pub name: String,
    pub parent: Option<usize>,
    pub follows: Follows,
    /// World transform in the setup (drawn) pose, tool axes.
    pub setup_world: M,
    pub setup: Local,
    pub length: f64,
}

/// The bone tree of a model in some tool's axes, parents before children.
#[derive(Clone, Debug)]
pub struct Bones {
    pub axes: Axes,
    pub defs: Vec<BoneDef>,
    /// Bone of each skeleton joint.
    pub of_joint: Vec<usize>,
    /// Flap bone of each layer that flaps.
    pub of_flap: Vec<Option<usize>>,
}

impl Bones {
    pub fn new(model: &Model, axes: Axes) -> Bones {
        let sk = &model.skeleton;
        let mut defs = vec![
            BoneDef {
                name: "root".into(),
                parent: None,
                follows: Follows::Nothing,
                setup_world: M::I,
                setup: Local::of(&M::I),
                length: 0.0,
            },
            BoneDef {
                name: "whole_body".into(),
                parent: Some(0),
                follows: Follows::WholeBody,
                setup_world: M::I,
                setup: Local::of(&M::I),
                length: 0.0,
            },
        ];
        let mut of_joint = vec![usize::MAX; sk.names.len()];
        // Parents first: repeat over the joints until each has been placed.
        let mut placed = 0;
        while placed < sk.names.len() {
            let before = placed;
            for j in 0..sk.names.len() {
                if of_joint[j] != usize::MAX {
                    continue;
                }
                let parent = match sk.parents[j] {
                    None => Some(1),
                    Some(p) if of_joint[p] != usize::MAX => Some(of_joint[p]),
                    Some(_) => None,
                };
                let Some(parent_bone) = parent else { continue };
                let end = axes.point(sk.rest[j]);
                let (start, rotation, length) = match sk.parents[j] {
                    None => (end, 0.0, 0.0),
                    Some(p) => {
                        let start = axes.point(sk.rest[p]);
                        let (dx, dy) = (end[0] - start[0], end[1] - start[1]);
                        let length = dx.hypot(dy);
                        (
                            start,
                            if length > 1e-9 { dy.atan2(dx) } else { 0.0 },
                            length,
                        )
                    }
                };
                let world = M::translation(start[0], start[1]).mul(&M::rotation(rotation));
                let local = defs[parent_bone].setup_world.inverse().mul(&world);
                of_joint[j] = defs.len();
                defs.push(BoneDef {
                    name: sk.names[j].clone(),
                    parent: Some(parent_bone),
                    follows: Follows::Joint(j),
                    setup_world: world,
                    setup: Local::of(&local),
                    length,
                });
                placed += 1;
            }
            if placed == before {
                break; // a cycle cannot pass rig validation; stop rather than spin
            }
        }
        let mut of_flap = vec![None; model.layers.len()];
        let mut flaps = 0;
        for (li, layer) in model.layers.iter().enumerate() {
            let Some((anchor, _)) = layer.flap else {
                continue;
            };
            let joint = layer.influences.first().map_or(0, |inf| inf[0].0 as usize);
            let Some(&parent) = of_joint.get(joint) else {
                continue;
            };
            flaps += 1;
            let at = axes.point(anchor);
            let world = M::translation(at[0], at[1]);
            let local = defs[parent].setup_world.inverse().mul(&world);
            of_flap[li] = Some(defs.len());
            defs.push(BoneDef {
                name: format!("flap_{flaps}"),
                parent: Some(parent),
                follows: Follows::Flap { layer: li, joint },
                setup_world: world,
                setup: Local::of(&local),
                length: 0.0,
            });
        }
        Bones {
            axes,
            defs,
            of_joint,
            of_flap,
        }
    }

    /// The bones and weights a layer's vertex follows: `(bone, weight)` pairs.
    pub fn binding(&self, model: &Model, layer: usize, vertex: usize) -> Vec<(usize, f64)> {
        if let Some(flap) = self.of_flap[layer] {
            return vec![(flap, 1.0)];
        }
        let mut out: Vec<(usize, f64)> = Vec::new();
        for &(j, w) in &model.layers[layer].influences[vertex] {
            if w <= 0.0 {
                continue;
            }
            let bone = self.of_joint[j as usize];
            match out.iter_mut().find(|(b, _)| *b == bone) {
                Some(slot) => slot.1 += w as f64,
                None => out.push((bone, w as f64)),
            }
        }
        out
    }

    /// Every bone's local transform for one drawn frame.
    pub fn pose(&self, model: &Model, frame: &FramePose) -> Vec<Local> {
        let world = self.world_maps(model, frame);
        let animated: Vec<M> = self
            .defs
            .iter()
            .zip(&world)
            .map(|(d, g)| g.mul(&d.setup_world))
            .collect();
        self.defs
            .iter()
            .enumerate()
            .map(|(i, d)| match d.parent {
                None => Local::of(&animated[i]),
                Some(p) => Local::of(&animated[p].inverse().mul(&animated[i])),
            })
            .collect()
    }

    /// How each bone moves the setup pose in this frame, in tool axes (the map from setup
    /// world positions to posed ones).
    pub fn world_maps(&self, model: &Model, frame: &FramePose) -> Vec<M> {
        let (drawn, deformed) = unfolded(model, &frame.pose);
        let transforms = model.skeleton.joint_transforms(&drawn);
        let lift = ground_lift(model, &drawn, &transforms, &deformed);
        let mut outer = M::translation(0.0, lift);
        if frame.mirror {
            outer = M {
                a: -1.0,
                tx: model.width as f64,
                ..M::I
            }
            .mul(&outer);
        }
        let root = model.skeleton.root_transform(&drawn);
        self.defs
            .iter()
            .map(|d| {
                let image = match d.follows {
                    Follows::Nothing => return M::I,
                    Follows::WholeBody => M::from_affine(&root),
                    Follows::Joint(j) => M::from_affine(&transforms[j]),
                    Follows::Flap { layer, joint } => {
                        let (anchor, sign) = model.layers[layer].flap.unwrap_or(([0.0, 0.0], 0.0));
                        let flap = Affine::rotation_about(drawn.get(Channel::Flap) * sign, anchor);
                        M::from_affine(&transforms[joint].then_after(&flap))
                    }
                };
                self.axes.conjugate(&outer.mul(&image))
            })
            .collect()
    }
}

/// The upward shift the renderer gave this pose to keep it on the ground: the difference
/// between its drawn vertices and the plain skinning of the same vertices.
fn ground_lift(
    model: &Model,
    pose: &Pose,
    transforms: &[Affine],
    deformed: &[Vec<[f32; 2]>],
) -> f64 {
    for (layer, verts) in model.layers.iter().zip(deformed) {
        let (Some(v), Some(inf), Some(d)) = (
            layer.mesh.vertices.first(),
            layer.influences.first(),
            verts.first(),
        ) else {
            continue;
        };
        let v = match layer.flap {
            Some((anchor, sign)) => {
                Affine::rotation_about(pose.get(Channel::Flap) * sign, anchor).apply(*v)
            }
            None => *v,
        };
        let mut y = 0.0f64;
        for &(j, w) in inf {
            if w > 0.0 {
                y += w as f64 * transforms[j as usize].apply(v)[1] as f64;
            }
        }
        return d[1] as f64 - y;
    }
    0.0
}

/// The renderer's drawn vertices of one layer for a frame, in tool axes (mirrored as
/// drawn): what an exported rig must reproduce.
pub fn drawn_vertices(model: &Model, axes: &Axes, frame: &FramePose) -> Vec<Vec<[f64; 2]>> {
    let (_, deformed) = unfolded(model, &frame.pose);
    deformed
        .iter()
        .map(|verts| {
            verts
                .iter()
                .map(|&p| {
                    let p = if frame.mirror {
                        [model.width as f32 - p[0], p[1]]
                    } else {
                        p
                    };
                    axes.point(p)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::build_model;
    use crate::skeleton::{auto_rig, tests::stick_figure};
    use crate::text::understand;
    use crate::timeline::frame_poses;
    use kinema_core::ClipSpec;

    /// Skinning the setup vertices with the posed bones gives the renderer's vertices.
    #[test]
    fn posed_bones_reproduce_the_drawn_vertices() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        for y_up in [true, false] {
            let bones = Bones::new(&model, Axes::of(&model, y_up));
            for prompt in ["walk", "die", "attack then walk left"] {
                let plan = understand(prompt).unwrap();
                let spec = ClipSpec {
                    frames: 10,
                    fps: 12,
                    seed: 3,
                    looping: false,
                };
                for fp in frame_poses(&plan, model.skeleton.kind, &spec) {
                    let locals = bones.pose(&model, &fp);
                    let mut world: Vec<M> = Vec::with_capacity(locals.len());
                    for (d, l) in bones.defs.iter().zip(&locals) {
                        let m = l.matrix();
                        world.push(d.parent.map_or(m, |p| world[p].mul(&m)));
                    }
                    let want = drawn_vertices(&model, &bones.axes, &fp);
                    for (li, layer) in model.layers.iter().enumerate() {
                        for (vi, v) in layer.mesh.vertices.iter().enumerate() {
                            let setup = bones.axes.point(*v);
                            let mut got = [0.0, 0.0];
                            for (b, w) in bones.binding(&model, li, vi) {
                                let local = bones.defs[b].setup_world.inverse().apply(setup);
                                let p = world[b].apply(local);
                                got[0] += w * p[0];
                                got[1] += w * p[1];
                            }
                            let e = want[li][vi];
                            let err = (got[0] - e[0]).hypot(got[1] - e[1]);
                            assert!(err < 1e-2, "{prompt}: layer {li} vertex {vi} off by {err}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn joints_are_bones_that_start_where_they_turn() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        let bones = Bones::new(&model, Axes::of(&model, true));
        let names: Vec<&str> = bones.defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(&names[..3], ["root", "whole_body", "pelvis"]);
        for (i, d) in bones.defs.iter().enumerate() {
            if let Some(p) = d.parent {
                assert!(p < i, "{} comes after its parent", d.name);
            }
        }
        let elbow = &bones.defs[bones.of_joint[model.skeleton.index("elbow_left").unwrap()]];
        let shoulder = model.skeleton.rest[model.skeleton.index("shoulder_left").unwrap()];
        let at = bones.axes.point(shoulder);
        assert!((elbow.setup_world.tx - at[0]).abs() < 1e-6);
        assert!(elbow.length > 1.0);
    }
}
