use crate::{Error, Result};

/// One RGBA8 picture with straight (non-premultiplied) alpha, rows top to bottom.
///
/// Straight alpha is what image files store, so encoders and decoders can pass
/// frames through untouched; renderers that blend convert to premultiplied internally.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes: R, G, B, A per pixel.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width, self.height)
    }
}

impl Frame {
    /// A fully transparent frame.
    pub fn new(width: u32, height: u32) -> Self {
        Frame {
            width,
            height,
            rgba: vec![0; width as usize * height as usize * 4],
        }
    }

    /// Wraps raw RGBA bytes, refusing a buffer whose length does not match the size.
    pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<Self> {
        let expected = width as usize * height as usize * 4;
        if rgba.len() != expected {
            return Err(Error::internal(format!(
                "RGBA buffer of {} bytes does not fit a {width}x{height} frame ({expected} bytes)",
                rgba.len()
            )));
        }
        Ok(Frame {
            width,
            height,
            rgba,
        })
    }

    /// A frame filled with one colour.
    pub fn filled(width: u32, height: u32, rgba: [u8; 4]) -> Self {
        let mut data = Vec::with_capacity(width as usize * height as usize * 4);
        for _ in 0..width as usize * height as usize {
            data.extend_from_slice(&rgba);
        }
        Frame {
            width,
            height,
            rgba: data,
        }
    }

    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// The pixel at (x, y); panics if out of bounds, like slice indexing.
    #[inline]
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    #[inline]
    pub fn set_pixel(&mut self, x: u32, y: u32, p: [u8; 4]) {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        self.rgba[i..i + 4].copy_from_slice(&p);
    }

    /// Alpha channel as one byte per pixel.
    pub fn alpha(&self) -> Vec<u8> {
        self.rgba.chunks_exact(4).map(|p| p[3]).collect()
    }

    /// Whether any pixel is at least partly opaque.
    pub fn has_visible_pixels(&self) -> bool {
        self.rgba.chunks_exact(4).any(|p| p[3] > 0)
    }

    /// Tight bounding box `(x0, y0, x1, y1)` (exclusive end) of pixels with alpha above
    /// `threshold`, or `None` when there are none.
    pub fn alpha_bounds(&self, threshold: u8) -> Option<(u32, u32, u32, u32)> {
        let (w, h) = (self.width, self.height);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for y in 0..h {
            let row = &self.rgba[(y * w * 4) as usize..((y + 1) * w * 4) as usize];
            for x in 0..w {
                if row[(x * 4 + 3) as usize] > threshold {
                    x0 = x0.min(x);
                    x1 = x1.max(x + 1);
                    y0 = y0.min(y);
                    y1 = y1.max(y + 1);
                }
            }
        }
        (x1 > x0).then_some((x0, y0, x1, y1))
    }

    /// Composites this frame over an opaque background colour, giving an opaque frame.
    pub fn over_color(&self, bg: [u8; 3]) -> Frame {
        let mut out = self.clone();
        for p in out.rgba.chunks_exact_mut(4) {
            let a = p[3] as u32;
            for c in 0..3 {
                p[c] = ((p[c] as u32 * a + bg[c] as u32 * (255 - a) + 127) / 255) as u8;
            }
            p[3] = 255;
        }
        out
    }

    /// Copies the rectangle `(x, y, w, h)`; parts outside the frame come out transparent.
    pub fn crop(&self, x: i64, y: i64, w: u32, h: u32) -> Frame {
        let mut out = Frame::new(w, h);
        for oy in 0..h as i64 {
            let sy = y + oy;
            if sy < 0 || sy >= self.height as i64 {
                continue;
            }
            for ox in 0..w as i64 {
                let sx = x + ox;
                if sx < 0 || sx >= self.width as i64 {
                    continue;
                }
                out.set_pixel(ox as u32, oy as u32, self.pixel(sx as u32, sy as u32));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rgba_checks_length() {
        assert!(Frame::from_rgba(2, 2, vec![0; 15]).is_err());
        assert!(Frame::from_rgba(2, 2, vec![0; 16]).is_ok());
    }

    #[test]
    fn alpha_bounds_finds_the_visible_box() {
        let mut f = Frame::new(5, 4);
        assert_eq!(f.alpha_bounds(0), None);
        f.set_pixel(1, 2, [1, 2, 3, 255]);
        f.set_pixel(3, 1, [1, 2, 3, 10]);
        assert_eq!(f.alpha_bounds(0), Some((1, 1, 4, 3)));
        assert_eq!(f.alpha_bounds(20), Some((1, 2, 2, 3)));
    }

    #[test]
    fn over_color_blends_by_alpha() {
        let mut f = Frame::new(1, 1);
        f.set_pixel(0, 0, [255, 0, 0, 128]);
        let o = f.over_color([0, 0, 255]);
        assert_eq!(o.pixel(0, 0), [128, 0, 127, 255]);
    }

    #[test]
    fn crop_pads_outside_with_transparency() {
        let f = Frame::filled(2, 2, [9, 9, 9, 255]);
        let c = f.crop(-1, 0, 3, 2);
        assert_eq!(c.pixel(0, 0)[3], 0);
        assert_eq!(c.pixel(1, 0), [9, 9, 9, 255]);
    }
}
