//! Binary silhouettes and the pixel-grid operations the rig is built from.

/// A binary image: which pixels belong to the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub data: Vec<bool>,
}

impl Mask {
    pub fn new(width: usize, height: usize) -> Self {
        Mask {
            width,
            height,
            data: vec![false; width * height],
        }
    }

    /// Pixels whose alpha exceeds `threshold`.
    pub fn from_alpha(frame: &kinema_core::Frame, threshold: u8) -> Self {
        let data = frame
            .rgba
            .chunks_exact(4)
            .map(|p| p[3] > threshold)
            .collect();
        Mask {
            width: frame.width as usize,
            height: frame.height as usize,
            data,
        }
    }

    #[inline]
    pub fn get(&self, x: i64, y: i64) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.width
            && (y as usize) < self.height
            && self.data[y as usize * self.width + x as usize]
    }

    #[inline]
    pub fn set(&mut self, x: usize, y: usize, v: bool) {
        self.data[y * self.width + x] = v;
    }

    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v).count()
    }

    /// Tight box `(x0, y0, x1, y1)` with exclusive ends, or `None` when empty.
    pub fn bounds(&self) -> Option<(usize, usize, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                if self.data[y * self.width + x] {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x + 1);
                    y1 = y1.max(y + 1);
                }
            }
        }
        (x1 > 0).then_some((x0, y0, x1, y1))
    }

    /// 8-connected components: a label per pixel (0 = background, 1.. = component) and the
    /// pixel count of each label (index 0 unused).
    pub fn components(&self) -> (Vec<u32>, Vec<usize>) {
        let (w, h) = (self.width, self.height);
        let mut labels = vec![0u32; w * h];
        let mut sizes = vec![0usize];
        let mut stack = Vec::new();
        for start in 0..w * h {
            if !self.data[start] || labels[start] != 0 {
                continue;
            }
            let label = sizes.len() as u32;
            let mut size = 0;
            labels[start] = label;
            stack.push(start);
            while let Some(i) = stack.pop() {
                size += 1;
                let (x, y) = ((i % w) as i64, (i / w) as i64);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let (nx, ny) = (x + dx, y + dy);
                        if self.get(nx, ny) {
                            let j = ny as usize * w + nx as usize;
                            if labels[j] == 0 {
                                labels[j] = label;
                                stack.push(j);
                            }
                        }
                    }
                }
            }
            sizes.push(size);
        }
        (labels, sizes)
    }

    /// The pixels of one component label.
    pub fn select(labels: &[u32], label: u32, width: usize, height: usize) -> Mask {
        Mask {
            width,
            height,
            data: labels.iter().map(|&l| l == label).collect(),
        }
    }

    /// Grows the mask by `radius` pixels (Euclidean), so meshes cover anti-aliased fringes.
    pub fn dilate(&self, radius: f32) -> Mask {
        if radius <= 4.0 {
            return self.dilate_small(radius);
        }
        let dist = self.invert().distance_field(false);
        Mask {
            width: self.width,
            height: self.height,
            data: dist.iter().map(|&d| d <= radius * radius).collect(),
        }
    }

    /// Dilation by stamping a disc at every boundary pixel: far cheaper than a distance
    /// transform for the few-pixel margins meshes and overlaps need.
    fn dilate_small(&self, radius: f32) -> Mask {
        let (w, h) = (self.width as i64, self.height as i64);
        let r = radius.floor() as i64;
        let offsets: Vec<(i64, i64)> = (-r..=r)
            .flat_map(|dy| (-r..=r).map(move |dx| (dx, dy)))
            .filter(|&(dx, dy)| ((dx * dx + dy * dy) as f32) <= radius * radius)
            .collect();
        let mut out = self.clone();
        for y in 0..h {
            for x in 0..w {
                if !self.data[(y * w + x) as usize] {
                    continue;
                }
                let interior = self.get(x - 1, y)
                    && self.get(x + 1, y)
                    && self.get(x, y - 1)
                    && self.get(x, y + 1);
                if interior {
                    continue;
                }
                for &(dx, dy) in &offsets {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx >= 0 && ny >= 0 && nx < w && ny < h {
                        out.data[(ny * w + nx) as usize] = true;
                    }
                }
            }
        }
        out
    }

    /// Euclidean distance (not squared) from every pixel to the nearest mask pixel.
    pub fn distance_to(&self) -> Vec<f32> {
        self.invert()
            .distance_field(false)
            .into_iter()
            .map(f32::sqrt)
            .collect()
    }

    pub fn invert(&self) -> Mask {
        Mask {
            width: self.width,
            height: self.height,
            data: self.data.iter().map(|v| !v).collect(),
        }
    }

    /// Squared Euclidean distance from every pixel to the nearest pixel *outside* the mask
    /// (0 outside). Exact (Felzenszwalb–Huttenlocher), so thickness estimates are not
    /// biased along diagonals. Pixels beyond the image border count as outside.
    pub fn distance_transform(&self) -> Vec<f32> {
        self.distance_field(true)
    }

    /// Like [`Mask::distance_transform`]; `border_outside` says whether the image border
    /// counts as outside (thickness) or not (dilation must not grow from the border).
    fn distance_field(&self, border_outside: bool) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        let pad = if border_outside { 0.0 } else { 1e12 };
        let inf = 1e12f32;
        let mut grid: Vec<f32> = self
            .data
            .iter()
            .map(|&v| if v { inf } else { 0.0 })
            .collect();
        // Columns, padded with an outside pixel at each end.
        let mut f = vec![0f32; h.max(w) + 2];
        let mut out = vec![0f32; h.max(w) + 2];
        let (mut sv, mut sz) = (Vec::new(), Vec::new());
        for x in 0..w {
            f[0] = pad;
            for y in 0..h {
                f[y + 1] = grid[y * w + x];
            }
            f[h + 1] = pad;
            edt_1d(&f[..h + 2], &mut out[..h + 2], &mut sv, &mut sz);
            for y in 0..h {
                grid[y * w + x] = out[y + 1];
            }
        }
        for y in 0..h {
            f[0] = pad;
            f[1..w + 1].copy_from_slice(&grid[y * w..(y + 1) * w]);
            f[w + 1] = pad;
            edt_1d(&f[..w + 2], &mut out[..w + 2], &mut sv, &mut sz);
            grid[y * w..(y + 1) * w].copy_from_slice(&out[1..w + 1]);
        }
        grid
    }

    /// One-pixel-wide medial skeleton (Zhang–Suen thinning); its end points reveal limbs.
    pub fn thin(&self) -> Mask {
        let (w, h) = (self.width, self.height);
        let mut m = self.clone();
        let mut remove = Vec::new();
        loop {
            let mut changed = false;
            for pass in 0..2 {
                remove.clear();
                for y in 0..h {
                    for x in 0..w {
                        if !m.data[y * w + x] {
                            continue;
                        }
                        let (xi, yi) = (x as i64, y as i64);
                        // P2..P9 clockwise from north.
                        let n = [
                            m.get(xi, yi - 1),
                            m.get(xi + 1, yi - 1),
                            m.get(xi + 1, yi),
                            m.get(xi + 1, yi + 1),
                            m.get(xi, yi + 1),
                            m.get(xi - 1, yi + 1),
                            m.get(xi - 1, yi),
                            m.get(xi - 1, yi - 1),
                        ];
                        let b = n.iter().filter(|&&v| v).count();
                        if !(2..=6).contains(&b) {
                            continue;
                        }
                        let a = (0..8).filter(|&i| !n[i] && n[(i + 1) % 8]).count();
                        if a != 1 {
                            continue;
                        }
                        let ok = if pass == 0 {
                            !(n[2] && n[4] && (n[0] || n[6]))
                        } else {
                            !(n[0] && n[6] && (n[2] || n[4]))
                        };
                        if ok {
                            remove.push(y * w + x);
                        }
                    }
                }
                for &i in &remove {
                    m.data[i] = false;
                }
                changed |= !remove.is_empty();
            }
            if !changed {
                return m;
            }
        }
    }

    /// Nearest-neighbour resample to `width × height` (for analysis at a working size).
    pub fn resized(&self, width: usize, height: usize) -> Mask {
        let mut out = Mask::new(width, height);
        for y in 0..height {
            let sy = (y * self.height) / height.max(1);
            for x in 0..width {
                let sx = (x * self.width) / width.max(1);
                out.data[y * width + x] = self.data[sy * self.width + sx];
            }
        }
        out
    }
}

