//! Dense pyramidal Lucas–Kanade optical flow.
//!
//! VBench measures motion with RAFT, a learned flow network; we need the same kind of
//! answer (pixels moved per frame) with no weights and in milliseconds. Lucas–Kanade on an
//! image pyramid gives sub-pixel accuracy on textured regions and, with Tikhonov
//! regularisation, degrades gracefully on edges (normal flow only) and flat areas (none).

use crate::plane::Plane;

/// Motion from image `a` to image `b`: `a(x, y) ≈ b(x + u, y + v)`, in pixels of `a`.
#[derive(Clone, Debug)]
pub struct Flow {
    pub w: usize,
    pub h: usize,
    pub u: Vec<f32>,
    pub v: Vec<f32>,
}

impl Flow {
    fn zero(w: usize, h: usize) -> Self {
        Flow {
            w,
            h,
            u: vec![0.0; w * h],
            v: vec![0.0; w * h],
        }
    }

    /// Length of the motion vector at each pixel.
    pub fn magnitudes(&self) -> Vec<f32> {
        self.u
            .iter()
            .zip(&self.v)
            .map(|(u, v)| (u * u + v * v).sqrt())
            .collect()
    }

    /// Doubles the resolution (and the vectors) to seed the next finer pyramid level.
    fn upsample_to(&self, w: usize, h: usize) -> Flow {
        let mut out = Flow::zero(w, h);
        let u = Plane {
            w: self.w,
            h: self.h,
            data: self.u.clone(),
        };
        let v = Plane {
            w: self.w,
            h: self.h,
            data: self.v.clone(),
        };
        for y in 0..h {
            // Fine pixel centre y + 0.5 sits at coarse coordinate (y + 0.5) / 2 - 0.5.
            let cy = (y as f32 - 0.5) * 0.5;
            for x in 0..w {
                let cx = (x as f32 - 0.5) * 0.5;
                out.u[y * w + x] = 2.0 * u.sample(cx, cy);
                out.v[y * w + x] = 2.0 * v.sample(cx, cy);
            }
        }
        out
    }
}

/// Knobs of the solver; the defaults suit sprites analysed at up to 256 px.
#[derive(Clone, Copy, Debug)]
pub struct FlowOptions {
    /// Half size of the square window each pixel's motion is fitted over.
    pub window_radius: usize,
    /// Gauss–Newton steps per pyramid level.
    pub iterations: usize,
    /// Coarsest level is the last one whose shorter side is at least this many pixels.
    pub min_level_side: usize,
    /// Upper bound on pyramid levels; each level doubles the largest trackable motion.
    pub max_levels: usize,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            window_radius: 4,
            iterations: 4,
            min_level_side: 8,
            max_levels: 5,
        }
    }
}

/// Flow from `a` to `b` (same size). Never fails: where nothing can be tracked it is zero.
pub fn optical_flow(a: &Plane, b: &Plane, opts: &FlowOptions) -> Flow {
    debug_assert_eq!((a.w, a.h), (b.w, b.h));
    if a.w == 0 || a.h == 0 {
        return Flow::zero(a.w, a.h);
    }
    let pyr_a = pyramid(a, opts);
    let pyr_b = pyramid(b, opts);
    let mut flow: Option<Flow> = None;
    for (la, lb) in pyr_a.iter().zip(&pyr_b).rev() {
        let mut f = match flow {
            Some(coarse) => coarse.upsample_to(la.w, la.h),
            None => Flow::zero(la.w, la.h),
        };
        refine(la, lb, &mut f, opts);
        flow = Some(f);
    }
    flow.unwrap_or_else(|| Flow::zero(a.w, a.h))
}

/// Smoothed images from full resolution down, each half the size of the previous.
fn pyramid(img: &Plane, opts: &FlowOptions) -> Vec<Plane> {
    let mut levels = vec![blur_121(img)];
    while levels.len() < opts.max_levels.max(1) {
        let last = &levels[levels.len() - 1];
        if last.w.min(last.h) / 2 < opts.min_level_side {
            break;
        }
        // Blur twice before halving (≈ the 5-tap binomial): removes detail that would alias.
        levels.push(blur_121(&blur_121(last).downscale(2)));
    }
    levels
}

