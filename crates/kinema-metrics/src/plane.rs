//! Single-channel float images: the working format of flow, SSIM and frame differences.

use kinema_core::Frame;

/// The grey that transparent pixels are composited over before any colour comparison.
///
/// Mid grey keeps both dark and light sprites distinguishable from the background, and a
/// fixed value makes every score independent of what a viewer's checkerboard would show.
pub const COMPOSITE_GREY: [u8; 3] = [128, 128, 128];

/// Opacity from which a pixel counts as part of the silhouette.
pub const MASK_THRESHOLD: u8 = 128;

/// A `w × h` grid of `f32`, rows top to bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(w: usize, h: usize) -> Self {
        Plane {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    /// Bilinear sample with coordinates clamped to the border, so warps never read outside.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let max_x = (self.w - 1) as f32;
        let max_y = (self.h - 1) as f32;
        let x = x.clamp(0.0, max_x);
        let y = y.clamp(0.0, max_y);
        let x0 = x.floor();
        let y0 = y.floor();
        let fx = x - x0;
        let fy = y - y0;
        let (xi, yi) = (x0 as usize, y0 as usize);
        let x1 = (xi + 1).min(self.w - 1);
        let y1 = (yi + 1).min(self.h - 1);
        let top = self.at(xi, yi) * (1.0 - fx) + self.at(x1, yi) * fx;
        let bottom = self.at(xi, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Averages `factor × factor` blocks; a trailing partial block averages what it has.
    pub fn downscale(&self, factor: usize) -> Plane {
        if factor <= 1 {
            return self.clone();
        }
        let w = self.w.div_ceil(factor);
        let h = self.h.div_ceil(factor);
        let mut out = Plane::new(w, h);
        for oy in 0..h {
            let ys = oy * factor..((oy + 1) * factor).min(self.h);
            for ox in 0..w {
                let xs = ox * factor..((ox + 1) * factor).min(self.w);
                let mut sum = 0.0;
                for y in ys.clone() {
                    let row = &self.data[y * self.w..(y + 1) * self.w];
                    sum += row[xs.clone()].iter().sum::<f32>();
                }
                out.data[oy * w + ox] = sum / (ys.len() * xs.len()) as f32;
            }
        }
        out
    }
}

/// A frame composited over [`COMPOSITE_GREY`], split into R, G, B planes in 0..=255.
pub fn rgb_planes(frame: &Frame) -> [Plane; 3] {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut planes = [Plane::new(w, h), Plane::new(w, h), Plane::new(w, h)];
    for (i, p) in frame.rgba.chunks_exact(4).enumerate() {
        let a = p[3] as f32 / 255.0;
        for c in 0..3 {
            planes[c].data[i] = p[c] as f32 * a + COMPOSITE_GREY[c] as f32 * (1.0 - a);
        }
    }
    planes
}

/// Rec. 601 luma of three colour planes; what optical flow tracks.
pub fn luma(rgb: &[Plane; 3]) -> Plane {
    let mut out = Plane::new(rgb[0].w, rgb[0].h);
    for (i, v) in out.data.iter_mut().enumerate() {
        *v = 0.299 * rgb[0].data[i] + 0.587 * rgb[1].data[i] + 0.114 * rgb[2].data[i];
    }
    out
}

/// Silhouette of a frame: one flag per pixel, set where alpha reaches [`MASK_THRESHOLD`].
pub fn mask(frame: &Frame) -> Vec<bool> {
    frame
        .rgba
        .chunks_exact(4)
        .map(|p| p[3] >= MASK_THRESHOLD)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_sample_interpolates_and_clamps() {
        let p = Plane {
            w: 2,
            h: 1,
            data: vec![0.0, 10.0],
        };
        assert_eq!(p.sample(0.5, 0.0), 5.0);
        assert_eq!(p.sample(-3.0, 0.0), 0.0);
        assert_eq!(p.sample(7.0, 2.0), 10.0);
    }

    #[test]
    fn downscale_averages_blocks() {
        let p = Plane {
            w: 3,
            h: 2,
            data: vec![1.0, 3.0, 8.0, 5.0, 7.0, 4.0],
        };
        let d = p.downscale(2);
        assert_eq!((d.w, d.h), (2, 1));
        assert_eq!(d.data, vec![4.0, 6.0]);
    }

    #[test]
    fn transparent_pixels_become_grey() {
        let mut f = Frame::new(2, 1);
        f.set_pixel(1, 0, [255, 0, 0, 255]);
        let rgb = rgb_planes(&f);
        assert_eq!(rgb[0].data, vec![128.0, 255.0]);
        assert_eq!(rgb[1].data, vec![128.0, 0.0]);
    }
}
