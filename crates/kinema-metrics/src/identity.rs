//! Does the character keep its colours? Colour distributions inside the silhouette (with
//! each pixel's height in it), compared with a sliced Wasserstein (earth-mover) distance
//! in CIE Lab.
//!
//! VBench-I2V compares DINO features, which see shape and texture; we only see colour.
//! Colour is what generated sprites most often get wrong (drifting hues, new shades), and
//! an earth-mover distance grows smoothly with how far colours moved, unlike histogram
//! intersection, which saturates once colours change bins.

use std::collections::HashMap;

use kinema_core::Frame;
use rayon::prelude::*;

use crate::color::{delta_e, srgb_to_lab, Lab};
use crate::plane::MASK_THRESHOLD;

/// Distance in ΔE at which colour similarity falls to 1/e (≈ 0.37).
pub const SIMILARITY_SCALE_DE: f32 = 20.0;
/// At most this many silhouette pixels (an even grid sample) describe a frame's colours.
const MAX_SAMPLES: usize = 16_384;
/// Projected features span at most ±√(100² + 2·128² + 40²) < 215.
const RANGE: f32 = 215.0;
/// 1D histogram bins per direction: 0.5 ΔE each.
const BINS: usize = 860;
/// A reference with at most this many distinct opaque colours is treated as a palette.
pub const MAX_PALETTE: usize = 256;
/// Colours further than this ΔE from every palette entry count as escaped.
pub const PALETTE_TOLERANCE_DE: f32 = 5.0;

/// Weight of the vertical position (0 at the silhouette's top, 1 at its bottom) next to
/// L, a, b: a full top-to-bottom move counts like a 40 ΔE colour change. Without it a
/// hue rotation that happens to permute a sprite's colours (hair ↔ shirt) would be free.
pub const POSITION_WEIGHT: f32 = 40.0;

/// Projection directions in (L, a, b, position): the four axes, the six pairwise
/// diagonals of both signs and four mixed ones; fixed so results are deterministic.
fn directions() -> Vec<[f32; 4]> {
    let mut dirs: Vec<[f32; 4]> = Vec::new();
    for i in 0..4 {
        let mut d = [0.0; 4];
        d[i] = 1.0;
        dirs.push(d);
    }
    for i in 0..4 {
        for j in i + 1..4 {
            for sign in [1.0, -1.0] {
                let mut d = [0.0; 4];
                d[i] = std::f32::consts::FRAC_1_SQRT_2;
                d[j] = sign * std::f32::consts::FRAC_1_SQRT_2;
                dirs.push(d);
            }
        }
    }
    for d in [
        [1.0, 1.0, 1.0, 1.0],
        [1.0, -1.0, 1.0, -1.0],
        [1.0, 1.0, -1.0, -1.0],
        [1.0, -1.0, -1.0, 1.0],
    ] {
        dirs.push(d.map(|v: f32| v * 0.5));
    }
    dirs
}

/// The colour distribution of one silhouette: normalised CDFs of Lab projected on each
/// direction. Building it once per frame makes every pairwise comparison O(bins).
#[derive(Clone, Debug)]
pub struct ColourSignature {
    cdfs: Vec<Vec<f32>>,
    /// False when the silhouette is empty: nothing to compare, similarity 0.
    has_pixels: bool,
}

