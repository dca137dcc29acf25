//! Runs every metric on one clip; the single entry point front ends call.

use kinema_core::{Clip, Error, Frame, Result};
use rayon::prelude::*;

use crate::align::align_to_reference;
use crate::cleanliness::Cleanliness;
use crate::identity::{i2v_aggregate, palette, palette_escape, ColourSignature};
use crate::motion::{analysis_factor, consecutive_motion, dynamic_degree, smoothness, SmallFrame};
use crate::psnr_ssim::{psnr, ssim};
use crate::report::{Report, Series};
use crate::temporal::{flicker, loop_seam, mean, mean_abs_diff, min, silhouette_iou};

/// Measures `clip` against `reference` (the character image; its alpha is the subject mask).
///
/// Deterministic: the same clip gives the same numbers on every machine and thread count.
pub fn evaluate(clip: &Clip, reference: &Frame) -> Result<Report> {
    validate(clip, reference)?;
    let frames = &clip.frames;
    let (width, height) = (clip.width(), clip.height());

    let (alignment, aligned) = align_to_reference(&frames[0], reference, clip.placement)?;
    let psnr_db = psnr(&aligned, reference)?;
    let ssim = ssim(&aligned, reference)?;

    let reference_colours = ColourSignature::of(reference);
    let colours: Vec<ColourSignature> = frames.par_iter().map(ColourSignature::of).collect();
    let identity: Vec<f64> = colours
        .iter()
        .map(|c| c.similarity(&reference_colours))
        .collect();
    let consecutive_identity: Vec<f64> =
        colours.windows(2).map(|w| w[0].similarity(&w[1])).collect();
    let palette_escape = palette(reference).map(|p| palette_escape(frames, &p));

    let frame_difference: Vec<f64> = frames
        .par_windows(2)
        .map(|w| mean_abs_diff(&w[0], &w[1]))
        .collect();
    let seam = mean_abs_diff(&frames[frames.len() - 1], &frames[0]);
    let silhouette_iou: Vec<f64> = frames
        .par_windows(2)
        .map(|w| silhouette_iou(&w[0], &w[1]))
        .collect();

    let factor = analysis_factor(width, height);
    let small: Vec<SmallFrame> = frames
        .par_iter()
        .map(|f| SmallFrame::new(f, factor))
        .collect();
    let motion = consecutive_motion(&small, factor);
    let dynamic = dynamic_degree(&small, &motion, factor, clip.fps, (width, height));
    let smooth = smoothness(&small);

    Ok(Report {
        frames: frames.len(),
        width,
        height,
        fps: clip.fps,
        psnr_db,
        ssim,
        alignment,
        identity_mean: mean(&identity).unwrap_or(0.0),
        identity_min: min(&identity).unwrap_or(0.0),
        i2v_subject: i2v_aggregate(&identity, &consecutive_identity),
        palette_escape,
        flicker: flicker(&frame_difference),
        smoothness: mean(&smooth),
        dynamic,
        silhouette_iou_min: min(&silhouette_iou),
        silhouette_iou_mean: mean(&silhouette_iou),
        loop_seam: loop_seam(seam, &frame_difference),
        cleanliness: Cleanliness::of(frames),
        series: Series {
            identity,
            consecutive_identity,
            flow_mean_px: motion.iter().map(|m| m.mean_px).collect(),
            flow_top5_px: motion.iter().map(|m| m.top5_px).collect(),
            frame_difference,
            smoothness: smooth,
            silhouette_iou,
        },
    })
}

/// Refuses clips the metrics cannot measure, saying which frame is wrong.
fn validate(clip: &Clip, reference: &Frame) -> Result<()> {
    let Some(first) = clip.frames.first() else {
        return Err(Error::invalid(
            "the clip has no frames",
            "evaluate a clip with at least one frame",
        ));
    };
    if first.width == 0 || first.height == 0 {
        return Err(Error::invalid(
            format!(
                "the clip's frames are {}x{}, which has no pixels",
                first.width, first.height
            ),
            "evaluate a clip whose frames are at least 1x1",
        ));
    }
    for (i, f) in clip.frames.iter().enumerate() {
        if (f.width, f.height) != (first.width, first.height) {
            return Err(Error::invalid(
                format!(
                    "frame {i} is {}x{} but frame 0 is {}x{}",
                    f.width, f.height, first.width, first.height
                ),
                "all frames of a clip must have the same size; re-export the clip at one size",
            ));
        }
        if f.rgba.len() != f.pixel_count() * 4 {
            return Err(Error::invalid(
                format!(
                    "frame {i} holds {} bytes, not the {} a {}x{} RGBA frame needs",
                    f.rgba.len(),
                    f.pixel_count() * 4,
                    f.width,
                    f.height
                ),
                "the clip is corrupt; decode it again",
            ));
        }
    }
    if reference.width == 0
        || reference.height == 0
        || reference.rgba.len() != reference.pixel_count() * 4
    {
        return Err(Error::invalid(
            format!(
                "the reference image ({}x{}, {} bytes) is empty or corrupt",
                reference.width,
                reference.height,
                reference.rgba.len()
            ),
            "pass the character image the clip was generated from",
        ));
    }
    Ok(())
}
