//! Soft alpha along a hard cut, so an extracted subject is not outlined in stair steps.
//!
//! In a narrow band around the cut each pixel is explained as a blend of the nearby
//! foreground and background colours (the means of the sure pixels in a small window):
//! `I = α·F + (1−α)·B`, solved for α along the line from `B` to `F`. Where the two colours
//! are too alike for that to be meaningful, alpha falls off with the distance to the cut
//! instead. The colour estimate may not move a pixel more than half-way from where its
//! distance to the cut puts it, so texture in the background cannot flip deep band pixels.

use std::collections::VecDeque;

/// Below this RGB distance between the local foreground and background means, the blend
/// is ill-posed and the distance ramp is used.
const MIN_CONTRAST: f32 = 24.0;
/// How far past the band the colour means are gathered.
const WINDOW_MARGIN: usize = 3;

/// Alpha (0..=1) and un-mixed colour for every pixel, from a hard foreground `mask`.
pub fn soften(
    rgba: &[u8],
    mask: &[bool],
    w: usize,
    h: usize,
    band: usize,
) -> (Vec<f32>, Vec<[u8; 3]>) {
    let dist = distance_to_cut(mask, w, h, band);
    let in_band = |i: usize| dist[i] as usize <= band;
    let colour = |i: usize| [0, 1, 2].map(|c| f32::from(rgba[i * 4 + c]));
    let fg_sums = Integral::new(w, h, |i| (mask[i] && !in_band(i)).then(|| colour(i)));
    let bg_sums = Integral::new(w, h, |i| (!mask[i] && !in_band(i)).then(|| colour(i)));
    let radius = band + WINDOW_MARGIN;
    let mut alpha = vec![0.0f32; w * h];
    let mut out: Vec<[u8; 3]> = (0..w * h)
        .map(|i| [0, 1, 2].map(|c| rgba[i * 4 + c]))
        .collect();
    for i in 0..w * h {
        if !in_band(i) {
            alpha[i] = f32::from(u8::from(mask[i]));
            continue;
        }
        // Signed distance to the cut, positive inside: the boundary lies at 0.
        let d = dist[i] as f32 - 0.5;
        let s = if mask[i] { d } else { -d };
        let ramp = (0.5 + s / (2.0 * band as f32)).clamp(0.0, 1.0);
        let (x, y) = (i % w, i / w);
        let f = fg_sums.mean(x, y, radius);
        let b = bg_sums.mean(x, y, radius);
        let p = colour(i);
        let (a, c) = match (f, b) {
            (Some(f), Some(b)) => {
                let v = [f[0] - b[0], f[1] - b[1], f[2] - b[2]];
                let v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
                if v2 < MIN_CONTRAST * MIN_CONTRAST {
                    (ramp, rgba_rgb(p))
                } else {
                    let t =
                        ((p[0] - b[0]) * v[0] + (p[1] - b[1]) * v[1] + (p[2] - b[2]) * v[2]) / v2;
                    let a = t.clamp((ramp - 0.5).max(0.0), (ramp + 0.5).min(1.0));
                    let c = if a >= 0.5 {
                        [0, 1, 2].map(|k| {
                            ((p[k] - (1.0 - a) * b[k]) / a).round().clamp(0.0, 255.0) as u8
                        })
                    } else {
                        rgba_rgb(f)
                    };
                    (a, c)
                }
            }
            _ => (ramp, rgba_rgb(p)),
        };
        alpha[i] = a;
        out[i] = c;
    }
    (alpha, out)
}

fn rgba_rgb(c: [f32; 3]) -> [u8; 3] {
    c.map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Steps (8-connected) from each pixel to the nearest pixel on the other side of the cut,
/// counted up to `limit + 1`; 1 for pixels touching the cut.
fn distance_to_cut(mask: &[bool], w: usize, h: usize, limit: usize) -> Vec<u32> {
    let far = limit as u32 + 1;
    let mut dist = vec![far; w * h];
    let mut queue = VecDeque::new();
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        let edge = [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().any(|&(dx, dy)| {
            let (nx, ny) = (x as i64 + dx, y as i64 + dy);
            nx >= 0
                && ny >= 0
                && (nx as usize) < w
                && (ny as usize) < h
                && mask[ny as usize * w + nx as usize] != mask[i]
        });
        if edge {
            dist[i] = 1;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        let d = dist[i] + 1;
        if d >= far {
            continue;
        }
        let (x, y) = (i % w, i / w);
        for dy in -1..=1i64 {
            for dx in -1..=1i64 {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if mask[j] == mask[i] && dist[j] > d {
                    dist[j] = d;
                    queue.push_back(j);
                }
            }
        }
    }
    dist
}

/// Summed-area tables of the colours (and count) of selected pixels, for window means.
struct Integral {
    w: usize,
    h: usize,
    /// (w+1)×(h+1) entries of [r, g, b, count].
    sums: Vec<[f32; 4]>,
}

impl Integral {
    fn new(w: usize, h: usize, pick: impl Fn(usize) -> Option<[f32; 3]>) -> Self {
        let stride = w + 1;
        let mut sums = vec![[0.0f32; 4]; stride * (h + 1)];
        for y in 0..h {
            let mut row = [0.0f32; 4];
            for x in 0..w {
                if let Some(c) = pick(y * w + x) {
                    row[0] += c[0];
                    row[1] += c[1];
                    row[2] += c[2];
                    row[3] += 1.0;
                }
                let above = sums[y * stride + x + 1];
                sums[(y + 1) * stride + x + 1] = [0, 1, 2, 3].map(|k| above[k] + row[k]);
            }
        }
        Integral { w, h, sums }
    }

    /// Mean colour of the selected pixels within `radius` of `(x, y)`, if any.
    fn mean(&self, x: usize, y: usize, radius: usize) -> Option<[f32; 3]> {
        let stride = self.w + 1;
        let (x0, y0) = (x.saturating_sub(radius), y.saturating_sub(radius));
        let (x1, y1) = ((x + radius + 1).min(self.w), (y + radius + 1).min(self.h));
        let at = |xx: usize, yy: usize| self.sums[yy * stride + xx];
        let s = [0, 1, 2, 3].map(|k| at(x1, y1)[k] - at(x0, y1)[k] - at(x1, y0)[k] + at(x0, y0)[k]);
        (s[3] >= 1.0).then(|| [s[0] / s[3], s[1] / s[3], s[2] / s[3]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blended_edge_gets_the_blend_as_alpha() {
        // Red subject on blue: column 10 is a 30% red blend, the cut runs left of it.
        let (w, h) = (20, 8);
        let mut rgba = Vec::new();
        let mut mask = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                let a = match x {
                    0..=9 => 1.0,
                    10 => 0.3,
                    _ => 0.0,
                };
                let c = [
                    200.0 * a + 20.0 * (1.0 - a),
                    30.0,
                    40.0 * a + 220.0 * (1.0 - a),
                ];
                rgba.extend(c.map(|v: f32| v.round() as u8));
                rgba.push(255);
                mask.push(x < 10);
            }
        }
        let (alpha, colour) = soften(&rgba, &mask, w, h, 2);
        let at = |x: usize| alpha[3 * w + x];
        assert!((at(9) - 1.0).abs() < 0.02, "{}", at(9));
        assert!((at(10) - 0.3).abs() < 0.05, "{}", at(10));
        assert!(at(11) < 0.02 && at(2) == 1.0 && at(18) == 0.0);
        assert!(colour[3 * w + 9][2] < 60, "un-mixed colour keeps no blue");
    }
}