impl ColourSignature {
    pub fn of(frame: &Frame) -> Self {
        let dirs = directions();
        let opaque: Vec<usize> = frame
            .rgba
            .chunks_exact(4)
            .enumerate()
            .filter(|(_, p)| p[3] >= MASK_THRESHOLD)
            .map(|(i, _)| i)
            .collect();
        let step = opaque.len().div_ceil(MAX_SAMPLES).max(1);
        let mut hists = vec![vec![0u32; BINS]; dirs.len()];
        let mut count = 0u32;
        let mut cache: HashMap<[u8; 3], Lab> = HashMap::new();
        let width = frame.width.max(1) as usize;
        let top = opaque.first().map_or(0, |&i| i / width);
        let bottom = opaque.last().map_or(0, |&i| i / width);
        let span = (bottom - top).max(1) as f32;
        for &i in opaque.iter().step_by(step) {
            let p = &frame.rgba[i * 4..i * 4 + 3];
            let rgb = [p[0], p[1], p[2]];
            let lab = *cache.entry(rgb).or_insert_with(|| srgb_to_lab(rgb));
            let pos = (i / width - top) as f32 / span * POSITION_WEIGHT;
            let feature = [lab[0], lab[1], lab[2], pos];
            for (d, hist) in dirs.iter().zip(hists.iter_mut()) {
                let proj: f32 = feature.iter().zip(d).map(|(f, d)| f * d).sum();
                let bin = ((proj + RANGE) / (2.0 * RANGE) * BINS as f32) as usize;
                hist[bin.min(BINS - 1)] += 1;
            }
            count += 1;
        }
        let cdfs = hists
            .into_iter()
            .map(|h| {
                let mut acc = 0u32;
                h.into_iter()
                    .map(|c| {
                        acc += c;
                        acc as f32 / count.max(1) as f32
                    })
                    .collect()
            })
            .collect();
        ColourSignature {
            cdfs,
            has_pixels: count > 0,
        }
    }

    /// Sliced 1-Wasserstein distance in ΔE units: the mean, over directions, of how far
    /// colour mass must travel along that direction to turn one distribution into the other.
    pub fn distance(&self, other: &ColourSignature) -> f32 {
        let bin_width = 2.0 * RANGE / BINS as f32;
        let total: f32 = self
            .cdfs
            .iter()
            .zip(&other.cdfs)
            .map(|(p, q)| p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f32>() * bin_width)
            .sum();
        total / self.cdfs.len().max(1) as f32
    }

    /// 1 for identical colour distributions, falling as `exp(−distance / 20 ΔE)`.
    pub fn similarity(&self, other: &ColourSignature) -> f64 {
        if !self.has_pixels || !other.has_pixels {
            return 0.0;
        }
        (-(self.distance(other) / SIMILARITY_SCALE_DE) as f64).exp()
    }
}

/// The reference's opaque colours, if few enough to be a palette (pixel art, flat shading).
pub fn palette(reference: &Frame) -> Option<Vec<Lab>> {
    let mut colours: Vec<[u8; 3]> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in reference
        .rgba
        .chunks_exact(4)
        .filter(|p| p[3] >= MASK_THRESHOLD)
    {
        if seen.insert([p[0], p[1], p[2]]) {
            colours.push([p[0], p[1], p[2]]);
            if colours.len() > MAX_PALETTE {
                return None;
            }
        }
    }
    (!colours.is_empty()).then(|| colours.into_iter().map(srgb_to_lab).collect())
}

