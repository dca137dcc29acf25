//! Puts a clip's first frame on top of the reference image before comparing pixels.
//!
//! Engines render on canvases larger than the input (headroom for jumps) and sometimes at
//! an integer scale (pixel art shown 4×), so a raw pixel comparison would mostly measure
//! the offset. We match the silhouettes instead: integer scale from the bounding-box
//! ratio, then the translation that maximises mask IoU near a few plausible guesses.

use std::collections::HashSet;

use kinema_core::{Error, Frame, Placement, Result};
use serde::{Deserialize, Serialize};

use crate::plane::{mask, MASK_THRESHOLD};

/// How frame 0 was mapped onto the reference.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// Frame pixel `(x + dx, y + dy)` (after downscaling) shows reference pixel `(x, y)`.
    pub dx: i32,
    pub dy: i32,
    /// Integer factor the frame was box-downscaled by (1: same scale as the reference).
    pub scale: u32,
    /// Silhouette overlap after alignment: 1 is a perfect match of the alpha masks.
    pub mask_iou: f64,
}

/// How far around each guess the translation search looks, in pixels.
const SEARCH_RADIUS: i32 = 3;
/// Bounding-box ratios within this fraction of an integer count as that integer scale.
const SCALE_TOLERANCE: f64 = 0.15;

/// Aligns `frame` to `reference` and returns it cut to the reference's size and position.
///
/// `hint` is the clip's placement of the source image, tried as one of the guesses.
pub fn align_to_reference(
    frame: &Frame,
    reference: &Frame,
    hint: Placement,
) -> Result<(Alignment, Frame)> {
    let ref_box = reference.alpha_bounds(MASK_THRESHOLD - 1).ok_or_else(|| {
        Error::invalid(
            "the reference image has no opaque pixels, so there is no character to compare with",
            "pass the character image itself (with its alpha mask), not an empty or fully transparent one",
        )
    })?;
    let Some(frame_box) = frame.alpha_bounds(MASK_THRESHOLD - 1) else {
        // Nothing visible in frame 0: compare at the placement, overlap is zero.
        let aligned = frame.crop(
            hint.x as i64,
            hint.y as i64,
            reference.width,
            reference.height,
        );
        return Ok((
            Alignment {
                dx: hint.x,
                dy: hint.y,
                scale: 1,
                mask_iou: 0.0,
            },
            aligned,
        ));
    };
    let scale = integer_scale(ref_box, frame_box);
    let (frame, frame_box, hint) = if scale > 1 {
        // Start the block grid where the upscaled sprite starts, so blocks are whole pixels.
        let (ox, oy) = (frame_box.0 % scale, frame_box.1 % scale);
        let small = downscale_rgba(frame, scale, ox, oy);
        let small_box = small
            .alpha_bounds(MASK_THRESHOLD - 1)
            .unwrap_or((0, 0, 1, 1));
        let hint = Placement {
            x: (hint.x - ox as i32).div_euclid(scale as i32),
            y: (hint.y - oy as i32).div_euclid(scale as i32),
        };
        (small, small_box, hint)
    } else {
        (frame.clone(), frame_box, hint)
    };

    let ref_sil = Silhouette::of(reference, ref_box);
    let frame_sil = Silhouette::of(&frame, frame_box);
    let (ref_mask, frame_mask) = (&ref_sil.mask, &frame_sil.mask);
    let guesses = [
        (hint.x, hint.y),
        (
            frame_box.0 as i32 - ref_box.0 as i32,
            frame_box.1 as i32 - ref_box.1 as i32,
        ),
        centroid_offset(ref_mask, reference.width, frame_mask, frame.width),
    ];
    let mut tried = HashSet::new();
    let mut best = (f64::MIN, 0, 0);
    for (gx, gy) in guesses {
        for r in 0..=SEARCH_RADIUS {
            for dy in -r..=r {
                for dx in -r..=r {
                    if dx.abs().max(dy.abs()) != r || !tried.insert((gx + dx, gy + dy)) {
                        continue;
                    }
                    let iou = shifted_iou(&ref_sil, &frame_sil, gx + dx, gy + dy);
                    if iou > best.0 {
                        best = (iou, gx + dx, gy + dy);
                    }
                }
            }
        }
    }
    let (mask_iou, dx, dy) = best;
    let aligned = frame.crop(dx as i64, dy as i64, reference.width, reference.height);
    Ok((
        Alignment {
            dx,
            dy,
            scale,
            mask_iou,
        },
        aligned,
    ))
}

/// The integer factor between the boxes' sizes, or 1 when they are not an integer apart.
fn integer_scale(reference: (u32, u32, u32, u32), frame: (u32, u32, u32, u32)) -> u32 {
    let rw = (reference.2 - reference.0) as f64;
    let rh = (reference.3 - reference.1) as f64;
    let fw = (frame.2 - frame.0) as f64;
    let fh = (frame.3 - frame.1) as f64;
    let (sx, sy) = (fw / rw, fh / rh);
    let s = ((sx + sy) / 2.0).round();
    let fits = |r: f64| (r - s).abs() / s <= SCALE_TOLERANCE;
    if s >= 2.0 && fits(sx) && fits(sy) {
        s as u32
    } else {
        1
    }
}

