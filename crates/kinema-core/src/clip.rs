use crate::Frame;

/// Where the character's source image sits inside each frame of a clip.
///
/// Engines may render on a canvas larger than the input (a jump needs headroom), so
/// consumers that compare against the input or align several actions need the offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// Left edge of the source image in canvas pixels.
    pub x: i32,
    /// Top edge of the source image in canvas pixels.
    pub y: i32,
}

/// A rendered animation: equally sized RGBA frames played at `fps`.
#[derive(Clone, Debug)]
pub struct Clip {
    pub frames: Vec<Frame>,
    pub fps: u32,
    /// True when the last frame flows back into the first (no duplicated seam frame).
    pub looping: bool,
    /// True for pixel art: scalers must use nearest-neighbour and keep edges hard.
    pub pixel_art: bool,
    /// Where the unscaled source image lies on the canvas.
    pub placement: Placement,
}

impl Clip {
    pub fn width(&self) -> u32 {
        self.frames.first().map_or(0, |f| f.width)
    }

    pub fn height(&self) -> u32 {
        self.frames.first().map_or(0, |f| f.height)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Duration of one frame in milliseconds, rounded; what GIF/APNG delays are built from.
    pub fn frame_duration_ms(&self) -> u32 {
        (1000.0 / self.fps.max(1) as f64).round() as u32
    }
}
