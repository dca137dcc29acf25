//! Textured-triangle rasteriser: scanline spans with a shared-edge rule (no seams, no
//! double blending), affine texture mapping, premultiplied-alpha compositing.
//!
//! Anti-aliasing comes from the texture: meshes extend past the silhouette, so a filtered
//! (bilinear) lookup fades the premultiplied colour across every outline, including part
//! boundaries, while interior triangle edges stay invisible.

/// Premultiplied RGBA texels with a transparent border of [`Texture::PAD`] texels, so
/// lookups just outside the image need no bounds checks.
#[derive(Clone, Debug)]
pub struct Texture {
    pub width: usize,
    pub height: usize,
    stride: usize,
    /// Little-endian packed RGBA (R in the low byte), so two channels lerp per multiply.
    texels: Vec<u32>,
}

impl Texture {
    pub const PAD: usize = 4;

    /// From straight-alpha RGBA pixels (`width × height × 4`).
    pub fn from_straight(width: usize, height: usize, rgba: &[u8]) -> Texture {
        let stride = width + 2 * Self::PAD;
        let mut texels = vec![0u32; stride * (height + 2 * Self::PAD)];
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) * 4;
                let a = rgba[i + 3] as u32;
                let pm = |c: u8| ((c as u32 * a + 127) / 255) as u8;
                texels[(y + Self::PAD) * stride + x + Self::PAD] =
                    u32::from_le_bytes([pm(rgba[i]), pm(rgba[i + 1]), pm(rgba[i + 2]), a as u8]);
            }
        }
        Texture {
            width,
            height,
            stride,
            texels,
        }
    }

    /// Premultiplied texel at image pixel `(x, y)`.
    pub fn texel(&self, x: usize, y: usize) -> [u8; 4] {
        self.texels[(y + Self::PAD) * self.stride + x + Self::PAD].to_le_bytes()
    }

    #[inline(always)]
    fn bilinear(&self, u: f32, v: f32) -> u32 {
        let max_u = (self.stride - 2) as f32;
        let max_v = (self.texels.len() / self.stride - 2) as f32;
        let tu = (u - 0.5 + Self::PAD as f32).clamp(0.0, max_u);
        let tv = (v - 0.5 + Self::PAD as f32).clamp(0.0, max_v);
        let (iu, iv) = (tu as usize, tv as usize);
        let i = iv * self.stride + iu;
        let (t00, t10, t01, t11) = (
            self.texels[i],
            self.texels[i + 1],
            self.texels[i + self.stride],
            self.texels[i + self.stride + 1],
        );
        if (t00 | t10 | t01 | t11) == 0 {
            return 0;
        }
        let fu = ((tu - iu as f32) * 256.0 + 0.5) as u32;
        let fv = ((tv - iv as f32) * 256.0 + 0.5) as u32;
        lerp_packed(lerp_packed(t00, t10, fu), lerp_packed(t01, t11, fu), fv)
    }

    #[inline(always)]
    fn nearest(&self, u: f32, v: f32) -> u32 {
        let max_u = (self.stride - 1) as f32;
        let max_v = (self.texels.len() / self.stride - 1) as f32;
        let tu = (u + Self::PAD as f32).clamp(0.0, max_u) as usize;
        let tv = (v + Self::PAD as f32).clamp(0.0, max_v) as usize;
        self.texels[tv * self.stride + tu]
    }
}

/// `a + (b - a)·f/256` on all four packed channels, two per multiply (`f` in 0..=256).
#[inline(always)]
fn lerp_packed(a: u32, b: u32, f: u32) -> u32 {
    let inv = 256 - f;
    let rb = (((a & 0x00FF_00FF) * inv + (b & 0x00FF_00FF) * f) >> 8) & 0x00FF_00FF;
    let ga = (((a >> 8) & 0x00FF_00FF) * inv + ((b >> 8) & 0x00FF_00FF) * f) & 0xFF00_FF00;
    rb | ga
}

#[inline(always)]
fn blend_into(px: &mut [u8], src: u32) {
    let dst = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
    px.copy_from_slice(&over_packed(src, dst).to_le_bytes());
}

/// `x.ceil() as i64` without a libm call (the baseline x86-64 target has no round op).
#[inline(always)]
fn ceil_i(x: f32) -> i64 {
    let t = x as i64;
    if (t as f32) < x {
        t + 1
    } else {
        t
    }
}

/// Premultiplied `src over dst` on packed pixels.
#[inline(always)]
fn over_packed(src: u32, dst: u32) -> u32 {
    let sa = src >> 24;
    if sa == 255 || dst == 0 {
        return src;
    }
    // (255 - sa)/255 as a 0..=256 factor.
    let k = 255 - sa;
    let k = k + (k >> 7);
    let rb = (((dst & 0x00FF_00FF) * k) >> 8) & 0x00FF_00FF;
    let ga = (((dst >> 8) & 0x00FF_00FF) * k) & 0xFF00_FF00;
    let scaled = rb | ga;
    // Per-channel add cannot overflow: src ≤ sa and dst·(1−sa) ≤ 255−sa.
    src.wrapping_add(scaled)
}

