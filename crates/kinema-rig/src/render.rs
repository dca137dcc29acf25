//! Poses a [`Model`] and draws it: skin every layer, refuse folded triangles, rasterise
//! back to front onto the shared canvas.

use kinema_core::{Character, Frame, Placement};

use crate::mesh::count_flipped_triangles;
use crate::motion::{Channel, Pose};
use crate::parts::Model;
use crate::raster::Canvas;
use crate::skin::{skin, Affine};

/// Fixed canvas for a character: every action of it shares size, ground line and pivot.
/// Margins leave room for a jump and raised arms above, for falling over at the sides,
/// and for squash below; the sides are equal so a left-facing mirror stays in place.
pub fn canvas_for(character: &Character) -> (u32, u32, Placement) {
    let (w, h) = (character.width(), character.height());
    let side = (0.45 * h as f32).ceil() as u32 + 2;
    let top = (0.42 * h as f32).ceil() as u32 + 2;
    let bottom = bottom_margin(h);
    (
        w + 2 * side,
        h + top + bottom,
        Placement {
            x: side as i32,
            y: top as i32,
        },
    )
}

/// Rows of canvas below the character image, room for squash and a sagging body.
fn bottom_margin(image_height: u32) -> u32 {
    (0.04 * image_height as f32).ceil() as u32 + 2
}

/// Deformed vertex positions of every layer for `pose` (image coordinates).
pub fn deform(model: &Model, pose: &Pose) -> Vec<Vec<[f32; 2]>> {
    let transforms = model.skeleton.joint_transforms(pose);
    let mut layers = deform_layers(model, pose, &transforms);
    if !pose.is_rest() {
        // A whole-body tilt rests on the ground; any other pose only has to stay on the
        // canvas (two rows above its bottom edge): lifting every small dip would make walks
        // bob.
        let floor = if pose.get(Channel::RootRot) != 0.0 {
            model.ground
        } else {
            (model.height as u32 + bottom_margin(model.height as u32)) as f32 - 2.0
        };
        rest_on_ground(&mut layers, floor);
    }
    layers
}

/// Tilting the body about the ground pivot (a fall, a lean, a body rig bending its spine)
/// swings the side it leans to below the ground line, by up to half the character's width:
/// past the canvas bottom, and visibly sunk into the floor. Lifting the body until its
/// lowest point is back on `floor` makes it tip over its edge instead, as a falling body
/// does; poses that stay above it (every step of a walk, a jump) are untouched.
fn rest_on_ground(layers: &mut [Vec<[f32; 2]>], floor: f32) {
    let lowest = layers
        .iter()
        .flatten()
        .map(|p| p[1])
        .fold(f32::NEG_INFINITY, f32::max);
    if lowest > floor {
        let lift = lowest - floor;
        layers.iter_mut().flatten().for_each(|p| p[1] -= lift);
    }
}

fn deform_layers(model: &Model, pose: &Pose, transforms: &[Affine]) -> Vec<Vec<[f32; 2]>> {
    model
        .layers
        .iter()
        .map(|layer| {
            let mut out = Vec::new();
            match layer.flap {
                Some((anchor, sign)) if pose.get(Channel::Flap) != 0.0 => {
                    let flap = Affine::rotation_about(pose.get(Channel::Flap) * sign, anchor);
                    let moved: Vec<[f32; 2]> =
                        layer.mesh.vertices.iter().map(|&v| flap.apply(v)).collect();
                    skin(&moved, &layer.influences, transforms, &mut out);
                }
                _ => skin(
                    &layer.mesh.vertices,
                    &layer.influences,
                    transforms,
                    &mut out,
                ),
            }
            out
        })
        .collect()
}

/// Flipped triangles over all layers for `pose`; tests and the renderer use it.
pub fn count_flips(model: &Model, pose: &Pose) -> usize {
    deform(model, pose)
        .iter()
        .zip(&model.layers)
        .map(|(d, l)| count_flipped_triangles(&l.mesh.triangles, d))
        .sum()
}

/// The pose actually drawn: `pose`, or the largest fraction of it that folds no triangle
/// (a NaN position counts as folded).
pub fn drawn_pose(model: &Model, pose: &Pose) -> Pose {
    unfolded(model, pose).0
}

/// The pose actually drawn and its deformed vertices (image pixels), as [`render_pose`]
/// draws them.
pub(crate) fn unfolded(model: &Model, pose: &Pose) -> (Pose, Vec<Vec<[f32; 2]>>) {
    let mut scale = 1.0f32;
    loop {
        let p = pose.scaled(scale);
        let d = deform(model, &p);
        let flips: usize = d
            .iter()
            .zip(&model.layers)
            .map(|(d, l)| count_flipped_triangles(&l.mesh.triangles, d))
            .sum();
        if flips == 0 || scale <= 0.0 {
            return (p, d);
        }
        scale = if scale > 0.3 { scale - 0.15 } else { 0.0 };
    }
}

