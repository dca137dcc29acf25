//! Animated WebP: full 8-bit alpha (GIF has only on/off), small files, plays in every
//! browser and in Godot/Unity web previews.
//!
//! Encoding and decoding go through libwebp's own `WebPAnimEncoder`/`WebPAnimDecoder`
//! (via `libwebp-sys`, which compiles the vendored C with `cc`, no system library).
//! Lossless is the default because sprites must stay pixel-exact; `exact` mode keeps
//! the colour of fully transparent pixels too, so a round trip returns the same bytes.

use std::path::Path;
use std::ptr;

use kinema_core::{Clip, Error, Frame, Limits, Placement, Result};
use libwebp_sys as sys;

use crate::sheet::write_atomically;

/// Largest decoded size [`decode_webp`] accepts, so a hostile file cannot exhaust memory.
const MAX_DECODED_BYTES: u64 = 2 << 30;

/// Settings for [`write_webp_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WebpOptions {
    /// `None` for lossless (exact pixels); `Some(0..=100)` for lossy at that quality.
    pub quality: Option<f32>,
    /// How many times players repeat the animation; 0 means forever.
    pub loop_count: u16,
}

/// A decoded animated WebP with the timing and loop data a [`Clip`] cannot hold.
#[derive(Clone, Debug)]
pub struct WebpAnimation {
    pub frames: Vec<Frame>,
    /// When each frame stops showing, in ms from the start (libwebp's timestamps).
    pub end_times_ms: Vec<u32>,
    /// 0 means forever.
    pub loop_count: u32,
}

impl WebpAnimation {
    /// The frame rate that best matches the file's timing (at least 1).
    pub fn fps(&self) -> u32 {
        let total = self.end_times_ms.last().copied().unwrap_or(0);
        if total == 0 {
            return 1;
        }
        ((self.frames.len() as u64 * 1000 + u64::from(total) / 2) / u64::from(total)).max(1) as u32
    }
}

/// Writes `clip` as an animated WebP that loops forever; returns the file size in bytes.
/// `quality: None` is lossless.
pub fn write_webp(path: &Path, clip: &Clip, quality: Option<f32>, force: bool) -> Result<u64> {
    write_webp_with(
        path,
        clip,
        &WebpOptions {
            quality,
            ..WebpOptions::default()
        },
        force,
    )
}

/// [`write_webp`] with every option; the file appears atomically and is never
/// overwritten unless `force`.
pub fn write_webp_with(path: &Path, clip: &Clip, opts: &WebpOptions, force: bool) -> Result<u64> {
    if !force && path.exists() {
        return Err(
            Error::output(format!("`{}` already exists", path.display()))
                .with_hint("pass --force to overwrite it, or choose another output name"),
        );
    }
    let bytes = encode_webp(clip, opts)?;
    write_atomically(path, &bytes, force)?;
    Ok(bytes.len() as u64)
}

/// Reads an animated (or still) WebP into a clip. The frame rate is the one that best
/// matches the file's total duration; `looping` is true when the file loops forever.
pub fn read_webp(path: &Path) -> Result<Clip> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::image(format!("cannot read `{}`", path.display()))
            .with_source(e)
            .with_hint("check the path and permissions")
    })?;
    let anim = decode_webp(&bytes).map_err(|e| Error {
        message: format!("`{}`: {}", path.display(), e.message),
        ..e
    })?;
    Ok(Clip {
        fps: anim.fps(),
        looping: anim.loop_count == 0,
        pixel_art: false,
        placement: Placement::default(),
        frames: anim.frames,
    })
}

