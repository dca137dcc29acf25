//! Every default a front end applies, in one place.
//!
//! `kinema generate`, batch manifests, eval suites and the HTTP service all take what the
//! user left out from here, so the same character and prompt give the same clip, the same
//! pixel size and the same sheet whichever way they were asked for. The values are
//! documented once for people in `docs/DEFAULTS.md`; `--help` shows them because the CLI
//! reads its `default_value`s from these constants. Tests in each front end check that
//! nothing overrides them on the way.

use std::path::PathBuf;

use kinema_core::{Background, ClipSpec, Limits};
use kinema_media::sheet::{AtlasFormat, SheetOptions};
use kinema_media::{EncodeOptions, LoadOptions, SubjectBox};

/// The engine used when none is named: CPU only, no weights to download.
pub const ENGINE: &str = "rig";

/// Frames per second of sprite work: what 2D games animate at, so a clip imports frame for
/// frame. MP4 plays it at a standard rate by showing each frame twice (24 fps, see
/// [`kinema_media::playback_rate`]); no format invents in-between frames.
pub const FPS: u32 = 12;

/// Length of a clip when neither a frame count nor a duration is given.
pub const SECONDS: u32 = 2;

/// Seed for the engine's random choices; the same seed gives the same frames.
pub const SEED: u64 = 0;

/// Integer upscale of every output (nearest-neighbour for pixel art). One for every
/// format, so all outputs of a run have the same pixel size unless `--scale` says else.
pub const SCALE: u32 = 1;

/// Sheets store each frame's visible pixels only; atlases carry the offsets that put them
/// back, so engines draw exactly the untrimmed frame from a much smaller texture.
pub const SHEET_TRIM: bool = true;

/// Transparent pixels between sheet frames, so bilinear filtering never samples a
/// neighbouring frame.
pub const SHEET_PADDING: u32 = 2;

/// Edge pixels repeated around each sheet frame (0: padding is enough for most engines).
pub const SHEET_EXTRUDE: u32 = 0;

/// Atlases written beside a sheet when none are named: TexturePacker JSON, which Phaser
/// and PixiJS load directly and most engines import.
pub const SHEET_ATLASES: [AtlasFormat; 1] = [AtlasFormat::TexturePacker];

/// Frames of a clip at `fps` when neither a frame count nor a duration is given.
pub fn frames_at(fps: u32) -> u32 {
    SECONDS * fps
}

/// The clip every front end renders when the user gives only an image and a prompt.
pub fn clip_spec() -> ClipSpec {
    ClipSpec {
        frames: frames_at(FPS),
        fps: FPS,
        seed: SEED,
        looping: false,
    }
}

/// Sizing and background of clip outputs: native size, transparent (MP4 gets white).
pub fn encode_options() -> EncodeOptions {
    EncodeOptions {
        background: Background::Transparent,
        scale: Some(SCALE),
        size: None,
        force: false,
    }
}

/// Layout of a sprite sheet and the atlases beside it.
pub fn sheet_options() -> SheetOptions {
    SheetOptions {
        columns: None,
        padding: SHEET_PADDING,
        extrude: SHEET_EXTRUDE,
        trim: SHEET_TRIM,
        pot: false,
        dedupe: true,
        atlases: SHEET_ATLASES.to_vec(),
    }
}

/// Bounds on frames, fps, output sides and input pixels. The input limit (4096 x 4096,
/// the largest image whose every side an output can hold) is the same for the CLI,
/// batches, suites and the service.
pub fn limits() -> Limits {
    Limits::default()
}

/// How every front end reads a character image: the shared pixel limit, an optional mask
/// and an optional box around the character.
pub fn load_options(mask: Option<PathBuf>, subject_box: Option<SubjectBox>) -> LoadOptions {
    LoadOptions {
        mask,
        subject_box,
        max_pixels: limits().max_input_pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_libraries_defaults_match_the_front_ends() {
        assert_eq!(ClipSpec::default(), clip_spec());
        assert_eq!(
            LoadOptions::default().max_pixels,
            load_options(None, None).max_pixels
        );
        assert_eq!(limits().max_input_pixels, 4096 * 4096);
        let e = encode_options();
        assert_eq!((e.scale, e.size, e.force), (Some(1), None, false));
        let s = sheet_options();
        assert!(s.trim && s.padding == 2 && s.dedupe);
        assert_eq!(kinema_media::playback_rate(FPS), (24, 2));
    }
}
