//! Telling pixel art from smooth art, because the two must be scaled and matted differently.

use std::collections::HashSet;

use image::RgbaImage;

/// Pixel art is drawn small; anything larger is painted or vector art.
const MAX_SIDE: u32 = 256;
/// Hand-placed palettes are small; anti-aliasing or gradients blow past this quickly.
const MAX_COLOURS: usize = 64;
/// Share of partly transparent pixels tolerated (a stray soft pixel from an export).
const MAX_SOFT_ALPHA_SHARE: f32 = 0.005;

/// Whether an image with a real mask is pixel art: small, few colours, hard alpha edges.
pub fn is_pixel_art(img: &RgbaImage) -> bool {
    if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        return false;
    }
    let soft = img
        .pixels()
        .filter(|p| p.0[3] != 0 && p.0[3] != 255)
        .count();
    if soft as f32 > MAX_SOFT_ALPHA_SHARE * (img.width() * img.height()) as f32 {
        return false;
    }
    few_colours(
        img.pixels()
            .filter(|p| p.0[3] != 0)
            .map(|p| [p.0[0], p.0[1], p.0[2]]),
    )
}

/// Whether an opaque image (before matting) could be pixel art on a flat background;
/// such images are matted with hard edges instead of being un-mixed.
pub fn could_be_pixel_art(img: &RgbaImage) -> bool {
    img.width() <= MAX_SIDE
        && img.height() <= MAX_SIDE
        && few_colours(img.pixels().map(|p| [p.0[0], p.0[1], p.0[2]]))
}

/// Above this share of blended rim pixels, an image is anti-aliased, not pixel art.
pub const MAX_SOFT_RIM_SHARE: f32 = 0.1;

/// Share of the subject's rim (visible pixels next to transparency) that is partly
/// transparent: near zero for pixel art, high for anti-aliased art.
pub fn soft_rim_share(img: &RgbaImage) -> f32 {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let alpha = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= w || y >= h {
            0
        } else {
            img.get_pixel(x as u32, y as u32).0[3]
        }
    };
    let (mut rim, mut soft) = (0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            let a = alpha(x, y);
            if a == 0
                || ![(-1, 0), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .any(|(dx, dy)| alpha(x + dx, y + dy) == 0)
            {
                continue;
            }
            rim += 1;
            soft += usize::from(a < 230);
        }
    }
    if rim == 0 {
        0.0
    } else {
        soft as f32 / rim as f32
    }
}

fn few_colours(colours: impl Iterator<Item = [u8; 3]>) -> bool {
    let mut seen = HashSet::new();
    for c in colours {
        if seen.insert(c) && seen.len() > MAX_COLOURS {
            return false;
        }
    }
    !seen.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn four_colour_sprite() -> RgbaImage {
        let palette = [[20, 20, 30], [200, 60, 50], [240, 200, 150], [60, 90, 200]];
        RgbaImage::from_fn(32, 32, |x, y| {
            let (dx, dy) = (x as i32 - 16, y as i32 - 16);
            if dx * dx + dy * dy > 14 * 14 {
                image::Rgba([0, 0, 0, 0])
            } else {
                let c = palette[((x / 4 + y / 4) % 4) as usize];
                image::Rgba([c[0], c[1], c[2], 255])
            }
        })
    }

    #[test]
    fn a_small_four_colour_sprite_with_binary_alpha_is_pixel_art() {
        assert!(is_pixel_art(&four_colour_sprite()));
    }

    #[test]
    fn soft_edges_or_many_colours_are_not_pixel_art() {
        let mut soft = four_colour_sprite();
        for x in 0..32 {
            soft.put_pixel(x, 16, image::Rgba([20, 20, 30, 128]));
        }
        assert!(!is_pixel_art(&soft));
        let gradient = RgbaImage::from_fn(32, 32, |x, y| {
            image::Rgba([(x * 8) as u8, (y * 8) as u8, 9, 255])
        });
        assert!(!is_pixel_art(&gradient));
        let big = RgbaImage::from_pixel(300, 20, image::Rgba([1, 2, 3, 255]));
        assert!(!is_pixel_art(&big));
    }
}
