//! Splits the character into part layers (body, arms, legs, detached pieces), each with
//! its own texture, mesh and skin weights, so limbs drawn against the body still move as
//! limbs and are drawn in a believable depth order.

use kinema_core::{Character, Result};

use crate::contour::segment_distance;
use crate::labels::label_parts;
use crate::mask::Mask;
use crate::mesh::{mesh_mask, Mesh};
use crate::raster::Texture;
use crate::rig::{Rig, RigKind};
use crate::skeleton::subject_mask;
use crate::skin::{bone_weights, Influences, Skeleton};
use crate::view::{orientation_for, Orientation};

/// Which part of the character a layer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Body,
    ArmLeft,
    ArmRight,
    LegLeft,
    LegRight,
    /// Quadruped legs: the front and hind pairs, each with the leg drawn in front of the
    /// body (near) and the one behind it (far).
    FrontNear,
    FrontFar,
    HindNear,
    HindFar,
    /// A quadruped's tail.
    Tail,
    /// A detached piece (wing, fin, floating weapon) following its nearest bone.
    Appendage,
    /// Body colours painted where limbs overlap the body, shown when a limb moves away.
    Underlay,
}

impl Part {
    /// Draw order: the image-left (far, for a right-facing character) limbs go behind.
    fn depth(self) -> i32 {
        match self {
            Part::Underlay => -6,
            Part::Appendage => -5,
            Part::ArmLeft | Part::FrontFar => -4,
            Part::LegLeft | Part::HindFar => -3,
            Part::LegRight | Part::Tail => -2,
            Part::Body => 0,
            Part::ArmRight | Part::FrontNear | Part::HindNear => 1,
        }
    }

    pub fn tint(self) -> [u8; 3] {
        match self {
            Part::Body => [255, 210, 60],
            Part::ArmLeft => [60, 140, 255],
            Part::ArmRight => [40, 220, 255],
            Part::LegLeft => [255, 80, 80],
            Part::LegRight => [255, 120, 200],
            Part::FrontNear => [40, 220, 255],
            Part::FrontFar => [60, 140, 255],
            Part::HindNear => [255, 120, 200],
            Part::HindFar => [255, 80, 80],
            Part::Tail => [190, 110, 255],
            Part::Appendage => [120, 255, 120],
            Part::Underlay => [128, 128, 128],
        }
    }
}

const PARTS: [Part; 12] = [
    Part::Body,
    Part::ArmLeft,
    Part::ArmRight,
    Part::LegLeft,
    Part::LegRight,
    Part::Appendage,
    Part::Underlay,
    Part::FrontNear,
    Part::FrontFar,
    Part::HindNear,
    Part::HindFar,
    Part::Tail,
];

/// Parts that move on their own bones, each drawn as its own layer.
const LIMBS: [Part; 9] = [
    Part::ArmLeft,
    Part::ArmRight,
    Part::LegLeft,
    Part::LegRight,
    Part::FrontNear,
    Part::FrontFar,
    Part::HindNear,
    Part::HindFar,
    Part::Tail,
];

/// One drawable piece: texture, mesh over it and how its vertices follow the skeleton.
#[derive(Clone, Debug)]
pub struct Layer {
    pub part: Part,
    pub texture: Texture,
    pub mesh: Mesh,
    pub influences: Vec<Influences>,
    /// Rotation pivot and direction for the flap channel (appendages of body chains).
    pub flap: Option<([f32; 2], f32)>,
}

/// Everything needed to render any pose of one character; built once per clip.
#[derive(Clone, Debug)]
pub struct Model {
    pub skeleton: Skeleton,
    /// Back to front.
    pub layers: Vec<Layer>,
    pub pixel_art: bool,
    pub width: usize,
    pub height: usize,
    /// The ground line as the meshes see it: their lowest vertex at rest (meshes reach a
    /// little past the silhouette's last row). Poses that sink below it are lifted back.
    pub ground: f32,
    /// Part of every pixel (index into [`Part`] order + 1; 0 = background), for overlays.
    pub part_map: Vec<u8>,
    /// How the character is drawn: which motion keys it plays, which way is forward.
    pub orientation: Orientation,
}

pub(crate) struct Capsule {
    pub part: Part,
    pub bone: (usize, usize),
    pub radius: f32,
}