/// Renders one frame of `model` in `pose` on a `width × height` canvas.
pub fn render_pose(
    model: &Model,
    pose: &Pose,
    width: u32,
    height: u32,
    placement: Placement,
    mirror: bool,
) -> Frame {
    let (_, deformed) = unfolded(model, pose);
    let mut canvas = Canvas::new(width as usize, height as usize);
    let (ox, oy) = (placement.x as f32, placement.y as f32);
    let cw = width as f32;
    for (layer, verts) in model.layers.iter().zip(&deformed) {
        let nearest = model.pixel_art;
        for t in &layer.mesh.triangles {
            let tri = t.map(|i| {
                let p = verts[i as usize];
                let x = p[0] + ox;
                [if mirror { cw - x } else { x }, p[1] + oy]
            });
            let src = t.map(|i| layer.mesh.vertices[i as usize]);
            canvas.draw_triangle(&layer.texture, tri, src, nearest);
        }
    }
    let mut rgba = canvas.into_straight();
    if !model.pixel_art && !pose.is_rest() {
        smooth_edge_alpha(&mut rgba, width as usize, height as usize);
    }
    Frame {
        width,
        height,
        rgba,
    }
}

/// Re-estimates the coverage of partly transparent (edge) pixels from their neighbours, a
/// 3×3 tent, as if each were sampled at four points instead of one.
///
/// Why: an edge resampled under rotation gets its anti-aliasing from one bilinear lookup
/// per pixel, so along a slanted outline the fringe alternates just above and just below
/// half coverage and reads as a row of one-pixel bumps, and the tip of a rotated corner
/// reads fully covered. Averaging over the pixel's footprint smooths both, as a hand-drawn
/// outline is. Opaque and empty pixels, and the rest pose (the input itself), are untouched.
fn smooth_edge_alpha(rgba: &mut [u8], w: usize, h: usize) {
    let alpha: Vec<u8> = rgba.chunks_exact(4).map(|p| p[3]).collect();
    let at = |x: usize, y: usize| alpha[y * w + x] as u32;
    for y in 0..h {
        for x in 0..w {
            let a = at(x, y);
            if a == 0 || a == 255 {
                continue;
            }
            let (x0, x1, y0, y1) = (
                x.saturating_sub(1),
                (x + 1).min(w - 1),
                y.saturating_sub(1),
                (y + 1).min(h - 1),
            );
            // Weights 1-2-1 per axis; pixels past the border count as empty.
            let mut sum = 4 * a;
            let wx = |xx: usize| if xx == x { 2 } else { 1 };
            let mut total = 0;
            for yy in y0..=y1 {
                for xx in x0..=x1 {
                    if (xx, yy) != (x, y) {
                        let wt = wx(xx) * if yy == y { 2 } else { 1 };
                        sum += wt * at(xx, yy);
                    }
                }
            }
            total += 16;
            rgba[(y * w + x) * 4 + 3] = ((sum + total / 2) / total) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::build_model;
    use crate::skeleton::{auto_rig, tests::stick_figure};

    /// Falling over tips the body over its edge: no frame of `die` (or any tilting action)
    /// puts a vertex below the ground line, so nothing is cut off at the canvas bottom.
    #[test]
    fn tilted_bodies_stay_on_the_ground() {
        let c = stick_figure();
        let rig = auto_rig(&c).unwrap();
        let model = build_model(&c, &rig).unwrap();
        let ground = model.ground;
        let spec = kinema_core::ClipSpec {
            frames: 20,
            fps: 12,
            seed: 0,
            looping: false,
        };
        for prompt in ["die", "attack", "hurt"] {
            let plan = crate::text::understand(prompt).unwrap();
            let frames = crate::timeline::frame_poses(&plan, rig.kind, &spec);
            let mut tilted = false;
            for f in &frames {
                tilted |= f.pose.get(Channel::RootRot).abs() > 30.0;
                let lowest = deform(&model, &f.pose)
                    .iter()
                    .flatten()
                    .map(|p| p[1])
                    .fold(f32::NEG_INFINITY, f32::max);
                assert!(
                    lowest <= ground + 1e-3,
                    "{prompt}: vertex at {lowest}, ground {ground}"
                );
            }
            if prompt == "die" {
                assert!(tilted, "die should tip the body over");
            }
        }
    }

    #[test]
    fn rest_pose_reproduces_the_input() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        let (w, h, place) = canvas_for(&c);
        let f = render_pose(&model, &Pose::default(), w, h, place, false);
        let crop = f.crop(place.x as i64, place.y as i64, c.width(), c.height());
        let diff: u64 = crop
            .rgba
            .iter()
            .zip(&c.image.rgba)
            .map(|(a, b)| (*a as i64 - *b as i64).unsigned_abs())
            .sum();
        assert!(diff < 200, "rest render differs by {diff}");
    }

    #[test]
    fn extreme_pose_is_clamped_until_nothing_folds() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        let mut pose = Pose::default();
        pose.0[Channel::ElbowL as usize] = 179.0;
        pose.0[Channel::KneeR as usize] = -179.0;
        pose.0[Channel::Spine as usize] = 170.0;
        let (drawn, _) = unfolded(&model, &pose);
        assert_eq!(count_flips(&model, &drawn), 0);
    }

    #[test]
    fn canvas_depends_only_on_the_character() {
        let c = stick_figure();
        let (w, h, p) = canvas_for(&c);
        assert!(w > c.width() && h > c.height());
        assert_eq!(w - c.width(), 2 * p.x as u32);
    }
}