/// Separable [1 2 1] / 4 blur; keeps gradients from aliasing on hard pixel-art edges.
fn blur_121(img: &Plane) -> Plane {
    let (w, h) = (img.w, img.h);
    let mut tmp = Plane::new(w, h);
    for y in 0..h {
        let row = &img.data[y * w..(y + 1) * w];
        for x in 0..w {
            let l = row[x.saturating_sub(1)];
            let r = row[(x + 1).min(w - 1)];
            tmp.data[y * w + x] = 0.25 * l + 0.5 * row[x] + 0.25 * r;
        }
    }
    let mut out = Plane::new(w, h);
    for y in 0..h {
        let up = y.saturating_sub(1) * w;
        let down = (y + 1).min(h - 1) * w;
        for x in 0..w {
            out.data[y * w + x] =
                0.25 * tmp.data[up + x] + 0.5 * tmp.data[y * w + x] + 0.25 * tmp.data[down + x];
        }
    }
    out
}

/// Gauss–Newton refinement of `flow` at one level.
///
/// Each node of a regular grid solves its own Lucas–Kanade problem over its window (every
/// window pixel shares the node's motion, so errors at the border cannot creep inward),
/// then the dense field is bilinearly interpolated between nodes.
fn refine(a: &Plane, b: &Plane, flow: &mut Flow, opts: &FlowOptions) {
    let (w, h) = (a.w, a.h);
    let r = opts.window_radius as i64;
    let step = (w.min(h) / 32).clamp(1, 4);
    let (gw, gh) = ((w - 1) / step + 2, (h - 1) / step + 2);
    let (ix, iy) = gradients(a);
    let damping = ((2 * r + 1) * (2 * r + 1)) as f32;
    let limit = w.max(h) as f32;
    let mut node_u = vec![0.0f32; gw * gh];
    let mut node_v = vec![0.0f32; gw * gh];
    for j in 0..gh {
        let cy = (j * step).min(h - 1) as i64;
        for i in 0..gw {
            let cx = (i * step).min(w - 1) as i64;
            let centre = cy as usize * w + cx as usize;
            let (mut u, mut v) = (flow.u[centre], flow.v[centre]);
            let (y0, y1) = ((cy - r).max(0) as usize, ((cy + r) as usize).min(h - 1));
            let (x0, x1) = ((cx - r).max(0) as usize, ((cx + r) as usize).min(w - 1));
            let (mut gxx, mut gxy, mut gyy) = (damping, 0.0f32, damping);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let k = y * w + x;
                    gxx += ix[k] * ix[k];
                    gxy += ix[k] * iy[k];
                    gyy += iy[k] * iy[k];
                }
            }
            let det = gxx * gyy - gxy * gxy;
            if det > f32::EPSILON {
                for _ in 0..opts.iterations {
                    let (bx, by) = mismatch(a, b, &ix, &iy, (x0, y0, x1, y1), u, v);
                    let du = -(gyy * bx - gxy * by) / det;
                    let dv = -(gxx * by - gxy * bx) / det;
                    u = (u + du).clamp(-limit, limit);
                    v = (v + dv).clamp(-limit, limit);
                    if du * du + dv * dv < 4e-4 {
                        break;
                    }
                }
            }
            node_u[j * gw + i] = u;
            node_v[j * gw + i] = v;
        }
    }
    for y in 0..h {
        let (j, ty) = (y / step, (y % step) as f32 / step as f32);
        for x in 0..w {
            let (i, tx) = (x / step, (x % step) as f32 / step as f32);
            let lerp = |n: &[f32]| {
                let top = n[j * gw + i] * (1.0 - tx) + n[j * gw + i + 1] * tx;
                let bottom = n[(j + 1) * gw + i] * (1.0 - tx) + n[(j + 1) * gw + i + 1] * tx;
                top * (1.0 - ty) + bottom * ty
            };
            flow.u[y * w + x] = lerp(&node_u);
            flow.v[y * w + x] = lerp(&node_v);
        }
    }
}

