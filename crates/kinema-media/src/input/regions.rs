//! Connected regions of a pixel mask: the flood fills and component labels that matting,
//! hole filling and the plausibility checks share.

use std::collections::VecDeque;

/// Which neighbours touch. Background floods use 4-connectivity, so a one-pixel diagonal
/// outline is enough to keep them out; pieces of a subject use 8, so a diagonal step of
/// an arm does not split it in two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    Four,
    Eight,
}

const STEPS: [(isize, isize); 8] = [
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (-1, -1),
    (1, -1),
    (-1, 1),
];

/// Indices of the neighbours of pixel `i` in a `w`×`h` image.
pub fn neighbours(i: usize, w: usize, h: usize, conn: Connectivity) -> impl Iterator<Item = usize> {
    let n = if conn == Connectivity::Four { 4 } else { 8 };
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    STEPS[..n].iter().filter_map(move |&(dx, dy)| {
        let (nx, ny) = (x + dx, y + dy);
        (nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h)
            .then(|| ny as usize * w + nx as usize)
    })
}

/// Pixels of the outer ring, `depth` pixels deep.
pub fn border_indices(w: usize, h: usize, depth: usize) -> Vec<usize> {
    let depth = depth.min(w.div_ceil(2)).min(h.div_ceil(2)).max(1);
    let mut out = Vec::with_capacity(2 * depth * (w + h));
    for y in 0..h {
        for x in 0..w {
            if x < depth || y < depth || x >= w - depth || y >= h - depth {
                out.push(y * w + x);
            }
        }
    }
    out
}

/// Every pixel reachable from `seeds` through pixels where `passable` holds (seeds that
/// are not passable are skipped).
pub fn flood(
    seeds: impl IntoIterator<Item = usize>,
    passable: &[bool],
    w: usize,
    h: usize,
    conn: Connectivity,
) -> Vec<bool> {
    let mut seen = vec![false; w * h];
    let mut queue = VecDeque::new();
    for i in seeds {
        if passable[i] && !seen[i] {
            seen[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        for j in neighbours(i, w, h, conn) {
            if passable[j] && !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Connected components of the pixels where `member` holds: a label per pixel (0 for
/// non-members, components numbered from 1) and each label's size (`sizes[0]` is 0).
pub fn components(
    member: &[bool],
    w: usize,
    h: usize,
    conn: Connectivity,
) -> (Vec<u32>, Vec<usize>) {
    let mut labels = vec![0u32; w * h];
    let mut sizes = vec![0usize];
    let mut queue = VecDeque::new();
    for start in 0..w * h {
        if !member[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32;
        labels[start] = label;
        queue.push_back(start);
        let mut size = 0;
        while let Some(i) = queue.pop_front() {
            size += 1;
            for j in neighbours(i, w, h, conn) {
                if member[j] && labels[j] == 0 {
                    labels[j] = label;
                    queue.push_back(j);
                }
            }
        }
        sizes.push(size);
    }
    (labels, sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_steps_join_only_eight_connected_pieces() {
        // Two pixels touching at a corner.
        let member = [true, false, false, true];
        assert_eq!(
            components(&member, 2, 2, Connectivity::Four).1,
            vec![0, 1, 1]
        );
        assert_eq!(components(&member, 2, 2, Connectivity::Eight).1, vec![0, 2]);
        let reached = flood([0], &member, 2, 2, Connectivity::Four);
        assert_eq!(reached, vec![true, false, false, false]);
    }

    #[test]
    fn the_border_ring_has_the_right_pixels() {
        assert_eq!(border_indices(3, 3, 1), vec![0, 1, 2, 3, 5, 6, 7, 8]);
        assert_eq!(border_indices(4, 4, 2).len(), 16);
    }
}