/// Builds layers, meshes and weights for `character` posed by `rig`.
pub fn build_model(character: &Character, rig: &Rig) -> Result<Model> {
    rig.check_fits(character)?;
    subject_mask(character)?;
    let (w, h) = (character.width() as usize, character.height() as usize);
    let sil = Mask::from_alpha(&character.image, 0);
    let (labels, sizes) = sil.components();
    let main_label = (1..sizes.len()).max_by_key(|&l| sizes[l]).unwrap_or(1) as u32;
    let main = Mask::select(&labels, main_label, w, h);
    let (bx0, by0, bx1, by1) = main.bounds().unwrap_or((0, 0, w, h));
    let char_h = (by1 - by0).max(1) as f32;
    let char_w = (bx1 - bx0).max(1) as f32;
    let pivot = [(bx0 + bx1) as f32 * 0.5, by1 as f32];
    let orientation = orientation_for(&main, rig);
    let skeleton = Skeleton::new(rig, pivot, char_h, orientation.forward_is_right());
    let dt: Vec<f32> = main
        .distance_transform()
        .into_iter()
        .map(f32::sqrt)
        .collect();

    let capsules = capsules(&skeleton, &dt, w, h, char_w);
    let mut part_of = label_parts(&main, &capsules, &skeleton, w, h);
    if rig.kind == RigKind::Quadruped {
        claim_tail(&main, &capsules, &skeleton, &mut part_of);
    }
    // Detached blobs: whole blob to the nearest bone; on body chains they flap.
    let mut appendages = Vec::new();
    for label in 1..sizes.len() as u32 {
        if label == main_label {
            continue;
        }
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for (i, &l) in labels.iter().enumerate() {
            if l == label {
                sx += (i % w) as f32 + 0.5;
                sy += (i / w) as f32 + 0.5;
                n += 1.0;
            }
        }
        let centroid = [sx / n, sy / n];
        let big = n >= 16.0 && n >= 0.01 * sizes[main_label as usize] as f32;
        let part = if rig.kind == RigKind::BodyChain && big {
            appendages.push(label);
            Part::Appendage
        } else {
            capsules
                .iter()
                .min_by(|a, b| {
                    let da = segment_distance(
                        centroid,
                        skeleton.rest[a.bone.0],
                        skeleton.rest[a.bone.1],
                    );
                    let db = segment_distance(
                        centroid,
                        skeleton.rest[b.bone.0],
                        skeleton.rest[b.bone.1],
                    );
                    da.total_cmp(&db)
                })
                .map_or(Part::Body, |c| c.part)
        };
        for (po, &l) in part_of.iter_mut().zip(&labels) {
            if l == label {
                *po = part_index(part);
            }
        }
    }

    let rgba = &character.image.rgba;
    let max_edge = (char_w.max(char_h) / 12.0).clamp(3.0, 40.0);
    let falloff = (0.03 * char_h).max(1.0);
    let mut layers = Vec::new();
    let body_id = part_index(Part::Body);
    let is = |id: u8| Mask {
        width: w,
        height: h,
        data: part_of.iter().map(|&p| p == id).collect(),
    };
    let body_mask = is(body_id);
    for part in LIMBS {
        let m = is(part_index(part));
        if m.count() == 0 {
            continue;
        }
        let bones = capsules
            .iter()
            .filter(|c| c.part == part)
            .map(|c| c.bone)
            .collect::<Vec<_>>();
        // Overlap a little into the body around the joint the limb turns about, so the joint
        // never opens a crack. Only there: a band along the limb's whole border with the
        // body would travel with the limb as a sliver of body colour when it swings away.
        let grown = m.dilate(1.5);
        let (root, reach) =
            capsules
                .iter()
                .find(|c| c.part == part)
                .map_or(([0.0, 0.0], 0.0), |c| {
                    let root = skeleton.rest[c.bone.0];
                    // A tail's bone is thinner than where the tail meets the body: cover the
                    // silhouette's whole width at its root (see `claim_tail`).
                    let at_root = if part == Part::Tail {
                        let i = (root[1] as usize).min(h - 1) * w + (root[0] as usize).min(w - 1);
                        dt[i] + 2.5
                    } else {
                        0.0
                    };
                    (root, (1.5 * c.radius + 2.0).max(at_root))
                });
        let mut layer_mask = m.clone();
        // Only opaque body pixels: the copy and the original then composite exactly.
        for i in 0..w * h {
            let p = [(i % w) as f32 + 0.5, (i / w) as f32 + 0.5];
            let near_root = (p[0] - root[0]).hypot(p[1] - root[1]) <= reach;
            let beside = grown.data[i] || part == Part::Tail;
            layer_mask.data[i] |=
                near_root && beside && body_mask.data[i] && rgba[i * 4 + 3] == 255;
        }
        let tex = masked_texture(rgba, &layer_mask, w, h, None);
        layers.push(make_layer(
            part,
            tex,
            &layer_mask,
            &bones,
            &skeleton,
            max_edge,
            falloff,
            None,
        ));
    }
    // Body, plus an underlay at the very back: limb pixels next to the body, in-painted
    // from the body's colours. At rest the opaque limbs hide it exactly; when a limb
    // swings away it shows body instead of a hole.
    let body_bones: Vec<(usize, usize)> = capsules
        .iter()
        .filter(|c| c.part == Part::Body)
        .map(|c| c.bone)
        .collect();
    let body_tex = masked_texture(rgba, &body_mask, w, h, None);
    layers.push(make_layer(
        Part::Body,
        body_tex,
        &body_mask,
        &body_bones,
        &skeleton,
        max_edge,
        falloff,
        None,
    ));
    let mut under = Mask::new(w, h);
    let to_body = body_mask.distance_to();
    for part in LIMBS {
        let limb = is(part_index(part));
        let r = capsules
            .iter()
            .find(|c| c.part == part)
            .map_or(2.0, |c| c.radius);
        let band = if matches!(part, Part::ArmLeft | Part::ArmRight) {
            0.8 * r
        } else {
            0.5 * r
        };
        let band = band.max(1.5);
        for i in 0..w * h {
            under.data[i] |= limb.data[i] && to_body[i] <= band && rgba[i * 4 + 3] == 255;
        }
    }
    if under.count() > 0 {
        let tex = masked_texture(rgba, &under, w, h, Some((&under, &body_mask)));
        layers.push(make_layer(
            Part::Underlay,
            tex,
            &under,
            &body_bones,
            &skeleton,
            max_edge,
            falloff,
            None,
        ));
    }

    let main_centroid = centroid(&main);
    for label in appendages {
        let m = Mask::select(&labels, label, w, h);
        let c = centroid(&m);
        let anchor = (0..w * h)
            .filter(|&i| m.data[i])
            .map(|i| [(i % w) as f32 + 0.5, (i / w) as f32 + 0.5])
            .min_by(|a, b| dist2(*a, main_centroid).total_cmp(&dist2(*b, main_centroid)))
            .unwrap_or(c);
        let bone = skeleton
            .bones()
            .into_iter()
            .min_by(|a, b| {
                segment_distance(anchor, skeleton.rest[a.0], skeleton.rest[a.1]).total_cmp(
                    &segment_distance(anchor, skeleton.rest[b.0], skeleton.rest[b.1]),
                )
            })
            .unwrap_or((0, 0));
        let tex = masked_texture(rgba, &m, w, h, None);
        let sign = if c[0] >= main_centroid[0] { -1.0 } else { 1.0 };
        layers.push(make_layer(
            Part::Appendage,
            tex,
            &m,
            &[bone],
            &skeleton,
            max_edge,
            falloff,
            Some((anchor, sign)),
        ));
    }
    layers.sort_by_key(|l| l.part.depth());
    let part_map = part_of
        .iter()
        .map(|&p| if p == u8::MAX { 0 } else { p + 1 })
        .collect();
    let ground = layers
        .iter()
        .flat_map(|l| l.mesh.vertices.iter())
        .map(|p| p[1])
        .fold(f32::NEG_INFINITY, f32::max);
    Ok(Model {
        skeleton,
        layers,
        pixel_art: character.pixel_art,
        width: w,
        height: h,
        ground,
        part_map,
        orientation,
    })
}

