//! Sizing and flattening a clip for one output format.

use kinema_core::{Background, Clip, Error, Frame, Limits, Placement, Result};
use rayon::prelude::*;

use super::OutputFormat;
use crate::resize::{pad_to, place_on_canvas, resize_frame};

/// MP4 without alpha gets this colour behind the character unless asked otherwise.
const VIDEO_DEFAULT_BACKGROUND: [u8; 3] = [255, 255, 255];

/// Returns the clip as `format` will store it: scaled by `scale` (1 unless asked),
/// fitted into `size` (letterboxed, never stretched), composited onto the background
/// where asked or where the format has no alpha, and padded to even sides for H.264.
///
/// The pixel size never depends on the format (apart from H.264's even-side padding), so
/// every output of one run has the same size: a game imports the GIF, the frames and the
/// sheet interchangeably. (Video formats used to be upscaled automatically, which made
/// GIF and MP4 twice the size of APNG, WebP and frames from the same run.)
pub fn prepare_for(clip: &Clip, format: OutputFormat, opts: &super::EncodeOptions) -> Result<Clip> {
    let (w, h) = (clip.width(), clip.height());
    if clip.is_empty() || w == 0 || h == 0 {
        return Err(Error::internal("cannot prepare an empty clip for output"));
    }
    if clip
        .frames
        .iter()
        .any(|f| (f.width, f.height) != (w, h) || f.rgba.len() != f.pixel_count() * 4)
    {
        return Err(Error::internal("clip frames differ in size"));
    }
    let max_side = Limits::default().max_side;
    let mut out = Clip {
        frames: Vec::new(),
        fps: clip.fps,
        looping: clip.looping,
        pixel_art: clip.pixel_art,
        placement: clip.placement,
    };

    let scale = match (opts.scale, opts.size) {
        (Some(0), _) => {
            return Err(Error::invalid(
                "scale 0 is not allowed",
                "use --scale 1 or more",
            ))
        }
        (Some(n), _) => n,
        (None, _) => 1,
    };
    if scale > 1 {
        let (sw, sh) = (
            u64::from(w) * u64::from(scale),
            u64::from(h) * u64::from(scale),
        );
        if sw.max(sh) > u64::from(max_side) {
            return Err(Error::invalid(
                format!(
                    "scaling {w}x{h} by {scale} gives {sw}x{sh}, over the {max_side}-pixel limit"
                ),
                format!(
                    "use a smaller --scale (at most {})",
                    (max_side / w.max(h)).max(1)
                ),
            ));
        }
        let (sw, sh) = (sw as u32, sh as u32);
        out.frames = clip
            .frames
            .par_iter()
            .map(|f| resize_frame(f, sw, sh, clip.pixel_art))
            .collect();
        out.placement = Placement {
            x: clip.placement.x * scale as i32,
            y: clip.placement.y * scale as i32,
        };
    } else {
        out.frames = clip.frames.clone();
    }

    if let Some((tw, th)) = opts.size {
        if tw == 0 || th == 0 || tw.max(th) > max_side {
            return Err(Error::invalid(
                format!("size {tw}x{th} is out of range"),
                format!("use --size WxH with sides between 1 and {max_side}"),
            ));
        }
        out = fit_into(&out, tw, th);
    }

    let background = match (opts.background, format) {
        (Background::Solid(rgb), _) => Some(rgb),
        (Background::Transparent, OutputFormat::Mp4) => Some(VIDEO_DEFAULT_BACKGROUND),
        (Background::Transparent, _) => None,
    };
    if let Some(rgb) = background {
        out.frames.par_iter_mut().for_each(|f| flatten(f, rgb));
        if format == OutputFormat::Mp4 && (out.width() % 2 == 1 || out.height() % 2 == 1) {
            let (ew, eh) = (
                out.width().next_multiple_of(2),
                out.height().next_multiple_of(2),
            );
            let fill = [rgb[0], rgb[1], rgb[2], 255];
            out.frames = out
                .frames
                .par_iter()
                .map(|f| pad_to(f, ew, eh, fill))
                .collect();
        }
    }
    Ok(out)
}

/// Composites in place onto an opaque colour; sprites are mostly fully opaque or fully
/// clear, so those pixels skip the blend.
fn flatten(frame: &mut Frame, bg: [u8; 3]) {
    for p in frame.rgba.chunks_exact_mut(4) {
        match p[3] {
            255 => {}
            0 => p.copy_from_slice(&[bg[0], bg[1], bg[2], 255]),
            a => {
                let a = u32::from(a);
                for c in 0..3 {
                    p[c] = ((u32::from(p[c]) * a + u32::from(bg[c]) * (255 - a) + 127) / 255) as u8;
                }
                p[3] = 255;
            }
        }
    }
}