/// 1-D squared distance transform of sampled function `f` (lower envelope of parabolas).
fn edt_1d(f: &[f32], d: &mut [f32], v: &mut Vec<usize>, z: &mut Vec<f64>) {
    let n = f.len();
    v.clear();
    v.resize(n, 0);
    z.clear();
    z.resize(n + 1, 0.0);
    let val = |q: usize| f[q] as f64 + (q * q) as f64;
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        let mut s = (val(q) - val(v[k])) / (2.0 * (q as f64 - v[k] as f64));
        while s <= z[k] {
            k -= 1;
            s = (val(q) - val(v[k])) / (2.0 * (q as f64 - v[k] as f64));
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, out) in d.iter_mut().enumerate().take(n) {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        let dq = q as f64 - p as f64;
        *out = (dq * dq + f[p] as f64) as f32;
    }
}

#[cfg(test)]
impl Mask {
    /// A centred disc of radius `r` on a `size`×`size` grid: the shape many tests start from.
    pub(crate) fn disc(size: usize, r: f32) -> Mask {
        let mut m = Mask::new(size, size);
        let c = size as f32 / 2.0;
        for y in 0..size {
            for x in 0..size {
                let (dx, dy) = (x as f32 + 0.5 - c, y as f32 + 0.5 - c);
                m.set(x, y, dx * dx + dy * dy <= r * r);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(size: usize, r: f32) -> Mask {
        Mask::disc(size, r)
    }

    #[test]
    fn distance_transform_matches_brute_force() {
        let m = disc(21, 7.0);
        let dt = m.distance_transform();
        for y in 0..21i64 {
            for x in 0..21i64 {
                let mut best = f32::MAX;
                for oy in -1..22i64 {
                    for ox in -1..22i64 {
                        if !m.get(ox, oy) {
                            let d = ((ox - x).pow(2) + (oy - y).pow(2)) as f32;
                            best = best.min(d);
                        }
                    }
                }
                let expect = if m.get(x, y) { best } else { 0.0 };
                assert_eq!(dt[y as usize * 21 + x as usize], expect, "at {x},{y}");
            }
        }
    }

    #[test]
    fn components_split_separate_blobs() {
        let mut m = Mask::new(10, 4);
        m.set(0, 0, true);
        m.set(1, 1, true); // diagonal: same component
        m.set(8, 3, true);
        let (labels, sizes) = m.components();
        assert_eq!(sizes, vec![0, 2, 1]);
        assert_eq!(labels[0], labels[11]);
        assert_ne!(labels[0], labels[38]);
    }

    #[test]
    fn thinning_a_bar_leaves_a_line() {
        let mut m = Mask::new(30, 9);
        for y in 2..7 {
            for x in 2..28 {
                m.set(x, y, true);
            }
        }
        let t = m.thin();
        assert!(t.count() > 15 && t.count() < 30, "{}", t.count());
        for x in 6..24 {
            assert_eq!((0..9).filter(|&y| t.get(x, y)).count(), 1, "column {x}");
        }
    }

    #[test]
    fn small_and_large_dilation_agree() {
        let mut m = Mask::new(40, 30);
        for y in 8..20 {
            for x in 5..(5 + y) {
                m.set(x, y, true);
            }
        }
        for r in [1.5f32, 2.0, 3.0] {
            let dist = m.invert().distance_field(false);
            let exact: Vec<bool> = dist.iter().map(|&d| d <= r * r).collect();
            assert_eq!(m.dilate_small(r).data, exact, "radius {r}");
        }
    }

    #[test]
    fn dilate_grows_by_radius() {
        let mut m = Mask::new(11, 11);
        m.set(5, 5, true);
        let d = m.dilate(2.0);
        assert!(d.get(7, 5) && d.get(5, 3) && !d.get(8, 5) && !d.get(7, 7));
        // The image border does not grow into the mask.
        assert!(!d.get(0, 0) && !d.get(10, 5));
    }
}
