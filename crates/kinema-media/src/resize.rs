//! Scaling frames without the artefacts that make sprites look wrong: pixel art stays
//! blocky (nearest-neighbour), smooth art is filtered on premultiplied alpha so
//! transparent pixels' colours never bleed in as dark fringes.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Rgba, RgbaImage};
use kinema_core::Frame;

/// Resizes one frame to exactly `width` x `height`.
pub fn resize_frame(frame: &Frame, width: u32, height: u32, pixel_art: bool) -> Frame {
    if (frame.width, frame.height) == (width, height) {
        return frame.clone();
    }
    if pixel_art {
        let src = RgbaImage::from_raw(frame.width, frame.height, frame.rgba.clone());
        return match src {
            Some(img) => to_frame(imageops::resize(&img, width, height, FilterType::Nearest)),
            None => Frame::new(width, height),
        };
    }
    let filter = if width >= frame.width && height >= frame.height {
        FilterType::CatmullRom
    } else {
        FilterType::Lanczos3
    };
    // `image` clamps f32 pixels to 0..=1 while filtering, so work in unit range.
    let premultiplied: Vec<f32> = frame
        .rgba
        .chunks_exact(4)
        .flat_map(|p| {
            let a = f32::from(p[3]) / 255.0;
            let c = |v: u8| f32::from(v) / 255.0 * a;
            [c(p[0]), c(p[1]), c(p[2]), a]
        })
        .collect();
    let Some(src) =
        ImageBuffer::<Rgba<f32>, Vec<f32>>::from_raw(frame.width, frame.height, premultiplied)
    else {
        return Frame::new(width, height);
    };
    let scaled = imageops::resize(&src, width, height, filter);
    let rgba = scaled
        .into_raw()
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3].clamp(0.0, 1.0);
            if a < 0.5 / 255.0 {
                return [0, 0, 0, 0];
            }
            let c = |v: f32| (v / a * 255.0).round().clamp(0.0, 255.0) as u8;
            [c(p[0]), c(p[1]), c(p[2]), (a * 255.0).round() as u8]
        })
        .collect();
    Frame {
        width,
        height,
        rgba,
    }
}

fn to_frame(img: RgbaImage) -> Frame {
    Frame {
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    }
}

/// Copies `frame` onto a transparent canvas at (`x`, `y`).
pub fn place_on_canvas(frame: &Frame, width: u32, height: u32, x: u32, y: u32) -> Frame {
    let mut out = Frame::new(width, height);
    let row = frame.width as usize * 4;
    for sy in 0..frame.height.min(height.saturating_sub(y)) {
        let src = sy as usize * row;
        let dst = ((y + sy) as usize * width as usize + x as usize) * 4;
        let n = row.min((width.saturating_sub(x)) as usize * 4);
        out.rgba[dst..dst + n].copy_from_slice(&frame.rgba[src..src + n]);
    }
    out
}

/// Extends an opaque frame to the right and bottom with `fill`, never stretching it.
pub fn pad_to(frame: &Frame, width: u32, height: u32, fill: [u8; 4]) -> Frame {
    let mut out = Frame::filled(width, height, fill);
    let row = frame.width as usize * 4;
    for y in 0..frame.height.min(height) as usize {
        let dst = y * width as usize * 4;
        out.rgba[dst..dst + row.min(width as usize * 4)]
            .copy_from_slice(&frame.rgba[y * row..y * row + row.min(width as usize * 4)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_upscaling_keeps_opaque_content_opaque_and_its_colour() {
        let f = Frame::filled(6, 4, [200, 120, 40, 255]);
        let big = resize_frame(&f, 12, 8, false);
        for p in big.rgba.chunks_exact(4) {
            assert_eq!(p, [200, 120, 40, 255]);
        }
    }

    #[test]
    fn nearest_keeps_pixel_art_blocks() {
        let mut f = Frame::new(2, 1);
        f.set_pixel(0, 0, [255, 0, 0, 255]);
        f.set_pixel(1, 0, [0, 0, 255, 255]);
        let big = resize_frame(&f, 8, 4, true);
        assert_eq!(big.pixel(3, 3), [255, 0, 0, 255]);
        assert_eq!(big.pixel(4, 0), [0, 0, 255, 255]);
    }

    #[test]
    fn smooth_scaling_does_not_darken_edges_next_to_transparency() {
        // A white square on transparent black: naive filtering would blend in the black.
        let mut f = Frame::new(8, 8);
        for y in 2..6 {
            for x in 2..6 {
                f.set_pixel(x, y, [255, 255, 255, 255]);
            }
        }
        let big = resize_frame(&f, 32, 32, false);
        for p in big.rgba.chunks_exact(4).filter(|p| p[3] > 8) {
            assert!(p[0] > 240 && p[1] > 240 && p[2] > 240, "dark fringe {p:?}");
        }
        assert!(
            big.rgba.chunks_exact(4).any(|p| p[3] > 0 && p[3] < 255),
            "edges are smooth"
        );
    }

    #[test]
    fn canvas_and_padding_keep_pixels_where_they_were() {
        let f = Frame::filled(3, 3, [1, 2, 3, 255]);
        let c = place_on_canvas(&f, 7, 5, 2, 1);
        assert_eq!(c.pixel(2, 1), [1, 2, 3, 255]);
        assert_eq!(c.pixel(1, 1)[3], 0);
        assert_eq!(c.pixel(5, 3)[3], 0);
        let p = pad_to(&f, 4, 4, [9, 9, 9, 255]);
        assert_eq!(p.pixel(2, 2), [1, 2, 3, 255]);
        assert_eq!(p.pixel(3, 3), [9, 9, 9, 255]);
    }
}