/// Box filter by `s` starting at `(ox, oy)`, averaging in premultiplied alpha so that
/// transparent pixels do not darken the edges.
pub(crate) fn downscale_rgba(frame: &Frame, s: u32, ox: u32, oy: u32) -> Frame {
    let w = (frame.width - ox).div_ceil(s);
    let h = (frame.height - oy).div_ceil(s);
    let mut out = Frame::new(w, h);
    for by in 0..h {
        for bx in 0..w {
            let mut acc = [0u64; 4];
            let mut n = 0u64;
            for y in (oy + by * s)..(oy + (by + 1) * s).min(frame.height) {
                for x in (ox + bx * s)..(ox + (bx + 1) * s).min(frame.width) {
                    let p = frame.pixel(x, y);
                    let a = p[3] as u64;
                    for c in 0..3 {
                        acc[c] += p[c] as u64 * a;
                    }
                    acc[3] += a;
                    n += 1;
                }
            }
            let alpha = acc[3];
            let px = if alpha == 0 {
                [0, 0, 0, 0]
            } else {
                let c = |v: u64| ((v + alpha / 2) / alpha).min(255) as u8;
                [
                    c(acc[0]),
                    c(acc[1]),
                    c(acc[2]),
                    ((alpha + n / 2) / n.max(1)) as u8,
                ]
            };
            out.set_pixel(bx, by, px);
        }
    }
    out
}

fn centroid_offset(ref_mask: &[bool], ref_w: u32, frame_mask: &[bool], frame_w: u32) -> (i32, i32) {
    let centroid = |m: &[bool], w: u32| {
        let (mut sx, mut sy, mut n) = (0f64, 0f64, 0f64);
        for (i, _) in m.iter().enumerate().filter(|(_, &v)| v) {
            sx += (i % w as usize) as f64;
            sy += (i / w as usize) as f64;
            n += 1.0;
        }
        (sx / n.max(1.0), sy / n.max(1.0))
    };
    let (rx, ry) = centroid(ref_mask, ref_w);
    let (fx, fy) = centroid(frame_mask, frame_w);
    ((fx - rx).round() as i32, (fy - ry).round() as i32)
}

/// A mask with what the offset search needs again and again.
struct Silhouette {
    width: u32,
    height: u32,
    mask: Vec<bool>,
    count: usize,
    bounds: (u32, u32, u32, u32),
}

impl Silhouette {
    fn of(frame: &Frame, bounds: (u32, u32, u32, u32)) -> Self {
        let mask = mask(frame);
        let count = mask.iter().filter(|&&v| v).count();
        Silhouette {
            width: frame.width,
            height: frame.height,
            mask,
            count,
            bounds,
        }
    }
}

/// IoU of the reference silhouette and the frame's seen through offset `(dx, dy)`.
fn shifted_iou(reference: &Silhouette, frame: &Silhouette, dx: i32, dy: i32) -> f64 {
    let (x0, y0, x1, y1) = reference.bounds;
    let mut inter = 0usize;
    for y in y0..y1 {
        let fy = y as i64 + dy as i64;
        if fy < 0 || fy >= frame.height as i64 {
            continue;
        }
        for x in x0..x1 {
            let fx = x as i64 + dx as i64;
            if fx < 0 || fx >= frame.width as i64 {
                continue;
            }
            let r = reference.mask[(y * reference.width + x) as usize];
            let f = frame.mask[fy as usize * frame.width as usize + fx as usize];
            inter += (r && f) as usize;
        }
    }
    let union = reference.count + frame.count - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An L-shaped sprite with distinct colours, so any misalignment changes pixels.
    fn sprite() -> Frame {
        let mut f = Frame::new(12, 16);
        for y in 2..14 {
            for x in 2..6 {
                f.set_pixel(x, y, [200, (y * 10) as u8, 30, 255]);
            }
        }
        for x in 6..10 {
            f.set_pixel(x, 11, [20, 90, (x * 20) as u8, 255]);
            f.set_pixel(x, 12, [20, 90, (x * 20) as u8, 255]);
        }
        f
    }

    fn paste(canvas_w: u32, canvas_h: u32, img: &Frame, at: (u32, u32), scale: u32) -> Frame {
        let mut out = Frame::new(canvas_w, canvas_h);
        for y in 0..img.height * scale {
            for x in 0..img.width * scale {
                out.set_pixel(at.0 + x, at.1 + y, img.pixel(x / scale, y / scale));
            }
        }
        out
    }

    #[test]
    fn finds_offset_on_a_larger_canvas_even_with_a_wrong_hint() {
        let r = sprite();
        let canvas = paste(40, 30, &r, (17, 9), 1);
        let (al, aligned) = align_to_reference(&canvas, &r, Placement { x: 0, y: 0 }).unwrap();
        assert_eq!((al.dx, al.dy, al.scale), (17, 9, 1));
        assert_eq!(al.mask_iou, 1.0);
        assert_eq!(aligned, r);
    }

    #[test]
    fn undoes_an_integer_upscale() {
        let r = sprite();
        let canvas = paste(64, 80, &r, (5, 3), 3);
        let (al, aligned) = align_to_reference(&canvas, &r, Placement::default()).unwrap();
        assert_eq!(al.scale, 3);
        assert_eq!(al.mask_iou, 1.0);
        assert_eq!(aligned.alpha_bounds(0), r.alpha_bounds(0));
        assert_eq!(aligned.pixel(3, 5), r.pixel(3, 5));
    }

    #[test]
    fn empty_reference_is_an_input_error() {
        let e = align_to_reference(&sprite(), &Frame::new(4, 4), Placement::default()).unwrap_err();
        assert!(e.to_string().contains("no opaque pixels"), "{e}");
    }

    #[test]
    fn empty_frame_aligns_with_zero_overlap() {
        let (al, aligned) =
            align_to_reference(&Frame::new(20, 20), &sprite(), Placement { x: 2, y: 1 }).unwrap();
        assert_eq!(al.mask_iou, 0.0);
        assert_eq!((aligned.width, aligned.height), (12, 16));
    }
}
