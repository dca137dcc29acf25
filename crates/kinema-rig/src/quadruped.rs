//! Four-legged characters seen from the side (horse, dog, cat, wolf): detection from the
//! silhouette and joint placement.
//!
//! A side-view animal reads, from the ground up, as two groups of leg runs (front and hind)
//! far apart under a body wider than it is tall, then the body, then a head and neck rising
//! at one end and often a tail at the other. The head end is the side with the most mass
//! above the line of the back: a tail is thin, a head is not. Humanoids fail the test by
//! their height, legs close together, or a leg band too short for four legs.

use crate::mask::Mask;

/// Where the animal's parts are, in image pixels. Legs are `[near, far]` per pair: in each
/// pair the leg whose run lies nearer the body's middle comes first. A pair drawn as one run
/// (legs overlapping in the picture) has both legs on it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QuadLayout {
    /// True when the head is on the image's right.
    pub faces_right: bool,
    pub hips: [f32; 2],
    pub withers: [f32; 2],
    pub neck: [f32; 2],
    pub head: [f32; 2],
    pub tail: [f32; 2],
    pub tail_tip: [f32; 2],
    /// Per leg `[top, knee, foot]`: front near, front far, hind near, hind far.
    pub legs: [[[f32; 2]; 3]; 4],
}

/// The leg runs of one row: runs at least `min_width` wide, left to right.
fn leg_runs(row: &[(usize, usize)], min_width: usize) -> Vec<(usize, usize)> {
    row.iter()
        .copied()
        .filter(|r| r.1 - r.0 >= min_width)
        .collect()
}

/// Index of the widest gap between consecutive runs, and its width.
fn widest_gap(runs: &[(usize, usize)]) -> Option<(usize, usize)> {
    (0..runs.len().saturating_sub(1))
        .map(|i| (i, runs[i + 1].0.saturating_sub(runs[i].1)))
        .max_by_key(|&(i, g)| (g, std::cmp::Reverse(i)))
}

/// The tail's base and tip: the silhouette point farthest behind the hips, the path back to
/// the hips inside the silhouette, and where that path widens into the body. The tip joint
/// is the farthest point along the tail that a straight bone from the base reaches inside
/// the silhouette, so a curled tail's bone lies along its root. A stub shorter than
/// `min_length` is no tail: both joints then sit at the rump.
fn find_tail(
    mask: &Mask,
    hips: [f32; 2],
    faces_right: bool,
    lowest_row: usize,
    min_length: f32,
) -> ([f32; 2], [f32; 2]) {
    let (w, h) = (mask.width, mask.height);
    let centre = |i: usize| [(i % w) as f32 + 0.5, (i / w) as f32 + 0.5];
    let behind = |p: [f32; 2]| {
        if faces_right {
            p[0] < hips[0]
        } else {
            p[0] > hips[0]
        }
    };
    let start = hips[1] as usize * w + hips[0] as usize;
    let far = (0..w * lowest_row.min(h))
        .filter(|&i| mask.data[i] && behind(centre(i)))
        .max_by(|&a, &b| {
            let d = |i: usize| (centre(i)[0] - hips[0]).hypot(centre(i)[1] - hips[1]);
            d(a).total_cmp(&d(b))
        });
    let (Some(far), true) = (far, start < w * h && mask.data[start]) else {
        return (hips, hips);
    };
    // Steps from the hips to every pixel, inside the silhouette.
    let mut steps = vec![u32::MAX; w * h];
    steps[start] = 0;
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                let j = ny * w + nx;
                if mask.data[j] && steps[j] == u32::MAX {
                    steps[j] = steps[i] + 1;
                    queue.push_back(j);
                }
            }
        }
    }
    if steps[far] == u32::MAX {
        return (hips, hips);
    }
    // The tail's centre line: from the far point towards the hips, always to the deepest
    // neighbour that is a step closer (the shortest path alone hugs the tail's inner edge).
    let depth: Vec<f32> = mask
        .distance_transform()
        .into_iter()
        .map(f32::sqrt)
        .collect();
    let mut path = vec![far];
    while let Some(&i) = path.last() {
        if steps[i] == 0 {
            break;
        }
        let (x, y) = (i % w, i / w);
        let next = (y.saturating_sub(1)..(y + 2).min(h))
            .flat_map(|ny| (x.saturating_sub(1)..(x + 2).min(w)).map(move |nx| ny * w + nx))
            .filter(|&j| steps[j] < steps[i])
            .max_by(|&a, &b| depth[a].total_cmp(&depth[b]).then(b.cmp(&a)));
        match next {
            Some(j) => path.push(j),
            None => break,
        }
    }
    // From the tip inwards: the tail's own thickness (its deepest point over the outer
    // half), then the first point deeper than that, where the line enters the body. The
    // tail turns about that junction, so a raised tail stays joined to the rump.
    let outer = &path[..(path.len() / 2).max(1)];
    let thickness = outer.iter().map(|&i| depth[i]).fold(0.0f32, f32::max);
    let radius = thickness;
    let base_at = path
        .iter()
        .position(|&i| depth[i] > thickness + 1.0)
        .unwrap_or(path.len() - 1);
    let base = centre(path[base_at]);
    let length = (centre(far)[0] - base[0]).hypot(centre(far)[1] - base[1]);
    if length < min_length {
        return (base, base);
    }
    // Grazing the corner where tail meets rump is fine: test against the silhouette grown
    // by the tail's radius.
    let grown = mask.dilate(radius.max(1.0));
    let reachable = |p: [f32; 2]| {
        let steps = ((p[0] - base[0]).hypot(p[1] - base[1]) * 2.0).ceil() as usize;
        (0..=steps).all(|k| {
            let t = k as f32 / steps.max(1) as f32;
            let q = [
                base[0] + t * (p[0] - base[0]),
                base[1] + t * (p[1] - base[1]),
            ];
            grown.get(q[0] as i64, q[1] as i64)
        })
    };
    let tip = path[..base_at]
        .iter()
        .map(|&i| centre(i))
        .find(|&p| reachable(p))
        .unwrap_or(base);
    (base, tip)
}