/// Gives a quadruped's tail every pixel nearer its tip, through the silhouette, than its
/// root joint is: the tail up to where it meets the body, however it curls.
///
/// Why: a tail curls, so its straight bone leaves the silhouette, and labelling by distance
/// to the bone hands the curled part to the body; raised, the tail then tore off there.
fn claim_tail(main: &Mask, capsules: &[Capsule], sk: &Skeleton, part_of: &mut [u8]) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let Some(tail) = capsules.iter().find(|c| c.part == Part::Tail) else {
        return;
    };
    let (root, tip) = (sk.rest[tail.bone.0], sk.rest[tail.bone.1]);
    let (w, h) = (main.width, main.height);
    let index =
        |p: [f32; 2]| (p[1].max(0.0) as usize).min(h - 1) * w + (p[0].max(0.0) as usize).min(w - 1);
    let (start, goal) = (index(tip), index(root));
    if !main.data[start] || !main.data[goal] || start == goal {
        return;
    }
    // Geodesic distance from the tip (chamfer 5-7 ≈ 1-√2, in integers).
    let mut dist = vec![u32::MAX; w * h];
    dist[start] = 0;
    let mut heap = BinaryHeap::from([Reverse((0u32, start))]);
    while let Some(Reverse((d, i))) = heap.pop() {
        if d > dist[i] {
            continue;
        }
        let (x, y) = (i % w, i / w);
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                let j = ny * w + nx;
                let step = if nx != x && ny != y { 7 } else { 5 };
                if main.data[j] && d + step < dist[j] {
                    dist[j] = d + step;
                    heap.push(Reverse((d + step, j)));
                }
            }
        }
    }
    let reach = dist[goal];
    let region: Vec<usize> = (0..w * h).filter(|&i| dist[i] < reach).collect();
    // A "tail" as big as a fifth of the character is no tail: keep the labels.
    if region.len() * 5 > main.count() {
        return;
    }
    let id = part_index(Part::Tail);
    for i in region {
        part_of[i] = id;
    }
}

