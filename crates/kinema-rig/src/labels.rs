//! Which part (body, an arm, a leg) each pixel of the character's main blob belongs to.

use crate::contour::segment_distance;
use crate::mask::Mask;
use crate::parts::{part_index, Capsule, Part};
use crate::skin::Skeleton;

/// Every pixel of the main blob to a part: the capsule whose surface is nearest *through
/// the silhouette* (geodesic distance, 8-connected), within the limbs' reach limits.
///
/// Why geodesic: a hand hanging beside the hips, with a thin transparent gap between them, is
/// closer in a straight line to the wide torso capsule than to its own thin arm capsule, so
/// a straight-line nearest rule gave the hand's inner edge to the body; when the arm swung,
/// that edge stayed behind as a ghost outline of the hand. Through the silhouette the torso
/// is reached only around the gap, via the shoulder.
pub(crate) fn label_parts(
    main: &Mask,
    capsules: &[Capsule],
    sk: &Skeleton,
    w: usize,
    h: usize,
) -> Vec<u8> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let body = part_index(Part::Body);
    if capsules.iter().all(|c| c.part == Part::Body) {
        // Body chains: every capsule is the body, so there is nothing to decide.
        return main
            .data
            .iter()
            .map(|&m| if m { body } else { u8::MAX })
            .collect();
    }
    // Costs in 1/1024 pixel, as integers so the heap orders them exactly.
    let fixed = |c: f32| (c * 1024.0).round() as i64;
    let mut cost = vec![i64::MAX; w * h];
    let mut owner = vec![usize::MAX; w * h];
    let mut heap = BinaryHeap::new();
    // Sources: the pixels under each bone, starting at minus the capsule radius, so a
    // pixel's cost is its distance to the capsule's surface.
    for (ci, c) in capsules.iter().enumerate() {
        let (a, b) = (sk.rest[c.bone.0], sk.rest[c.bone.1]);
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        let steps = (2.0 * len).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let (x, y) = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                continue;
            }
            let i = y as usize * w + x as usize;
            if !main.data[i] {
                continue;
            }
            let centre = [x.floor() + 0.5, y.floor() + 0.5];
            let start = fixed(segment_distance(centre, a, b) - c.radius);
            if start < cost[i] {
                cost[i] = start;
                owner[i] = ci;
                heap.push(Reverse((start, i)));
            }
        }
    }
    let (straight, diagonal) = (fixed(1.0), fixed(std::f32::consts::SQRT_2));
    while let Some(Reverse((c, i))) = heap.pop() {
        if c > cost[i] {
            continue;
        }
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        for (dx, dy) in [
            (-1, 0),
            (1, 0),
            (0, -1),
            (0, 1),
            (-1, -1),
            (1, -1),
            (-1, 1),
            (1, 1),
        ] {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                continue;
            }
            let j = ny as usize * w + nx as usize;
            let next = c + if dx != 0 && dy != 0 {
                diagonal
            } else {
                straight
            };
            if main.data[j] && next < cost[j] {
                cost[j] = next;
                owner[j] = owner[i];
                heap.push(Reverse((next, j)));
            }
        }
    }
    let mut labels: Vec<u8> = (0..w * h)
        .map(|i| {
            if !main.data[i] {
                return u8::MAX;
            }
            let Some(c) = capsules.get(owner[i]) else {
                return body;
            };
            if c.part == Part::Body {
                return body;
            }
            let p = [(i % w) as f32 + 0.5, (i / w) as f32 + 0.5];
            let (a, b) = (sk.rest[c.bone.0], sk.rest[c.bone.1]);
            // Limbs never claim what lies above their root (head, hair), and only what lies
            // around their bones.
            // A tail, which may curl past its straight bone, is exempt from both.
            let above_root = p[1] < a[1].min(b[1]) - c.radius;
            let out_of_reach = segment_distance(p, a, b) > 2.5 * c.radius + 2.0;
            if c.part != Part::Tail && (above_root || out_of_reach) {
                body
            } else {
                part_index(c.part)
            }
        })
        .collect();
    merge_strays(&mut labels, w, h);
    labels
}

/// Makes every part one 8-connected piece: any other piece of a part joins the part it
/// shares the longest border with, until nothing changes.
///
/// Why: a part is drawn as one layer that moves as one. A stray piece (the outer edge of a
/// hand wider than its arm's reach, a cuff cut off by the reach limit) would stay with the
/// wrong part and be left behind as a shard when the limb moves.
fn merge_strays(labels: &mut [u8], w: usize, h: usize) {
    // Each pass moves at least one stray piece into a neighbour; pieces only grow, so a few
    // passes settle. The bound guards against a pathological ping-pong.
    for _ in 0..16 {
        let mut changed = false;
        let ids: std::collections::BTreeSet<u8> =
            labels.iter().copied().filter(|&l| l != u8::MAX).collect();
        for id in ids {
            let m = Mask {
                width: w,
                height: h,
                data: labels.iter().map(|&l| l == id).collect(),
            };
            let (pieces, sizes) = m.components();
            if sizes.len() <= 2 {
                continue;
            }
            let keep = (1..sizes.len()).max_by_key(|&i| sizes[i]).unwrap_or(1) as u32;
            for piece in 1..sizes.len() as u32 {
                if piece == keep {
                    continue;
                }
                let mut border = [0usize; 256];
                for i in (0..w * h).filter(|&i| pieces[i] == piece) {
                    let (x, y) = (i % w, i / w);
                    for ny in y.saturating_sub(1)..(y + 2).min(h) {
                        for nx in x.saturating_sub(1)..(x + 2).min(w) {
                            let l = labels[ny * w + nx];
                            if l != id && l != u8::MAX {
                                border[l as usize] += 1;
                            }
                        }
                    }
                }
                let Some((into, _)) = border
                    .iter()
                    .enumerate()
                    .filter(|&(_, &n)| n > 0)
                    .max_by_key(|&(l, &n)| (n, std::cmp::Reverse(l)))
                else {
                    continue; // an island with no neighbour: nothing to join
                };
                for (l, &p) in labels.iter_mut().zip(&pieces) {
                    if p == piece {
                        *l = into as u8;
                    }
                }
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}