/// Detects a side-view quadruped in `mask` (`runs` are its row runs) and places its parts.
pub(crate) fn find_quadruped(mask: &Mask, runs: &[Vec<(usize, usize)>]) -> Option<QuadLayout> {
    let (x0, y0, x1, y1) = mask.bounds()?;
    let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
    if h < 16.0 || w < 1.0 * h {
        return None;
    }
    let min_leg = ((0.02 * w) as usize).max(1);
    let split_gap = (0.2 * w) as usize;
    let is_split = |y: usize| {
        let r = leg_runs(&runs[y], min_leg);
        widest_gap(&r).is_some_and(|(_, g)| g >= split_gap)
    };
    // The leg band: rows from the ground up where front and hind legs stand apart. The very
    // bottom rows may show only the lowest hoof or paw: skip a few of those first.
    let mut belly = y1;
    while belly > y0 && y1 - belly < (0.08 * h) as usize && !is_split(belly - 1) {
        belly -= 1;
    }
    if !is_split(belly.saturating_sub(1)) {
        return None;
    }
    while belly > y0 && is_split(belly - 1) {
        belly -= 1;
    }
    let band = y1 - belly;
    if (band as f32) < 0.18 * h || belly <= y0 + 2 {
        return None;
    }
    // Legs from the lower half of the band, where a hanging tail has ended: each side of the
    // widest gap holds one or two leg runs.
    let lower = belly + band / 2..y1;
    let mut groups: [Vec<Vec<(usize, usize)>>; 2] = [Vec::new(), Vec::new()];
    for y in lower.clone() {
        let r = leg_runs(&runs[y], min_leg);
        let Some((g, _)) = widest_gap(&r) else {
            continue;
        };
        groups[0].push(r[..=g].to_vec());
        groups[1].push(r[g + 1..].to_vec());
    }
    let pair = |rows: &Vec<Vec<(usize, usize)>>, inner_is_last: bool| -> Option<[f32; 2]> {
        // Most rows show the pair as one or as two runs; use the rows that agree.
        let twos = rows.iter().filter(|r| r.len() >= 2).count();
        let n = if twos * 2 >= rows.len() { 2 } else { 1 };
        let (mut inner, mut outer, mut k) = (0.0, 0.0, 0.0);
        for r in rows.iter().filter(|r| r.len() >= n) {
            // The two runs of the pair nearest the gap.
            let (a, b) = if inner_is_last {
                (r[r.len() - 1], r[r.len() - n])
            } else {
                (r[0], r[n - 1])
            };
            inner += (a.0 + a.1) as f32 * 0.5;
            outer += (b.0 + b.1) as f32 * 0.5;
            k += 1.0;
        }
        (k > 0.0).then(|| [inner / k, outer / k])
    };
    let left = pair(&groups[0], true)?;
    let right = pair(&groups[1], false)?;
    // Each pair's legs must be slim: a body chain standing on two wide feet is no animal.
    for g in &groups {
        let widest = g.iter().flatten().map(|r| r.1 - r.0).max().unwrap_or(0);
        if widest as f32 > 0.3 * w {
            return None;
        }
    }

    // The back: the body's top over its middle third.
    let (mx0, mx1) = (x0 + (w / 3.0) as usize, x1 - (w / 3.0) as usize);
    let back = (y0..belly)
        .find(|&y| runs[y].iter().any(|r| r.0 < mx1 && r.1 > mx0))
        .unwrap_or(y0);
    // Head end: more silhouette above the back line.
    let above = |xa: usize, xb: usize| {
        (y0..back)
            .map(|y| {
                let row = &mask.data[y * mask.width..(y + 1) * mask.width];
                row[xa..xb].iter().filter(|&&m| m).count()
            })
            .sum::<usize>()
    };
    let third = (0.35 * w) as usize;
    let faces_right = above(x1 - third, x1) >= above(x0, x0 + third);
    let (front, hind) = if faces_right {
        (right, left)
    } else {
        (left, right)
    };

    let body_mid = 0.5 * (back + belly) as f32;
    let depth = (belly - back) as f32;
    let top_y = belly as f32 - 0.35 * depth;
    let knee_y = 0.5 * (belly + y1) as f32;
    let foot_y = y1 as f32 - 0.03 * h - 0.5;
    // Run centre of the leg nearest x in a row, for bent legs whose x drifts.
    let leg_x_at = |y: usize, x: f32| -> f32 {
        leg_runs(&runs[y.min(y1 - 1)], min_leg)
            .iter()
            .map(|r| (r.0 + r.1) as f32 * 0.5)
            .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()))
            .filter(|c| (c - x).abs() < 0.08 * w)
            .unwrap_or(x)
    };
    let leg = |x: f32| -> [[f32; 2]; 3] {
        [
            [leg_x_at(belly, x), top_y],
            [leg_x_at(knee_y as usize, x), knee_y],
            [x, foot_y],
        ]
    };
    let hips = [0.5 * (hind[0] + hind[1]), body_mid];
    let withers = [0.5 * (front[0] + front[1]), body_mid - 0.15 * depth];

    // Head and neck: the silhouette beyond the front legs and above the back.
    let toward = |x: f32| if faces_right { x } else { -x };
    let (mut hx, mut hy, mut hn) = (0.0, 0.0, 0.0);
    for y in y0..(back + (0.3 * depth) as usize).min(belly) {
        for x in x0..x1 {
            if mask.data[y * mask.width + x] && toward(x as f32) > toward(withers[0]) {
                hx += x as f32 + 0.5;
                hy += y as f32 + 0.5;
                hn += 1.0;
            }
        }
    }
    let head_centre = if hn > 0.0 {
        [hx / hn, hy / hn]
    } else {
        [if faces_right { x1 as f32 } else { x0 as f32 }, body_mid]
    };
    // The head joint sits at the far end of the head: the silhouette's extreme point in the
    // head's direction among rows above the head centre's height band.
    let head_end_x = (y0..belly)
        .filter(|&y| (y as f32 - head_centre[1]).abs() < 0.15 * h)
        .flat_map(|y| runs[y].iter().map(|r| if faces_right { r.1 } else { r.0 }))
        .max_by(|a, b| toward(*a as f32).total_cmp(&toward(*b as f32)))
        .map_or(head_centre[0], |x| x as f32);
    let head = [
        head_centre[0] + 0.5 * (head_end_x - head_centre[0]),
        head_centre[1],
    ];
    let neck = [
        withers[0] + 0.55 * (head_centre[0] - withers[0]),
        (back as f32).min(withers[1]),
    ];

    let (tail, tail_tip) = find_tail(mask, hips, faces_right, belly + band / 2, 0.1 * h);
    Some(QuadLayout {
        faces_right,
        hips,
        withers,
        neck,
        head,
        tail,
        tail_tip,
        legs: [leg(front[0]), leg(front[1]), leg(hind[0]), leg(hind[1])],
    })
}
