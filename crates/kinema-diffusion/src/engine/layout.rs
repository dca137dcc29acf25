//! Where the character goes in the model's picture, and how the result maps back to the
//! character's own scale.
//!
//! The character gets a margin of a quarter of its longer side on every side (room to move),
//! that canvas is scaled so its longer side is the requested model resolution and rounded to
//! the model's size multiple (32 for TI2V-5B), and the character is scaled uniformly and
//! centred in it. Generated frames are brought back by the inverse scale, so the clip shows
//! the character at the size it was drawn and [`Placement`] points at the original sprite.

use kinema_core::Placement;

/// Margin around the character, as a fraction of its longer side.
pub const MARGIN: f64 = 0.25;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Layout {
    /// Size the model generates.
    pub model_width: u32,
    pub model_height: u32,
    /// The scaled character's rectangle in the model picture.
    pub sprite_x: u32,
    pub sprite_y: u32,
    pub sprite_width: u32,
    pub sprite_height: u32,
    /// Model pixels per character pixel.
    pub scale: f64,
    /// The clip's canvas at the character's scale.
    pub clip_width: u32,
    pub clip_height: u32,
    #[serde(skip)]
    pub placement: Placement,
}

/// Plans a `width × height` character for a model that takes multiples of `multiple` and a
/// longer side of about `resolution`.
pub fn plan(width: u32, height: u32, resolution: u32, multiple: u32) -> Layout {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let pad = (w.max(h) * MARGIN).round();
    let (cw, ch) = (w + 2.0 * pad, h + 2.0 * pad);
    let fit = resolution as f64 / cw.max(ch);
    let m = multiple.max(1) as f64;
    let round_to = |v: f64| ((v / m).round() * m).max(m) as u32;
    let (model_width, model_height) = (round_to(cw * fit), round_to(ch * fit));
    let scale = (model_width as f64 / cw).min(model_height as f64 / ch);
    let sprite_width = ((w * scale).round() as u32).clamp(1, model_width);
    let sprite_height = ((h * scale).round() as u32).clamp(1, model_height);
    let sprite_x = (model_width - sprite_width) / 2;
    let sprite_y = (model_height - sprite_height) / 2;
    let clip_width = ((model_width as f64 / scale).round() as u32).max(1);
    let clip_height = ((model_height as f64 / scale).round() as u32).max(1);
    Layout {
        model_width,
        model_height,
        sprite_x,
        sprite_y,
        sprite_width,
        sprite_height,
        scale,
        clip_width,
        clip_height,
        placement: Placement {
            x: (sprite_x as f64 / scale).round() as i32,
            y: (sprite_y as f64 / scale).round() as i32,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_multiples_and_the_sprite_fits_centred() {
        for (w, h, res) in [
            (96, 128, 704),
            (131, 188, 480),
            (128, 128, 64),
            (20, 500, 256),
        ] {
            let l = plan(w, h, res, 32);
            assert_eq!(l.model_width % 32, 0, "{l:?}");
            assert_eq!(l.model_height % 32, 0, "{l:?}");
            assert!(
                l.model_width.max(l.model_height).abs_diff(res) <= 16,
                "{l:?}"
            );
            assert!(l.sprite_x + l.sprite_width <= l.model_width);
            assert!(l.sprite_y + l.sprite_height <= l.model_height);
            let cx = l.sprite_x as f64 + l.sprite_width as f64 / 2.0;
            assert!((cx - l.model_width as f64 / 2.0).abs() <= 1.0, "{l:?}");
            // Back at the character's scale the sprite keeps its size.
            assert!(
                (l.sprite_width as f64 / l.scale - w as f64).abs() <= 1.0,
                "{l:?}"
            );
            assert!(l.placement.x >= 0 && l.placement.x as u32 + w <= l.clip_width + 1);
        }
    }

    #[test]
    fn a_square_sprite_gets_a_square_canvas_with_margin() {
        let l = plan(128, 128, 192, 32);
        assert_eq!((l.model_width, l.model_height), (192, 192));
        assert_eq!((l.clip_width, l.clip_height), (192, 192));
        assert_eq!(l.placement, Placement { x: 32, y: 32 });
    }
}
