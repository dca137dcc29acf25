//! A folder of numbered RGBA PNGs, the format every engine and editor can import.
//!
//! Frames are written into a temporary folder beside the target and moved in only when
//! all of them are encoded. A `clip.json` records fps and flags that PNGs cannot hold.

use std::path::Path;

use kinema_core::{Clip, Error, Frame, Result};
use rayon::prelude::*;

use super::atomic::{exists_error, missing_dir_error, parent_dir, write_error};

/// Name of the metadata file written beside the frames.
pub const CLIP_META_FILE: &str = "clip.json";

/// `frame_0000.png`, `frame_0001.png`, …: zero-padded so names sort in play order.
pub fn frame_file_name(index: usize) -> String {
    format!("frame_{index:04}.png")
}

/// Whether a file name is one of ours (`frame_` + digits + `.png`).
pub fn is_frame_file(name: &str) -> bool {
    frame_number(name).is_some()
}

/// The number in a frame file name, for sorting numerically past 9999.
pub fn frame_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("frame_")?.strip_suffix(".png")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `dir` already holds frame files (which a new clip would replace).
pub fn has_frame_files(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::output(format!("cannot list {}", dir.display()))
            .with_hint("check the folder's permissions")
            .with_source(e)
    })?;
    Ok(entries
        .flatten()
        .any(|e| is_frame_file(&e.file_name().to_string_lossy())))
}

/// Writes every frame into `dir`; returns the bytes written.
pub fn write(clip: &Clip, dir: &Path, force: bool) -> Result<u64> {
    let dir = dir.components().collect::<std::path::PathBuf>();
    let parent = parent_dir(&dir);
    if !parent.is_dir() {
        return Err(missing_dir_error(&parent));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(
            Error::output(format!("{} exists and is not a directory", dir.display()))
                .with_hint("choose another folder for the PNG frames"),
        );
    }
    if dir.is_dir() && !force && has_frame_files(&dir)? {
        return Err(exists_error(&dir));
    }
    let staging = tempfile::Builder::new()
        .prefix(".kinema-frames-")
        .tempdir_in(&parent)
        .map_err(|e| write_error(&parent, e))?;
    let sizes: Vec<u64> = clip
        .frames
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let path = staging.path().join(frame_file_name(i));
            let bytes = encode_png(f)?;
            std::fs::write(&path, &bytes).map_err(|e| write_error(&path, e))?;
            Ok(bytes.len() as u64)
        })
        .collect::<Result<_>>()?;
    let meta = serde_json::json!({
        "fps": clip.fps,
        "frames": clip.len(),
        "width": clip.width(),
        "height": clip.height(),
        "looping": clip.looping,
        "pixel_art": clip.pixel_art,
        "placement": clip.placement,
    });
    let meta_text = serde_json::to_string_pretty(&meta)
        .map_err(|e| Error::internal("cannot describe the clip").with_source(e))?;
    let meta_path = staging.path().join(CLIP_META_FILE);
    std::fs::write(&meta_path, &meta_text).map_err(|e| write_error(&meta_path, e))?;
    let total = sizes.iter().sum::<u64>() + meta_text.len() as u64;

    if !dir.exists() {
        let staged = staging.keep();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755));
        }
        if let Err(e) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(write_error(&dir, e));
        }
        return Ok(total);
    }
    // The folder exists (maybe with other files): replace our old frames, keep the rest.
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| write_error(&dir, e))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_frame_file(&name) || name == CLIP_META_FILE {
            std::fs::remove_file(entry.path()).map_err(|e| write_error(&entry.path(), e))?;
        }
    }
    for entry in std::fs::read_dir(staging.path())
        .map_err(|e| write_error(&dir, e))?
        .flatten()
    {
        let to = dir.join(entry.file_name());
        std::fs::rename(entry.path(), &to).map_err(|e| write_error(&to, e))?;
    }
    Ok(total)
}

/// One RGBA PNG in memory.
pub fn encode_png(frame: &Frame) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, frame.width, frame.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let fail = |e: png::EncodingError| Error::internal("PNG encoding failed").with_source(e);
    let mut w = enc.write_header().map_err(fail)?;
    w.write_image_data(&frame.rgba).map_err(fail)?;
    w.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_names_sort_and_parse() {
        assert_eq!(frame_file_name(7), "frame_0007.png");
        assert_eq!(frame_number("frame_12345.png"), Some(12345));
        assert!(
            !is_frame_file("frame_.png")
                && !is_frame_file("frame_12.jpg")
                && !is_frame_file("xframe_1.png")
        );
    }
}
