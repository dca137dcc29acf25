//! APNG and GIF through `image`, which composites partial frames and disposal for us.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::AnimationDecoder;
use kinema_core::{Clip, Error, Frame, Placement, Result};

use super::{fps_from_duration, DEFAULT_FPS};

pub fn read_png(bytes: &[u8], shown: &str) -> Result<Clip> {
    let decoder = PngDecoder::new(Cursor::new(bytes)).map_err(|e| damaged(shown, e))?;
    if !decoder.is_apng().map_err(|e| damaged(shown, e))? {
        let img = crate::input::decode_rgba(bytes, shown, u64::from(u32::MAX))?;
        let (w, h) = img.dimensions();
        return Ok(clip(
            vec![Frame::from_rgba(w, h, img.into_raw())?],
            DEFAULT_FPS,
        ));
    }
    let apng = decoder.apng().map_err(|e| damaged(shown, e))?;
    collect(apng.into_frames(), shown)
}

pub fn read_gif(bytes: &[u8], shown: &str) -> Result<Clip> {
    let decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|e| damaged(shown, e))?;
    collect(decoder.into_frames(), shown)
}

fn collect(frames: image::Frames<'_>, shown: &str) -> Result<Clip> {
    let mut out = Vec::new();
    let mut total_s = 0.0;
    for f in frames {
        let f = f.map_err(|e| damaged(shown, e))?;
        let (num, den) = f.delay().numer_denom_ms();
        total_s += f64::from(num) / f64::from(den.max(1)) / 1000.0;
        let img = f.into_buffer();
        let (w, h) = img.dimensions();
        out.push(Frame::from_rgba(w, h, img.into_raw())?);
    }
    if out.is_empty() {
        return Err(Error::invalid(
            format!("{shown} has no frames"),
            "give a clip with at least one frame",
        ));
    }
    let fps = fps_from_duration(total_s, out.len());
    Ok(clip(out, fps))
}

fn clip(frames: Vec<Frame>, fps: u32) -> Clip {
    Clip {
        frames,
        fps,
        looping: false,
        pixel_art: false,
        placement: Placement::default(),
    }
}

fn damaged(shown: &str, e: image::ImageError) -> Error {
    Error::invalid(
        format!("{shown} is damaged or truncated"),
        "re-export the clip",
    )
    .with_source(e)
}
