//! A user-supplied subject mask, for images whose background cannot be removed automatically.

use image::RgbaImage;
use kinema_core::{Error, Result};

/// Replaces the alpha of `img` with the mask: the mask's own alpha where it has any
/// transparency, otherwise its brightness (white = character, black = background).
pub fn apply_mask(img: &mut RgbaImage, mask: &RgbaImage, mask_name: &str) -> Result<()> {
    if mask.dimensions() != img.dimensions() {
        return Err(Error::invalid(
            format!(
                "the mask {mask_name} is {}x{} but the image is {}x{}",
                mask.width(),
                mask.height(),
                img.width(),
                img.height()
            ),
            "export the mask at exactly the image's size",
        ));
    }
    let use_alpha = mask.pixels().any(|p| p.0[3] < 255);
    let values: Vec<u8> = mask
        .pixels()
        .map(|p| {
            if use_alpha {
                p.0[3]
            } else {
                let [r, g, b, _] = p.0.map(u32::from);
                ((299 * r + 587 * g + 114 * b + 500) / 1000) as u8
            }
        })
        .collect();
    if values.iter().all(|&v| v == 0) {
        return Err(Error::invalid(
            format!("the mask {mask_name} is empty (all black or transparent)"),
            "paint the character white (or opaque) in the mask",
        ));
    }
    for (p, v) in img.pixels_mut().zip(values) {
        p.0[3] = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_masks_use_brightness_and_alpha_masks_use_alpha() {
        let mut img = RgbaImage::from_pixel(10, 10, image::Rgba([9, 9, 9, 255]));
        let mut grey = RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 255]));
        grey.put_pixel(3, 3, image::Rgba([255, 255, 255, 255]));
        apply_mask(&mut img, &grey, "m.png").expect("grey mask");
        assert_eq!(img.get_pixel(3, 3).0[3], 255);
        assert_eq!(img.get_pixel(0, 0).0[3], 0);
        let mut alpha = RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 0]));
        alpha.put_pixel(5, 5, image::Rgba([0, 0, 0, 200]));
        apply_mask(&mut img, &alpha, "a.png").expect("alpha mask");
        assert_eq!(img.get_pixel(5, 5).0[3], 200);
        assert_eq!(img.get_pixel(3, 3).0[3], 0);
    }

    #[test]
    fn wrong_size_or_empty_masks_are_refused() {
        let mut img = RgbaImage::new(10, 10);
        let e = apply_mask(&mut img, &RgbaImage::new(12, 10), "m.png").expect_err("size");
        assert!(
            e.message.contains("12x10") && e.message.contains("10x10"),
            "{e}"
        );
        let black = RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 255]));
        assert!(apply_mask(&mut img, &black, "m.png")
            .expect_err("empty")
            .message
            .contains("empty"));
    }
}
