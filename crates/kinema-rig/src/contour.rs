//! Silhouette outlines: pixel-crack tracing plus Douglas–Peucker simplification.

use crate::mask::Mask;

/// A closed outline in pixel-corner coordinates (the last point connects to the first).
pub type Polygon = Vec<[f32; 2]>;

const DIRS: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// Outer boundaries of every 8-connected blob in `mask`, clockwise on screen (positive
/// shoelace area in y-down coordinates). Holes are skipped: meshes cover them and the
/// texture's alpha keeps them see-through.
pub fn outer_contours(mask: &Mask) -> Vec<Polygon> {
    let (w, h) = (mask.width, mask.height);
    let cw = w + 1;
    let corner = |x: usize, y: usize| y * cw + x;
    // Up to two outgoing crack edges per corner (two only at diagonal saddles).
    let mut out: Vec<[u8; 2]> = vec![[4, 4]; cw * (h + 1)];
    let mut push = |c: usize, d: u8| {
        let slot = &mut out[c];
        if slot[0] == 4 {
            slot[0] = d;
        } else {
            slot[1] = d;
        }
    };
    for y in 0..h {
        for x in 0..w {
            if !mask.data[y * w + x] {
                continue;
            }
            let (xi, yi) = (x as i64, y as i64);
            if !mask.get(xi, yi - 1) {
                push(corner(x, y), 0);
            }
            if !mask.get(xi + 1, yi) {
                push(corner(x + 1, y), 1);
            }
            if !mask.get(xi, yi + 1) {
                push(corner(x + 1, y + 1), 2);
            }
            if !mask.get(xi - 1, yi) {
                push(corner(x, y + 1), 3);
            }
        }
    }
    let mut used = vec![false; cw * (h + 1) * 4];
    let mut loops = Vec::new();
    for start in 0..out.len() {
        for slot in 0..2 {
            let d0 = out[start][slot];
            if d0 == 4 || used[start * 4 + d0 as usize] {
                continue;
            }
            let mut pts: Vec<[i64; 2]> = Vec::new();
            let (mut c, mut d) = (start, d0);
            loop {
                used[c * 4 + d as usize] = true;
                pts.push([(c % cw) as i64, (c / cw) as i64]);
                let (dx, dy) = DIRS[d as usize];
                let nx = (c % cw) as i64 + dx;
                let ny = (c / cw) as i64 + dy;
                c = ny as usize * cw + nx as usize;
                let options = out[c];
                // At a saddle, turn left so diagonal neighbours stay one blob (8-connectivity).
                let left = (d + 3) % 4;
                d = if options[1] != 4 && (options[0] == left || options[1] == left) {
                    left
                } else {
                    options[0]
                };
                if d == 4 || used[c * 4 + d as usize] {
                    break;
                }
            }
            let poly = drop_collinear(&pts);
            if poly.len() >= 3 && signed_area(&poly) > 0.0 {
                loops.push(poly);
            }
        }
    }
    loops
}

fn drop_collinear(pts: &[[i64; 2]]) -> Polygon {
    let n = pts.len();
    let mut outp = Vec::with_capacity(n / 2);
    for i in 0..n {
        let a = pts[(i + n - 1) % n];
        let b = pts[i];
        let c = pts[(i + 1) % n];
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross != 0 {
            outp.push([b[0] as f32, b[1] as f32]);
        }
    }
    outp
}

/// Shoelace area; positive for clockwise-on-screen outlines in y-down coordinates.
pub fn signed_area(poly: &[[f32; 2]]) -> f32 {
    let n = poly.len();
    let mut s = 0.0;
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        s += a[0] * b[1] - b[0] * a[1];
    }
    s * 0.5
}

/// Douglas–Peucker on a closed outline: drops points closer than `tolerance` pixels to the
/// simplified line, keeping at least a triangle.
pub fn simplify(poly: &[[f32; 2]], tolerance: f32) -> Polygon {
    let n = poly.len();
    if n <= 4 {
        return poly.to_vec();
    }
    // Split the loop at point 0 and the point farthest from it.
    let far = (1..n)
        .max_by(|&i, &j| dist2(poly[0], poly[i]).total_cmp(&dist2(poly[0], poly[j])))
        .unwrap_or(n / 2);
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[far] = true;
    dp_range(poly, 0, far, tolerance, &mut keep);
    dp_range(poly, far, n, tolerance, &mut keep);
    let out: Polygon = (0..n).filter(|&i| keep[i]).map(|i| poly[i]).collect();
    if out.len() < 3 {
        poly.to_vec()
    } else {
        out
    }
}

/// Keeps points between `a` and `b` (index `n` wraps to 0) deviating more than `tol`.
fn dp_range(poly: &[[f32; 2]], a: usize, b: usize, tol: f32, keep: &mut [bool]) {
    let n = poly.len();
    let mut stack = vec![(a, b)];
    while let Some((i, j)) = stack.pop() {
        if j <= i + 1 {
            continue;
        }
        let (p, q) = (poly[i], poly[j % n]);
        let mut best = (0.0f32, i);
        for (k, &pt) in poly.iter().enumerate().take(j).skip(i + 1) {
            let d = segment_distance(pt, p, q);
            if d > best.0 {
                best = (d, k);
            }
        }
        if best.0 > tol {
            keep[best.1] = true;
            stack.push((i, best.1));
            stack.push((best.1, j));
        }
    }
}

fn dist2(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Distance from `p` to the segment `a`–`b`.
pub fn segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (vx, vy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = vx * vx + vy * vy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a[0] + t * vx, a[1] + t * vy);
    ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: usize, h: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> Mask {
        let mut m = Mask::new(w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                m.set(x, y, true);
            }
        }
        m
    }

    #[test]
    fn a_rectangle_traces_to_its_four_corners() {
        let m = rect(10, 10, 2, 3, 7, 8);
        let loops = outer_contours(&m);
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].len(), 4);
        assert_eq!(signed_area(&loops[0]), 25.0);
    }

    #[test]
    fn holes_are_skipped_and_blobs_counted() {
        let mut m = rect(20, 10, 1, 1, 8, 8);
        m.set(4, 4, false); // a hole
        for y in 2..5 {
            for x in 12..15 {
                m.set(x, y, true);
            }
        }
        let loops = outer_contours(&m);
        assert_eq!(loops.len(), 2);
        let mut areas: Vec<f32> = loops.iter().map(|l| signed_area(l)).collect();
        areas.sort_by(f32::total_cmp);
        assert_eq!(areas, vec![9.0, 49.0]);
    }

    #[test]
    fn diagonal_pixels_form_one_outline() {
        let mut m = Mask::new(4, 4);
        m.set(1, 1, true);
        m.set(2, 2, true);
        let loops = outer_contours(&m);
        assert_eq!(loops.len(), 1);
        assert_eq!(signed_area(&loops[0]), 2.0);
    }

    #[test]
    fn simplify_keeps_shape_within_tolerance() {
        // A staircase diagonal collapses to few points but stays within tolerance.
        let mut m = Mask::new(40, 40);
        for y in 0..40 {
            for x in 0..=y {
                m.set(x, y, true);
            }
        }
        let raw = &outer_contours(&m)[0];
        let s = simplify(raw, 1.0);
        assert!(s.len() < raw.len() / 4, "{} vs {}", s.len(), raw.len());
        for p in raw {
            let d = (0..s.len())
                .map(|i| segment_distance(*p, s[i], s[(i + 1) % s.len()]))
                .fold(f32::MAX, f32::min);
            assert!(d <= 1.0 + 1e-4, "{p:?} is {d} away");
        }
    }
}
