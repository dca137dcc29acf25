//! The picture a service is given, and how its video maps back to the character.
//!
//! The character gets a margin of a quarter of its longer side (room to move, as the `wan`
//! engine gives it); that box is padded, never stretched, to the nearest shape the model
//! makes, scaled up to the model's size (so a 64 px sprite meets a 300 px minimum), and
//! composed on a key colour. The video that comes back is cropped to the box again and
//! scaled down to the character's own size, so the clip shows the character as drawn and
//! [`Placement`] points at the original sprite.

use kinema_core::{Error, Frame, Placement, Result};
use kinema_media::key::{compose, ChromaKey};
use kinema_media::resize::{place_on_canvas, resize_frame};
use serde::Serialize;

use crate::catalog::{ImageRules, ModelSpec, QualitySpec, Shapes};

/// Margin around the character, as a fraction of its longer side.
pub const MARGIN: f64 = 0.25;

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The geometry of one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Canvas {
    /// Size of the picture sent.
    pub width: u32,
    pub height: u32,
    /// The API's name for the shape (`960:960`, `16:9`), when it takes one.
    pub ratio: Option<String>,
    /// Canvas pixels per character pixel.
    pub scale: f64,
    /// The clip's area (character and margin) in canvas pixels.
    pub content: Rect,
    /// The character in canvas pixels.
    pub sprite: Rect,
    /// The clip at the character's own scale.
    pub clip_width: u32,
    pub clip_height: u32,
    #[serde(skip)]
    pub placement: Placement,
}

fn even(v: f64) -> u32 {
    ((v / 2.0).round() * 2.0).max(2.0) as u32
}

/// The entry of `shapes` whose aspect is closest to `aspect` (compared as ratios, so 2:1
/// and 1:2 are equally far from 1:1).
fn nearest(shapes: &[(u32, u32)], aspect: f64) -> Option<(u32, u32)> {
    shapes.iter().copied().min_by(|a, b| {
        let d = |(w, h): (u32, u32)| (f64::from(w) / f64::from(h) / aspect).ln().abs();
        d(*a).total_cmp(&d(*b))
    })
}

/// Plans the canvas for a `width × height` character.
pub fn plan_canvas(
    width: u32,
    height: u32,
    model: &ModelSpec,
    quality: Option<&QualitySpec>,
    rules: &ImageRules,
) -> Result<Canvas> {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let margin = (w.max(h) * MARGIN).round();
    let (cw, ch) = (w + 2.0 * margin, h + 2.0 * margin);
    let aspect = cw / ch;
    // Shapes whose pictures the provider would refuse as input are not used.
    let allowed = |list: Vec<(u32, u32)>| -> Vec<(u32, u32)> {
        list.into_iter()
            .filter(|&(a, b)| {
                let r = f64::from(a) / f64::from(b);
                r >= rules.aspect[0] - 1e-6 && r <= rules.aspect[1] + 1e-6
            })
            .collect()
    };
    let (canvas_w, canvas_h, ratio) = match model.shapes() {
        Shapes::Pixels(list) => {
            let list = allowed(list);
            let (pw, ph) = nearest(&list, aspect).ok_or_else(no_shape)?;
            (pw, ph, Some(format!("{pw}:{ph}")))
        }
        Shapes::Aspects(list) => {
            let list = allowed(list);
            let (a, b) = nearest(&list, aspect).ok_or_else(no_shape)?;
            let short = f64::from(quality.and_then(|q| q.short_side).unwrap_or(720));
            let (pw, ph) = if a >= b {
                (even(short * f64::from(a) / f64::from(b)), even(short))
            } else {
                (even(short), even(short * f64::from(b) / f64::from(a)))
            };
            (pw, ph, Some(format!("{a}:{b}")))
        }
        Shapes::Range(lo, hi) => {
            let a = aspect.clamp(lo.max(rules.aspect[0]), hi.min(rules.aspect[1]));
            let long = f64::from(model.canvas_long_side.unwrap_or(1280));
            let (mut pw, mut ph) = if a >= 1.0 {
                (long, long / a)
            } else {
                (long * a, long)
            };
            let short = pw.min(ph);
            let min = f64::from(rules.min_short_side);
            if short < min {
                pw *= min / short;
                ph *= min / short;
            }
            (even(pw), even(ph), None)
        }
    };
    check_rules(canvas_w, canvas_h, rules)?;
    // Pad the character's box to the canvas shape, then scale it to fill the canvas.
    let canvas_aspect = f64::from(canvas_w) / f64::from(canvas_h);
    let (padded_w, padded_h) = if aspect < canvas_aspect {
        (ch * canvas_aspect, ch)
    } else {
        (cw, cw / canvas_aspect)
    };
    let scale = (f64::from(canvas_w) / padded_w).min(f64::from(canvas_h) / padded_h);
    let px = |v: f64| (v * scale).round() as u32;
    let content = Rect {
        x: px((padded_w - cw) / 2.0),
        y: px((padded_h - ch) / 2.0),
        width: px(cw).clamp(1, canvas_w),
        height: px(ch).clamp(1, canvas_h),
    };
    let sprite = Rect {
        x: content.x + px(margin),
        y: content.y + px(margin),
        width: px(w).max(1),
        height: px(h).max(1),
    };
    Ok(Canvas {
        width: canvas_w,
        height: canvas_h,
        ratio,
        scale,
        content,
        sprite,
        clip_width: cw as u32,
        clip_height: ch as u32,
        placement: Placement {
            x: margin as i32,
            y: margin as i32,
        },
    })
}