/// Encodes `clip` to WebP bytes in memory.
pub fn encode_webp(clip: &Clip, opts: &WebpOptions) -> Result<Vec<u8>> {
    let (width, height) = check_clip(clip)?;
    let config = encoder_config(opts.quality)?;
    let timestamps = timestamps_ms(clip.frames.len(), clip.fps)?;

    // SAFETY: every libwebp object below is initialised by its own init function before
    // use, freed exactly once by a guard, and every buffer passed in outlives the call.
    unsafe {
        let mut enc_opts = std::mem::zeroed::<sys::WebPAnimEncoderOptions>();
        if sys::WebPAnimEncoderOptionsInitInternal(&mut enc_opts, sys::WebPGetMuxABIVersion()) == 0
        {
            return Err(Error::internal(
                "libwebp rejected its own animation options (ABI mismatch)",
            ));
        }
        enc_opts.anim_params.loop_count = i32::from(opts.loop_count);
        enc_opts.anim_params.bgcolor = 0; // transparent
        enc_opts.allow_mixed = 0;
        let enc = AnimEncoder(sys::WebPAnimEncoderNewInternal(
            width as i32,
            height as i32,
            &enc_opts,
            sys::WebPGetMuxABIVersion(),
        ));
        if enc.0.is_null() {
            return Err(Error::internal(
                "libwebp could not create an animation encoder (out of memory?)",
            ));
        }
        for (frame, &t) in clip.frames.iter().zip(&timestamps) {
            let mut pic = Picture::new(width, height)?;
            if sys::WebPPictureImportRGBA(&mut pic.0, frame.rgba.as_ptr(), (width * 4) as i32) == 0
            {
                return Err(Error::internal(
                    "libwebp could not take a frame (out of memory?)",
                ));
            }
            if sys::WebPAnimEncoderAdd(enc.0, &mut pic.0, t as i32, &config) == 0 {
                return Err(enc.error("could not encode a WebP frame"));
            }
        }
        let end = timestamps[clip.frames.len()];
        if sys::WebPAnimEncoderAdd(enc.0, ptr::null_mut(), end as i32, ptr::null()) == 0 {
            return Err(enc.error("could not finish the WebP animation"));
        }
        let mut data = sys::WebPData::default();
        if sys::WebPAnimEncoderAssemble(enc.0, &mut data) == 0 {
            return Err(enc.error("could not assemble the WebP file"));
        }
        let bytes = std::slice::from_raw_parts(data.bytes, data.size).to_vec();
        sys::WebPDataClear(&mut data);
        Ok(bytes)
    }
}

/// Decodes WebP bytes (animated or still) into full-canvas RGBA frames.
pub fn decode_webp(bytes: &[u8]) -> Result<WebpAnimation> {
    let not_webp = || {
        Error::image("the file is not a valid WebP image")
            .with_hint("re-export it as WebP, or use PNG/GIF")
    };
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(not_webp());
    }
    // SAFETY: the decoder reads only `bytes`, which outlives it; frame buffers returned by
    // GetNext are valid for width*height*4 bytes until the next call and are copied first.
    unsafe {
        let mut dec_opts = std::mem::zeroed::<sys::WebPAnimDecoderOptions>();
        if sys::WebPAnimDecoderOptionsInitInternal(&mut dec_opts, sys::WebPGetDemuxABIVersion())
            == 0
        {
            return Err(Error::internal(
                "libwebp rejected its own decoder options (ABI mismatch)",
            ));
        }
        dec_opts.color_mode = sys::WEBP_CSP_MODE::MODE_RGBA; // straight alpha, like Frame
        dec_opts.use_threads = 0;
        let data = sys::WebPData {
            bytes: bytes.as_ptr(),
            size: bytes.len(),
        };
        let dec = AnimDecoder(sys::WebPAnimDecoderNewInternal(
            &data,
            &dec_opts,
            sys::WebPGetDemuxABIVersion(),
        ));
        if dec.0.is_null() {
            return Err(not_webp());
        }
        let mut info = sys::WebPAnimInfo::default();
        if sys::WebPAnimDecoderGetInfo(dec.0, &mut info) == 0 {
            return Err(not_webp());
        }
        let (w, h, n) = (info.canvas_width, info.canvas_height, info.frame_count);
        let limits = Limits::default();
        let decoded = u64::from(w) * u64::from(h) * 4 * u64::from(n);
        if w == 0 || h == 0 || n == 0 || n > limits.max_frames || decoded > MAX_DECODED_BYTES {
            return Err(Error::image(format!(
                "the WebP is too large to load ({n} frames of {w}x{h})"
            ))
            .with_hint(format!(
                "use at most {} frames and {} MiB of pixels",
                limits.max_frames,
                MAX_DECODED_BYTES >> 20
            )));
        }
        let len = w as usize * h as usize * 4;
        let mut frames = Vec::with_capacity(n as usize);
        let mut end_times_ms = Vec::with_capacity(n as usize);
        while sys::WebPAnimDecoderHasMoreFrames(dec.0) != 0 {
            let mut buf: *mut u8 = ptr::null_mut();
            let mut timestamp = 0;
            if sys::WebPAnimDecoderGetNext(dec.0, &mut buf, &mut timestamp) == 0 || buf.is_null() {
                return Err(Error::image(format!(
                    "the WebP is damaged after frame {}",
                    frames.len()
                ))
                .with_hint("re-export the animation"));
            }
            let rgba = std::slice::from_raw_parts(buf, len).to_vec();
            frames.push(Frame {
                width: w,
                height: h,
                rgba,
            });
            end_times_ms.push(timestamp.max(0) as u32);
        }
        if frames.is_empty() {
            return Err(not_webp());
        }
        Ok(WebpAnimation {
            frames,
            end_times_ms,
            loop_count: info.loop_count,
        })
    }
}

