//! Flow-based measures: VBench's dynamic degree and motion smoothness.
//!
//! Flow runs on luma composited over grey at an analysis resolution whose longer side is
//! at most [`ANALYSIS_MAX_SIDE`] (integer box downscale); vectors are reported in pixels
//! of the original frames.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::flow::{optical_flow, Flow, FlowOptions};
use crate::plane::{luma, Plane, COMPOSITE_GREY, MASK_THRESHOLD};
use kinema_core::Frame;

/// Longest side flow is computed at; a 512 px clip is analysed at 256 px.
pub const ANALYSIS_MAX_SIDE: usize = 256;

/// One frame reduced to what flow and interpolation need.
pub struct SmallFrame {
    rgb: [Plane; 3],
    grey: Plane,
    mask: Vec<bool>,
}

/// The integer factor that brings the longer side to at most [`ANALYSIS_MAX_SIDE`].
pub fn analysis_factor(width: u32, height: u32) -> usize {
    (width.max(height) as usize)
        .div_ceil(ANALYSIS_MAX_SIDE)
        .max(1)
}

impl SmallFrame {
    /// Composites over grey and box-downscales in one pass over the bytes.
    pub fn new(frame: &Frame, factor: usize) -> Self {
        let (fw, fh) = (frame.width as usize, frame.height as usize);
        let factor = factor.max(1);
        let (w, h) = (fw.div_ceil(factor), fh.div_ceil(factor));
        let mut rgb = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
        let mut alpha = Plane::new(w, h);
        let mut counts = vec![0u32; w * h];
        let grey = COMPOSITE_GREY.map(|g| g as f32);
        for y in 0..fh {
            let row = &frame.rgba[y * fw * 4..(y + 1) * fw * 4];
            let out_row = (y / factor) * w;
            for (x, p) in row.chunks_exact(4).enumerate() {
                let o = out_row + x / factor;
                let a = p[3] as f32 / 255.0;
                for c in 0..3 {
                    rgb[c].data[o] += p[c] as f32 * a + grey[c] * (1.0 - a);
                }
                alpha.data[o] += p[3] as f32;
                counts[o] += 1;
            }
        }
        for (o, &n) in counts.iter().enumerate() {
            let n = n.max(1) as f32;
            for plane in rgb.iter_mut() {
                plane.data[o] /= n;
            }
            alpha.data[o] /= n;
        }
        let mask = alpha
            .data
            .iter()
            .map(|&a| a >= MASK_THRESHOLD as f32)
            .collect();
        let grey = luma(&rgb);
        SmallFrame { rgb, grey, mask }
    }
}

/// VBench's dynamic-degree verdict and the motion numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicDegree {
    /// True when at least `pairs_needed` sampled pairs move more than `threshold_px`.
    pub dynamic: bool,
    /// Mean flow magnitude over the subject (alpha mask of the earlier frame; the whole
    /// frame when it is fully opaque), over consecutive pairs, in original pixels.
    pub mean_flow_px: f64,
    /// `max(1, 8 / fps) · 6 · min(w, h) / 256`, VBench's per-pair threshold.
    pub threshold_px: f64,
    /// Sampled pairs whose top-5 % flow magnitude exceeds the threshold.
    pub pairs_above: usize,
    /// `round(4 · sampled_frames / 16)` (ties to even, as Python rounds), at least 1.
    pub pairs_needed: usize,
    /// Frames are sampled every `frame_stride` frames (≈ 8 fps), as VBench does for video.
    pub frame_stride: usize,
    /// Flow was computed after box-downscaling frames by this factor.
    pub analysis_factor: u32,
}

/// Per consecutive pair: mean flow over the subject and mean of the top 5 % magnitudes.
pub struct PairMotion {
    pub mean_px: f64,
    pub top5_px: f64,
}

fn flow_between(a: &SmallFrame, b: &SmallFrame) -> Flow {
    optical_flow(&a.grey, &b.grey, &FlowOptions::default())
}

/// VBench's per-pair score: the mean of the largest 5 % of flow magnitudes.
fn top5_mean(mags: &mut [f32]) -> f64 {
    let n = mags.len();
    if n == 0 {
        return 0.0;
    }
    let cut = (n as f64 * 0.05) as usize;
    if cut == 0 {
        return mags.iter().cloned().fold(0.0, f32::max) as f64;
    }
    mags.select_nth_unstable_by(n - cut, |a, b| a.total_cmp(b));
    mags[n - cut..].iter().map(|&m| m as f64).sum::<f64>() / cut as f64
}