/// Fits the clip inside `tw` x `th`, centred on transparency. Pixel art uses the largest
/// whole-number factor that fits, so every source pixel stays a square block.
fn fit_into(clip: &Clip, tw: u32, th: u32) -> Clip {
    let (w, h) = (clip.width(), clip.height());
    let exact = (f64::from(tw) / f64::from(w)).min(f64::from(th) / f64::from(h));
    let factor = if clip.pixel_art && exact >= 1.0 {
        exact.floor()
    } else {
        exact
    };
    let nw = ((f64::from(w) * factor).round() as u32).clamp(1, tw);
    let nh = ((f64::from(h) * factor).round() as u32).clamp(1, th);
    let (ox, oy) = ((tw - nw) / 2, (th - nh) / 2);
    let frames: Vec<Frame> = clip
        .frames
        .par_iter()
        .map(|f| place_on_canvas(&resize_frame(f, nw, nh, clip.pixel_art), tw, th, ox, oy))
        .collect();
    let placement = Placement {
        x: ox as i32 + (f64::from(clip.placement.x) * factor).round() as i32,
        y: oy as i32 + (f64::from(clip.placement.y) * factor).round() as i32,
    };
    Clip {
        frames,
        placement,
        ..clip.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeOptions;

    fn clip(w: u32, h: u32, pixel_art: bool) -> Clip {
        let mut f = Frame::new(w, h);
        f.set_pixel(0, 0, [200, 10, 10, 255]);
        Clip {
            frames: vec![f; 3],
            fps: 12,
            looping: true,
            pixel_art,
            placement: Placement::default(),
        }
    }

    #[test]
    fn every_format_keeps_the_same_size_unless_scaled() {
        let c = clip(96, 128, false);
        let opts = EncodeOptions::default();
        for format in [
            OutputFormat::Mp4,
            OutputFormat::Gif,
            OutputFormat::Apng,
            OutputFormat::Webp,
            OutputFormat::Frames,
        ] {
            let out = prepare_for(&c, format, &opts).expect("prepare");
            assert_eq!((out.width(), out.height()), (96, 128), "{format:?}");
            let scaled = EncodeOptions {
                scale: Some(3),
                ..EncodeOptions::default()
            };
            let out = prepare_for(&c, format, &scaled).expect("scaled");
            assert_eq!((out.width(), out.height()), (288, 384), "{format:?}");
        }
    }

    #[test]
    fn mp4_is_flattened_and_padded_to_even_sides() {
        let c = clip(401, 301, false);
        let v = prepare_for(&c, OutputFormat::Mp4, &EncodeOptions::default()).expect("mp4");
        assert_eq!((v.width(), v.height()), (402, 302));
        assert_eq!(v.frames[0].pixel(0, 0), [200, 10, 10, 255]);
        assert_eq!(
            v.frames[0].pixel(401, 301),
            [255, 255, 255, 255],
            "pad uses the background"
        );
        let solid = EncodeOptions {
            background: Background::Solid([0, 0, 50]),
            ..EncodeOptions::default()
        };
        let g = prepare_for(&c, OutputFormat::Gif, &solid).expect("gif");
        assert_eq!(g.frames[0].pixel(10, 10), [0, 0, 50, 255]);
    }

    #[test]
    fn size_letterboxes_without_stretching() {
        let c = clip(100, 50, false);
        let opts = EncodeOptions {
            size: Some((200, 200)),
            ..EncodeOptions::default()
        };
        let out = prepare_for(&c, OutputFormat::Apng, &opts).expect("fit");
        assert_eq!((out.width(), out.height()), (200, 200));
        assert_eq!(out.placement, Placement { x: 0, y: 50 });
        assert_eq!(
            out.frames[0].pixel(100, 10)[3],
            0,
            "letterbox is transparent"
        );
        let px = prepare_for(
            &clip(30, 30, true),
            OutputFormat::Apng,
            &EncodeOptions {
                size: Some((100, 100)),
                ..opts
            },
        )
        .expect("pixel art fit");
        assert_eq!(
            px.frames[0].pixel(5, 5),
            [200, 10, 10, 255],
            "3x blocks, offset 5"
        );
        assert_eq!(px.frames[0].pixel(13, 13)[3], 0);
    }

    #[test]
    fn explicit_scale_is_checked() {
        let c = clip(100, 100, true);
        let e = prepare_for(
            &c,
            OutputFormat::Apng,
            &EncodeOptions {
                scale: Some(0),
                ..EncodeOptions::default()
            },
        );
        assert!(e.is_err());
        let e = prepare_for(
            &c,
            OutputFormat::Apng,
            &EncodeOptions {
                scale: Some(50),
                ..EncodeOptions::default()
            },
        );
        assert!(e
            .expect_err("too big")
            .hint
            .is_some_and(|h| h.contains("--scale")));
        let s = prepare_for(
            &c,
            OutputFormat::Frames,
            &EncodeOptions {
                scale: Some(2),
                ..EncodeOptions::default()
            },
        )
        .expect("2x");
        assert_eq!(s.width(), 200);
    }
}