/// Refuses clips libwebp cannot encode, with the reason.
fn check_clip(clip: &Clip) -> Result<(u32, u32)> {
    let first = clip
        .frames
        .first()
        .ok_or_else(|| Error::invalid("the clip has no frames", "render at least one frame"))?;
    let (w, h) = (first.width, first.height);
    let max = sys::WEBP_MAX_DIMENSION;
    if w == 0 || h == 0 || w > max || h > max {
        return Err(Error::invalid(
            format!("a {w}x{h} frame cannot be stored in WebP"),
            format!("WebP frames are 1 to {max} pixels per side; scale the clip down"),
        ));
    }
    if clip.fps == 0 || clip.fps > 1000 {
        return Err(Error::invalid(
            format!("the clip has fps {}, which WebP cannot time", clip.fps),
            "use an fps from 1 to 1000 (WebP frame times are whole milliseconds)",
        ));
    }
    for (i, f) in clip.frames.iter().enumerate() {
        if (f.width, f.height) != (w, h) || f.rgba.len() != f.pixel_count() * 4 {
            return Err(Error::internal(format!(
                "frame {i} is {}x{}, unlike the first frame ({w}x{h})",
                f.width, f.height
            )));
        }
    }
    Ok((w, h))
}

fn encoder_config(quality: Option<f32>) -> Result<sys::WebPConfig> {
    if let Some(q) = quality {
        if !(0.0..=100.0).contains(&q) {
            return Err(Error::invalid(
                format!("WebP quality {q} is out of range"),
                "use a quality from 0 to 100, or leave it out for lossless",
            ));
        }
    }
    // SAFETY: WebPConfigInitInternal fully initialises the zeroed struct.
    unsafe {
        let mut config = std::mem::zeroed::<sys::WebPConfig>();
        let abi = sys::WEBP_ENCODER_ABI_VERSION as i32;
        let init = sys::WebPConfigInitInternal(
            &mut config,
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            quality.unwrap_or(75.0),
            abi,
        );
        if init == 0 {
            return Err(Error::internal(
                "libwebp rejected its encoder configuration (ABI mismatch)",
            ));
        }
        match quality {
            None => {
                // Level 6 of 9: cwebp's default lossless effort.
                if sys::WebPConfigLosslessPreset(&mut config, 6) == 0 {
                    return Err(Error::internal("libwebp rejected the lossless preset"));
                }
                config.exact = 1;
            }
            Some(_) => config.alpha_quality = 100,
        }
        if sys::WebPValidateConfig(&config) == 0 {
            return Err(Error::internal(
                "libwebp rejected the encoder configuration",
            ));
        }
        Ok(config)
    }
}

/// Frame start times plus the end of the last frame, in whole ms without drift.
fn timestamps_ms(count: usize, fps: u32) -> Result<Vec<u32>> {
    let fps = u64::from(fps);
    let at = |i: u64| (i * 1000 + fps / 2) / fps;
    let end = at(count as u64);
    if end > i32::MAX as u64 {
        return Err(Error::invalid(
            "the clip is too long for WebP timestamps",
            "use fewer frames or a higher fps",
        ));
    }
    Ok((0..=count as u64).map(|i| at(i) as u32).collect())
}

