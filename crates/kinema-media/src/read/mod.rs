//! Reading clips back: for round-trip tests, `kinema eval` and the metrics crate.
//!
//! Formats are recognised by content, like inputs; a directory is a frame folder.

mod animated;
mod frames;
mod mp4;

pub use mp4::{visit_video, VideoFrame, VideoInfo};

use std::path::Path;

use kinema_core::{Clip, Error, Result};

/// Frames-per-second assumed when a file does not say (a bare frame folder).
pub const DEFAULT_FPS: u32 = 24;

/// Reads a frame folder, APNG (or still PNG), GIF, WebP or MP4 into a clip of RGBA frames.
pub fn read_clip(path: &Path) -> Result<Clip> {
    if path.is_dir() {
        return frames::read(path);
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Error::invalid(
            format!("cannot read the clip {}", path.display()),
            "check the path",
        )
        .with_source(e)
    })?;
    let shown = path.display().to_string();
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        animated::read_png(&bytes, &shown)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        animated::read_gif(&bytes, &shown)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        crate::webp::read_webp(path)
    } else if bytes.get(4..8) == Some(b"ftyp") {
        mp4::read(&bytes, &shown)
    } else {
        Err(Error::invalid(
            format!("{shown} is not a clip Kinema reads"),
            "give an MP4, GIF, animated PNG, animated WebP, or a folder of frame_*.png files",
        ))
    }
}

/// Frames per second closest to an average frame duration.
pub(crate) fn fps_from_duration(total: f64, frames: usize) -> u32 {
    if total <= 0.0 || frames == 0 {
        return DEFAULT_FPS;
    }
    ((frames as f64 / total).round() as u32).max(1)
}