fn no_shape() -> Error {
    Error::internal("the model's table lists no shapes")
}

fn check_rules(w: u32, h: u32, rules: &ImageRules) -> Result<()> {
    let a = f64::from(w) / f64::from(h);
    if w.min(h) < rules.min_short_side
        || w.max(h) > rules.max_side
        || a < rules.aspect[0] - 1e-6
        || a > rules.aspect[1] + 1e-6
    {
        return Err(Error::internal(format!(
            "a {w}x{h} picture breaks the provider's image rules ({rules:?})"
        )));
    }
    Ok(())
}

impl Canvas {
    /// The character (and, for a last frame, any picture of it) on the key colour, at the
    /// canvas size. A picture of another size is fitted into the character's rectangle,
    /// standing on its bottom edge.
    pub fn compose(&self, picture: &Frame, key: &ChromaKey, pixel_art: bool) -> Frame {
        let box_w = f64::from(self.sprite.width);
        let box_h = f64::from(self.sprite.height);
        let fit =
            (box_w / f64::from(picture.width.max(1))).min(box_h / f64::from(picture.height.max(1)));
        let sw = ((f64::from(picture.width) * fit).round() as u32).clamp(1, self.sprite.width);
        let sh = ((f64::from(picture.height) * fit).round() as u32).clamp(1, self.sprite.height);
        let scaled = resize_frame(picture, sw, sh, pixel_art);
        let x = self.sprite.x + (self.sprite.width - sw) / 2;
        let y = self.sprite.y + (self.sprite.height - sh);
        compose(
            &place_on_canvas(&scaled, self.width, self.height, x, y),
            key,
        )
    }

