//! The delivered video back to the clip: decoded picture by picture, resampled to the
//! clip's rate, cropped to the character's area, keyed to alpha, scaled to the
//! character's size, then trimmed to the frame count or cut at the best loop point.

use std::path::Path;

use kinema_core::{ClipSpec, Error, Frame, Result};
use kinema_media::key::{key_out, ChromaKey};
use kinema_media::resize::resize_frame;
use kinema_media::retime::{best_loop_window, take_window, LoopWindow, Retimer};
use kinema_media::{visit_video, VideoInfo};
use serde::Serialize;

use crate::canvas::Canvas;

/// What happened to the video on its way to the clip.
#[derive(Clone, Debug, Serialize)]
pub struct FinishReport {
    pub video: VideoReport,
    /// The loop window, when a loop was asked for.
    pub loop_window: Option<LoopWindow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VideoReport {
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    pub seconds: f64,
}

/// How the clip is cut from the video.
#[derive(Clone, Copy, Debug)]
pub struct Cut {
    /// Search for the best loop window instead of taking the first frames.
    pub loop_search: bool,
    /// The video itself loops (its end flows into its start).
    pub cyclic: bool,
}

/// Turns the MP4 at `video` into the clip's frames.
pub fn finish(
    video: &Path,
    canvas: &Canvas,
    key: &ChromaKey,
    spec: &ClipSpec,
    cut: Cut,
    pixel_art: bool,
    tick: &dyn Fn(),
) -> Result<(Vec<Frame>, FinishReport)> {
    // Without a loop search only the first frames are needed: decoding stops there.
    let wanted = if cut.loop_search {
        usize::MAX
    } else {
        spec.frames as usize
    };
    let mut retimer = Retimer::new(spec.fps);
    let mut frames: Vec<Frame> = Vec::new();
    let keep = |range: std::ops::Range<usize>, picture: Frame, frames: &mut Vec<Frame>| {
        let processed = to_clip_frame(&picture, canvas, key, pixel_art);
        for _ in range {
            if frames.len() < wanted {
                frames.push(processed.clone());
            }
        }
    };
    // What was decoded, also when decoding stops early.
    let mut seen = VideoInfo {
        width: 0,
        height: 0,
        frames: 0,
        seconds: 0.0,
    };
    let mut enough = false;
    let visited = visit_video(video, &mut |f| {
        tick();
        (seen.width, seen.height, seen.frames, seen.seconds) =
            (f.frame.width, f.frame.height, f.index + 1, f.time);
        if let Some((range, picture)) = retimer.push(f.time, f.frame) {
            keep(range, picture, &mut frames);
        }
        if frames.len() >= wanted {
            enough = true;
            return Err(Error::internal("enough frames decoded"));
        }
        Ok(())
    });
    match visited {
        Ok(info) => {
            seen = info;
            if let Some((range, picture)) = retimer.finish(info.seconds) {
                keep(range, picture, &mut frames);
            }
        }
        Err(_) if enough => {}
        Err(e) => return Err(Error::model(format!(
            "the provider's video cannot be decoded: {}",
            e.message
        ))
        .with_hint(
            "try again; if it keeps happening the provider may have sent another codec than H.264",
        )),
    }
    let report = VideoReport {
        width: seen.width,
        height: seen.height,
        frames: seen.frames,
        seconds: seen.seconds,
    };
    let needed = spec.frames as usize + usize::from(cut.loop_search && !cut.cyclic);
    if frames.len() < needed {
        return Err(Error::model(format!(
            "the provider's video has {} frames at {} fps ({:.2} s), fewer than the {needed} needed",
            frames.len(),
            spec.fps,
            seen.seconds
        ))
        .with_hint("ask for fewer --frames or a lower --fps"));
    }
    let (frames, loop_window) = if cut.loop_search {
        let window = best_loop_window(&frames, spec.frames as usize, cut.cyclic)
            .ok_or_else(|| Error::internal("no loop window in a video long enough for one"))?;
        (take_window(&frames, &window), Some(window))
    } else {
        frames.truncate(spec.frames as usize);
        (frames, None)
    };
    Ok((
        frames,
        FinishReport {
            video: report,
            loop_window,
        },
    ))
}

/// One delivered picture: the character's area, keyed to alpha where the key colour is
/// cleanest (the delivered resolution), then brought to the character's scale.
fn to_clip_frame(picture: &Frame, canvas: &Canvas, key: &ChromaKey, pixel_art: bool) -> Frame {
    let area = canvas.content_in(picture.width, picture.height);
    let cropped = picture.crop(
        i64::from(area.x),
        i64::from(area.y),
        area.width,
        area.height,
    );
    resize_frame(
        &key_out(&cropped, key),
        canvas.clip_width,
        canvas.clip_height,
        pixel_art,
    )
}
