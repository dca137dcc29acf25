//! Frame-difference measures: flicker, silhouette stability and the loop seam.
//!
//! These need no motion estimate: they compare frames pixel for pixel (RGB composited over
//! grey, alpha masks), so they are exact, cheap and easy to reason about.

use kinema_core::Frame;

use crate::plane::{COMPOSITE_GREY, MASK_THRESHOLD};

/// Added to both sides of the loop-seam ratio (grey levels) so a still clip scores 1, not 0/0.
const SEAM_EPSILON: f64 = 0.01;

/// Mean absolute difference over R, G, B of two frames composited over
/// [`COMPOSITE_GREY`], 0..=255. Composites on the fly: no frame-sized copies.
pub fn mean_abs_diff(a: &Frame, b: &Frame) -> f64 {
    let over = |c: u8, alpha: u8, g: u8| {
        (c as u32 * alpha as u32 + g as u32 * (255 - alpha as u32) + 127) / 255
    };
    let mut sum = 0u64;
    let mut n = 0u64;
    for (p, q) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        for c in 0..3 {
            let x = over(p[c], p[3], COMPOSITE_GREY[c]);
            let y = over(q[c], q[3], COMPOSITE_GREY[c]);
            sum += x.abs_diff(y) as u64;
        }
        n += 3;
    }
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}

/// IoU of the two frames' silhouettes (alpha ≥ [`MASK_THRESHOLD`]); two empty ones agree.
pub fn silhouette_iou(a: &Frame, b: &Frame) -> f64 {
    let (mut inter, mut union) = (0u64, 0u64);
    for (p, q) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        let (x, y) = (p[3] >= MASK_THRESHOLD, q[3] >= MASK_THRESHOLD);
        inter += (x && y) as u64;
        union += (x || y) as u64;
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// VBench's temporal flickering score, `(255 − mean |Δ|) / 255`, from consecutive-pair
/// differences: 1 for a still clip, lower the more pixels jump between frames.
pub fn flicker(pair_diffs: &[f64]) -> Option<f64> {
    mean(pair_diffs).map(|d| (255.0 - d) / 255.0)
}

/// Difference across the loop seam (last → first) relative to the mean consecutive one:
/// ≈ 1 when the wrap-around looks like any other step, ≫ 1 when the loop visibly jumps.
pub fn loop_seam(seam_diff: f64, pair_diffs: &[f64]) -> Option<f64> {
    if pair_diffs.len() < 2 {
        return None; // with two frames the seam pair *is* the only pair
    }
    let typical = mean(pair_diffs)?;
    Some((seam_diff + SEAM_EPSILON) / (typical + SEAM_EPSILON))
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

pub fn min(values: &[f64]) -> Option<f64> {
    values.iter().cloned().reduce(f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_abs_diff_composites_over_grey() {
        let a = Frame::filled(2, 2, [10, 20, 30, 255]);
        let b = Frame::filled(2, 2, [13, 20, 30, 255]);
        assert_eq!(mean_abs_diff(&a, &b), 1.0);
        // Fully transparent pixels are grey whatever their colour bytes say.
        let t1 = Frame::filled(2, 2, [0, 0, 0, 0]);
        let t2 = Frame::filled(2, 2, [255, 9, 99, 0]);
        assert_eq!(mean_abs_diff(&t1, &t2), 0.0);
        assert_eq!(
            mean_abs_diff(&t1, &Frame::filled(2, 2, [128, 128, 131, 255])),
            1.0
        );
    }

    #[test]
    fn flicker_is_one_for_still_frames_and_lower_for_changes() {
        assert_eq!(flicker(&[0.0, 0.0]), Some(1.0));
        assert_eq!(flicker(&[51.0, 51.0]), Some(0.8));
        assert_eq!(flicker(&[]), None);
    }

    #[test]
    fn seam_ratio_is_one_for_still_and_uniform_clips() {
        assert_eq!(loop_seam(0.0, &[0.0, 0.0]), Some(1.0));
        let r = loop_seam(4.0, &[4.0, 4.0, 4.0]).unwrap();
        assert!((r - 1.0).abs() < 1e-12);
        assert!(loop_seam(40.0, &[4.0, 4.0]).unwrap() > 9.0);
        assert_eq!(loop_seam(1.0, &[1.0]), None);
    }

    #[test]
    fn silhouette_iou_counts_mask_overlap() {
        let mut a = Frame::new(2, 1);
        let mut b = Frame::new(2, 1);
        a.set_pixel(0, 0, [1, 1, 1, 255]);
        a.set_pixel(1, 0, [1, 1, 1, 200]);
        b.set_pixel(0, 0, [1, 1, 1, 128]);
        b.set_pixel(1, 0, [1, 1, 1, 127]);
        assert_eq!(silhouette_iou(&a, &b), 0.5);
        assert_eq!(silhouette_iou(&Frame::new(3, 3), &Frame::new(3, 3)), 1.0);
    }
}