fn pair_motion(a: &SmallFrame, b: &SmallFrame, factor: f64) -> PairMotion {
    let mut mags = flow_between(a, b).magnitudes();
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (m, _) in mags.iter().zip(&a.mask).filter(|(_, &inside)| inside) {
        sum += *m as f64;
        n += 1;
    }
    let mean = if n > 0 {
        sum / n as f64
    } else {
        mags.iter().map(|&m| m as f64).sum::<f64>() / mags.len().max(1) as f64
    };
    PairMotion {
        mean_px: mean * factor,
        top5_px: top5_mean(&mut mags) * factor,
    }
}

/// Flow statistics for every consecutive pair, in parallel.
pub fn consecutive_motion(frames: &[SmallFrame], factor: usize) -> Vec<PairMotion> {
    (0..frames.len().saturating_sub(1))
        .into_par_iter()
        .map(|i| pair_motion(&frames[i], &frames[i + 1], factor as f64))
        .collect()
}

/// Applies VBench's rule; reuses `consecutive` when no frames are skipped.
pub fn dynamic_degree(
    frames: &[SmallFrame],
    consecutive: &[PairMotion],
    factor: usize,
    fps: u32,
    size: (u32, u32),
) -> DynamicDegree {
    let fps = fps.max(1) as f64;
    let stride = ((fps / 8.0).round() as usize).max(1);
    let threshold_px = (8.0 / fps).max(1.0) * 6.0 * size.0.min(size.1) as f64 / 256.0;
    let sampled: Vec<usize> = (0..frames.len()).step_by(stride).collect();
    let scores: Vec<f64> = if stride == 1 {
        consecutive.iter().map(|p| p.top5_px).collect()
    } else {
        sampled
            .par_windows(2)
            .map(|w| pair_motion(&frames[w[0]], &frames[w[1]], factor as f64).top5_px)
            .collect()
    };
    let pairs_needed = ((4.0 * sampled.len() as f64 / 16.0).round_ties_even() as usize).max(1);
    let pairs_above = scores.iter().filter(|&&s| s > threshold_px).count();
    let mean_flow_px = if consecutive.is_empty() {
        0.0
    } else {
        consecutive.iter().map(|p| p.mean_px).sum::<f64>() / consecutive.len() as f64
    };
    DynamicDegree {
        dynamic: pairs_above >= pairs_needed,
        mean_flow_px,
        threshold_px,
        pairs_above,
        pairs_needed,
        frame_stride: stride,
        analysis_factor: factor as u32,
    }
}

/// For each middle frame `i`: `1 − MAE / 255` between frame `i` and the average of frames
/// `i − 1` and `i + 1` each warped halfway along the flow between them.
pub fn smoothness(frames: &[SmallFrame]) -> Vec<f64> {
    (1..frames.len().saturating_sub(1))
        .into_par_iter()
        .map(|i| {
            let (prev, mid, next) = (&frames[i - 1], &frames[i], &frames[i + 1]);
            let flow = flow_between(prev, next);
            let (w, h) = (flow.w, flow.h);
            let mut err = 0.0f64;
            for y in 0..h {
                for x in 0..w {
                    let k = y * w + x;
                    let (hu, hv) = (0.5 * flow.u[k], 0.5 * flow.v[k]);
                    let (xf, yf) = (x as f32, y as f32);
                    for c in 0..3 {
                        let before = prev.rgb[c].sample(xf - hu, yf - hv);
                        let after = next.rgb[c].sample(xf + hu, yf + hv);
                        err += (0.5 * (before + after) - mid.rgb[c].data[k]).abs() as f64;
                    }
                }
            }
            1.0 - err / (3 * w * h).max(1) as f64 / 255.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top5_mean_takes_the_largest_twentieth() {
        let mut v: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(top5_mean(&mut v), 97.0);
        assert_eq!(top5_mean(&mut [3.0, 1.0]), 3.0);
    }

    #[test]
    fn analysis_factor_caps_the_long_side() {
        assert_eq!(analysis_factor(96, 128), 1);
        assert_eq!(analysis_factor(512, 512), 2);
        assert_eq!(analysis_factor(513, 100), 3);
    }
}
