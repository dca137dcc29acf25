//! Arms that hang beside the body, found from the silhouette's row runs.
//!
//! Under the shoulders such an arm is its own run in every row: `arm · gap · torso · gap ·
//! arm`. Followed from row to row, the run traces the arm from where it leaves the body (the
//! shoulder) down to its tip (the hand), so the joints land on the arm itself. Without this,
//! arms that touch the torso up to the armpit (alienBlue's stubs) got shoulders and elbows
//! placed inside the torso, and moving them dragged a stretched copy of the torso's side.

/// One arm traced down the side of the body, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SideArm {
    pub shoulder: [f32; 2],
    pub elbow: [f32; 2],
    pub hand: [f32; 2],
    /// Median width of the arm's runs: its thickness.
    pub width: f32,
}

/// Traces the arm on one side (`left` = the image's left) between rows `top..bottom`.
///
/// `runs[y]` are the row's opaque runs `[start, end)`, left to right; `cx` is the torso's
/// centre column. In each row the run nearest the centre on that side is the torso (or, below
/// the crotch, a leg); a run further out, separated by a gap, is an arm candidate. The
/// longest chain of candidates that overlap from row to row is the arm, if it spans at least
/// `min_rows` rows.
pub(crate) fn trace_side_arm(
    runs: &[Vec<(usize, usize)>],
    cx: f32,
    top: usize,
    bottom: usize,
    min_rows: usize,
    left: bool,
) -> Option<SideArm> {
    let outer = |y: usize| -> Option<(usize, usize)> {
        let row = runs.get(y)?;
        // Runs wholly on this side of the centre column; a run across it is the torso.
        let side: Vec<(usize, usize)> = row
            .iter()
            .copied()
            .filter(|r| {
                if left {
                    r.1 as f32 <= cx
                } else {
                    r.0 as f32 > cx
                }
            })
            .collect();
        let crossing = row.iter().any(|r| (r.0 as f32) <= cx && cx < r.1 as f32);
        // Without a torso run across the centre, the innermost run is a leg, not an arm.
        let needed = if crossing { 1 } else { 2 };
        if side.len() < needed {
            return None;
        }
        if left {
            side.first().copied()
        } else {
            side.last().copied()
        }
    };
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    // Longest chain of overlapping candidate runs in consecutive rows.
    // (row, run) pairs.
    type Chain = Vec<(usize, (usize, usize))>;
    let (mut best, mut current): (Chain, Chain) = (Vec::new(), Vec::new());
    for y in top..bottom.min(runs.len()) {
        match outer(y) {
            Some(r) if current.last().is_some_and(|&(_, prev)| overlaps(prev, r)) => {
                current.push((y, r))
            }
            Some(r) => current = vec![(y, r)],
            None => current.clear(),
        }
        if current.len() > best.len() {
            best = current.clone();
        }
    }
    if best.len() < min_rows.max(2) {
        return None;
    }
    let mut widths: Vec<usize> = best.iter().map(|(_, r)| r.1 - r.0).collect();
    widths.sort_unstable();
    let width = widths[widths.len() / 2] as f32;
    let centre = |i: usize| (best[i].1 .0 + best[i].1 .1) as f32 * 0.5;
    let (first, last) = (best[0].0, best[best.len() - 1].0);
    // The arm leaves the body half an arm's width above the first separate row; the hand's
    // centre is half a width above the tip.
    let shoulder = [centre(0), first as f32 - 0.5 * width];
    let hand = [centre(best.len() - 1), last as f32 + 1.0 - 0.5 * width];
    // The elbow halfway along the arm, on the traced run of that row.
    let mid_y = 0.5 * (shoulder[1] + hand[1]);
    let at = best
        .iter()
        .position(|&(y, _)| y as f32 + 0.5 >= mid_y)
        .unwrap_or(0);
    let elbow = [centre(at), mid_y.max(first as f32 + 0.5)];
    Some(SideArm {
        shoulder,
        elbow,
        hand,
        width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of `arm · gap · torso · gap · arm` from y 10 to 29, torso alone above.
    fn body_with_stub_arms() -> Vec<Vec<(usize, usize)>> {
        (0..40)
            .map(|y| match y {
                0..=4 => vec![],
                5..=9 => vec![(4, 36)],
                10..=29 => vec![(4, 9), (11, 29), (31, 36)],
                _ => vec![(12, 28)],
            })
            .collect()
    }

    #[test]
    fn stub_arms_are_traced_on_both_sides() {
        let runs = body_with_stub_arms();
        let l = trace_side_arm(&runs, 20.0, 5, 40, 5, true).unwrap();
        let r = trace_side_arm(&runs, 20.0, 5, 40, 5, false).unwrap();
        assert_eq!(l.width, 5.0);
        assert_eq!(l.shoulder, [6.5, 7.5]);
        assert_eq!(l.hand, [6.5, 27.5]);
        assert!(l.elbow[1] > l.shoulder[1] && l.elbow[1] < l.hand[1]);
        assert_eq!(r.shoulder[0], 33.5);
    }

    #[test]
    fn legs_below_the_body_are_not_arms() {
        // Two legs split about the centre: the inner run on each side is the leg itself.
        let runs: Vec<Vec<(usize, usize)>> = (0..30)
            .map(|y| {
                if y < 15 {
                    vec![(10, 30)]
                } else {
                    vec![(10, 18), (22, 30)]
                }
            })
            .collect();
        assert!(trace_side_arm(&runs, 20.0, 0, 30, 3, true).is_none());
    }

    #[test]
    fn short_candidates_are_ignored() {
        let runs = body_with_stub_arms();
        assert!(trace_side_arm(&runs, 20.0, 5, 40, 25, true).is_none());
    }
}