    /// The clip's area of a delivered picture, which may be any size with the canvas's
    /// shape (services deliver their own resolution).
    pub fn content_in(&self, video_width: u32, video_height: u32) -> Rect {
        let sx = f64::from(video_width) / f64::from(self.width);
        let sy = f64::from(video_height) / f64::from(self.height);
        let x = (f64::from(self.content.x) * sx).round() as u32;
        let y = (f64::from(self.content.y) * sy).round() as u32;
        Rect {
            x: x.min(video_width.saturating_sub(1)),
            y: y.min(video_height.saturating_sub(1)),
            width: ((f64::from(self.content.width) * sx).round() as u32)
                .clamp(1, video_width - x.min(video_width - 1)),
            height: ((f64::from(self.content.height) * sy).round() as u32)
                .clamp(1, video_height - y.min(video_height - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::provider;

    fn canvas_for(engine: &str, model: Option<&str>, q: Option<&str>, w: u32, h: u32) -> Canvas {
        let p = provider(engine).unwrap();
        let m = p.model(model).unwrap();
        plan_canvas(w, h, m, m.quality(q).unwrap(), &p.image).unwrap()
    }

    #[test]
    fn runway_gets_its_exact_ratio_and_the_sprite_is_never_stretched() {
        let c = canvas_for("runway", None, None, 64, 64);
        assert_eq!(
            (c.width, c.height, c.ratio.as_deref()),
            (960, 960, Some("960:960"))
        );
        assert_eq!((c.clip_width, c.clip_height), (96, 96));
        assert_eq!(c.sprite.width, c.sprite.height, "square stays square");
        assert_eq!(c.sprite.width, 640);
        // A tall sprite (box 90x150, 0.6) picks the nearest portrait shape (0.5625) and,
        // being a little wider than it, is padded above and below.
        let c = canvas_for("runway", None, None, 40, 100);
        assert_eq!(c.ratio.as_deref(), Some("720:1280"));
        let sprite_aspect = f64::from(c.sprite.width) / f64::from(c.sprite.height);
        assert!((sprite_aspect - 0.4).abs() < 0.01, "{c:?}");
        assert!(c.content.x == 0 && c.content.y > 0, "{c:?}");
    }

    #[test]
    fn kling_meets_its_minimum_side_and_aspect_range() {
        let c = canvas_for("kling", None, None, 32, 32);
        assert!(c.width.min(c.height) >= 300);
        let c = canvas_for("kling", None, None, 20, 200);
        let a = f64::from(c.width) / f64::from(c.height);
        assert!(a >= 0.4 - 1e-3, "clamped into range: {c:?}");
        assert!(c.width.min(c.height) >= 300, "{c:?}");
        assert!(c.ratio.is_none());
    }

    #[test]
    fn luma_sizes_follow_the_quality() {
        // A 300x200 box (1.5) is nearest to 4:3 (1.33) of Luma's aspects.
        let c = canvas_for("luma", None, Some("540p"), 200, 100);
        assert_eq!(c.ratio.as_deref(), Some("4:3"));
        assert_eq!((c.width, c.height), (720, 540));
        // Runway's 1584:672 is wider than the 2:1 its inputs may be: never chosen.
        let c = canvas_for("runway", None, None, 400, 100);
        assert_eq!(c.ratio.as_deref(), Some("1280:720"));
        let c = canvas_for("luma", None, Some("720p"), 100, 100);
        assert_eq!((c.width, c.height), (720, 720));
    }

    #[test]
    fn composing_and_mapping_back_agree() {
        let c = canvas_for("runway", None, None, 30, 50);
        let sprite = Frame::filled(30, 50, [200, 40, 40, 255]);
        let key = kinema_media::key::choose_key(&sprite);
        let pic = c.compose(&sprite, &key, true);
        assert_eq!((pic.width, pic.height), (c.width, c.height));
        assert_eq!(pic.pixel(0, 0)[..3], key.rgb);
        let mid = (
            c.sprite.x + c.sprite.width / 2,
            c.sprite.y + c.sprite.height / 2,
        );
        assert_eq!(pic.pixel(mid.0, mid.1), [200, 40, 40, 255]);
        // A video at half the size maps the same area.
        let r = c.content_in(c.width / 2, c.height / 2);
        assert!((r.x as i64 - (c.content.x / 2) as i64).abs() <= 1);
        assert!((r.width as i64 - (c.content.width / 2) as i64).abs() <= 1);
    }
}