pub(crate) fn part_index(p: Part) -> u8 {
    PARTS.iter().position(|&q| q == p).unwrap_or(0) as u8
}

pub fn part_from_index(i: u8) -> Option<Part> {
    PARTS.get(i as usize).copied()
}

fn centroid(m: &Mask) -> [f32; 2] {
    let (mut sx, mut sy, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in m.data.iter().enumerate() {
        if v {
            sx += (i % m.width) as f64 + 0.5;
            sy += (i / m.width) as f64 + 0.5;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return [m.width as f32 * 0.5, m.height as f32 * 0.5];
    }
    [(sx / n) as f32, (sy / n) as f32]
}

fn dist2(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Thickness of the silhouette along a bone: median inscribed radius at five samples.
fn thickness(dt: &[f32], w: usize, h: usize, a: [f32; 2], b: [f32; 2]) -> f32 {
    let mut s: Vec<f32> = (0..5)
        .map(|k| {
            let t = (k as f32 + 0.5) / 5.0;
            let (x, y) = (
                (a[0] + (b[0] - a[0]) * t) as usize,
                (a[1] + (b[1] - a[1]) * t) as usize,
            );
            if x < w && y < h {
                dt[y * w + x]
            } else {
                0.0
            }
        })
        .collect();
    s.sort_by(f32::total_cmp);
    s[2]
}

fn capsules(sk: &Skeleton, dt: &[f32], w: usize, h: usize, char_w: f32) -> Vec<Capsule> {
    let j = |n: &str| sk.index(n);
    let mut out = Vec::new();
    let mut add = |part: Part, a: Option<usize>, b: Option<usize>, radius: f32| {
        if let (Some(a), Some(b)) = (a, b) {
            out.push(Capsule {
                part,
                bone: (a, b),
                radius: radius.max(1.0),
            });
        }
    };
    match sk.kind {
        RigKind::BodyChain => {
            for (a, b) in sk.bones() {
                add(
                    Part::Body,
                    Some(a),
                    Some(b),
                    thickness(dt, w, h, sk.rest[a], sk.rest[b]),
                );
            }
        }
        RigKind::Humanoid => {
            let pos = |i: Option<usize>| i.map_or([0.0, 0.0], |i| sk.rest[i]);
            let t = |a: &str, b: &str| thickness(dt, w, h, pos(j(a)), pos(j(b)));
            // Arms often merge with the torso in the silhouette: the torso reaches at most
            // to the shoulders, the hips at most as wide as a leg.
            let shoulders_apart = (pos(j("shoulder_left"))[0] - pos(j("shoulder_right"))[0]).abs();
            let torso = t("pelvis", "neck").min(0.5 * shoulders_apart + 0.5);
            let head = dt
                .iter()
                .copied()
                .fold(0.0f32, f32::max)
                .min(t("neck", "head").max(torso));
            let arm = |s: &str, e: &str, hd: &str| t(s, e).min(t(e, hd)).min(0.09 * char_w + 1.0);
            let legs_apart = (pos(j("hip_left"))[0] - pos(j("hip_right"))[0]).abs();
            // Measured on the shin: the thigh often merges with the hips in the silhouette.
            let leg = |_hip: &str, k: &str, f: &str| t(k, f).min(0.5 * legs_apart + 0.5);
            let (arm_l, arm_r) = (
                arm("shoulder_left", "elbow_left", "hand_left"),
                arm("shoulder_right", "elbow_right", "hand_right"),
            );
            let (leg_l, leg_r) = (
                leg("hip_left", "knee_left", "foot_left"),
                leg("hip_right", "knee_right", "foot_right"),
            );
            add(Part::Body, j("pelvis"), j("neck"), torso);
            add(Part::Body, j("neck"), j("head"), head);
            add(Part::Body, j("pelvis"), j("hip_left"), leg_l);
            add(Part::Body, j("pelvis"), j("hip_right"), leg_r);
            add(Part::Body, j("neck"), j("shoulder_left"), arm_l);
            add(Part::Body, j("neck"), j("shoulder_right"), arm_r);
            add(Part::ArmLeft, j("shoulder_left"), j("elbow_left"), arm_l);
            add(Part::ArmLeft, j("elbow_left"), j("hand_left"), arm_l);
            add(Part::ArmRight, j("shoulder_right"), j("elbow_right"), arm_r);
            add(Part::ArmRight, j("elbow_right"), j("hand_right"), arm_r);
            add(Part::LegLeft, j("hip_left"), j("knee_left"), leg_l);
            add(Part::LegLeft, j("knee_left"), j("foot_left"), leg_l);
            add(Part::LegRight, j("hip_right"), j("knee_right"), leg_r);
            add(Part::LegRight, j("knee_right"), j("foot_right"), leg_r);
        }
        RigKind::Quadruped => {
            let pos = |i: Option<usize>| i.map_or([0.0, 0.0], |i| sk.rest[i]);
            let t = |a: &str, b: &str| thickness(dt, w, h, pos(j(a)), pos(j(b)));
            let body = t("hips", "withers");
            add(Part::Body, j("hips"), j("withers"), body);
            add(Part::Body, j("withers"), j("neck"), t("withers", "neck"));
            add(Part::Body, j("neck"), j("head"), t("neck", "head"));
            add(Part::Body, j("hips"), j("tail"), body);
            add(Part::Tail, j("tail"), j("tail_tip"), t("tail", "tail_tip"));
            for (part, leg) in [
                (Part::FrontNear, "front_near"),
                (Part::FrontFar, "front_far"),
                (Part::HindNear, "hind_near"),
                (Part::HindFar, "hind_far"),
            ] {
                let (top, knee, foot) = (
                    format!("{leg}_top"),
                    format!("{leg}_knee"),
                    format!("{leg}_foot"),
                );
                let r = t(&knee, &foot).min(0.08 * char_w + 1.0);
                add(part, j(&top), j(&knee), r);
                add(part, j(&knee), j(&foot), r);
            }
        }
    }
    out
}

/// The character's pixels inside `mask`; pixels in `paint` get colours spread from the
/// `source` pixels instead (nearest first), keeping their original alpha.
fn masked_texture(
    rgba: &[u8],
    mask: &Mask,
    w: usize,
    h: usize,
    inpaint: Option<(&Mask, &Mask)>,
) -> Texture {
    let mut data = vec![0u8; w * h * 4];
    for i in 0..w * h {
        if mask.data[i] {
            data[i * 4..i * 4 + 4].copy_from_slice(&rgba[i * 4..i * 4 + 4]);
        }
    }
    if let Some((paint, source)) = inpaint {
        let mut known: Vec<bool> = source
            .data
            .iter()
            .zip(&paint.data)
            .map(|(&s, &p)| s && !p)
            .collect();
        // Colours as known so far: the source's own, then each filled ring.
        let mut colors: Vec<[u8; 3]> = rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
        let mut todo: Vec<usize> = (0..w * h).filter(|&i| paint.data[i]).collect();
        while !todo.is_empty() {
            let mut filled = Vec::new();
            for &i in &todo {
                let (x, y) = ((i % w) as i64, (i / w) as i64);
                let (mut sum, mut n) = ([0u32; 3], 0u32);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let (nx, ny) = (x + dx, y + dy);
                        if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                            continue;
                        }
                        let j = ny as usize * w + nx as usize;
                        if known[j] && rgba[j * 4 + 3] > 0 {
                            for c in 0..3 {
                                sum[c] += colors[j][c] as u32;
                            }
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    filled.push((i, sum.map(|s| ((s + n / 2) / n) as u8)));
                }
            }
            if filled.is_empty() {
                break; // nothing reachable: keep the original colours
            }
            let done: std::collections::HashSet<usize> = filled.iter().map(|f| f.0).collect();
            for (i, c) in filled {
                colors[i] = c;
                if mask.data[i] {
                    data[i * 4..i * 4 + 3].copy_from_slice(&c);
                }
                known[i] = true;
            }
            todo.retain(|i| !done.contains(i));
        }
    }
    Texture::from_straight(w, h, &data)
}

#[allow(clippy::too_many_arguments)]
fn make_layer(
    part: Part,
    texture: Texture,
    mask: &Mask,
    bones: &[(usize, usize)],
    sk: &Skeleton,
    max_edge: f32,
    falloff: f32,
    flap: Option<([f32; 2], f32)>,
) -> Layer {
    let mesh = mesh_mask(&mask.dilate(2.0), max_edge);
    let bones: Vec<(usize, usize)> = if bones.is_empty() {
        sk.bones()
    } else {
        bones.to_vec()
    };
    let influences = if bones.is_empty() {
        vec![[(0u16, 1.0), (0, 0.0), (0, 0.0), (0, 0.0)]; mesh.vertices.len()]
    } else {
        bone_weights(&mesh.vertices, &bones, &sk.rest, falloff)
    };
    Layer {
        part,
        texture,
        mesh,
        influences,
        flap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::{auto_rig, tests::stick_figure};

    #[test]
    fn stick_figure_gets_limb_layers_and_weights_sum_to_one() {
        let c = stick_figure();
        let rig = auto_rig(&c).unwrap();
        let model = build_model(&c, &rig).unwrap();
        let parts: Vec<Part> = model.layers.iter().map(|l| l.part).collect();
        for p in [
            Part::Body,
            Part::ArmLeft,
            Part::ArmRight,
            Part::LegLeft,
            Part::LegRight,
        ] {
            assert!(parts.contains(&p), "missing {p:?} in {parts:?}");
        }
        assert_eq!(parts.first(), Some(&Part::Underlay));
        assert_eq!(parts[1], Part::ArmLeft);
        assert_eq!(parts.last(), Some(&Part::ArmRight));
        for l in &model.layers {
            assert!(!l.mesh.triangles.is_empty());
            assert_eq!(l.influences.len(), l.mesh.vertices.len());
            for inf in &l.influences {
                let s: f32 = inf.iter().map(|x| x.1).sum();
                assert!((s - 1.0).abs() < 1e-4, "{s}");
            }
        }
        // Every opaque pixel is in some part.
        for (i, p) in c.image.rgba.chunks_exact(4).enumerate() {
            if p[3] > 0 {
                assert_ne!(model.part_map[i], 0);
            }
        }
    }

    #[test]
    fn inpainting_spreads_neighbour_colours() {
        let (w, h) = (6, 1);
        let rgba: Vec<u8> = [
            [10, 20, 30, 255],
            [10, 20, 30, 255],
            [200, 0, 0, 255],
            [200, 0, 0, 255],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
        ]
        .concat();
        let all = Mask {
            width: w,
            height: h,
            data: vec![true, true, true, true, false, false],
        };
        let paint = Mask {
            width: w,
            height: h,
            data: vec![false, false, true, true, false, false],
        };
        let source = Mask {
            width: w,
            height: h,
            data: vec![true, true, false, false, false, false],
        };
        let t = masked_texture(&rgba, &all, w, h, Some((&paint, &source)));
        assert_eq!(t.texel(3, 0), [10, 20, 30, 255]);
    }
}
