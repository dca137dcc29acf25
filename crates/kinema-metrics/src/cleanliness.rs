//! Cleanliness of a cut-out clip: detached pieces and hairlines that frame 0 did not have.
//!
//! A deformed sprite goes wrong in two visible ways. A piece of a limb stays behind when the
//! limb moves (a shard: an extra connected piece), or a sliver one or two pixels wide is
//! drawn where there was a solid edge (a hairline, a ghost outline). Both are measured on the
//! solid silhouette (alpha ≥ [`MASK_THRESHOLD`]) against frame 0, which is the input pose:
//!
//! - **pieces**: 8-connected pieces of the silhouette per frame;
//! - **thin area**: the share of the silhouette that a 3×3 morphological opening removes,
//!   i.e. pixels that lie in no 3×3 block of solid pixels. Hand-drawn frames of one character
//!   vary by at most a few thousandths here (the sample artist's walk: +0.003 over its idle
//!   pose), so an excess over frame 0 above that means slivers the artist did not draw.
//!
//! An opaque clip (frame 0 has no transparent pixel) has no silhouette to judge: `None`.

use kinema_core::Frame;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::plane::{mask, MASK_THRESHOLD};

/// Per-frame cleanliness and where it is worst. Frame numbers count from 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cleanliness {
    /// Connected pieces of frame 0's silhouette (the input pose).
    pub pieces_first: usize,
    /// Most pieces in any frame.
    pub pieces_max: usize,
    /// Frames with more pieces than frame 0.
    pub frames_with_extra_pieces: usize,
    /// The frame with the most pieces (the first such).
    pub worst_pieces_frame: usize,
    /// Thin area of frame 0, 0..=1.
    pub thin_first: f64,
    /// Largest thin area of any frame minus frame 0's (≤ 0 when no frame is thinner).
    pub thin_excess_max: f64,
    /// The frame with the largest thin area.
    pub worst_thin_frame: usize,
    /// Per frame: connected pieces.
    pub pieces: Vec<usize>,
    /// Per frame: thin area.
    pub thin_area: Vec<f64>,
}

impl Cleanliness {
    /// Measures every frame against frame 0; `None` for an empty clip or one whose frame 0
    /// is fully opaque.
    pub fn of(frames: &[Frame]) -> Option<Cleanliness> {
        Cleanliness::against(frames.first()?, frames)
    }

    /// Measures every frame against `rest`, a frame of the same scale showing the input
    /// pose: what a looping clip, whose frame 0 is mid-cycle, is judged against. The
    /// `*_first` fields then describe `rest`.
    pub fn against(rest: &Frame, frames: &[Frame]) -> Option<Cleanliness> {
        if frames.is_empty() || rest.rgba.chunks_exact(4).all(|p| p[3] >= MASK_THRESHOLD) {
            return None;
        }
        let measure = |f: &Frame| {
            let m = mask(f);
            let (w, h) = (f.width as usize, f.height as usize);
            (pieces(&m, w, h), thin_area(&m, w, h))
        };
        let (rest_pieces, rest_thin) = measure(rest);
        let measured: Vec<(usize, f64)> = frames.par_iter().map(measure).collect();
        let (pieces, thin_area): (Vec<usize>, Vec<f64>) = measured.into_iter().unzip();
        let worst = |v: &[f64]| {
            v.iter()
                .enumerate()
                .fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
        };
        let worst_pieces_frame =
            (0..pieces.len()).fold(0, |b, i| if pieces[i] > pieces[b] { i } else { b });
        let worst_thin_frame = worst(&thin_area);
        Some(Cleanliness {
            pieces_first: rest_pieces,
            pieces_max: pieces[worst_pieces_frame],
            frames_with_extra_pieces: pieces.iter().filter(|&&n| n > rest_pieces).count(),
            worst_pieces_frame,
            thin_first: rest_thin,
            thin_excess_max: thin_area[worst_thin_frame] - rest_thin,
            worst_thin_frame,
            pieces,
            thin_area,
        })
    }
}

/// 8-connected pieces of `mask` (`w × h`, rows top to bottom).
pub fn pieces(mask: &[bool], w: usize, h: usize) -> usize {
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut count = 0;
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        count += 1;
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
    }
    count
}

