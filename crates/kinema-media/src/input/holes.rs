//! Which enclosed background-coloured regions are real holes in the character.
//!
//! A flood from the border only removes background that the border can reach. What it
//! leaves enclosed is, in character art, nearly always paint that happens to match the
//! page: eye whites, teeth, a glint, the white of a glove between two fingers. Cutting
//! those out leaves a character with see-through eyes, so an enclosed region stays opaque
//! unless it is *really open*, which we decide by one of two tests:
//!
//! - **Large:** it covers at least [`LARGE_HOLE_SHARE`] (5%) of the character. Paint
//!   details are small (the sample adventurer's eye whites are 0.3–0.4% of her each; a
//!   big cartoon eye or grin reaches 2–4%); the hole of a ring or a handle is a large
//!   part of the silhouette. A small real gap (an arm on the hip) stays filled: keeping
//!   it is the lesser error, and `--mask` fixes it.
//! - **Seam:** it reaches the outside background through at most [`SEAM_WIDTH`] pixels
//!   that are only faintly unlike the background (anti-aliasing where two shapes nearly
//!   touch, JPEG ringing), not through a drawn outline. Then the region *is* outside
//!   background that a soft pixel happened to cut off.
//!
//! Both tests look only at background-coloured regions; anything else is the character.

use std::collections::VecDeque;

use super::regions::{components, neighbours, Connectivity};

/// Smallest share of the character an enclosed region needs to be a hole on size alone.
pub const LARGE_HOLE_SHARE: f32 = 0.05;
/// Widest band of faint pixels that can separate a hole from the outside.
pub const SEAM_WIDTH: u32 = 2;

/// Marks as `outside` every enclosed background-coloured region that is really open.
///
/// `is_bg`: pixels within the background tolerance; `faint`: pixels at most faintly
/// unlike the background (a superset of `is_bg`); `outside`: the border flood so far.
/// `large_share` is the share of the character from which a region opens on size alone
/// ([`LARGE_HOLE_SHARE`] for plain backgrounds). Returns how many regions were opened.
pub fn open_real_holes(
    is_bg: &[bool],
    faint: &[bool],
    outside: &mut [bool],
    w: usize,
    h: usize,
    large_share: f32,
) -> usize {
    let enclosed: Vec<bool> = (0..w * h).map(|i| is_bg[i] && !outside[i]).collect();
    let (labels, sizes) = components(&enclosed, w, h, Connectivity::Four);
    if sizes.len() <= 1 {
        return 0;
    }
    let character = outside.iter().filter(|&&o| !o).count();
    let large = (large_share * character as f32).ceil() as usize;
    let mut open: Vec<bool> = sizes.iter().map(|&s| s > 0 && s >= large).collect();
    for label in seam_reached(&labels, faint, outside, w, h) {
        open[label as usize] = true;
    }
    let opened = open.iter().skip(1).filter(|&&o| o).count();
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 && open[l as usize] {
            outside[i] = true;
        }
    }
    opened
}

/// Labels of enclosed regions that the outside reaches through a thin band of faint
/// pixels (breadth-first from the outside, at most [`SEAM_WIDTH`] steps into the band).
fn seam_reached(labels: &[u32], faint: &[bool], outside: &[bool], w: usize, h: usize) -> Vec<u32> {
    let mut depth = vec![u32::MAX; w * h];
    let mut queue = VecDeque::new();
    for i in 0..w * h {
        if outside[i] && neighbours(i, w, h, Connectivity::Four).any(|j| !outside[j]) {
            depth[i] = 0;
            queue.push_back(i);
        }
    }
    let mut reached = Vec::new();
    while let Some(i) = queue.pop_front() {
        for j in neighbours(i, w, h, Connectivity::Four) {
            if outside[j] || !faint[j] || depth[j] != u32::MAX {
                continue;
            }
            if labels[j] != 0 {
                reached.push(labels[j]);
                continue;
            }
            let d = depth[i] + 1;
            if d <= SEAM_WIDTH {
                depth[j] = d;
                queue.push_back(j);
            }
        }
    }
    reached.sort_unstable();
    reached.dedup();
    reached
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#` strong paint, `.` background colour, `~` faint (anti-aliased) pixel.
    fn parse(rows: &[&str]) -> (Vec<bool>, Vec<bool>, usize, usize) {
        let (w, h) = (rows[0].len(), rows.len());
        let cells: Vec<char> = rows.iter().flat_map(|r| r.chars()).collect();
        let is_bg = cells.iter().map(|&c| c == '.').collect();
        let faint = cells.iter().map(|&c| c == '.' || c == '~').collect();
        (is_bg, faint, w, h)
    }

    fn run(rows: &[&str]) -> (Vec<bool>, usize) {
        let (is_bg, faint, w, h) = parse(rows);
        let border = super::super::regions::border_indices(w, h, 1);
        let mut outside = super::super::regions::flood(border, &is_bg, w, h, Connectivity::Four);
        let opened = open_real_holes(&is_bg, &faint, &mut outside, w, h, LARGE_HOLE_SHARE);
        (outside, opened)
    }

    #[test]
    fn small_enclosed_paint_stays_and_thin_seams_open() {
        // A 40x12 block of paint (440 pixels inside a 1-pixel background frame).
        let (w, h) = (42, 14);
        let mut grid = vec![vec!['#'; w]; h];
        for (y, row) in grid.iter_mut().enumerate() {
            for (x, c) in row.iter_mut().enumerate() {
                if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                    *c = '.';
                }
            }
        }
        for (x, y, c) in [
            (3, 3, '.'),
            (4, 3, '.'),
            (3, 4, '.'),
            (4, 4, '.'),  // an eye white
            (10, 5, '.'), // a glint
            (36, 6, '.'),
            (37, 6, '.'), // a gap...
            (38, 6, '~'),
            (39, 6, '~'),
            (40, 6, '.'), // ...behind two soft pixels
        ] {
            grid[y][x] = c;
        }
        let rows: Vec<String> = grid.iter().map(|r| r.iter().collect()).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let (outside, opened) = run(&rows);
        assert!(!outside[3 * w + 3], "an eye white (4 px of 440) stays");
        assert!(!outside[5 * w + 10], "a one-pixel glint stays");
        assert!(outside[6 * w + 36], "a gap behind two faint pixels opens");
        assert_eq!(opened, 1);

        // Three faint pixels are wider than a seam: the gap stays paint.
        let mut wide = rows.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        wide[6].replace_range(37..38, "~");
        let wide: Vec<&str> = wide.iter().map(String::as_str).collect();
        let (outside, opened) = run(&wide);
        assert!(!outside[6 * w + 36]);
        assert_eq!(opened, 0);
    }

    #[test]
    fn a_large_hole_opens_even_behind_an_outline() {
        let mut rows = vec!["..........".to_string()];
        for y in 0..8 {
            let inner = if (2..6).contains(&y) {
                "##....##"
            } else {
                "########"
            };
            rows.push(format!(".{inner}."));
        }
        rows.push("..........".to_string());
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let (outside, opened) = run(&rows);
        assert!(outside[4 * 10 + 4], "16 of 64 pixels is a hole");
        assert_eq!(opened, 1);
    }
}