/// `Σ ∇a · (b(q + (u, v)) − a(q))` over the window `(x0, y0, x1, y1)` (inclusive).
///
/// The whole window shares one displacement, so the bilinear weights are computed once
/// and, away from the border, samples are plain indexed reads: this loop is where flow
/// spends its time.
fn mismatch(
    a: &Plane,
    b: &Plane,
    ix: &[f32],
    iy: &[f32],
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    u: f32,
    v: f32,
) -> (f32, f32) {
    let w = a.w;
    let (fu, fv) = (u.floor(), v.floor());
    let (tx, ty) = (u - fu, v - fv);
    let (ox, oy) = (fu as i64, fv as i64);
    let inside = x0 as i64 + ox >= 0
        && y0 as i64 + oy >= 0
        && x1 as i64 + ox + 1 < w as i64
        && y1 as i64 + oy + 1 < a.h as i64;
    let (mut bx, mut by) = (0.0f32, 0.0f32);
    if inside {
        let (w00, w10) = ((1.0 - tx) * (1.0 - ty), tx * (1.0 - ty));
        let (w01, w11) = ((1.0 - tx) * ty, tx * ty);
        for y in y0..=y1 {
            let src = ((y as i64 + oy) as usize) * w;
            for x in x0..=x1 {
                let k = y * w + x;
                let s = src + (x as i64 + ox) as usize;
                let warped = w00 * b.data[s]
                    + w10 * b.data[s + 1]
                    + w01 * b.data[s + w]
                    + w11 * b.data[s + w + 1];
                let diff = warped - a.data[k];
                bx += diff * ix[k];
                by += diff * iy[k];
            }
        }
    } else {
        for y in y0..=y1 {
            for x in x0..=x1 {
                let k = y * w + x;
                let diff = b.sample(x as f32 + u, y as f32 + v) - a.data[k];
                bx += diff * ix[k];
                by += diff * iy[k];
            }
        }
    }
    (bx, by)
}

/// Central-difference gradients, one-sided at the border.
fn gradients(img: &Plane) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (img.w, img.h);
    let mut gx = vec![0.0; w * h];
    let mut gy = vec![0.0; w * h];
    for y in 0..h {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let dy_span = (down - up).max(1) as f32;
        for x in 0..w {
            let (left, right) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let dx_span = (right - left).max(1) as f32;
            gx[y * w + x] = (img.at(right, y) - img.at(left, y)) / dx_span;
            gy[y * w + x] = (img.at(x, down) - img.at(x, up)) / dy_span;
        }
    }
    (gx, gy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smooth broadband texture: sines from 9 to 80 px wavelength in eight directions,
    /// so every pyramid level sees detail in both axes.
    pub(crate) fn texture(x: f32, y: f32) -> f32 {
        let mut v = 128.0;
        for k in 0..8 {
            let angle = k as f32 * 0.785 + 0.3;
            let wavelength = 9.0 * 1.37f32.powi(k);
            let f = std::f32::consts::TAU / wavelength;
            v += 14.0 * ((x * angle.cos() + y * angle.sin()) * f + k as f32).sin();
        }
        v
    }

    fn shifted(w: usize, h: usize, dx: f32, dy: f32) -> Plane {
        let mut p = Plane::new(w, h);
        for y in 0..h {
            for x in 0..w {
                p.data[y * w + x] = texture(x as f32 - dx, y as f32 - dy);
            }
        }
        p
    }

    #[test]
    fn recovers_sub_pixel_and_large_translations() {
        for &(dx, dy) in &[
            (0.5f32, 0.0f32),
            (2.0, -1.0),
            (-4.5, 3.0),
            (7.0, -5.0),
            (-12.0, 2.0),
        ] {
            let a = shifted(96, 80, 0.0, 0.0);
            let b = shifted(96, 80, dx, dy);
            let f = optical_flow(&a, &b, &FlowOptions::default());
            // Judge the interior: near the border the content enters or leaves the frame.
            let (mut su, mut sv, mut n) = (0.0, 0.0, 0.0);
            for y in 16..64 {
                for x in 16..80 {
                    su += f.u[y * 96 + x];
                    sv += f.v[y * 96 + x];
                    n += 1.0;
                }
            }
            let (mu, mv) = (su / n, sv / n);
            assert!(
                (mu - dx).abs() < 0.12 && (mv - dy).abs() < 0.12,
                "({dx},{dy}) gave ({mu},{mv})"
            );
        }
    }

    #[test]
    fn flat_images_have_no_motion() {
        let a = Plane {
            w: 20,
            h: 20,
            data: vec![90.0; 400],
        };
        let f = optical_flow(&a, &a, &FlowOptions::default());
        assert!(f.magnitudes().iter().all(|&m| m == 0.0));
    }
}