/// Share of `mask`'s pixels that lie in no fully set 3×3 block (what a 3×3 opening removes);
/// pixels outside the image count as unset. 0 for an empty mask.
pub fn thin_area(mask: &[bool], w: usize, h: usize) -> f64 {
    let total = mask.iter().filter(|&&m| m).count();
    if total == 0 {
        return 0.0;
    }
    // Erosion: centres of full 3×3 blocks.
    let full = |x: usize, y: usize| {
        x >= 1
            && y >= 1
            && x + 1 < w
            && y + 1 < h
            && (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| mask[yy * w + xx]))
    };
    let mut eroded = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            eroded[y * w + x] = mask[y * w + x] && full(x, y);
        }
    }
    // Dilation of the erosion: a pixel survives the opening if a full block covers it.
    let kept = (0..w * h)
        .filter(|&i| {
            let (x, y) = (i % w, i / w);
            mask[i]
                && (y.saturating_sub(1)..(y + 2).min(h))
                    .any(|yy| (x.saturating_sub(1)..(x + 2).min(w)).any(|xx| eroded[yy * w + xx]))
        })
        .count();
    (total - kept) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with(w: u32, h: u32, solid: impl Fn(u32, u32) -> bool) -> Frame {
        let mut f = Frame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                if solid(x, y) {
                    f.set_pixel(x, y, [200, 100, 50, 255]);
                }
            }
        }
        f
    }

    #[test]
    fn a_block_is_one_piece_with_no_thin_area() {
        let f = frame_with(20, 20, |x, y| (4..12).contains(&x) && (5..15).contains(&y));
        let m = mask(&f);
        assert_eq!(pieces(&m, 20, 20), 1);
        assert_eq!(thin_area(&m, 20, 20), 0.0);
    }

    #[test]
    fn a_diagonal_touch_is_one_piece_and_a_gap_makes_two() {
        let f = frame_with(10, 10, |x, y| (x, y) == (2, 2) || (x, y) == (3, 3));
        assert_eq!(pieces(&mask(&f), 10, 10), 1);
        let f = frame_with(10, 10, |x, y| (x, y) == (2, 2) || (x, y) == (4, 2));
        assert_eq!(pieces(&mask(&f), 10, 10), 2);
    }

    #[test]
    fn a_hairline_is_thin_and_a_faint_one_is_not_counted() {
        // An 8×8 block plus a 1-pixel line of 8 pixels: the line is all thin.
        let f = frame_with(20, 20, |x, y| {
            ((2..10).contains(&x) && (2..10).contains(&y)) || (y == 14 && (2..10).contains(&x))
        });
        let m = mask(&f);
        assert_eq!(pieces(&m, 20, 20), 2);
        assert!((thin_area(&m, 20, 20) - 8.0 / 72.0).abs() < 1e-12);
        let mut faint = f.clone();
        for x in 2..10 {
            faint.set_pixel(x, 14, [200, 100, 50, MASK_THRESHOLD - 1]);
        }
        let m = mask(&faint);
        assert_eq!((pieces(&m, 20, 20), thin_area(&m, 20, 20)), (1, 0.0));
    }

    #[test]
    fn clip_report_names_the_worst_frames() {
        let body = |x: u32, y: u32| (4..14).contains(&x) && (4..16).contains(&y);
        let f0 = frame_with(24, 24, body);
        let shard = frame_with(24, 24, |x, y| body(x, y) || (x == 20 && y == 20));
        let hair = frame_with(24, 24, |x, y| {
            body(x, y) || (y == 8 && (14..20).contains(&x))
        });
        let c = Cleanliness::of(&[f0.clone(), shard, f0.clone(), hair]).unwrap();
        assert_eq!(c.pieces, vec![1, 2, 1, 1]);
        assert_eq!((c.pieces_first, c.pieces_max), (1, 2));
        assert_eq!((c.frames_with_extra_pieces, c.worst_pieces_frame), (1, 1));
        assert_eq!(c.worst_thin_frame, 3);
        assert!(c.thin_excess_max > 0.0 && c.thin_first == 0.0);
    }

    #[test]
    fn opaque_and_empty_clips_have_no_silhouette_to_judge() {
        assert!(Cleanliness::of(&[]).is_none());
        assert!(Cleanliness::of(&[Frame::filled(4, 4, [1, 2, 3, 255])]).is_none());
    }
}
