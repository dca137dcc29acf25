//! A folder of `frame_*.png`, with `clip.json` for fps and flags when present.

use std::path::Path;

use kinema_core::{Clip, Error, Frame, Placement, Result};
use rayon::prelude::*;

use super::DEFAULT_FPS;
use crate::output::{frame_number, CLIP_META_FILE};

pub fn read(dir: &Path) -> Result<Clip> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::invalid(
            format!("cannot list {}", dir.display()),
            "check the folder's permissions",
        )
        .with_source(e)
    })?;
    let mut files: Vec<(u64, std::path::PathBuf)> = entries
        .flatten()
        .filter_map(|e| frame_number(&e.file_name().to_string_lossy()).map(|n| (n, e.path())))
        .collect();
    if files.is_empty() {
        return Err(Error::invalid(
            format!("{} holds no frame_*.png files", dir.display()),
            "point at a folder Kinema wrote",
        ));
    }
    files.sort();
    let frames: Vec<Frame> = files
        .par_iter()
        .map(|(_, p)| {
            let shown = p.display().to_string();
            let bytes = std::fs::read(p).map_err(|e| {
                Error::invalid(format!("cannot read {shown}"), "check the file").with_source(e)
            })?;
            let img = crate::input::decode_rgba(&bytes, &shown, u64::from(u32::MAX))?;
            let (w, h) = img.dimensions();
            Frame::from_rgba(w, h, img.into_raw())
        })
        .collect::<Result<_>>()?;
    if let Some(odd) = frames
        .iter()
        .position(|f| (f.width, f.height) != (frames[0].width, frames[0].height))
    {
        return Err(Error::invalid(
            format!(
                "{} does not have the same size as the first frame",
                files[odd].1.display()
            ),
            "all frames of a clip must be equally sized",
        ));
    }
    let meta: serde_json::Value = std::fs::read(dir.join(CLIP_META_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let fps = meta["fps"]
        .as_u64()
        .and_then(|f| u32::try_from(f).ok())
        .filter(|&f| f > 0)
        .unwrap_or(DEFAULT_FPS);
    let placement =
        serde_json::from_value::<Placement>(meta["placement"].clone()).unwrap_or_default();
    Ok(Clip {
        frames,
        fps,
        looping: meta["looping"].as_bool().unwrap_or(false),
        pixel_art: meta["pixel_art"].as_bool().unwrap_or(false),
        placement,
    })
}
