//! How closely a generated cycle covers an artist's own frames of the same action.
//!
//! For each artist frame, the best silhouette IoU over the generated frames, both aligned at
//! the feet and scaled to the same height, averaged over the artist's frames. Alignment takes
//! out what a sprite sheet does not care about (where on the canvas, how large), and leaves
//! the pose: a walk whose legs never part cannot match frames where they do. The static input
//! pose scores well above zero, so compare clips by how much of the gap between the static
//! pose's score and 1.0 they close ([`gap_closed`]).

use kinema_core::Frame;

use crate::plane::MASK_THRESHOLD;

/// A silhouette cropped to its bounds: `w × h`, rows top to bottom.
struct Silhouette {
    w: usize,
    h: usize,
    data: Vec<bool>,
}

impl Silhouette {
    fn of(frame: &Frame) -> Option<Silhouette> {
        let (x0, y0, x1, y1) = frame.alpha_bounds(MASK_THRESHOLD - 1)?;
        let (w, h) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let data = (0..w * h)
            .map(|i| frame.pixel(x0 + (i % w) as u32, y0 + (i / w) as u32)[3] >= MASK_THRESHOLD)
            .collect();
        Some(Silhouette { w, h, data })
    }

    /// Nearest-neighbour rescale so the height is `height`, keeping the aspect.
    fn to_height(&self, height: usize) -> Silhouette {
        let s = height as f64 / self.h as f64;
        let w = ((self.w as f64 * s).round() as usize).max(1);
        let data = (0..w * height)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let sx = (((x as f64 + 0.5) / s) as usize).min(self.w - 1);
                let sy = (((y as f64 + 0.5) / s) as usize).min(self.h - 1);
                self.data[sy * self.w + sx]
            })
            .collect();
        Silhouette { w, h: height, data }
    }

    /// Centre column of the bottom 10 % of rows: where the feet are.
    fn feet_x(&self) -> f64 {
        let rows = (self.h / 10).max(1);
        let (mut sum, mut n) = (0.0, 0.0);
        for y in self.h - rows..self.h {
            for x in 0..self.w {
                if self.data[y * self.w + x] {
                    sum += x as f64 + 0.5;
                    n += 1.0;
                }
            }
        }
        if n > 0.0 {
            sum / n
        } else {
            self.w as f64 * 0.5
        }
    }
}

/// IoU of two silhouettes of equal height, bottoms aligned and feet centred.
fn iou_at_feet(a: &Silhouette, b: &Silhouette) -> f64 {
    let shift = (a.feet_x() - b.feet_x()).round() as i64; // b's x + shift = a's x
    let (lo, hi) = (0i64.min(shift), (a.w as i64).max(b.w as i64 + shift));
    let (mut inter, mut union) = (0u64, 0u64);
    for y in 0..a.h {
        for x in lo..hi {
            let ia = x >= 0 && (x as usize) < a.w && a.data[y * a.w + x as usize];
            let bx = x - shift;
            let ib = bx >= 0 && (bx as usize) < b.w && b.data[y * b.w + bx as usize];
            inter += (ia && ib) as u64;
            union += (ia || ib) as u64;
        }
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Mean over `artist` frames of the best feet-aligned, height-matched silhouette IoU over
/// `generated` frames; `None` when either side has no visible frame.
pub fn cycle_match(artist: &[Frame], generated: &[Frame]) -> Option<f64> {
    let ours: Vec<Silhouette> = generated.iter().filter_map(Silhouette::of).collect();
    if ours.is_empty() {
        return None;
    }
    let scores: Vec<f64> = artist
        .iter()
        .filter_map(Silhouette::of)
        .map(|a| {
            ours.iter()
                .map(|g| iou_at_feet(&a, &g.to_height(a.h)))
                .fold(0.0, f64::max)
        })
        .collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Share of the gap between the static pose's score and a perfect 1.0 that `score` closes.
pub fn gap_closed(static_score: f64, score: f64) -> f64 {
    if static_score >= 1.0 {
        return 1.0;
    }
    (score - static_score) / (1.0 - static_score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: u32, h: u32, x0: u32, y0: u32, x1: u32, y1: u32) -> Frame {
        let mut f = Frame::new(w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                f.set_pixel(x, y, [9, 9, 9, 255]);
            }
        }
        f
    }

    #[test]
    fn position_and_size_do_not_matter_pose_does() {
        let a = rect(40, 40, 5, 5, 15, 25);
        // Same shape, twice the size, elsewhere on a bigger canvas.
        let b = rect(90, 90, 50, 30, 70, 70);
        assert!((cycle_match(std::slice::from_ref(&a), &[b]).unwrap() - 1.0).abs() < 1e-9);
        // A wider pose overlaps only partly.
        let wide = rect(40, 40, 5, 5, 25, 25);
        let s = cycle_match(std::slice::from_ref(&a), std::slice::from_ref(&wide)).unwrap();
        assert!((s - 0.5).abs() < 1e-9, "{s}");
        // The best generated frame counts.
        assert!(
            (cycle_match(std::slice::from_ref(&a), &[wide, a.clone()]).unwrap() - 1.0).abs() < 1e-9
        );
    }

    #[test]
    fn gap_closed_is_a_share_of_the_way_to_a_perfect_match() {
        assert!((gap_closed(0.6, 0.8) - 0.5).abs() < 1e-12);
        assert_eq!(gap_closed(0.6, 0.6), 0.0);
        assert!(cycle_match(&[Frame::new(4, 4)], &[rect(4, 4, 0, 0, 2, 2)]).is_none());
    }
}