/// A premultiplied RGBA8 frame being drawn, remembering which rows were touched.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    /// Premultiplied RGBA bytes; converted to straight alpha in place at the end.
    pixels: Vec<u8>,
    touched: (usize, usize),
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![0; width * height * 4],
            touched: (usize::MAX, 0),
        }
    }

    /// Premultiplied RGBA of pixel `(x, y)`.
    #[cfg(test)]
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 4] {
        let i = (y * self.width + x) * 4;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }

    /// Converts to straight-alpha RGBA bytes, visiting only rows something was drawn on.
    pub fn into_straight(mut self) -> Vec<u8> {
        let (y0, y1) = self.touched;
        if y0 < y1 {
            for p in self.pixels[y0 * self.width * 4..y1 * self.width * 4].chunks_exact_mut(4) {
                let a = p[3] as u32;
                if a != 0 && a != 255 {
                    for c in &mut p[..3] {
                        *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
                    }
                }
            }
        }
        self.pixels
    }

    /// Draws one triangle: `dst` in canvas pixels, `src` the matching texture pixels.
    pub fn draw_triangle(
        &mut self,
        tex: &Texture,
        dst: [[f32; 2]; 3],
        src: [[f32; 2]; 3],
        nearest: bool,
    ) {
        let [p0, p1, p2] = dst;
        let det = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p2[0] - p0[0]) * (p1[1] - p0[1]);
        if !det.is_finite() || det.abs() < 1e-9 {
            return;
        }
        let inv = 1.0 / det;
        let (du1, du2) = (src[1][0] - src[0][0], src[2][0] - src[0][0]);
        let (dv1, dv2) = (src[1][1] - src[0][1], src[2][1] - src[0][1]);
        let (ex1, ex2) = (p1[0] - p0[0], p2[0] - p0[0]);
        let (ey1, ey2) = (p1[1] - p0[1], p2[1] - p0[1]);
        let dudx = (du1 * ey2 - du2 * ey1) * inv;
        let dudy = (du2 * ex1 - du1 * ex2) * inv;
        let dvdx = (dv1 * ey2 - dv2 * ey1) * inv;
        let dvdy = (dv2 * ex1 - dv1 * ex2) * inv;

        let min_y = p0[1].min(p1[1]).min(p2[1]);
        let max_y = p0[1].max(p1[1]).max(p2[1]);
        let row_start = ceil_i(min_y - 0.5).max(0) as usize;
        let row_end = ceil_i(max_y - 0.5).clamp(0, self.height as i64) as usize;
        if row_start >= row_end {
            return;
        }
        // Edges ordered top to bottom (ties by x) so both triangles sharing an edge compute
        // bit-identical crossings and the pixel-centre rule splits the row between them.
        let mut edges = [(p0, p1), (p1, p2), (p2, p0)];
        for e in &mut edges {
            if (e.1[1], e.1[0]) < (e.0[1], e.0[0]) {
                *e = (e.1, e.0);
            }
        }
        self.touched.0 = self.touched.0.min(row_start);
        self.touched.1 = self.touched.1.max(row_end);
        let w = self.width;
        for y in row_start..row_end {
            let yc = y as f32 + 0.5;
            let mut xs = [0f32; 2];
            let mut n = 0;
            for &(a, b) in &edges {
                if a[1] <= yc && yc < b[1] && n < 2 {
                    xs[n] = a[0] + (yc - a[1]) * ((b[0] - a[0]) / (b[1] - a[1]));
                    n += 1;
                }
            }
            if n < 2 {
                continue;
            }
            let (xl, xr) = if xs[0] <= xs[1] {
                (xs[0], xs[1])
            } else {
                (xs[1], xs[0])
            };
            let x_start = ceil_i(xl - 0.5).max(0) as usize;
            let x_end = ceil_i(xr - 0.5).clamp(0, w as i64) as usize;
            if x_start >= x_end {
                continue;
            }
            let (fx, fy) = (x_start as f32 + 0.5 - p0[0], yc - p0[1]);
            let mut u = src[0][0] + dudx * fx + dudy * fy;
            let mut v = src[0][1] + dvdx * fx + dvdy * fy;
            let row = &mut self.pixels[(y * w + x_start) * 4..(y * w + x_end) * 4];
            if nearest {
                for px in row.chunks_exact_mut(4) {
                    let s = tex.nearest(u, v);
                    u += dudx;
                    v += dvdx;
                    if s != 0 {
                        blend_into(px, s);
                    }
                }
            } else {
                for px in row.chunks_exact_mut(4) {
                    let s = tex.bilinear(u, v);
                    u += dudx;
                    v += dvdx;
                    if s != 0 {
                        blend_into(px, s);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, rgba: [u8; 4]) -> Texture {
        let data: Vec<u8> = (0..w * h).flat_map(|_| rgba).collect();
        Texture::from_straight(w, h, &data)
    }

    fn alpha_at(c: &Canvas, x: usize, y: usize) -> u8 {
        c.pixel(x, y)[3]
    }

    #[test]
    fn covers_exactly_the_pixel_centres_inside() {
        let tex = solid(16, 16, [255, 0, 0, 255]);
        let mut c = Canvas::new(16, 16);
        let tri = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        c.draw_triangle(&tex, tri, [[4.0, 4.0], [6.0, 4.0], [4.0, 6.0]], true);
        let covered = (0..16 * 16)
            .filter(|&i| alpha_at(&c, i % 16, i / 16) > 0)
            .count();
        // Pixel centres (x+.5, y+.5) with x + y + 1 < 10: 45 of them.
        assert_eq!(covered, 45);
        assert_eq!(alpha_at(&c, 0, 8), 255);
        assert_eq!(alpha_at(&c, 1, 8), 0);
    }

    #[test]
    fn shared_edges_have_no_gaps_or_double_blends() {
        let tex = solid(8, 8, [0, 0, 255, 128]);
        let mut c = Canvas::new(20, 20);
        let (a, b, cc, d) = ([1.3, 1.7], [18.2, 2.9], [17.1, 18.4], [2.2, 16.6]);
        let src = [[4.0, 4.0]; 3];
        c.draw_triangle(&tex, [a, b, cc], src, true);
        c.draw_triangle(&tex, [a, cc, d], src, true);
        let alphas: Vec<u8> = (0..400).map(|i| alpha_at(&c, i % 20, i / 20)).collect();
        assert!(
            alphas.iter().all(|&v| v == 0 || v == 128),
            "double blend found"
        );
        // The diagonal's pixels are all drawn: the quad interior has no holes.
        for y in 4..15 {
            for x in 4..16 {
                assert_eq!(alphas[y * 20 + x], 128, "hole at {x},{y}");
            }
        }
    }

    #[test]
    fn bilinear_edges_are_anti_aliased() {
        // An opaque 8x8 square in a 16x16 texture, magnified 2x with a half-pixel shift:
        // pixels straddling its outline get partial alpha.
        let mut data = vec![0u8; 16 * 16 * 4];
        for y in 4..12 {
            for x in 4..12 {
                data[(y * 16 + x) * 4..(y * 16 + x) * 4 + 4].copy_from_slice(&[255, 255, 255, 255]);
            }
        }
        let tex = Texture::from_straight(16, 16, &data);
        let mut c = Canvas::new(32, 32);
        let dst = [[0.0, 0.0], [32.0, 0.0], [0.0, 32.0]];
        let dst2 = [[32.0, 0.0], [32.0, 32.0], [0.0, 32.0]];
        let s = |p: [f32; 2]| [p[0] * 0.5 + 0.25, p[1] * 0.5 + 0.25];
        c.draw_triangle(&tex, dst, dst.map(s), false);
        c.draw_triangle(&tex, dst2, dst2.map(s), false);
        let row: Vec<u8> = (0..32).map(|x| alpha_at(&c, x, 16)).collect();
        assert_eq!(row[16], 255);
        assert_eq!(row[2], 0);
        let partial = row.iter().filter(|&&a| a > 0 && a < 255).count();
        assert!(partial >= 2, "{row:?}");
        // Straight-alpha output keeps white colour on the fringe.
        let out = c.into_straight();
        let i = (16 * 32 + row.iter().position(|&a| a > 0 && a < 255).unwrap()) * 4;
        assert!(out[i] >= 250, "{:?}", &out[i..i + 4]);
    }

    #[test]
    fn identity_mapping_reproduces_texels_exactly() {
        let data: Vec<u8> = (0..10 * 10)
            .flat_map(|i| {
                [
                    (i * 7 % 256) as u8,
                    (i * 13 % 256) as u8,
                    90,
                    if i % 3 == 0 { 255 } else { 100 },
                ]
            })
            .collect();
        let tex = Texture::from_straight(10, 10, &data);
        for nearest in [true, false] {
            let mut c = Canvas::new(10, 10);
            let (t1, t2) = (
                [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]],
                [[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]],
            );
            c.draw_triangle(&tex, t1, t1, nearest);
            c.draw_triangle(&tex, t2, t2, nearest);
            for y in 0..10 {
                for x in 0..10 {
                    assert_eq!(
                        c.pixel(x, y),
                        tex.texel(x, y),
                        "at {x},{y} nearest={nearest}"
                    );
                }
            }
        }
    }
}