struct AnimEncoder(*mut sys::WebPAnimEncoder);

impl AnimEncoder {
    /// libwebp's own description of the last failure.
    unsafe fn error(&self, what: &str) -> Error {
        // SAFETY: the encoder is live; the returned string is owned by it.
        let detail = unsafe {
            let p = sys::WebPAnimEncoderGetError(self.0);
            if p.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        Error::internal(format!("libwebp {what}: {detail}"))
    }
}

impl Drop for AnimEncoder {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimEncoderNewInternal; deleting null is a no-op.
        unsafe { sys::WebPAnimEncoderDelete(self.0) }
    }
}

struct AnimDecoder(*mut sys::WebPAnimDecoder);

impl Drop for AnimDecoder {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimDecoderNewInternal; deleting null is a no-op.
        unsafe { sys::WebPAnimDecoderDelete(self.0) }
    }
}

struct Picture(sys::WebPPicture);

impl Picture {
    fn new(width: u32, height: u32) -> Result<Self> {
        // SAFETY: WebPPictureInitInternal initialises every field of the zeroed struct.
        unsafe {
            let mut pic = std::mem::zeroed::<sys::WebPPicture>();
            if sys::WebPPictureInitInternal(&mut pic, sys::WEBP_ENCODER_ABI_VERSION as i32) == 0 {
                return Err(Error::internal(
                    "libwebp rejected its picture structure (ABI mismatch)",
                ));
            }
            pic.use_argb = 1;
            pic.width = width as i32;
            pic.height = height as i32;
            Ok(Picture(pic))
        }
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: frees only what WebPPictureImportRGBA allocated (nothing if it did not run).
        unsafe { sys::WebPPictureFree(&mut self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(n: usize, fps: u32) -> Clip {
        let frames = (0..n)
            .map(|i| {
                let mut f = Frame::new(6, 5);
                for y in 0..5 {
                    for x in 0..6 {
                        let a = ((x * 40 + y * 13 + i as u32 * 7) % 256) as u8;
                        f.set_pixel(x, y, [x as u8 * 30, y as u8 * 50, i as u8 * 20, a]);
                    }
                }
                f
            })
            .collect();
        Clip {
            frames,
            fps,
            looping: true,
            pixel_art: true,
            placement: Placement::default(),
        }
    }

    #[test]
    fn lossless_round_trip_is_exact_with_timing_and_loops() {
        let c = clip(5, 12);
        let bytes = encode_webp(
            &c,
            &WebpOptions {
                quality: None,
                loop_count: 3,
            },
        )
        .unwrap();
        let a = decode_webp(&bytes).unwrap();
        assert_eq!(a.frames, c.frames);
        assert_eq!(a.loop_count, 3);
        assert_eq!(a.end_times_ms, vec![83, 167, 250, 333, 417]);
        assert_eq!(a.fps(), 12);
    }

    #[test]
    fn lossy_keeps_size_and_count() {
        let c = clip(3, 10);
        let a = decode_webp(
            &encode_webp(
                &c,
                &WebpOptions {
                    quality: Some(60.0),
                    loop_count: 0,
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(a.frames.len(), 3);
        assert_eq!((a.frames[0].width, a.frames[0].height), (6, 5));
        assert_eq!(a.loop_count, 0);
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(encode_webp(&clip(0, 10), &WebpOptions::default()).is_err());
        assert!(encode_webp(&clip(2, 0), &WebpOptions::default()).is_err());
        let e = encode_webp(
            &clip(2, 10),
            &WebpOptions {
                quality: Some(101.0),
                loop_count: 0,
            },
        )
        .unwrap_err();
        assert!(e.hint.unwrap().contains("0 to 100"));
        let mut odd = clip(2, 10);
        odd.frames[1] = Frame::new(3, 3);
        assert!(encode_webp(&odd, &WebpOptions::default()).is_err());
        assert!(decode_webp(b"not a webp at all").is_err());
        let mut bytes = encode_webp(&clip(3, 10), &WebpOptions::default()).unwrap();
        bytes.truncate(bytes.len() / 2);
        assert!(
            decode_webp(&bytes).is_err(),
            "truncated file must fail, not panic"
        );
    }
}