/// Share of opaque pixels, over all frames, whose colour is further than
/// [`PALETTE_TOLERANCE_DE`] from every palette colour.
pub fn palette_escape(frames: &[Frame], palette: &[Lab]) -> f64 {
    let (escaped, opaque) = frames
        .par_iter()
        .map(|frame| {
            let mut verdict: HashMap<[u8; 3], bool> = HashMap::new();
            // Sprites come in runs of one colour: remember the last answer.
            let mut last: Option<([u8; 3], bool)> = None;
            let (mut escaped, mut opaque) = (0u64, 0u64);
            for p in frame
                .rgba
                .chunks_exact(4)
                .filter(|p| p[3] >= MASK_THRESHOLD)
            {
                let rgb = [p[0], p[1], p[2]];
                let out = match last {
                    Some((c, v)) if c == rgb => v,
                    _ => *verdict.entry(rgb).or_insert_with(|| {
                        let lab = srgb_to_lab(rgb);
                        palette
                            .iter()
                            .all(|&q| delta_e(lab, q) > PALETTE_TOLERANCE_DE)
                    }),
                };
                last = Some((rgb, out));
                escaped += out as u64;
                opaque += 1;
            }
            (escaped, opaque)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if opaque == 0 {
        0.0
    } else {
        escaped as f64 / opaque as f64
    }
}

/// VBench-I2V's subject-consistency form: `0.4·max(s) + 0.3·mean(c) + 0.3·min(c)` with
/// `s` each frame's similarity to the input image and `c` each consecutive pair's.
/// `None` for a single frame, which has no consecutive pairs.
pub fn i2v_aggregate(to_reference: &[f64], consecutive: &[f64]) -> Option<f64> {
    if consecutive.is_empty() || to_reference.is_empty() {
        return None;
    }
    let max = to_reference.iter().cloned().fold(f64::MIN, f64::max);
    let mean = consecutive.iter().sum::<f64>() / consecutive.len() as f64;
    let min = consecutive.iter().cloned().fold(f64::MAX, f64::min);
    Some(0.4 * max + 0.3 * mean + 0.3 * min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::rotate_hue;

    /// A character-like sprite: hair, skin, shirt, trousers and boots in horizontal bands,
    /// with a shading ramp so each band has several shades.
    pub(crate) fn colourful_sprite() -> Frame {
        let mut f = Frame::new(40, 44);
        for y in 4..40u32 {
            for x in 10..30u32 {
                let base: [i32; 3] = match y {
                    4..=9 => [110, 70, 40],
                    10..=15 => [235, 190, 150],
                    16..=26 => [200, 50, 50],
                    27..=35 => [50, 80, 180],
                    _ => [60, 50, 45],
                };
                let shade = (x as i32 - 20) * 2;
                let c = base.map(|v| (v + shade).clamp(0, 255) as u8);
                f.set_pixel(x, y, [c[0], c[1], c[2], 255]);
            }
        }
        f
    }

    fn hue_shifted(f: &Frame, deg: f32) -> Frame {
        let mut out = f.clone();
        for p in out.rgba.chunks_exact_mut(4) {
            let c = rotate_hue([p[0], p[1], p[2]], deg);
            p[..3].copy_from_slice(&c);
        }
        out
    }

    #[test]
    fn identical_colours_score_one() {
        let s = ColourSignature::of(&colourful_sprite());
        assert_eq!(s.distance(&s), 0.0);
        assert_eq!(s.similarity(&s), 1.0);
    }

    #[test]
    fn similarity_falls_monotonically_with_hue_shift() {
        let base = colourful_sprite();
        let sig = ColourSignature::of(&base);
        let scores: Vec<f64> = [0.0, 15.0, 30.0, 60.0, 120.0]
            .iter()
            .map(|&d| sig.similarity(&ColourSignature::of(&hue_shifted(&base, d))))
            .collect();
        assert_eq!(scores[0], 1.0);
        for w in scores.windows(2) {
            assert!(w[1] < w[0] - 0.02, "not clearly decreasing: {scores:?}");
        }
    }

    #[test]
    fn empty_silhouette_is_dissimilar() {
        let s = ColourSignature::of(&colourful_sprite());
        assert_eq!(s.similarity(&ColourSignature::of(&Frame::new(8, 8))), 0.0);
    }

    #[test]
    fn palette_escape_counts_foreign_colours() {
        let base = colourful_sprite();
        let pal = palette(&base).expect("a hundred shades form a palette");
        assert_eq!(palette_escape(std::slice::from_ref(&base), &pal), 0.0);
        let shifted = hue_shifted(&base, 90.0);
        let escape = palette_escape(&[base, shifted], &pal);
        // Half the pixels are the unshifted original; most of the shifted half escapes.
        assert!(escape > 0.3 && escape <= 0.5, "{escape}");
    }

    #[test]
    fn i2v_aggregate_weights_max_mean_min() {
        let v = i2v_aggregate(&[0.5, 1.0], &[0.8, 0.6]).unwrap();
        assert!((v - (0.4 + 0.3 * 0.7 + 0.3 * 0.6)).abs() < 1e-12);
        assert_eq!(i2v_aggregate(&[1.0], &[]), None);
    }
}
